// The node's lease as one CNI call needs it: where the file is (`leaseFile`), and the file read
// and checked, with its absence mapped to what the verb must answer. The file is podnetd's:
// written atomically once the agent holds this node's subnet lease (@podnet/cluster/lease-file).
import { DEFAULT_LEASE_FILE, LeaseFileError, readLeaseFile } from '@podnet/cluster/lease-file';
import type { LeaseFile } from '@podnet/cluster/lease-file';
import { CniError, ErrorCode } from '@podnet/core/cni';
import type { NetConf } from '@podnet/core/cni';

/** The lease file's `backend` this plugin serves. */
export const LEASE_BACKEND = 'host-gw';

/** Config keys host-gw adds to the bridge's. */
export const HOST_GW_KEYS: readonly string[] = ['leaseFile'];

/** The `leaseFile` key: an absolute path, default DEFAULT_LEASE_FILE. Code 7 naming the key otherwise. */
export function leaseFileOf(conf: NetConf): string {
  const value = conf['leaseFile'];
  if (value === undefined) return DEFAULT_LEASE_FILE;
  if (typeof value !== 'string' || !value.startsWith('/')) {
    throw new CniError(
      ErrorCode.InvalidConfig,
      `invalid "leaseFile" ${JSON.stringify(value)}`,
      `expected the absolute path of the lease file podnetd writes (default ${DEFAULT_LEASE_FILE})`,
    );
  }
  return value;
}

/** The verbs that need the lease: ADD and CHECK (try again later), STATUS (not available). */
export type LeaseVerb = 'ADD' | 'CHECK' | 'STATUS';

/**
 * Read the lease for `verb`. No file yet: code 50 for STATUS, 11 for ADD and CHECK (the runtime
 * retries; the agent writes the file once it holds a lease). A file that does not parse, or one
 * written for another backend than `backend` (default host-gw; VXLAN reuses this pod half), is
 * code 7: retrying does not help, the node is misconfigured.
 */
export function loadLease(path: string, verb: LeaseVerb, backend: string = LEASE_BACKEND): LeaseFile {
  let lease: LeaseFile;
  try {
    lease = readLeaseFile(path);
  } catch (err) {
    if (!(err instanceof LeaseFileError)) throw err;
    if (err.reason === 'missing') throw missingLease(path, verb, err);
    throw new CniError(
      ErrorCode.InvalidConfig,
      `cannot use the lease file ${path}: ${err.message}`,
      'podnetd (the podnet node agent) writes this file; restart it, or point "leaseFile" at the file it writes',
      {
        cause: err,
      },
    );
  }
  if (lease.backend !== backend) {
    throw new CniError(
      ErrorCode.InvalidConfig,
      `lease file ${path} is for backend "${lease.backend}", not "${backend}"`,
      `podnetd on this node runs the ${lease.backend} backend: use the podnet-${lease.backend} plugin in the conflist, or run podnetd with the ${backend} backend`,
    );
  }
  return lease;
}

function missingLease(path: string, verb: LeaseVerb, cause: Error): CniError {
  const why = `podnetd (the podnet node agent) writes it once it holds this node's subnet lease: is podnetd running on this node? (set "leaseFile" if it writes elsewhere)`;
  if (verb === 'STATUS') {
    return new CniError(ErrorCode.PluginNotAvailable, `no subnet lease yet: podnetd has not written the lease file ${path}`, why, { cause });
  }
  return new CniError(
    ErrorCode.TryAgainLater,
    `no subnet lease yet: podnetd has not written the lease file ${path}`,
    `${verb} needs the node's pod subnet; ${why}`,
    { cause },
  );
}
