// The lease contract every lease store implements (local on LevelDB, etcd v3) and the agent
// consumes. One shared contract suite (src/testing/contract.ts) runs against every store.
import type { NetworkConfig } from '../config/network-config.js';

/** A node's pod subnet(s): one per enabled family (CIDR strings, canonical form). */
export interface LeaseSubnets {
  ipv4?: string;
  ipv6?: string;
}

/** One node's claim on pod subnet(s) of the cluster network. */
export interface Lease {
  /** The node's name: the identity a restart reuses its subnet by. */
  node: string;
  /** The node's underlay address(es), one per family at most (next hop / VTEP). */
  nodeIps: string[];
  subnets: LeaseSubnets;
  /** Backend type (`host-gw`, `vxlan`) and opaque data a peer publishes (VXLAN: VTEP MAC). */
  backend: { type: string; data?: Record<string, unknown> };
  /** Wall-clock expiry, ms since the epoch. A lease past it is free for another node. */
  expiresAt: number;
  /** The store revision of the lease's last write (monotonic within one store). */
  revision: number;
}

/** What a node asks for. */
export interface AcquireRequest {
  node: string;
  nodeIps: string[];
  backend: { type: string; data?: Record<string, unknown> };
  /** Lease lifetime; the holder renews well before (at a third of it). */
  ttlMs: number;
  /**
   * The subnets the node held before as it knows them (its lease file), tried when the store
   * itself remembers none for this node (e.g. a store that was wiped). Optional.
   */
  previous?: LeaseSubnets;
}

export type LeaseEvent = { type: 'added'; lease: Lease } | { type: 'changed'; lease: Lease; previous: Lease } | { type: 'removed'; lease: Lease };

/** One delivery of a watch: the events in store order and the revision they bring it to. */
export interface LeaseEventBatch {
  events: LeaseEvent[];
  revision: number;
  /**
   * True when the store could not replay from the asked revision (compaction, a gap, a
   * reconnect that lost history): the events are then a full snapshot diffed against what the
   * watcher was last told, so applying them still converges.
   */
  resync: boolean;
  /**
   * With `resync` (and the first batch of a watch from 0): every live lease at `revision`, so a
   * watcher that cannot trust its own view (it started from a revision it no longer has state
   * for) can replace it whole. Optional.
   */
  snapshot?: Lease[];
}

export interface LeaseWatch {
  close(): Promise<void>;
}

export interface WatchHandlers {
  onEvents(batch: LeaseEventBatch): void;
  /** Transient trouble (store unreachable); the watch keeps retrying by itself. */
  onError?(error: Error): void;
  /**
   * The watch is connected: once at the start and again after each recovery (etcd reconnected,
   * the local state readable again), so a caller learns the store is back as soon as the watch
   * is, not at its next call. Optional.
   */
  onConnected?(): void;
}

export interface LeaseStore {
  /** `local` or `etcd`. */
  readonly kind: string;
  /** The cluster's network config. Throws ClusterError('config-missing') when none is stored. */
  getNetworkConfig(): Promise<NetworkConfig>;
  /** Store (replace) the network config; what an operator or the lab does once. */
  putNetworkConfig(config: NetworkConfig): Promise<void>;
  /** Every live (unexpired) lease and the revision the listing is at. */
  list(): Promise<{ leases: Lease[]; revision: number }>;
  /**
   * Claim subnet(s) for a node: the node's previous subnet when it is still free and fits the
   * config, else a free one. Never one subnet to two nodes, even with many acquiring at once.
   * Throws ClusterError('exhausted') naming Network and SubnetLen when none is left.
   */
  acquire(request: AcquireRequest): Promise<Lease>;
  /**
   * Extend a held lease (and update nodeIps/backend data). Throws ClusterError('lease-lost')
   * when the lease expired, was deleted, or now belongs to another node.
   */
  renew(lease: Lease, update?: Partial<Pick<AcquireRequest, 'nodeIps' | 'backend' | 'ttlMs'>>): Promise<Lease>;
  /** Give the subnet back. Idempotent. */
  release(lease: Lease): Promise<void>;
  /**
   * Deliver every change after `fromRevision` (0: start with a full snapshot as `added`
   * events), in order, then keep watching until closed. Expiry counts as removal.
   */
  watch(fromRevision: number, handlers: WatchHandlers): LeaseWatch;
  close(): Promise<void>;
}

export type ClusterErrorKind = 'config-missing' | 'config-invalid' | 'exhausted' | 'lease-lost' | 'unavailable' | 'conflict';

export class ClusterError extends Error {
  constructor(
    readonly kind: ClusterErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ClusterError';
  }
}
