// @podnet/core/ipam: range sets, round-robin allocation and a LevelDB store, usable on its own.
// Loads nothing outside this folder but `level` (lazily, on the first store open) and ip-cidr (and
// node: built-ins); see import-isolation.integration.test.ts.
export { parseIpamConfig, parseStoreLocation, managesAddress, DEFAULT_DATA_DIR, DEFAULT_LOCK_TIMEOUT_MS } from './config.js';
export type { IpamConfig, IpamConfigInput, IpamRoute, StoreLocation } from './config.js';
export type { Range, RangeSet } from './range.js';
export type { RequestedAddress } from './request.js';
export type { Family } from './address.js';
export { allocate, release, check, gc, list, status, withStore } from './ipam.js';
export { repair } from './repair.js';
export type { RepairOptions, RepairReport } from './repair.js';
export type { LiveAttachment, RestorePlan, Restored } from './restore.js';
export { PLACEHOLDER_PREFIX } from './restore.js';
export type { LiveSource } from './store.js';
export { REPAIR_HINT } from './store-dir.js';
export type { IpamResult, SessionOptions, StoreProvider } from './ipam.js';
export { HeldStores } from './held-stores.js';
export type { StoreLock, StoreUnlock } from './database.js';
export { IpamStore } from './store.js';
export type { Owner, AllocationEntry, AllocatedAddress, AllocationPlan } from './store.js';
export type { IpamDns } from './resolv-conf.js';
export { parseResolvConf } from './resolv-conf.js';
export { IpamError, IpamErrorCode } from './errors.js';
export type { IpamErrorCodeValue } from './errors.js';
