// A multi-node lab: `up` builds the fabric, the nodes, the store, one agent per node and the
// pods, recording each step in the lab's state directory; the object then answers status and
// matrix questions and drives the failure scenarios of the e2e tests. `down` sweeps by prefix.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { executable } from '../binaries.js';
import { run } from '../exec.js';
import { agentArgs, agentHealth, startAgent, stopAgent, type AgentHealth } from './agent.js';
import { BACKENDS } from './backends.js';
import { cniDaemonAlive, cniDaemonArgs, startCniDaemon, stopCniDaemon } from './cni-daemon.js';
import { etcdCompact, etcdctl, runEtcd, startEtcd, stopEtcd } from './etcd.js';
import { runMatrix, type Matrix } from './matrix.js';
import { createPod, podCall, POD_IFNAME } from './pods.js';
import { createNetns, deleteNetns } from '../netns.js';
import type { CniCommand, CniOutcome } from '../cni.js';
import {
  DEFAULT_STATE_ROOT,
  loadState,
  saveState,
  type LabBackend,
  type LabCniMode,
  type LabState,
  type LabStoreKind,
  type NodeRecord,
  type PodRecord,
} from './state.js';
import { sweepLab } from './sweep.js';
import { createRoutedNode, enableFabricRouting, isRouted, routeViaFabric, type LabTopology } from './routed.js';
import { createFabric, createNode, FABRIC_BRIDGE, FABRIC_ADDRESS, nodeAddress, NODE_UNDERLAY, UNDERLAY } from './topology.js';

/** The route protocol podnet's agents tag their routes with (core's PODNET_ROUTE_PROTOCOL). */
export const AGENT_ROUTE_PROTOCOL = 83;
export const DEFAULT_LAB_PREFIX = 'pnlab-';
export const CLUSTER_NETWORK = '10.244.0.0/16';
/** The IPv6 cluster network of a dual-stack lab (`ipv6`), /64 per node. */
export const CLUSTER_NETWORK6 = 'fd00:10:244::/56';

export interface UpOptions {
  /** Every name starts with it; `down` finds labs by it. Default `pnlab-`. */
  prefix?: string;
  stateRoot?: string;
  nodes?: number;
  pods?: number;
  backend?: LabBackend;
  store?: LabStoreKind;
  /**
   * `embedded` (default): each CNI executable does the whole call. `thick`: every node's podnetd
   * serves its node's calls on `<state>/n<k>/cni.sock` (`run --cni-socket`; the bridge lab, which
   * has no agent, runs `podnetd serve-cni`), and the pods' config names that socket.
   */
  cniMode?: LabCniMode;
  /** The agents' `--reconcile-period` (default `10s`; tests use `1s`). */
  reconcilePeriod?: string;
  /** How the underlay is wired (routed.ts): `flat` (default), `routed`, `mixed`. */
  topology?: LabTopology;
  /** More keys of the network config's `Backend` section (`{ DirectRouting: true }`). */
  backendOptions?: Record<string, unknown>;
  /** Dual-stack: an IPv6 cluster network and IPv6 underlay addresses (needs topology `routed`). */
  ipv6?: boolean;
  /** Other executables than `dist/bin/…` (a development build). */
  binaries?: { cni?: string; podnetd?: string };
  /** Progress lines for people. */
  log?: (line: string) => void;
  /** Told the lab's id before anything is created (so an interrupted caller can sweep it). */
  onId?: (id: string) => void;
}

export interface NodeStatus {
  node: NodeRecord;
  agent?: AgentHealth;
  /** The node-local lease file the agent wrote (what the CNI executable reads). */
  lease?: { subnets?: { ipv4?: string; ipv6?: string }; mtu?: number; backend?: string } | undefined;
  /** Routes of the agent's protocol in the node's main table: `dst via gateway`. */
  routes: string[];
  /** Thick mode: the node's CNI socket and whether it is there (a live daemon or a stale file). */
  cni?: { socket: string; present: boolean; daemonAlive?: boolean };
}

