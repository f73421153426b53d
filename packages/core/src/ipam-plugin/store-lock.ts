// The store lock of the CNI executables: flock(2) on a sidecar file `<dataDir>/.locks/<network>`.
//
// The lock files live in `.locks/` because CNI network names start with a letter or digit: no
// network's store can be that directory, and a network may be named anything (`X` and `X.lock`
// share a dataDir; before, the lock file of `X` was the store path of `X.lock`). An old
// `<network>.lock` sidecar left by an earlier version is never a store (see ipam/store-dir.ts);
// mixed versions during an upgrade still exclude each other through LevelDB's own LOCK.
//
// Why not LevelDB's own lock alone: a process that finds LevelDB locked has already paid for a
// failed open (LevelDB rotates its LOG file before it tries the lock), and in a burst of pods every
// call failed ~20 times. A LOCK_NB flock attempt is one system call that touches no file, so waiting
// here costs nearly nothing; the kernel drops the lock when the holder dies, SIGKILL included.
// The wait polls instead of blocking in flock(): a blocking call would stall the event loop, and
// the wait must stay bounded by ipam.lockTimeoutMs (then code 11). Polls back off (jittered, 2 ms
// doubling to 16 ms): measured with 32 compiled podnet-ipam ADDs at once on 2 cores, a fixed 1–3 ms
// poll kept 31 waiters waking ~500 times a second each and made the burst slower than LevelDB's own
// retry (median ADD 464 vs 340 ms); with the backoff it was faster (312 vs 378 ms).
//
// The file is never removed: unlinking a lock file races with a process that just opened it.
import { basename, dirname, join } from 'node:path';
import { lockFile } from '../lock/index.js';
import type { StoreLock, StoreUnlock } from '../ipam/index.js';

/** The directory of the lock files, inside the dataDir: a name no network can take. */
export const LOCK_DIR = '.locks';

/** The sidecar lock file of the store at `storeDir` (`<dataDir>/<network>` → `<dataDir>/.locks/<network>`). */
export function lockFileOf(storeDir: string): string {
  const store = storeDir.replace(/\/+$/, '');
  return join(dirname(store), LOCK_DIR, basename(store));
}

/** StoreLock through flock(2) on `lockFileOf(storeDir)` (core/lock: polled with 2→16 ms backoff). */
export const flockStoreLock: StoreLock = async (storeDir: string, timeoutMs: number): Promise<StoreUnlock | undefined> => {
  const held = await lockFile(lockFileOf(storeDir), { timeoutMs, createParents: true });
  return held ? () => held.release() : undefined;
};
