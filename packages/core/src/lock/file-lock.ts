// An exclusive inter-process lock on a file: flock(2) polled with jittered backoff, bounded in
// time, never blocking the event loop (a blocking flock would stall it, and the wait must end with
// a clear "try again later" instead of a hang). The kernel drops the lock when the holder dies,
// SIGKILL included.
//
// Removable locks: a lock file per short-lived thing (an attachment) has to be deleted when the
// thing goes, and unlinking a lock file races with a process that opened it just before: it would
// then hold a lock on a file no one else can see. So a holder unlinks only while it holds the
// lock, and every acquirer checks, once it holds the lock, that the path still names the file it
// locked (same inode); if not, it starts over on the new file.
import { closeSync, constants, fstatSync, mkdirSync, openSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCK_EX, LOCK_NB, LOCK_UN, flock } from '../libc/index.js';

/** Pauses between attempts: full jitter in [1, backoff] ms, the backoff doubling up to the cap. */
const FIRST_BACKOFF_MS = 2;
const MAX_BACKOFF_MS = 16;

export interface HeldLock {
  /**
   * Release; with `remove`, delete the lock file first (while still holding it), and with
   * `pruneParent` also its directory when that is left empty. Idempotent.
   */
  release(options?: { remove?: boolean; pruneParent?: boolean }): void;
}

export interface FileLockOptions {
  /** Total wait while another process holds it; then `undefined`. */
  timeoutMs: number;
  /** Create missing parent directories (mode 0700). */
  createParents?: boolean;
}

function sameFile(fd: number, path: string): boolean {
  try {
    const held = fstatSync(fd);
    const named = statSync(path);
    return held.ino === named.ino && held.dev === named.dev;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

const OPEN_FLAGS = constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;

function openLockFile(path: string, createParents: boolean): number {
  // A holder pruning the directory (release with pruneParent) may remove it between our mkdir and
  // our open: then make it again.
  for (let attempt = 0; ; attempt++) {
    try {
      return openSync(path, OPEN_FLAGS, 0o600);
    } catch (err) {
      if (!createParents || (err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 10) throw err;
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    }
  }
}

function held(fd: number, path: string): HeldLock {
  let released = false;
  return {
    release(options = {}) {
      if (released) return;
      released = true;
      try {
        if (options.remove) {
          try {
            unlinkSync(path);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          }
          if (options.pruneParent) {
            try {
              rmdirSync(dirname(path));
            } catch {
              // not empty (another lock in it), or gone already: fine
            }
          }
        }
        // Closing the only descriptor releases the lock too; the explicit unlock makes it
        // independent of any descriptor a child process might have inherited.
        flock(fd, LOCK_UN, path);
      } finally {
        closeSync(fd);
      }
    },
  };
}

/** Try once, without waiting: the lock, or undefined when another process holds it. */
export function tryLockFile(path: string, options: { createParents?: boolean } = {}): HeldLock | undefined {
  for (;;) {
    const fd = openLockFile(path, options.createParents ?? false);
    try {
      if (!flock(fd, LOCK_EX | LOCK_NB, path)) {
        closeSync(fd);
        return undefined;
      }
      if (sameFile(fd, path)) return held(fd, path);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    closeSync(fd); // the holder before us removed it: lock the new file instead
  }
}

/** The lock, waiting up to `timeoutMs`; undefined when others held it all that time. */
export async function lockFile(path: string, options: FileLockOptions): Promise<HeldLock | undefined> {
  const deadline = Date.now() + options.timeoutMs;
  let backoff = FIRST_BACKOFF_MS;
  for (;;) {
    const lock = tryLockFile(path, options.createParents !== undefined ? { createParents: options.createParents } : {});
    if (lock) return lock;
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    await sleep(Math.min(left, Math.max(1, Math.random() * backoff)));
    backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
  }
}
