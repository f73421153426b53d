// The Backend contract: every backend package exports one factory whose value satisfies `Backend`.
// A backend has two halves. The pod half runs inside the CNI executable, once per runtime call.
// The node half runs inside the agent, long-lived, and makes the kernel match the cluster's leases.
import type { Plugin } from './cni/plugin.js';

/** What the agent knows about one node's lease (its own or a peer's). */
export interface NodeLease {
  /** The node's pod subnet(s), CIDR; one per family. */
  subnets: string[];
  /** The node's underlay address(es), used as next hop or VTEP. */
  nodeIps: string[];
  /** Backend-specific data a peer publishes (e.g. VXLAN VTEP MAC). */
  backendData?: Record<string, unknown>;
}

/** The long-lived half: converge the data plane to (local lease, peer leases). Idempotent. */
export interface NodeHalf {
  reconcile(local: NodeLease, peers: readonly NodeLease[]): Promise<void>;
  /** Remove everything this backend installed on the node. */
  teardown(): Promise<void>;
}

export interface Backend {
  /** The backend's name (`bridge`); its executable and conflist `type` are `podnet-<name>`. */
  readonly name: string;
  /** The per-call half: ADD / DEL / CHECK / GC / STATUS handlers for the CNI skel. */
  readonly pod: Plugin;
  /** Absent for single-node backends (bridge). */
  readonly node?: NodeHalf;
}
