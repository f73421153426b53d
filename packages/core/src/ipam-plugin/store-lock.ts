// The store lock of the CNI executables: flock(2) on a sidecar file `<dataDir>/<network>.lock`.
//
// Why not LevelDB's own lock alone: a process that finds LevelDB locked has already paid for a
// failed open (LevelDB rotates its LOG file before it tries the lock), and in a burst of pods every
// call failed ~20 times. A LOCK_NB flock attempt is one system call that touches no file, so waiting
// here costs nearly nothing; the kernel drops the lock when the holder dies, SIGKILL included.
// The wait polls (short jittered sleeps) instead of blocking in flock(): a blocking call would stall
// the event loop, and the wait must stay bounded by ipam.lockTimeoutMs (then code 11).
//
// The file is never removed: unlinking a lock file races with a process that just opened it.
import { closeSync, constants, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCK_EX, LOCK_NB, LOCK_UN, flock } from '../libc/index.js';
import type { StoreLock, StoreUnlock } from '../ipam/index.js';

/** Jittered pause between attempts: short, since a session holds the store for a few ms. */
const MIN_WAIT_MS = 1;
const MAX_WAIT_MS = 3;

/** The sidecar lock file of the store at `storeDir` (`<dataDir>/<network>` → `<dataDir>/<network>.lock`). */
export function lockFileOf(storeDir: string): string {
  return `${storeDir.replace(/\/+$/, '')}.lock`;
}

/** StoreLock through flock(2) on `lockFileOf(storeDir)`. */
export const flockStoreLock: StoreLock = async (storeDir: string, timeoutMs: number): Promise<StoreUnlock | undefined> => {
  const file = lockFileOf(storeDir);
  const fd = openSync(file, constants.O_RDWR | constants.O_CREAT, 0o600);
  try {
    const deadline = Date.now() + timeoutMs;
    while (!flock(fd, LOCK_EX | LOCK_NB, file)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        closeSync(fd);
        return undefined;
      }
      await sleep(Math.min(left, MIN_WAIT_MS + Math.random() * (MAX_WAIT_MS - MIN_WAIT_MS)));
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
