// What is at a store's path before LevelDB is allowed to create anything there.
//
// LevelDB with create_if_missing treats a directory without CURRENT as "no database": it writes a
// new empty one there and then deletes every table and log the new version does not list. A store
// that merely lost its 16-byte CURRENT file would silently lose all its allocations. So a store is
// created only where nothing of a database is: the path is absent, or the directory holds only the
// files a failed LevelDB open leaves behind (LOCK, LOG, LOG.old). Anything else without CURRENT is
// a damaged store: refused, with the way to repair it.
//
// These checks run only where an open already failed or CURRENT is missing; a call on a healthy
// store pays nothing for them.
import { readdir, stat, unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { IpamError, IpamErrorCode } from './errors.js';

/**
 * Files a LevelDB open leaves in a directory even when it fails (lock, info log), and those of a
 * creation in progress in another process (the first manifest, written just before CURRENT): none
 * holds an allocation.
 */
const OPEN_LEFTOVERS = new Set(['LOCK', 'LOG', 'LOG.old', 'MANIFEST-000001', '000001.dbtmp']);

export type StoreDirState =
  /** Nothing there: a store may be created. */
  | { readonly kind: 'absent' }
  /** A directory with no database file in it: a store may be created. */
  | { readonly kind: 'fresh' }
  /** A complete store (CURRENT present). */
  | { readonly kind: 'store' }
  /** Database files without CURRENT: never create over it; repair it. */
  | { readonly kind: 'lost-current'; readonly files: readonly string[] }
  /**
   * An empty regular file `<name>.lock`: the flock sidecar of network `<name>` from before the lock
   * files moved to `.locks/`. It is never a store; the network literally named `<name>.lock` may
   * take the path.
   */
  | { readonly kind: 'old-lock-file' }
  /** Something else (a non-empty file, a socket…): refuse. */
  | { readonly kind: 'not-directory'; readonly what: string };

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export async function inspectStoreDir(path: string): Promise<StoreDirState> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    // ENOTDIR: a parent is a file; creating fails later with the clearer message.
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return { kind: 'absent' };
    throw ioError(path, 'cannot inspect', err);
  }
  if (!info.isDirectory()) {
    if (info.isFile() && info.size === 0 && basename(path).endsWith('.lock')) return { kind: 'old-lock-file' };
    return { kind: 'not-directory', what: info.isFile() ? `a file of ${info.size} bytes` : 'not a directory' };
  }
  let entries: string[];
  try {
    entries = await readdir(path);
  } catch (err) {
    throw ioError(path, 'cannot list', err);
  }
  if (entries.includes('CURRENT')) return { kind: 'store' };
  const files = entries.filter((name) => !OPEN_LEFTOVERS.has(name)).sort();
  return files.length === 0 ? { kind: 'fresh' } : { kind: 'lost-current', files };
}

/**
 * Makes the path ready for LevelDB's create_if_missing: only `absent`, `fresh` and an old lock file
 * qualify (the old lock file is removed first). Throws the refusal for anything else.
 */
export async function prepareCreate(path: string, state: StoreDirState): Promise<void> {
  if (state.kind === 'absent' || state.kind === 'fresh' || state.kind === 'store') return;
  if (state.kind === 'old-lock-file') {
    try {
      await unlink(path);
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw ioError(path, 'cannot remove the old lock file', err);
    }
    return;
  }
  throw refusal(path, state);
}

/** The refusal for a path that must not be (re)created; undefined for states that are fine. */
export function refusal(path: string, state: StoreDirState): IpamError {
  if (state.kind === 'lost-current') {
    const shown = state.files.slice(0, 8).join(', ') + (state.files.length > 8 ? `, … (${state.files.length} files)` : '');
    return new IpamError(
      IpamErrorCode.IoFailure,
      `IPAM store ${path} is damaged: its CURRENT file is missing`,
      `the directory still holds ${shown}; it was left untouched (re-creating it would delete the allocations). ${REPAIR_HINT}`,
      { damaged: true },
    );
  }
  if (state.kind === 'not-directory') {
    return new IpamError(
      IpamErrorCode.IoFailure,
      `IPAM store ${path} is not a directory`,
      `found ${state.what}; expected the store's directory or nothing at that path`,
    );
  }
  return new IpamError(IpamErrorCode.IoFailure, `IPAM store ${path} cannot be used`, `unexpected state ${state.kind}`);
}

/**
 * LevelDB's messages for damaged files: "Corruption: …" (bad block, missing files) and the IO errors
 * that name one of the store's own files ("IO error: <store>/000016.ldb: Invalid argument" is what
 * a truncated table gives). An IO error on anything else (no space, permissions) is not damage.
 */
export function isCorruption(message: string): boolean {
  return /corruption|corrupted|missing files|bad magic|too short to be an sstable/i.test(message) || /\/\d{6}\.(ldb|sst|log)\b|\/MANIFEST-\d+/.test(message);
}

/** The IO error for a damaged store: LevelDB's message (it names the file) and the way out. */
export function damagedError(path: string, what: string, reason: string, cause: unknown): IpamError {
  return new IpamError(IpamErrorCode.IoFailure, `IPAM store ${path} is damaged: cannot ${what}`, `${reason}. ${REPAIR_HINT}`, { cause, damaged: true });
}

/** How to recover a damaged store; quoted by every error that reports one. */
export const REPAIR_HINT =
  'Repair it on this node with "podnet-<backend> repair --config <network config file>" (LevelDB repair, then every address a live pod uses is recorded again), or "podnet-ipam repair --config <file>" when no podnet backend serves the network; see the IPAM repair section of packages/core/README.md';

function ioError(path: string, what: string, err: unknown): IpamError {
  return new IpamError(IpamErrorCode.IoFailure, `IPAM store ${path}: ${what} it`, err instanceof Error ? err.message : String(err), { cause: err });
}
