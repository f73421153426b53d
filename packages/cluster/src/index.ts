// @podnet/cluster: the network config, node subnet leases and the stores that hold them.
export { parseNetworkConfig, familyRanges, describeRange, DEFAULT_BACKEND } from './config/network-config.js';
export type { NetworkConfig, FamilyRange } from './config/network-config.js';
export { ClusterError } from './lease/types.js';
export type {
  AcquireRequest,
  ClusterErrorKind,
  Lease,
  LeaseEvent,
  LeaseEventBatch,
  LeaseStore,
  LeaseSubnets,
  LeaseWatch,
  WatchHandlers,
} from './lease/types.js';
export { applyEvents, diffLeases, MIN_TTL_MS } from './lease/plan.js';
export { fitsRange, pickSubnet, subnetCount } from './subnet/pick.js';
export { openLeaseStore, parseStoreSpec, DEFAULT_ETCD_PREFIX } from './store/open.js';
export type { StoreOptions, EtcdTlsFiles } from './store/open.js';
