// @podnet/backend-host-gw: pods on a node bridge, and one route per peer subnet via the peer's
// node address. `backend` is what the CNI app and podnetd select; the pod half is the bridge's,
// configured from the node's lease file (no copy), the node half supplies only the routes.
import type { Backend } from '@podnet/core/backend';
import { hostGwNodeHalf } from './node/node-half.js';
import { createHostGwPodHalf } from './pod/pod-half.js';

export const backend = { name: 'host-gw', pod: createHostGwPodHalf(), node: hostGwNodeHalf } satisfies Backend;

export { createHostGwPodHalf, DEFAULT_BRIDGE } from './pod/pod-half.js';
export type { HostGwPodHalfOptions } from './pod/pod-half.js';
export { resolveHostGwConfig } from './pod/resolve.js';
export { HOST_GW_KEYS, LEASE_BACKEND } from './pod/lease.js';
export { HostGwNodeHalf, hostGwNodeHalf } from './node/node-half.js';
export { ParseCache, peerRoutes } from './node/routes.js';
export { NodeSocket, SkipLog } from './node/node-socket.js';
export type { PeerRoutes, Skipped, Underlay } from './node/routes.js';
