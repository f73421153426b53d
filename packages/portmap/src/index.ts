// @podnet/portmap: host ports (the CNI `portMappings` capability) as one node-wide nftables
// table. The bridge pod half builds them in (`HostPorts` + `parsePortMappings`); podnet-portmap
// is `createPortmapPlugin`; podnetd calls `repairHostPorts` every reconcile.
export { parsePortMappings, describeMapping } from './mapping.js';
export type { HostScope, PortMapping, Protocol } from './mapping.js';
export { DEFAULT_PROFILE, profileName } from './profile.js';
export type { Profile } from './profile.js';
export { ownerComment } from './owner.js';
export type { Attachment } from './owner.js';
export { planHostPorts } from './plan.js';
export type { Element, HostPortPlan, HostPortRequest } from './plan.js';
export { HOSTPORT_TABLE, HostPortTable } from './table.js';
export type { TableState } from './table.js';
export { HostPorts } from './host-ports.js';
export type { HostPortsLog, HostPortsOptions } from './host-ports.js';
export { DEFAULT_STATE_DIR } from './state.js';
export { repairHostPorts } from './repair.js';
export type { RepairOptions, RepairReport } from './repair.js';
export { flushUdpConntrack } from './conntrack.js';
export { enableRouteLocalnet } from './localnet.js';
export { parsePortmapConfig } from './config.js';
export type { PortmapConfig } from './config.js';
export { createPortmapPlugin } from './plugin.js';
export type { PortmapPluginOptions } from './plugin.js';
export type { NftRunner } from './nft.js';
