// @podnet/cluster/lease-file: what the CNI executables import (no store code, no dependencies).
export { DEFAULT_LEASE_FILE } from './format.js';
export type { LeaseFile } from './format.js';
export { LeaseFileError, parseLeaseFile, readLeaseFile, writeLeaseFile } from './file.js';
