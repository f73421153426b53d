// The VXLAN pod half is host-gw's (no copy): pods on the node bridge, addresses from the node's
// subnet, the MTU from the lease file (podnetd writes the overlay MTU there). Only the lease
// file's backend differs: a VXLAN node's lease file says `vxlan`.
import { createHostGwPodHalf } from '@podnet/backend-host-gw';
import type { HostGwPodHalfOptions } from '@podnet/backend-host-gw';
import type { Plugin } from '@podnet/core/cni';

/** The lease file's `backend` this plugin serves. */
export const LEASE_BACKEND = 'vxlan';

export function createVxlanPodHalf(options: Omit<HostGwPodHalfOptions, 'leaseBackend'> = {}): Plugin {
  return createHostGwPodHalf({ ...options, leaseBackend: LEASE_BACKEND });
}
