// The local store's one file, `<dir>/state.json`: the whole store state, replaced atomically.
//
// Writers hold flock(2) on `<dir>/.locks/state` through core/lock (a LOCK_NB poll with backoff,
// dropped by the kernel when the holder dies; reused, not copied), read the file, change it, write
// `state.json.tmp`, fsync it and rename it over `state.json`. The rename is the commit: a SIGKILL
// at any moment leaves the old file or the new one, never half of either (a left-over tmp file
// is simply overwritten by the next writer, who holds the lock). Readers take no lock at all.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { NetworkConfig } from '../config/network-config.js';
import { ClusterError } from '../lease/types.js';
import type { Lease, LeaseEvent, LeaseSubnets } from '../lease/types.js';

export const STATE_FILE = 'state.json';
/** The writers' lock file, relative to the store directory (the path earlier versions used too). */
export const LOCK_FILE = '.locks/state';

/** How many lease events the file keeps for watchers that fall behind; older gaps resync. */
export const LOG_LIMIT = 1_024;

export interface LogEntry {
  revision: number;
  event: LeaseEvent;
}

export interface LocalState {
  version: 1;
  /** Bumped by every write that changes something. */
  revision: number;
  config?: NetworkConfig;
  /** Live or not-yet-swept leases, by node. */
  leases: Record<string, Lease>;
  /** Each lease's lifetime (ms), what a renew extends it by. */
  ttls: Record<string, number>;
  /** Each node's last subnets, kept after release and expiry so the node gets them back. */
  history: Record<string, LeaseSubnets>;
  /** Lease events after revision `logFrom`, oldest first, at most LOG_LIMIT. */
  log: LogEntry[];
  logFrom: number;
}

export function emptyState(): LocalState {
  return { version: 1, revision: 0, leases: {}, ttls: {}, history: {}, log: [], logFrom: 0 };
}

/** The file's identity: when it changes, the state may have. Undefined when there is no file. */
export function stateStamp(dir: string): string | undefined {
  try {
    const st = statSync(join(dir, STATE_FILE), { bigint: true });
    return `${st.ino}:${st.mtimeNs}:${st.size}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export function readState(dir: string): LocalState {
  const path = join(dir, STATE_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw new ClusterError('unavailable', `local lease store ${dir}: cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const state = JSON.parse(text) as LocalState;
    if (state.version !== 1) throw new Error(`unknown version ${JSON.stringify(state.version)}`);
    return state;
  } catch (error) {
    throw new ClusterError('unavailable', `local lease store ${dir}: ${path} is damaged: ${(error as Error).message}`, { cause: error });
  }
}

/** Replace the state file (call only holding the lock). */
export function writeState(dir: string, state: LocalState): void {
  const path = join(dir, STATE_FILE);
  const tmp = `${path}.tmp`;
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(state));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (error) {
    throw new ClusterError('unavailable', `local lease store ${dir}: cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
}
