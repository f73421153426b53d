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
import { closeSync, constants, mkdirSync, openSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCK_EX, LOCK_NB, LOCK_UN, flock } from '../libc/index.js';
import type { StoreLock, StoreUnlock } from '../ipam/index.js';

/** Pauses between attempts: full jitter in [1, backoff] ms, the backoff doubling up to the cap. */
const FIRST_BACKOFF_MS = 2;
const MAX_BACKOFF_MS = 16;

/** The directory of the lock files, inside the dataDir: a name no network can take. */
export const LOCK_DIR = '.locks';

/** The sidecar lock file of the store at `storeDir` (`<dataDir>/<network>` → `<dataDir>/.locks/<network>`). */
export function lockFileOf(storeDir: string): string {
  const store = storeDir.replace(/\/+$/, '');
  return join(dirname(store), LOCK_DIR, basename(store));
}

/** Opens (creating) the lock file; the lock directory (and dataDir) is made only when missing. */
function openLockFile(file: string): number {
  const flags = constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  try {
    return openSync(file, flags, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  return openSync(file, flags, 0o600);
}

/** StoreLock through flock(2) on `lockFileOf(storeDir)`. */
export const flockStoreLock: StoreLock = async (storeDir: string, timeoutMs: number): Promise<StoreUnlock | undefined> => {
  const file = lockFileOf(storeDir);
  const fd = openLockFile(file);
  try {
    const deadline = Date.now() + timeoutMs;
    let backoff = FIRST_BACKOFF_MS;
    while (!flock(fd, LOCK_EX | LOCK_NB, file)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        closeSync(fd);
        return undefined;
      }
      await sleep(Math.min(left, Math.max(1, Math.random() * backoff)));
      backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
    }
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    // Closing the only descriptor releases the lock too; the explicit unlock makes it independent
    // of any descriptor a child process might have inherited.
    try {
      flock(fd, LOCK_UN, file);
    } finally {
      closeSync(fd);
    }
  };
};
