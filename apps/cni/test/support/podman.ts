// A private podman (Debian podman 4.3, CNI backend) for the e2e test, per reference/podman.md:
// its own containers.conf and storage under one temp dir, plugin dirs = dist/bin + /usr/lib/cni,
// a config dir holding only the test's conflist, a busybox image imported from a rootfs.
// Nothing of it touches the machine's podman state, and destroy() removes what podman and the
// plugin created on the host (containers, netns, host veths, the bridge, libcni cache files).
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, copyFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { run, runOk, type RunResult } from '@podnet/lab';
import { mountsUnder } from './mounts.ts';

const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'nc', 'sleep', 'cat', 'echo', 'ip', 'hostname', 'true', 'ls', 'ps'];
const FORWARD_SYSCTL = '/proc/sys/net/ipv4/ip_forward';
const LIBCNI_CACHE = '/var/lib/cni/results';

export interface PodmanOptions {
  /** Names of everything: containers, image, network, bridge (≤ 15 chars with "br"). */
  prefix: string;
  /** Directory holding podnet-bridge (and podnet-ipam). */
  binDir: string;
  subnet: string;
  /** Keys added to the podnet-bridge entry of the conflist (e.g. `capabilities`). */
  pluginExtra?: Record<string, unknown>;
}

export class Podman {
  readonly network: string;
  readonly bridge: string;
  readonly image: string;
  readonly ipamDir: string;
  private readonly env: Record<string, string>;
  private forwardBefore: string | undefined;

