// The node-local lease file: written by podnetd (atomically: temp file + rename), read by the
// CNI executables of host-gw and VXLAN on every call. Kept free of any store code so the CNI
// executables import only this (`@podnet/cluster/lease-file`).

/** Default path, one per node. */
export const DEFAULT_LEASE_FILE = '/run/podnet/lease.json';

export interface LeaseFile {
  /** Format version; readers refuse what they do not know. */
  version: 1;
  node: string;
  /** The cluster network(s): `{ ipv4?: "10.244.0.0/16", ipv6?: "fd00:10:244::/56" }`. */
  network: { ipv4?: string; ipv6?: string };
  /** This node's pod subnet(s). */
  subnets: { ipv4?: string; ipv6?: string };
  /** MTU for pod interfaces (underlay MTU for host-gw, minus the overlay for VXLAN). */
  mtu: number;
  /** Backend type, e.g. `host-gw`. */
  backend: string;
  /** When the agent wrote it (ISO 8601), for people. */
  writtenAt: string;
}
