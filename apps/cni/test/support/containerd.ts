// Debian's containerd 1.6 (CRI plugin built in) for an e2e test, per reference/containerd.md:
// started inside a lab node's netns with its own root/state/sockets under one temp dir, the CNI
// conflist and plugin directory of the test, a sandbox image imported from a hand-made OCI layout
// (busybox-static; nothing is pulled), and a small CRI client (@grpc/grpc-js over the unix
// socket) that makes the pod sandbox calls kubelet makes. destroy() stops and removes every
// sandbox it ran, stops containerd, and removes what is left on the host (mounts, netns, dir).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { run, runOk, type LabNode } from '@podnet/lab';
import { mountsUnder } from './mounts.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface CriPortMapping {
  protocol: 'TCP' | 'UDP' | 'SCTP';
  containerPort: number;
  hostPort: number;
  hostIp: string;
}

export interface ContainerdOptions {
  prefix: string;
  node: LabNode;
  /** Executables for CNI bin_dir (containerd takes ONE directory; `loopback` is added). */
  plugins: Record<string, string>;
  /** The conflist containerd's CRI uses (max_conf_num = 1). */
  conflist: Record<string, unknown>;
}

type Unary = (req: unknown, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

export class Containerd {
  readonly sandboxes = new Set<string>();
  readonly image: string;
  private child: ChildProcess | undefined;
  private client: Record<string, Unary> & grpc.Client;
  private stderr = '';

  private constructor(
    readonly id: string,
    readonly dir: string,
    readonly opts: ContainerdOptions,
  ) {
    this.image = `localhost/${id}-pause:1`;
    const def = protoLoader.loadSync(path.join(here, 'cri', 'runtime.proto'), { keepCase: false, longs: Number, enums: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { runtime: { v1: { RuntimeService: grpc.ServiceClientConstructor } } };
    this.client = new pkg.runtime.v1.RuntimeService(`unix://${this.socket}`, grpc.credentials.createInsecure()) as unknown as Record<string, Unary> &
      grpc.Client;
  }

  get socket(): string {
    return path.join(this.dir, 'containerd.sock');
  }

  static async create(opts: ContainerdOptions): Promise<Containerd> {
    const id = `${opts.prefix}${randomBytes(2).toString('hex')}`;
    const c = new Containerd(id, await mkdtemp(path.join(os.tmpdir(), `${id}-`)), opts);
    try {
      await c.writeConfig();
      await c.start();
      await c.importImage();
      return c;
    } catch (err) {
      await c.destroy().catch(() => undefined);
      throw new Error(`containerd fixture: ${(err as Error).message}\n${c.stderr.slice(-3000)}`, { cause: err });
    }
  }

  call<T>(method: string, req: unknown, timeoutMs = 60_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const fn = this.client[method];
      if (!fn) return reject(new Error(`no CRI method ${method}`));
      fn.call(this.client, req, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res as T)));
    });
  }

  /** RunPodSandbox as kubelet sends it for a pod with these ports. */
  async runPod(name: string, portMappings: CriPortMapping[]): Promise<string> {
    const uid = randomBytes(16).toString('hex');
    const res = await this.call<{ podSandboxId: string }>('RunPodSandbox', {
      config: {
        metadata: { name, uid, namespace: 'default', attempt: 0 },
        hostname: name,
        logDirectory: path.join(this.dir, 'logs', uid),
        portMappings,
        labels: { 'io.kubernetes.pod.name': name },
      },
      runtimeHandler: '',
    });
    this.sandboxes.add(res.podSandboxId);
    return res.podSandboxId;
  }

  /** The pod IP containerd reports and the pod's netns path (verbose info: the runtime spec). */
  async status(id: string): Promise<{ ip: string; additional: string[]; netns: string | undefined; state: string }> {
    const res = await this.call<{ status: { state: string; network?: { ip: string; additionalIps: Array<{ ip: string }> } }; info: Record<string, string> }>(
      'PodSandboxStatus',
      { podSandboxId: id, verbose: true },
    );
    let netns: string | undefined;
    try {
      const info = JSON.parse(res.info['info'] ?? '{}') as { runtimeSpec?: { linux?: { namespaces?: Array<{ type: string; path?: string }> } } };
      netns = info.runtimeSpec?.linux?.namespaces?.find((n) => n.type === 'network')?.path;
    } catch {
      netns = undefined;
    }
    return { ip: res.status.network?.ip ?? '', additional: (res.status.network?.additionalIps ?? []).map((i) => i.ip), netns, state: res.status.state };
  }

  /** kubelet's teardown of a pod: StopPodSandbox (CNI DEL with netns), RemovePodSandbox (DEL again, no netns). */
  async removePod(id: string): Promise<void> {
    await this.call('StopPodSandbox', { podSandboxId: id });
    await this.call('RemovePodSandbox', { podSandboxId: id });
    this.sandboxes.delete(id);
  }

  async destroy(): Promise<void> {
    for (const id of [...this.sandboxes]) await this.removePod(id).catch(() => undefined);
    this.client.close();
    if (this.child && this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child!.once('exit', resolve));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child?.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    // Mounts containerd left under its root/state (snapshots, shm), deepest first.
    for (const p of await mountsUnder(this.dir)) await run('umount', ['-l', p]);
    await rm(this.dir, { recursive: true, force: true });
  }

  private async writeConfig(): Promise<void> {
    const d = this.dir;
    const bin = path.join(d, 'bin');
    for (const sub of ['bin', 'net.d', 'root', 'state', 'opt', 'runc', 'logs']) await mkdir(path.join(d, sub), { recursive: true });
    for (const [name, file] of Object.entries({ loopback: '/usr/lib/cni/loopback', ...this.opts.plugins })) await symlink(file, path.join(bin, name));
    await writeFile(path.join(d, 'net.d', '10-test.conflist'), JSON.stringify(this.opts.conflist, null, 2));
    const cri = '[plugins."io.containerd.grpc.v1.cri"]';
    await writeFile(
      path.join(d, 'config.toml'),
      [
        'version = 2',
        `root = "${d}/root"`,
        `state = "${d}/state"`,
        'disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]',
        '[grpc]',
        `  address = "${this.socket}"`,
        '[ttrpc]',
        `  address = "${this.socket}.ttrpc"`,
        '[plugins."io.containerd.internal.v1.opt"]',
        `  path = "${d}/opt"`,
        cri,
        `  sandbox_image = "${this.image}"`,
        // No CAP_SYS_RESOURCE here: the sandbox's oom_score_adj -998 would fail in runc.
        '  restrict_oom_score_adj = true',
        `${cri.slice(0, -1)}.containerd]`,
        '  snapshotter = "native"',
        `${cri.slice(0, -1)}.containerd.runtimes.runc]`,
        '  runtime_type = "io.containerd.runc.v2"',
        `${cri.slice(0, -1)}.containerd.runtimes.runc.options]`,
        `  Root = "${d}/runc"`,
        '  SystemdCgroup = false',
        `${cri.slice(0, -1)}.cni]`,
        `  bin_dir = "${bin}"`,
        `  conf_dir = "${d}/net.d"`,
        '  max_conf_num = 1',
        '',
      ].join('\n'),
    );
  }

  private async start(): Promise<void> {
    // nsenter --net keeps the host mount namespace: pod netns mounts stay visible for cleanup.
    this.child = spawn('nsenter', [`--net=${this.opts.node.netns.path}`, '--', 'containerd', '--config', path.join(this.dir, 'config.toml')], {
      stdio: ['ignore', 'ignore', 'pipe'],
      cwd: '/',
    });
    this.child.stderr?.on('data', (b: Buffer) => (this.stderr = (this.stderr + b.toString()).slice(-20_000)));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`containerd exited (${this.child.exitCode})`);
      if (existsSync(this.socket)) {
        try {
          const v = await this.call<{ runtimeApiVersion: string }>('Version', { version: 'v1' }, 2000);
          if (v.runtimeApiVersion) return;
        } catch {
          // CRI not up yet
        }
      }
      if (Date.now() > deadline) throw new Error('containerd CRI did not answer within 30 s');
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** An OCI layout holding one layer (busybox + sleep), imported under `image`. */
  private async importImage(): Promise<void> {
    const d = path.join(this.dir, 'image');
    const rootfs = path.join(d, 'rootfs');
    await mkdir(path.join(rootfs, 'bin'), { recursive: true });
    await copyFile('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
    for (const applet of ['sh', 'sleep']) await symlink('busybox', path.join(rootfs, 'bin', applet));
    const layout = path.join(d, 'layout');
    const blobs = path.join(layout, 'blobs', 'sha256');
    await mkdir(blobs, { recursive: true });
    const layerTar = path.join(d, 'layer.tar');
    await runOk('tar', ['-C', rootfs, '--numeric-owner', '--owner=0', '--group=0', '-cf', layerTar, '.']);
    const put = async (bytes: Buffer): Promise<{ digest: string; size: number }> => {
      const hex = createHash('sha256').update(bytes).digest('hex');
      await writeFile(path.join(blobs, hex), bytes);
      return { digest: `sha256:${hex}`, size: bytes.length };
    };
    const layer = await put(await readFile(layerTar));
    const config = await put(
      Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          config: { Entrypoint: ['/bin/sleep', '2147483647'], Env: ['PATH=/bin'] },
          rootfs: { type: 'layers', diff_ids: [layer.digest] },
        }),
      ),
    );
    const manifest = await put(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
        }),
      ),
    );
    await writeFile(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(
      path.join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            ...manifest,
            annotations: { 'io.containerd.image.name': this.image, 'org.opencontainers.image.ref.name': '1' },
            platform: { architecture: 'amd64', os: 'linux' },
          },
        ],
      }),
    );
    const tar = path.join(d, 'image.tar');
    await runOk('tar', ['-C', layout, '-cf', tar, '.']);
    await runOk('ctr', ['-a', this.socket, '-n', 'k8s.io', 'images', 'import', '--snapshotter', 'native', tar]);
  }
}
