// A real etcd for tests (Debian's etcd-server): 127.0.0.1 only, random free client and peer
// ports, a temp directory named pnc-etcd-* (data, certificates, log), removed by stop().
// Reusable by the lab's and the agent's tests:
//   const etcd = await startEtcd({ tls: true });
//   openLeaseStore({ kind: 'etcd', endpoints: etcd.endpoints, tls: etcd.tls });
//   await etcd.restart();  // same data and ports
//   await etcd.stop();     // kill and remove (call it in afterAll)
// With `tls`, the server requires client certificates signed by a CA made for it (`openssl`);
// `tls` holds the client's files, `serverTls` the server's, and `untrustedTls` a client
// certificate from another CA (to test refusal).
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnTracked } from './processes.js';

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export interface EtcdServer {
  /** Client URLs, e.g. ["http://127.0.0.1:40123"]. */
  readonly endpoints: string[];
  /** Client certificate files (TLS only). */
  readonly tls?: TlsFiles;
  readonly serverTls?: TlsFiles;
  /** A client certificate signed by a CA the server does not trust. */
  readonly untrustedTls?: TlsFiles;
  /** The temp directory (pnc-etcd-*): data/, certs/, etcd.log. */
  readonly dataDir: string;
  readonly pid: number | undefined;
  /** Stop (SIGTERM, then SIGKILL) and start again on the same data and ports. */
  restart(): Promise<void>;
  /** SIGKILL the server and leave it down (restart() brings it back). */
  kill(): Promise<void>;
  /** Stop and remove everything. Idempotent. */
  stop(): Promise<void>;
}

export interface StartEtcdOptions {
  tls?: boolean;
  /** How long to wait for /health (default 30 s). */
  readyTimeoutMs?: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate (EC P-256, valid 2 days). */
function makeCertificates(dir: string): { client: TlsFiles; server: TlsFiles; untrusted: TlsFiles } {
  mkdirSync(dir, { recursive: true });
  const key = (name: string): void => openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  const ca = (name: string): void => {
    key(name);
    openssl(['req', '-x509', '-new', '-key', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=pnc-${name}`], dir);
  };
  const sign = (name: string, caName: string, ext: string): void => {
    key(name);
    openssl(['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=pnc-${name}`], dir);
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${caName}.crt`,
        '-CAkey',
        `${caName}.key`,
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    );
  };
  ca('ca');
  sign('server', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  sign('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  ca('other-ca');
  sign('intruder', 'other-ca', 'extendedKeyUsage=clientAuth\n');
  const files = (name: string, caName: string): TlsFiles => ({ ca: join(dir, `${caName}.crt`), cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) });
  return { client: files('client', 'ca'), server: files('server', 'ca'), untrusted: files('intruder', 'ca') };
}

function healthy(url: string, tls: TlsFiles | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean): void => resolve(ok);
    const onResponse = (res: import('node:http').IncomingMessage): void => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => done(res.statusCode === 200 && body.includes('"health":"true"')));
    };
    const request =
      tls === undefined
        ? httpGet(`${url}/health`, { timeout: 1_000 }, onResponse)
        : httpsGet(`${url}/health`, { timeout: 1_000, ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, onResponse);
    request.on('error', () => done(false));
    request.on('timeout', () => {
      request.destroy();
      done(false);
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdServer> {
  const base = mkdtempSync(join(tmpdir(), 'pnc-etcd-'));
  let child: ChildProcess | undefined;
  try {
    const certs = options.tls === true ? makeCertificates(join(base, 'certs')) : undefined;
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const scheme = certs === undefined ? 'http' : 'https';
    const clientUrl = `${scheme}://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const name = `pnc-${clientPort}`;
    const args = [
      '--name',
      name,
      '--data-dir',
      join(base, 'data'),
      '--listen-client-urls',
      clientUrl,
      '--advertise-client-urls',
      clientUrl,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      `${name}=${peerUrl}`,
      '--initial-cluster-state',
      'new',
      // Fast elections make etcd's minimum lease TTL 1 s (3/2 election timeout), so tests can use short TTLs.
      '--heartbeat-interval',
      '50',
      '--election-timeout',
      '500',
      '--logger',
      'zap',
      '--log-level',
      'warn',
      ...(certs === undefined
        ? []
        : ['--cert-file', certs.server.cert, '--key-file', certs.server.key, '--trusted-ca-file', certs.server.ca, '--client-cert-auth']),
    ];
    const launch = async (): Promise<void> => {
      const log = openSync(join(base, 'etcd.log'), 'a');
      try {
        child = spawnTracked('etcd', args, { stdio: ['ignore', log, log] });
      } finally {
        closeSync(log);
      }
      const started = child;
      let failed: Error | undefined;
      started.once('error', (error) => (failed = error));
      const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
      while (!(await healthy(clientUrl, certs?.client))) {
        if (failed !== undefined) throw new Error(`cannot start etcd (is etcd-server installed? tools/setup/ensure.sh installs it): ${failed.message}`);
        if (started.exitCode !== null)
          throw new Error(
            `etcd exited with ${started.exitCode}; see ${join(base, 'etcd.log')}:\n${readFileSync(join(base, 'etcd.log'), 'utf8').slice(-2_000)}`,
          );
        if (Date.now() > deadline)
          throw new Error(`etcd at ${clientUrl} not healthy after ${options.readyTimeoutMs ?? 30_000} ms; see ${join(base, 'etcd.log')}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const halt = async (signal: NodeJS.Signals): Promise<void> => {
      const running = child;
      if (running === undefined) return;
      child = undefined;
      running.kill(signal);
      const timer = setTimeout(() => running.kill('SIGKILL'), 5_000);
      await exited(running);
      clearTimeout(timer);
    };
    await launch();
    let stopped = false;
    return {
      endpoints: [clientUrl],
      ...(certs === undefined ? {} : { tls: certs.client, serverTls: certs.server, untrustedTls: certs.untrusted }),
      dataDir: base,
      get pid() {
        return child?.pid;
      },
      restart: async () => {
        await halt('SIGTERM');
        await launch();
      },
      kill: () => halt('SIGKILL'),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await halt('SIGTERM');
        rmSync(base, { recursive: true, force: true });
      },
    };
  } catch (error) {
    const running = child as ChildProcess | undefined;
    if (running !== undefined) {
      running.kill('SIGKILL');
      await exited(running);
    }
    rmSync(base, { recursive: true, force: true });
    throw error;
  }
}
