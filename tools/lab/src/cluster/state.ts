// The record of one multi-node lab, kept as JSON in the lab's state directory so that `status`,
// `matrix` and `down` (separate processes) find what `up` created. Written after every step of
// `up`, so a crash half-way still leaves a record `down` can use — and `down` does not even need
// it: every name starts with the lab's prefix.
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LabTopology } from './routed.js';

export type LabBackend = 'host-gw' | 'vxlan' | 'bridge';
export type LabStoreKind = 'local' | 'etcd';
/**
 * How a node's CNI calls run: `embedded` (the executable does the whole call itself, the config
 * says `"daemon": false`) or `thick` (the node's podnetd serves them on `<state>/n<k>/cni.sock`,
 * the executable is a thin client; the config names that socket).
 */
export type LabCniMode = 'embedded' | 'thick';

/** Where lab state directories live unless told otherwise (tmpfs, gone after a reboot like the namespaces). */
export const DEFAULT_STATE_ROOT = '/run/podnet-lab';

export interface AgentRecord {
  pid: number;
  /** The agent's HTTP listen address inside the node's namespace. */
  listen: string;
  log: string;
  leaseFile: string;
  /** The exact argv after `podnetd`, so a restart runs the same agent. */
  args: string[];
}

export interface NodeRecord {
  name: string;
  netns: string;
  /** The underlay link inside the node namespace. */
  underlay: string;
  /** The node's underlay address (no prefix length). */
  address: string;
  /** Per-node files: lease file, IPAM store, agent log. */
  dir: string;
  ipamDir: string;
  agent?: AgentRecord;
  /** Thick mode: the socket the node's podnetd serves CNI calls on (one per node: they share a filesystem). */
  cniSocket?: string;
  /** Thick mode without an agent (bridge): the node's `podnetd serve-cni`. */
  cniDaemon?: CniDaemonRecord;
}

export interface CniDaemonRecord {
  pid: number;
  log: string;
  /** The exact argv (podnetd first), so a restart runs the same daemon. */
  args: string[];
}

export interface PodRecord {
  name: string;
  node: string;
  netns: string;
  containerId: string;
  ifname: string;
  /** The pod's IPv4 address from the ADD result. */
  ip?: string;
}

export interface EtcdRecord {
  pid: number;
  /** Client URL, on the fabric's own address (reachable from every node's underlay). */
  endpoint: string;
  dataDir: string;
  log: string;
  args: string[];
}

export interface LabState {
  version: 1;
  id: string;
  prefix: string;
  dir: string;
  backend: LabBackend;
  store: LabStoreKind;
  /** Absent in records of labs made before the option: embedded. */
  cniMode?: LabCniMode;
  /** What every agent gets as `--store`. */
  storeSpec?: string;
  /** The flannel-style network config file given to every agent. */
  networkConfigFile?: string;
  /** The CNI executable the nodes' runtime runs, and the agent's (resolved once, at `up`). */
  cniBinary: string;
  podnetdBinary?: string;
  /** The agents' `--reconcile-period`. */
  reconcilePeriod?: string;
  /** The CNI network name (conflist `name`). */
  cniNetwork: string;
  /** The static pod subnet of the single-node bridge lab. */
  bridgeSubnet?: string;
  underlaySubnet: string;
  /** How the nodes' underlay is wired (routed.ts); absent: flat, every node on the fabric bridge. */
  topology?: LabTopology;
  /** Dual-stack (routed topology only): IPv6 cluster network and underlay. */
  ipv6?: boolean;
  fabric: { netns: string; bridge: string; address: string };
  etcd?: EtcdRecord;
  nodes: NodeRecord[];
  pods: PodRecord[];
  createdAt: string;
}

export function stateFile(dir: string): string {
  return path.join(dir, 'lab.json');
}

// Saves of one lab are queued: agents start in parallel and each records itself, and the last
// record written must be the newest.
const queues = new Map<string, Promise<void>>();

/** Atomic write (temp + rename): a reader never sees half a record. */
export function saveState(state: LabState): Promise<void> {
  const text = `${JSON.stringify(state, null, 2)}\n`;
  const write = async (): Promise<void> => {
    await mkdir(state.dir, { recursive: true });
    const tmp = `${stateFile(state.dir)}.${process.pid}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, stateFile(state.dir));
  };
  const next = (queues.get(state.dir) ?? Promise.resolve()).then(write, write);
  queues.set(state.dir, next);
  void next
    .finally(() => {
      if (queues.get(state.dir) === next) queues.delete(state.dir);
    })
    .catch(() => {});
  return next;
}

export async function loadState(dir: string): Promise<LabState> {
  let text: string;
  try {
    text = await readFile(stateFile(dir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`no lab at ${dir} (${stateFile(dir)} is missing)`);
    throw err;
  }
  const state = JSON.parse(text) as LabState;
  if (state.version !== 1) throw new Error(`${stateFile(dir)}: unknown lab state version ${String(state.version)}`);
  return state;
}

/** The state directories under `root` whose name starts with `prefix`, newest last. */
export async function labDirs(root: string, prefix: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .filter((n) => n.startsWith(prefix))
    .sort()
    .map((n) => path.join(root, n));
}
