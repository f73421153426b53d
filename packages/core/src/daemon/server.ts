// The daemon half: serve CNI calls on a unix socket with the same pod-half code the executables
// run (runPlugin, in-process), so a call costs the client's start-up plus the work, without a
// store open, a Bun start of the plugin code, or an nft process where the backend avoids one.
//
// Guards: the socket's directory is created 0700 and the socket is 0600 (root only); each peer's
// credentials (SO_PEERCRED) must be an allowed uid (root); a request is one line of at most
// MAX_REQUEST_BYTES that must arrive within requestTimeoutMs; a malformed one gets an error answer
// and the daemon goes on. A client that went away before an ADD finished gets that ADD rolled
// back (DEL with the same arguments): nobody will ever learn of that attachment, and the runtime
// retries. A daemon crash mid-call leaves what an interrupted executable leaves: what GC removes.
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { dirname } from 'node:path';
import { CniError, ErrorCode } from '../cni/errors.js';
import type { Plugin } from '../cni/plugin.js';
import { runPlugin } from '../cni/skel.js';
import { getPeerCredentials } from '../libc/index.js';
import { MAX_REQUEST_BYTES, parseRequest } from './protocol.js';
import type { DaemonRequest, DaemonResponse } from './protocol.js';

export type ServerLog = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface CniServerOptions {
  socket: string;
  /** The pod halves (and the IPAM) by the name thin clients send: `bridge`, `host-gw`, `ipam`… */
  plugins: Readonly<Record<string, Plugin>>;
  log: ServerLog;
  /** Peer uids allowed to call (default: root only). */
  allowedUids?: readonly number[];
  /** Time for the request line to arrive after connect (default 5 s). */
  requestTimeoutMs?: number;
}

export interface CniServerStats {
  served: number;
  refused: number;
  malformed: number;
  rolledBack: number;
  inFlight: number;
}

function answer(socket: Socket, response: DaemonResponse): void {
  if (!socket.destroyed) socket.end(`${JSON.stringify(response)}\n`);
}

function errorAnswer(err: CniError, cniVersion = '1.1.0'): DaemonResponse {
  return { exit: 1, stdout: `${JSON.stringify(err.toJSON(cniVersion))}\n`, stderr: `podnetd: ${err.message}\n` };
}

/** Listening on a path where a stale socket file may lie: refuse a live one, remove a dead one. */
async function claimSocketPath(net: typeof import('node:net'), path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!isSocket) throw new Error(`${path} exists and is not a socket: refusing to replace it`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.createConnection({ path });
    probe.on('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.on('error', () => resolve(false));
  });
  if (alive) throw new Error(`another daemon already serves ${path}`);
  unlinkSync(path);
}

export class CniServer {
  readonly stats: CniServerStats = { served: 0, refused: 0, malformed: 0, rolledBack: 0, inFlight: 0 };
  readonly #inFlight = new Set<Promise<void>>();

  private constructor(
    readonly socketPath: string,
    private readonly server: Server,
    private readonly options: CniServerOptions,
  ) {}