  private constructor(
    /** `prefix` + 4 hex digits. */
    readonly id: string,
    readonly dir: string,
    readonly opts: PodmanOptions,
  ) {
    this.network = `${this.id}-net`;
    this.bridge = `${this.id}br`;
    this.image = `localhost/${this.id}:1`;
    this.ipamDir = path.join(dir, 'ipam');
    this.env = {
      ...(process.env as Record<string, string>),
      CONTAINERS_CONF: path.join(dir, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: path.join(dir, 'storage.conf'),
      TMPDIR: path.join(dir, 'tmp'),
    };
  }

  /** Sets everything up; on failure removes what it made before rethrowing. */
  static async create(opts: PodmanOptions): Promise<Podman> {
    const id = `${opts.prefix}${randomBytes(2).toString('hex')}`;
    const podman = new Podman(id, await mkdtemp(path.join(os.tmpdir(), `${id}-`)), opts);
    try {
      await podman.writeConfig();
      await podman.importImage();
      return podman;
    } catch (err) {
      await podman.destroy();
      throw err;
    }
  }

  /** `podman <args>` with this instance's configuration; never throws for a non-zero exit. */
  run(args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
    return run('podman', args, { env: this.env, timeoutMs });
  }

  async ok(args: readonly string[], timeoutMs?: number): Promise<string> {
    const r = await this.run(args, timeoutMs);
    if (r.code !== 0) throw new Error(`podman ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()} ${r.stdout.trim()}`);
    return r.stdout;
  }

  /**
   * A detached container `name` on the test network answering "<greeting>\n" to every TCP
   * connection on `port` (busybox nc, persistent); `runArgs` go to `podman run` before the image
   * (e.g. `-p`). Returns the container ID.
   */
  async startEchoServer(name: string, port: number, greeting: string, runArgs: readonly string[] = []): Promise<string> {
    const out = await this.ok([
      'run',
      '--detach',
      '--pull=never',
      '--name',
      name,
      '--network',
      this.network,
      ...runArgs,
      this.image,
      'nc',
      '-ll',
      '-p',
      String(port),
      '-e',
      'echo',
      greeting,
    ]);
    return out.trim();
  }

  /** The container's address on the test network. */
  async ipOf(container: string): Promise<string> {
    const [info] = JSON.parse(await this.ok(['inspect', '--type', 'container', container])) as Array<{
      NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
    }>;
    const ip = info?.NetworkSettings.Networks[this.network]?.IPAddress;
    if (!ip) throw new Error(`${container} has no address on ${this.network}`);
    return ip;
  }

  /**
   * Host veths podnet-bridge created for this network, or for one container of it: their ifalias
   * is `podnet:<network>:<containerID>:<ifname>`.
   */
  async hostVeths(containerId?: string): Promise<string[]> {
    const out = await runOk('ip', ['-j', '-d', 'link', 'show', 'type', 'veth']);
    const rows = JSON.parse(out || '[]') as Array<{ ifname: string; ifalias?: string }>;
    const owner = `podnet:${this.network}:${containerId ?? ''}`;
    return rows.filter((r) => r.ifalias?.startsWith(owner)).map((r) => r.ifname);
  }

  /** libcni's cached results of this network (written after ADD, removed by a successful DEL). */
  async cachedResults(): Promise<string[]> {
    try {
      return (await readdir(LIBCNI_CACHE)).filter((f) => f.startsWith(`${this.network}-`));
    } catch {
      return [];
    }
  }

  async destroy(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        errors.push(new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`));
      }
    };
    // Sandboxes first (podman's netns paths), so leftovers can be removed if podman fails.
    const sandboxes = await this.sandboxes().catch(() => [] as string[]);
    await attempt('podman rm', () => this.ok(['rm', '--all', '--force', '--time', '0']));
    await attempt('podman rmi', () => this.ok(['rmi', '--all', '--force']));
    for (const sandbox of sandboxes) {
      await attempt(`netns ${sandbox}`, async () => {
        const name = path.basename(sandbox);
        if ((await readdir('/run/netns')).includes(name)) await runOk('ip', ['netns', 'delete', name]);
      });
    }
    await attempt('host veths', async () => {
      for (const veth of await this.hostVeths()) await runOk('ip', ['link', 'delete', veth]);
    });
    await attempt('bridge', async () => {
      // podnet, like the reference bridge, keeps the bridge after the last DEL.
      const r = await run('ip', ['link', 'delete', this.bridge]);
      if (r.code !== 0 && !/Cannot find device/.test(r.stderr)) throw new Error(r.stderr);
    });
    await attempt('libcni cache', async () => {
      for (const f of await this.cachedResults()) await rm(path.join(LIBCNI_CACHE, f), { force: true });
    });
    await attempt('ip_forward', async () => {
      // The bridge's gateway mode turns forwarding on in the netns it runs in: here the host's.
      if (this.forwardBefore !== undefined) await writeFile(FORWARD_SYSCTL, this.forwardBefore);
    });
    await attempt('mounts', () => this.unmountUnder());
    await attempt('temp dir', () => rm(this.dir, { recursive: true, force: true }));
    if (errors.length) throw new AggregateError(errors, `podman fixture ${this.id}: cleanup failed`);
  }

  private async sandboxes(): Promise<string[]> {
    const ids = (await this.ok(['ps', '--all', '--quiet', '--no-trunc'])).split('\n').filter(Boolean);
    if (!ids.length) return [];
    const info = JSON.parse(await this.ok(['inspect', '--type', 'container', ...ids])) as Array<{ NetworkSettings?: { SandboxKey?: string } }>;
    return info.map((i) => i.NetworkSettings?.SandboxKey ?? '').filter(Boolean);
  }

  /** Mounts podman may have left under the temp dir (container shm) when it failed half-way. */
  private async unmountUnder(): Promise<void> {
    for (const p of await mountsUnder(this.dir)) await runOk('umount', ['-l', p]);
  }

  private async writeConfig(): Promise<void> {
    const d = this.dir;
    for (const sub of ['root', 'runroot', 'tmp', 'net.d', 'ipam', 'rootfs/bin']) await mkdir(path.join(d, sub), { recursive: true });
    this.forwardBefore = (await readFile(FORWARD_SYSCTL, 'utf8')).trim();
    await writeFile(
      path.join(d, 'containers.conf'),
      [
        '[containers]',
        // No CAP_SYS_RESOURCE in this sandbox: podman's default limits fail in setrlimit.
        'default_ulimits = ["nofile=8192:8192", "nproc=8192:8192"]',
        '[engine]',
        'runtime = "runc"',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `tmp_dir = "${d}/tmp"`,
        '[network]',
        'network_backend = "cni"',
        `cni_plugin_dirs = ["${this.opts.binDir}", "/usr/lib/cni"]`,
        `network_config_dir = "${d}/net.d"`,
        `default_network = "${this.network}"`,
        '',
      ].join('\n'),
    );
    await writeFile(path.join(d, 'storage.conf'), ['[storage]', 'driver = "vfs"', `runroot = "${d}/runroot"`, `graphroot = "${d}/root"`, ''].join('\n'));
    const conflist = {
      cniVersion: '1.0.0',
      name: this.network,
      plugins: [
        {
          type: 'podnet-bridge',
          bridge: this.bridge,
          isGateway: true,
          ipam: { type: 'podnet-ipam', ranges: [[{ subnet: this.opts.subnet }]], dataDir: this.ipamDir },
          ...this.opts.pluginExtra,
        },
      ],
    };
    await writeFile(path.join(d, 'net.d', `${this.network}.conflist`), JSON.stringify(conflist, null, 2));
  }

  private async importImage(): Promise<void> {
    const rootfs = path.join(this.dir, 'rootfs');
    await copyFile(BUSYBOX, path.join(rootfs, 'bin', 'busybox'));
    for (const applet of APPLETS) await symlink('busybox', path.join(rootfs, 'bin', applet));
    const tar = path.join(this.dir, 'rootfs.tar');
    await runOk('tar', ['-C', rootfs, '-cf', tar, '.']);
    await this.ok(['import', '--change', 'CMD ["/bin/sh"]', '--change', 'ENV PATH=/bin', tar, this.image]);
  }
}
