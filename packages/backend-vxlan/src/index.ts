// @podnet/backend-vxlan: an overlay for nodes that are not on one L2 segment. `backend` is what
// the CNI app and podnetd select. The pod half is host-gw's (the bridge pod half configured from
// the node's lease file, no copy) serving `vxlan` leases; the node half owns the VXLAN devices,
// their neighbours, FDB entries and routes, and the underlay filter.
import type { Backend } from '@podnet/core/backend';
import { vxlanNodeHalf } from './node/node-half.js';
import { createVxlanPodHalf } from './pod/pod-half.js';

export const backend = { name: 'vxlan', pod: createVxlanPodHalf(), node: vxlanNodeHalf } satisfies Backend;

export { createVxlanPodHalf, LEASE_BACKEND } from './pod/pod-half.js';
export { DEFAULT_PORT, DEFAULT_VNI, VxlanConfigError, encapsulation, overlayMtu, parseVxlanOptions } from './config/options.js';
export type { VxlanOptions } from './config/options.js';
export { LEASE_KEYS, deriveVtepMac, leaseMac } from './vtep/mac.js';
export { DEVICE_NAMES } from './node/device.js';
export { VxlanNodeHalf, vxlanNodeHalf } from './node/node-half.js';
export type { VxlanNodeHalfDeps } from './node/node-half.js';
export { planPeers } from './node/plan.js';
export type { Plan } from './node/plan.js';
export { FILTER_TABLE, STRANGERS_COUNTER, UnderlayFilter, filterScript } from './filter/filter.js';
