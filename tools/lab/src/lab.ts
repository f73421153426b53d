// A lab: nodes and pods as network namespaces with one unique prefix, and a cleanup that removes
// everything it created (namespaces, processes it started, temp dirs) even after a failure.
//
// A node is the namespace a runtime and its CNI plugins run in (the bridge, host veths and
// nft rules live there). A pod is a namespace a runtime creates for a container; it belongs to
// one node. Names: `<id>-<name>` for namespaces, `<id><suffix>` (≤ 15 chars) for links.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { executable } from './binaries.js';
import { invokeCni, type CniInvocation, type CniOutcome } from './cni.js';
import { createNetns, deleteNetns, type Netns } from './netns.js';

export interface LabOptions {
  /** Prefix of every name this lab creates, e.g. `pnt-e`; a random part is appended. */
  prefix: string;
}

export class LabNode {
  constructor(
    readonly name: string,
    readonly netns: Netns,
  ) {}

  /** Runs a CNI executable inside this node's namespace, as the node's runtime would. */
  cni(binary: string, inv: CniInvocation): Promise<CniOutcome> {
    return invokeCni(binary, inv, this.netns);
  }
}

export class LabPod {
  constructor(
    readonly name: string,
    readonly node: LabNode,
    readonly netns: Netns,
    /** 64 hex digits, like the container IDs of podman and containerd. */
    readonly containerId: string,
  ) {}

  /** The invocation a runtime makes for this pod (ifname `eth0` unless `more` says otherwise). */
  invocation(command: CniInvocation['command'], config: unknown, more: Partial<CniInvocation> = {}): CniInvocation {
    return { command, containerId: this.containerId, netns: this.netns.path, ifname: 'eth0', config, ...more };
  }
}

export class Lab {
  /** `prefix` plus 4 random characters: unique per lab, short enough for link names. */
  readonly id: string;
  private readonly namespaces = new Set<string>();
  private readonly children = new Set<ChildProcess>();
  private readonly dirs = new Set<string>();
  private destroyed = false;

  constructor(opts: LabOptions) {
    this.id = `${opts.prefix}${randomBytes(3).toString('hex').slice(0, 4)}`;
  }

  /** A link or bridge name owned by this lab; throws past the kernel's 15 characters. */
  linkName(suffix: string): string {
    const name = `${this.id}${suffix}`;
    if (name.length > 15) throw new Error(`link name "${name}" is longer than 15 characters`);
    return name;
  }

  async addNode(name: string): Promise<LabNode> {
    return new LabNode(name, await this.addNetns(name));
  }

  async addPod(node: LabNode, name: string): Promise<LabPod> {
    return new LabPod(name, node, await this.addNetns(name), randomBytes(32).toString('hex'));
  }

  /** Deletes a pod's namespace now, like a runtime whose container is gone (DEL-without-netns tests). */
  async removePod(pod: LabPod): Promise<void> {
    await deleteNetns(pod.netns.name);
    this.namespaces.delete(pod.netns.name);
  }

  /** A fresh directory under the system temp dir, removed by destroy(). */
  async tempDir(name = 'tmp'): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), `${this.id}-${name}-`));
    this.dirs.add(dir);
    return dir;
  }

  /** Starts a long-lived process inside a namespace; destroy() kills it. */
  spawnIn(ns: Netns, cmd: string, args: readonly string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns.name, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /**
   * `podnetd serve-cni` (dist/bin) inside `node`'s namespace on `socket` (thick mode: the
   * executables' calls go to it); resolves once the socket is there. destroy() kills it.
   */
  async serveCni(node: LabNode, socket: string): Promise<ChildProcess> {
    // A killed daemon leaves its socket file; wait for the new one, not the old one.
    await rm(socket, { force: true });
    const child = this.spawnIn(node.netns, executable('podnetd'), ['serve-cni', '--cni-socket', socket, '--log-level', 'warn']);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    for (let i = 0; i < 200 && !existsSync(socket) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    if (!existsSync(socket)) throw new Error(`podnetd serve-cni did not create ${socket}: ${stderr}`);
    return child;
  }

  /** Kills what the lab started and deletes what it created; reports every failure at the end. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const errors: unknown[] = [];
    await Promise.all(
      [...this.children].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    // Pods first: deleting a pod's namespace removes its veth end, and so the host end too.
    for (const name of [...this.namespaces].reverse()) {
      try {
        await deleteNetns(name);
      } catch (err) {
        errors.push(err);
      }
    }
    this.namespaces.clear();
    for (const dir of this.dirs) {
      try {
        await rm(dir, { recursive: true, force: true });
      } catch (err) {
        errors.push(err);
      }
    }
    this.dirs.clear();
    if (errors.length) throw new AggregateError(errors, `lab ${this.id}: cleanup failed`);
  }

  private async addNetns(name: string): Promise<Netns> {
    if (this.destroyed) throw new Error(`lab ${this.id} is destroyed`);
    const full = `${this.id}-${name}`;
    if (this.namespaces.has(full)) throw new Error(`lab ${this.id} already has a namespace "${name}"`);
    const ns = await createNetns(full);
    this.namespaces.add(full);
    return ns;
  }
}
