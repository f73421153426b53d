// Network namespaces: a handle with one door in (`run`), named namespaces, and sysctls.
export { NetNS } from './netns.js';
export { NetnsError } from './error.js';
export type { NetnsErrorReason } from './error.js';
export { NAMED_NETNS_DIR, createNamedNetns, deleteNamedNetns, namedNetnsPath } from './named.js';
export { readSysctl, sysctlPath, writeSysctl } from './sysctl.js';