  static async start(options: CniServerOptions): Promise<CniServer> {
    const net = await import('node:net');
    mkdirSync(dirname(options.socket), { recursive: true, mode: 0o700 });
    await claimSocketPath(net, options.socket);
    let instance: CniServer | undefined;
    const server = net.createServer({ allowHalfOpen: true }, (socket) => instance?.accept(socket));
    instance = new CniServer(options.socket, server, options);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // A restrictive umask for the bind, then the mode made explicit.
      const old = process.umask(0o177);
      try {
        server.listen(options.socket, () => resolve());
      } finally {
        process.umask(old);
      }
    });
    chmodSync(options.socket, 0o600);
    server.on('error', (err) => options.log('error', `CNI socket ${options.socket}: ${err.message}`));
    options.log('info', `serving CNI calls on ${options.socket}`, { plugins: Object.keys(options.plugins) });
    return instance;
  }

  /** Stop accepting, let calls in flight finish, remove the socket. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.allSettled([...this.#inFlight]);
    try {
      unlinkSync(this.socketPath);
    } catch {
      // already gone (server.close removes it on some versions)
    }
  }

  private accept(socket: Socket): void {
    const { log } = this.options;
    const allowed = this.options.allowedUids ?? [0];
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    let uid: number | undefined;
    try {
      if (typeof fd === 'number' && fd >= 0) uid = getPeerCredentials(fd).uid;
    } catch (err) {
      log('warn', `cannot read the credentials of a CNI client: ${(err as Error).message}`);
    }
    if (uid === undefined || !allowed.includes(uid)) {
      this.stats.refused++;
      log('warn', `refused a CNI client with uid ${uid ?? 'unknown'}`);
      answer(socket, errorAnswer(new CniError(ErrorCode.InvalidEnvironment, `podnetd serves root only (peer uid ${uid ?? 'unknown'})`)));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let started = false;
    const timer = setTimeout(() => {
      this.stats.malformed++;
      answer(socket, errorAnswer(new CniError(ErrorCode.DecodeFailure, `no complete request within ${this.options.requestTimeoutMs ?? 5000} ms`)));
    }, this.options.requestTimeoutMs ?? 5_000);
    socket.on('error', () => clearTimeout(timer));
    socket.on('close', () => clearTimeout(timer));
    socket.on('data', (d: Buffer) => {
      if (started) return;
      size += d.length;
      const nl = d.indexOf(10);
      if (nl < 0 && size > MAX_REQUEST_BYTES) {
        started = true;
        clearTimeout(timer);
        this.stats.malformed++;
        answer(socket, errorAnswer(new CniError(ErrorCode.DecodeFailure, `request larger than ${MAX_REQUEST_BYTES} bytes`)));
        return;
      }
      chunks.push(nl < 0 ? d : d.subarray(0, nl));
      if (nl < 0) return;
      started = true;
      clearTimeout(timer);
      let request: DaemonRequest;
      try {
        request = parseRequest(Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        this.stats.malformed++;
        answer(socket, errorAnswer(new CniError(ErrorCode.DecodeFailure, `malformed daemon request: ${(err as Error).message}`)));
        return;
      }
      const work = this.serve(socket, request).finally(() => this.#inFlight.delete(work));
      this.#inFlight.add(work);
    });
  }

  private async serve(socket: Socket, request: DaemonRequest): Promise<void> {
    const plugin = this.options.plugins[request.plugin];
    if (!plugin) {
      answer(
        socket,
        errorAnswer(
          new CniError(
            ErrorCode.InvalidConfig,
            `podnetd does not serve plugin "${request.plugin}"`,
            `it serves ${Object.keys(this.options.plugins).join(', ')}`,
          ),
        ),
      );
      return;
    }
    // The thin client never half-closes while it waits: an end of its stream means it gave up.
    let gone = false;
    socket.on('end', () => (gone = true));
    socket.on('close', () => (gone = true));
    this.stats.inFlight++;
    try {
      const response = await run(plugin, request);
      this.stats.served++;
      if (!gone && !socket.destroyed) {
        answer(socket, response);
        return;
      }
      if (request.env.CNI_COMMAND === 'ADD' && response.exit === 0) {
        // Nobody will learn of this attachment: undo it (the runtime retries the ADD).
        this.stats.rolledBack++;
        this.options.log('warn', `client of ADD ${request.env.CNI_CONTAINERID ?? ''}/${request.env.CNI_IFNAME ?? ''} went away: rolling the ADD back`);
        const undo = await run(plugin, { ...request, env: { ...request.env, CNI_COMMAND: 'DEL' } });
        if (undo.exit !== 0) this.options.log('error', `rollback DEL failed: ${undo.stdout.trim()}`);
      }
    } finally {
      this.stats.inFlight--;
    }
  }
}

async function run(plugin: Plugin, request: DaemonRequest): Promise<DaemonResponse> {
  let stdout = '';
  let stderr = '';
  const exit = await runPlugin(plugin, {
    env: request.env,
    stdin: request.stdin,
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
  });
  return { exit, stdout, stderr };
}