/** The longest path a unix socket address holds (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;

async function isSocket(file: string): Promise<boolean> {
  try {
    return (await lstat(file)).isSocket();
  } catch {
    return false;
  }
}

export interface KernelRouteRow {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
}

export class ClusterLab {
  private constructor(public state: LabState) {}

  get id(): string {
    return this.state.id;
  }

  /** Opens the lab recorded in `dir` (a state directory `up` made). */
  static async open(dir: string): Promise<ClusterLab> {
    return new ClusterLab(await loadState(dir));
  }

  /** Builds a lab; on any failure everything made so far is removed before the error is rethrown. */
  static async up(opts: UpOptions = {}): Promise<ClusterLab> {
    const backend = opts.backend ?? 'host-gw';
    const profile = BACKENDS[backend];
    const nodes = opts.nodes ?? (profile.maxNodes === 1 ? 1 : 3);
    const pods = opts.pods ?? 2;
    const store = opts.store ?? 'local';
    const cniMode = opts.cniMode ?? 'embedded';
    if (cniMode !== 'embedded' && cniMode !== 'thick') throw new Error(`--cni-mode: "${String(cniMode)}" is not one of embedded, thick`);
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > profile.maxNodes) {
      throw new Error(`--nodes: ${nodes} is not in 1..${profile.maxNodes} for the ${backend} backend${backend === 'bridge' ? ' (a single-node lab)' : ''}`);
    }
    if (!Number.isInteger(pods) || pods < 0 || pods > 50) throw new Error(`--pods: ${pods} is not in 0..50`);
    if (opts.ipv6 && opts.topology !== 'routed')
      throw new Error('a dual-stack lab (ipv6) needs topology "routed" (the IPv6 underlay is wired on routed segments only)');
    if (!profile.agents && store !== 'local') throw new Error(`--store: the ${backend} backend runs no agent and uses no store`);
    // Resolve the executables before anything is created: a missing build fails fast and clean.
    const cniBinary = opts.binaries?.cni ?? executable(profile.executable);
    // Thick mode needs podnetd on every node, also where no agent runs (serve-cni).
    const podnetdBinary = profile.agents || cniMode === 'thick' ? (opts.binaries?.podnetd ?? executable('podnetd')) : undefined;
    const log = opts.log ?? (() => {});

    const prefix = opts.prefix ?? DEFAULT_LAB_PREFIX;
    const id = `${prefix}${randomBytes(2).toString('hex')}`;
    opts.onId?.(id);
    const dir = path.join(opts.stateRoot ?? DEFAULT_STATE_ROOT, id);
    if (cniMode === 'thick') {
      const longest = path.join(dir, `n${nodes + 99}`, 'cni.sock');
      if (Buffer.byteLength(longest) > MAX_SOCKET_PATH)
        throw new Error(
          `--state-dir: the nodes' CNI sockets (${longest}) would be longer than the ${MAX_SOCKET_PATH} bytes a unix socket path holds; pick a shorter state directory`,
        );
    }
    const state: LabState = {
      version: 1,
      id,
      prefix,
      dir,
      backend,
      store,
      cniMode,
      cniNetwork: `${id}-net`,
      cniBinary,
      ...(podnetdBinary ? { podnetdBinary } : {}),
      underlaySubnet: `${UNDERLAY.prefix}.0/${UNDERLAY.length}`,
      ...(opts.topology && opts.topology !== 'flat' ? { topology: opts.topology } : {}),
      ...(opts.ipv6 ? { ipv6: true } : {}),
      fabric: { netns: `${id}-fabric`, bridge: FABRIC_BRIDGE, address: FABRIC_ADDRESS },
      nodes: [],
      pods: [],
      createdAt: new Date().toISOString(),
    };
    if (profile.agents) state.reconcilePeriod = opts.reconcilePeriod ?? '10s';
    else state.bridgeSubnet = '10.244.1.0/24';
    const lab = new ClusterLab(state);
    try {
      await mkdir(dir, { recursive: true, mode: 0o755 });
      await saveState(state);
      log(`lab ${id}: state in ${dir}`);
      await createFabric(state.fabric.netns);
      if (state.topology) await enableFabricRouting(state.fabric.netns, state.ipv6 ?? false);
      log(`fabric ${state.fabric.netns}: bridge ${FABRIC_BRIDGE}, underlay ${state.underlaySubnet}`);

      if (profile.agents) {
        state.networkConfigFile = path.join(dir, 'net-conf.json');
        await writeFile(
          state.networkConfigFile,
          `${JSON.stringify({ Network: CLUSTER_NETWORK, SubnetLen: 24, ...(state.ipv6 ? { EnableIPv6: true, IPv6Network: CLUSTER_NETWORK6 } : {}), Backend: { ...opts.backendOptions, Type: backend } }, null, 2)}\n`,
        );
        if (store === 'etcd') {
          state.etcd = await startEtcd(state.fabric.netns, dir);
          state.storeSpec = `etcd:${state.etcd.endpoint}`;
          log(`etcd ${state.etcd.endpoint} in the fabric namespace (pid ${state.etcd.pid})`);
        } else {
          state.storeSpec = `local:${path.join(dir, 'store')}`;
          await mkdir(path.join(dir, 'store'), { recursive: true });
          log(`store ${state.storeSpec}`);
        }
        await saveState(state);
      }

      for (let i = 1; i <= nodes; i++) await lab.createNode(log);
      if (profile.agents) {
        // All at once, like a cluster coming up: the store must hand out distinct subnets.
        // Settled, not Promise.all: the clean-up below must not race agents still starting.
        const started = await Promise.allSettled(state.nodes.map((node) => lab.runAgent(node, state.reconcilePeriod!, log)));
        const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      }
      for (const node of state.nodes) await lab.addPods(node.name, pods, log);
      return lab;
    } catch (err) {
      await sweepLab(id, path.dirname(dir)).catch(() => {});
      throw err;
    }
  }

  /** Removes this lab entirely. */
  async down(): Promise<void> {
    await sweepLab(this.state.id, path.dirname(this.state.dir));
  }

  /**
   * Adds node `n<k>` (the next free index) to the fabric; with `agent`, starts its podnetd (a
   * node joining a running cluster). Returns the node's record.
   */
  async addNode(opts: { agent?: boolean; reconcilePeriod?: string; log?: (line: string) => void } = {}): Promise<NodeRecord> {
    const node = await this.createNode(opts.log ?? (() => {}));
    if (opts.agent ?? BACKENDS[this.state.backend].agents)
      await this.runAgent(node, opts.reconcilePeriod ?? this.state.reconcilePeriod ?? '10s', opts.log ?? (() => {}));
    return node;
  }

  private async createNode(log: (line: string) => void): Promise<NodeRecord> {
    const state = this.state;
    const index = state.nodes.length + 1;
    const name = `n${index}`;
    const nodeDir = path.join(state.dir, name);
    await mkdir(nodeDir, { recursive: true });
    const node: NodeRecord = {
      name,
      netns: `${state.id}-${name}`,
      underlay: NODE_UNDERLAY,
      address: nodeAddress(index),
      dir: nodeDir,
      ipamDir: path.join(nodeDir, 'ipam'),
      ...(state.cniMode === 'thick' ? { cniSocket: path.join(nodeDir, 'cni.sock') } : {}),
    };
    if (state.topology && isRouted(state.topology, index)) {
      node.address = (await createRoutedNode(node.netns, state.fabric.netns, name, index, state.ipv6 ?? false)).address;
    } else {
      await createNode(node.netns, state.fabric.netns, name, node.address);
      if (state.topology) await routeViaFabric(node.netns);
    }
    state.nodes.push(node);
    await saveState(state);
    log(`node ${name}: ${node.netns}, ${NODE_UNDERLAY} ${node.address}`);
    if (node.cniSocket && !BACKENDS[state.backend].agents) {
      node.cniDaemon = cniDaemonArgs(node, this.podnetdBinary(), node.cniSocket);
      await saveState(state);
      node.cniDaemon = await startCniDaemon(node, node.cniDaemon);
      await saveState(state);
      log(`podnetd serve-cni on ${name}: pid ${node.cniDaemon.pid}, serving ${node.cniSocket}`);
    }
    return node;
  }

  private async runAgent(node: NodeRecord, reconcilePeriod: string, log: (line: string) => void): Promise<void> {
    const agent = agentArgs(node, {
      binary: this.podnetdBinary(),
      storeSpec: this.state.storeSpec!,
      networkConfigFile: this.state.networkConfigFile!,
      reconcilePeriod,
      ...(node.cniSocket ? { cniSocket: node.cniSocket } : {}),
    });
    node.agent = agent;
    await saveState(this.state);
    node.agent = await startAgent(node, agent);
    await saveState(this.state);
    const lease = await this.leaseFile(node);
    log(
      `podnetd on ${node.name}: pid ${node.agent.pid}, ready, subnet ${lease?.subnets?.ipv4 ?? '?'}${node.cniSocket ? `, serving CNI on ${node.cniSocket}` : ''}`,
    );
  }

  /** Adds `count` pods to node `name` (CNI ADD in the node's namespace, as its runtime would). */
  async addPods(name: string, count: number, log: (line: string) => void = () => {}): Promise<PodRecord[]> {
    const state = this.state;
    const node = this.node(name);
    const cniBinary = state.cniBinary;
    const cniPath = [path.dirname(cniBinary)];
    const made: PodRecord[] = [];
    const first = this.podsOf(name).length + 1;
    for (let j = first; j < first + count; j++) {
      const pod = await createPod(state, node, `p${j}`, cniBinary, cniPath, async (p) => {
        if (!state.pods.includes(p)) state.pods.push(p);
        await saveState(state);
      });
      made.push(pod);
      log(`pod ${node.name}/${pod.name}: ${pod.netns}, ${pod.ifname} ${pod.ip}`);
    }
    return made;
  }

  node(name: string): NodeRecord {
    const node = this.state.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`lab ${this.id} has no node "${name}" (nodes: ${this.state.nodes.map((n) => n.name).join(', ')})`);
    return node;
  }

  podsOf(node: string): PodRecord[] {
    return this.state.pods.filter((p) => p.node === node);
  }

  async leaseFile(node: NodeRecord): Promise<NodeStatus['lease']> {
    if (!node.agent) return undefined;
    try {
      return JSON.parse(await readFile(node.agent.leaseFile, 'utf8')) as NodeStatus['lease'];
    } catch {
      return undefined;
    }
  }

  /** IPv4 routes of the main table of `node`, optionally of one protocol (number or name). */
  async routes(node: NodeRecord, protocol?: number | string): Promise<KernelRouteRow[]> {
    const args = ['-j', '-n', node.netns, '-4', 'route', 'show', ...(protocol === undefined ? [] : ['proto', String(protocol)])];
    const r = await run('ip', args);
    if (r.code !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr.trim()}`);
    return r.stdout.trim() ? (JSON.parse(r.stdout) as KernelRouteRow[]) : [];
  }

  /** The agent's routes on `node` as sorted `dst via gw dev` lines (for before/after comparisons). */
  async agentRoutes(node: NodeRecord): Promise<string[]> {
    return (await this.routes(node, AGENT_ROUTE_PROTOCOL)).map((r) => `${r.dst} via ${r.gateway ?? '-'} dev ${r.dev ?? '-'}`).sort();
  }

  async status(): Promise<NodeStatus[]> {
    return Promise.all(
      this.state.nodes.map(async (node) => {
        const s: NodeStatus = { node, routes: await this.agentRoutes(node) };
        if (node.agent) {
          s.agent = await agentHealth(node, node.agent);
          s.lease = await this.leaseFile(node);
        }
        if (node.cniSocket) {
          s.cni = {
            socket: node.cniSocket,
            present: await isSocket(node.cniSocket),
            ...(node.cniDaemon ? { daemonAlive: await cniDaemonAlive(node.cniDaemon) } : {}),
          };
        }
        return s;
      }),
    );
  }

  matrix(): Promise<Matrix> {
    return runMatrix(this.state);
  }

  /** Stops `node`'s agent with `signal` (SIGTERM: clean stop that keeps routes and lease; SIGKILL: a crash). */
  async stopAgent(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const node = this.node(name);
    if (!node.agent) throw new Error(`node ${name} runs no agent`);
    await stopAgent(node.agent, signal);
  }

  /** Starts `node`'s agent again with the same arguments and waits until it is ready. */
  async startAgent(name: string): Promise<void> {
    const node = this.node(name);
    if (!node.agent) throw new Error(`node ${name} runs no agent`);
    node.agent = await startAgent(node, node.agent);
    await saveState(this.state);
  }

  /** The network config `node`'s runtime passes its CNI executable (with the thick/embedded `daemon` key). */
  podConfig(name: string): Record<string, unknown> {
    return BACKENDS[this.state.backend].conflist(this.state, this.node(name));
  }

  /** Runs one CNI call for `pod` as its node's runtime would (`config`: the node's conflist unless given). */
  podCni(pod: PodRecord, command: CniCommand, config?: Record<string, unknown>): Promise<CniOutcome> {
    const cniBinary = this.state.cniBinary;
    return podCall(this.state, this.node(pod.node), pod, command, cniBinary, [path.dirname(cniBinary)], config);
  }

  /**
   * Thick mode's proof that `node`'s CNI calls go through its daemon: with the daemon frozen
   * (SIGSTOP), an ADD for a scratch pod (deadline `timeoutMs`) must give up with code 11 naming
   * the socket — in-process it would succeed. Then the daemon is thawed: it runs the ADD it got,
   * finds the client gone and rolls it back, saying so in its log with the container id
   * (`rolledBack`: that line seen within 10 s — proof the daemon had that very call). Finally the
   * scratch pod is DELeted (twice: the rollback may still run) and removed.
   */
  async frozenCniCall(name: string, timeoutMs = 1_000): Promise<{ outcome: CniOutcome; waitedMs: number; rolledBack: boolean }> {
    const node = this.node(name);
    const pid = this.cniServerPid(name);
    const pod: PodRecord = { name: 'probe', node: name, netns: `${node.netns}-probe`, containerId: randomBytes(32).toString('hex'), ifname: POD_IFNAME };
    const config = this.podConfig(name);
    await createNetns(pod.netns);
    try {
      let outcome: CniOutcome;
      const started = Date.now();
      process.kill(pid, 'SIGSTOP');
      try {
        outcome = await this.podCni(pod, 'ADD', { ...config, daemon: { socket: node.cniSocket, timeoutMs } });
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      const waitedMs = Date.now() - started;
      const log = node.agent?.log ?? node.cniDaemon?.log;
      const line = `client of ADD ${pod.containerId}/${pod.ifname} went away`;
      let rolledBack = false;
      for (const deadline = Date.now() + 10_000; log && !rolledBack && Date.now() < deadline; await sleep(100)) {
        rolledBack = (await readFile(log, 'utf8').catch(() => '')).includes(line);
      }
      for (let i = 0; i < 2; i++) {
        const del = await this.podCni(pod, 'DEL', config);
        if (del.code !== 0) throw new Error(`DEL of the scratch pod on ${name} after the daemon was thawed failed (${del.code}): ${del.stdout}${del.stderr}`);
      }
      return { outcome, waitedMs, rolledBack };
    } finally {
      await deleteNetns(pod.netns);
    }
  }

  /** Thick mode: the pid of the process serving `node`'s CNI calls (its agent, or its `serve-cni`). */
  cniServerPid(name: string): number {
    const node = this.node(name);
    if (!node.cniSocket) throw new Error(`lab ${this.id} runs its CNI calls embedded (no daemon on ${name})`);
    const pid = node.agent?.pid ?? node.cniDaemon?.pid;
    if (!pid) throw new Error(`node ${name} has no CNI daemon record`);
    return pid;
  }

  /** Thick mode without an agent: stops `node`'s `podnetd serve-cni` (its calls then run in-process). */
  async stopCniDaemon(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const node = this.node(name);
    if (!node.cniDaemon) throw new Error(`node ${name} runs no podnetd serve-cni${node.agent ? ' (its agent serves the CNI calls: stopAgent)' : ''}`);
    await stopCniDaemon(node.cniDaemon, signal);
  }

  async startCniDaemon(name: string): Promise<void> {
    const node = this.node(name);
    if (!node.cniDaemon) throw new Error(`node ${name} runs no podnetd serve-cni${node.agent ? ' (its agent serves the CNI calls: startAgent)' : ''}`);
    node.cniDaemon = await startCniDaemon(node, node.cniDaemon);
    await saveState(this.state);
  }

  /** Runs `podnetd <args>` once inside `node`'s namespace (e.g. `teardown --release`). */
  async podnetd(name: string, args: readonly string[]) {
    const node = this.node(name);
    return run('ip', ['netns', 'exec', node.netns, this.podnetdBinary(), ...args], { timeoutMs: 30_000 });
  }

  private podnetdBinary(): string {
    if (!this.state.podnetdBinary) throw new Error(`lab ${this.id} (${this.state.backend}, CNI ${this.state.cniMode ?? 'embedded'}) runs no podnetd`);
    return this.state.podnetdBinary;
  }

  /** The flags that name `node`'s agent identity and store, for one-shot podnetd commands (teardown). */
  agentStoreArgs(node: NodeRecord): string[] {
    const args = node.agent?.args ?? [];
    const keep = new Set(['--node', '--store', '--underlay', '--lease-file']);
    return args.flatMap((a, i) => (keep.has(a) && args[i + 1] !== undefined ? [a, args[i + 1]!] : []));
  }

  async stopEtcd(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.state.etcd) throw new Error(`lab ${this.id} runs no etcd (store ${this.state.store})`);
    await stopEtcd(this.state.etcd, signal);
  }

  async startEtcd(): Promise<void> {
    if (!this.state.etcd) throw new Error(`lab ${this.id} runs no etcd (store ${this.state.store})`);
    this.state.etcd = await runEtcd(this.state.fabric.netns, this.state.etcd);
    await saveState(this.state);
  }

  /** Compacts etcd's history to the current revision; returns that revision. */
  async compactEtcd(): Promise<number> {
    if (!this.state.etcd) throw new Error(`lab ${this.id} runs no etcd (store ${this.state.store})`);
    return etcdCompact(this.state.fabric.netns, this.state.etcd);
  }

  etcdctl(args: readonly string[]) {
    if (!this.state.etcd) throw new Error(`lab ${this.id} runs no etcd (store ${this.state.store})`);
    return etcdctl(this.state.fabric.netns, this.state.etcd, args);
  }
}
