// The Backend contract: every backend package exports one factory whose value satisfies `Backend`.
// A backend has two halves. The pod half runs inside the CNI executable, once per runtime call.
// The node half runs inside the agent, long-lived, and makes the kernel match the cluster's leases.
import type { Plugin } from './cni/plugin.js';

/**
 * podnet's rtm_protocol for the routes the agent installs (any value 5–252 that no routing daemon
 * in /etc/iproute2/rt_protos uses; 83 is unassigned there). Routes carrying it are the agent's to
 * replace or delete; routes of any other protocol are never touched.
 */
export const PODNET_ROUTE_PROTOCOL = 83;

/** What the agent knows about one node's lease (its own or a peer's). */
export interface NodeLease {
  /** The node's name. */
  node: string;
  /** The node's pod subnet(s), CIDR; one per family. */
  subnets: string[];
  /** The node's underlay address(es), used as next hop or VTEP. */
  nodeIps: string[];
  /** Backend-specific data a peer publishes (e.g. VXLAN VTEP MAC). */
  backendData?: Record<string, unknown>;
}

/** Where the node half works: the underlay link the agent found or was given. */
export interface NodeEnvironment {
  /** This node's name (the lease's `node`): a stable identity, e.g. to derive a VTEP MAC from. */
  node?: string;
  /**
   * The network config's `Backend` section as stored (`{ Type, …options }`); each backend parses
   * and validates its own options, naming the field (`Backend.VNI`).
   */
  backend?: Readonly<Record<string, unknown>>;
  underlay: {
    name: string;
    index: number;
    mtu: number;
    /** The underlay link's addresses (no prefix length), the node's own addresses first. */
    addresses: string[];
  };
  /** The node's netns path; absent: the agent's own (the normal case on a real node). */
  netns?: string;
  /** rtm_protocol stamped on every route this node half owns. */
  routeProtocol: number;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void;
}

/** What one reconcile did and found, for logs, metrics and `podnetd status`. */
export interface NodeReconcileReport {
  /** Routes (or other entries) now programmed for peers. */
  programmed: number;
  /** Kernel changes made by this pass (0 when nothing had drifted). */
  changes: number;
  /** Peers left out, and why (e.g. not on-link for host-gw). */
  skipped: Array<{ node: string; reason: string }>;
  /** Changes the kernel refused or conflicts with entries of other owners. */
  errors: string[];
}

/** The long-lived half: converge the data plane to (local lease, peer leases). Idempotent. */
export interface NodeHalf {
  reconcile(local: NodeLease, peers: readonly NodeLease[]): Promise<NodeReconcileReport>;
  /** Remove everything this backend installed on the node. */
  teardown(): Promise<void>;
  /** Release sockets and handles; leaves the data plane as it is. */
  close(): void;
}

export interface NodeHalfFactory {
  /**
   * The MTU pods get on this backend, from the underlay's MTU and family, and the network
   * config's `Backend` section when the backend has an MTU option (VXLAN's `MTU`).
   */
  podMtu(underlayMtu: number, underlayFamily: 4 | 6, backend?: Readonly<Record<string, unknown>>): number;
  /** Backend data this node publishes in its lease (VXLAN: its VTEP MAC). */
  leaseData?(env: NodeEnvironment): Record<string, unknown> | undefined;
  create(env: NodeEnvironment): NodeHalf;
}

export interface Backend {
  /** The backend's name (`bridge`); its executable and conflist `type` are `podnet-<name>`. */
  readonly name: string;
  /** The per-call half: ADD / DEL / CHECK / GC / STATUS handlers for the CNI skel. */
  readonly pod: Plugin;
  /** Absent for single-node backends (bridge). */
  readonly node?: NodeHalfFactory;
}
