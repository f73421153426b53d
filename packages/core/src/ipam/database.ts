// The LevelDB handle behind the store: open with a bounded, jittered wait for the lock, and close
// after upkeep.
//
// LevelDB admits one process at a time (a LOCK file); a CNI call holds it only for open → one
// read/batch → close, so contenders retry with jittered backoff until `lockTimeoutMs` runs out.
// Each failed LevelDB open is not free (it rotates the LOG file before trying the lock), so callers
// that can take a cheaper inter-process lock pass it as `lock`: taken before LevelDB is opened and
// released after it is closed, it makes contenders wait outside LevelDB. LevelDB's own lock and the
// retry stay as the safety net for processes that open the store without the hook.
//
// A store is never created over an existing one (see store-dir.ts): every open first asks LevelDB
// for an existing database only (create_if_missing off), which costs a healthy store nothing; only
// when that fails does the path get inspected, and a database is created only where none is.
//
// `level` (and with it the native LevelDB addon) is loaded on the first open, not at import: a CNI
// process that never opens a store (VERSION, a config error, a delegated IPAM) must not pay for
// loading the addon.
//
// Upkeep exists because of how these short sessions interact with LevelDB compaction (measured,
// see tools/bench): every open turns the previous session's log into a new level-0 table, and a
// compaction still running at close is abandoned. Left alone, a store holding 60,000 addresses
// grew to 1,000 table files and its median open+allocate+close went from 3 ms to 19 ms. So before
// closing, a session that sees >= 4 level-0 tables (LevelDB's own trigger) lets the compaction
// finish, and when level 1 has grown past LEVEL1_PUSH_DOWN_BYTES it compacts everything to the
// bottom level once, which keeps every later level-0 merge small. Amortized, the cost per call then
// stays flat with the number of allocations.
import { chmod, mkdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Level } from 'level';
import { IpamError, IpamErrorCode } from './errors.js';
import { damagedError, inspectStoreDir, isCorruption, prepareCreate, refusal } from './store-dir.js';
import type { StoreDirState } from './store-dir.js';

export type Database = Level<string, string>;

let levelModule: Promise<typeof import('level')> | undefined;

/** `level`, loaded once per process on first use (a literal specifier, so bundlers still embed it). */
function loadLevel(): Promise<typeof import('level')> {
  levelModule ??= import('level');
  return levelModule;
}

/** Releases a StoreLock. Called once, after the database is closed (or its open failed). */
export type StoreUnlock = () => void;

/**
 * An inter-process lock around a store session, keyed by the store's directory. Resolves to the
 * unlock function once held, or to undefined when other processes held it for all of `timeoutMs`
 * (the open then fails with code 11). Other failures reject (code 5 unless an IpamError).
 */
export type StoreLock = (storeDir: string, timeoutMs: number) => Promise<StoreUnlock | undefined>;

/** An open database and how to end the session: upkeep, close, then release the lock hook. */
export interface DatabaseSession {
  readonly db: Database;
  /** `upkeep: false` skips the compaction wait (a damaged store's compaction never finishes). */
  close(options?: { upkeep?: boolean }): Promise<void>;
}

/** classic-level (what `level` is under Node and Bun) has these; `level`'s types omit them. */
interface Upkeep {
  getProperty(property: string): string;
  compactRange(start: string, end: string): Promise<void>;
}

function upkeepOf(db: Database): Upkeep | undefined {
  const candidate = db as unknown as Partial<Upkeep>;
  return typeof candidate.getProperty === 'function' && typeof candidate.compactRange === 'function' ? (db as unknown as Upkeep) : undefined;
}

export interface OpenOptions {
  /** Total wait for another process's lock; then code 11. */
  readonly lockTimeoutMs: number;
  /**
   * Create the directory and database when nothing of a database is at the path (false: fail with
   * code 5). A directory that holds database files but lost CURRENT is refused either way.
   */
  readonly create: boolean;
  /** Taken before LevelDB is opened, released after it is closed; shares the lockTimeoutMs budget. */
  readonly lock?: StoreLock | undefined;
}

const FIRST_BACKOFF_MS = 2;
const MAX_BACKOFF_MS = 50;
const LEVEL0_TRIGGER = 4;
const LEVEL1_PUSH_DOWN_BYTES = 256 * 1024;
const COMPACTION_WAIT_MS = 2_000;

function causeCode(err: unknown): unknown {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  return cause?.code ?? (err as { code?: unknown } | undefined)?.code;
}

function describe(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) return cause.message;
  return err instanceof Error ? err.message : String(err);
}

function busy(path: string, options: OpenOptions, attempts: string, cause?: unknown): IpamError {
  return new IpamError(
    IpamErrorCode.TryAgainLater,
    `IPAM store ${path} is busy: try again later`,
    `another process held its lock for the whole ${options.lockTimeoutMs} ms wait (${attempts}); raise ipam.lockTimeoutMs if this node runs many calls at once`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Opens the LevelDB at `path`, first taking `options.lock` when given, then waiting (bounded,
 * jittered) while another process holds LevelDB's own lock.
 */
export async function openDatabase(path: string, options: OpenOptions): Promise<DatabaseSession> {
  const deadline = Date.now() + options.lockTimeoutMs;
  // Load the addon before taking the lock: loading it (extracting and dlopening the .node file in
  // a compiled executable) while holding the lock would serialize that cost across all waiters.
  const Level = await levelClass(path);
  let unlock: StoreUnlock | undefined;
  if (options.lock !== undefined) {
    try {
      unlock = await options.lock(path, options.lockTimeoutMs);
    } catch (err) {
      if (err instanceof IpamError) throw err;
      throw new IpamError(IpamErrorCode.IoFailure, `cannot lock IPAM store ${path}`, describe(err), { cause: err });
    }
    if (unlock === undefined) throw busy(path, options, 'its lock file');
  }
  try {
    const db = await openLevel(Level, path, options, deadline);
    return { db, close: (close) => closeSession(db, unlock, close?.upkeep !== false) };
  } catch (err) {
    unlock?.();
    throw err;
  }
}

type LevelClass = typeof import('level')['Level'];

/**
 * LevelDB's RepairDB on the store at `path` (classic-level's static `repair`): rebuilds the
 * manifest and CURRENT from the tables and logs it can read, and moves files it cannot read to
 * `<path>/lost/` (nothing is deleted). Entries in a damaged table are lost: the caller must record
 * again what is still in use. The caller holds the store's lock hook; no session may be open.
 */
export async function repairDatabase(path: string): Promise<void> {
  const Level = await levelClass(path);
  try {
    await (Level as unknown as { repair(location: string): Promise<void> }).repair(path);
  } catch (err) {
    throw new IpamError(IpamErrorCode.IoFailure, `cannot repair IPAM store ${path}`, describe(err), { cause: err });
  }
}

async function levelClass(path: string): Promise<LevelClass> {
  try {
    return (await loadLevel()).Level;
  } catch (err) {
    throw new IpamError(IpamErrorCode.IoFailure, `cannot open IPAM store ${path}`, `cannot load LevelDB: ${describe(err)}`, { cause: err });
  }
}

async function openLevel(Level: LevelClass, path: string, options: OpenOptions, deadline: number): Promise<Database> {
  let backoff = FIRST_BACKOFF_MS;
  let attempts = 0;
  let create = false;
  let inspected = false;
  for (;;) {
    attempts++;
    const db = new Level<string, string>(path, { valueEncoding: 'utf8', createIfMissing: create });
    try {
      await db.open();
      return db;
    } catch (err) {
      if (causeCode(err) !== 'LEVEL_LOCKED') {
        if (inspected) throw openFailure(path, err);
        inspected = true;
        // Decide from what is at the path, not from LevelDB's message: only where no database is
        // may one be created (LevelDB would build an empty one over a store that lost CURRENT).
        const state = await inspectStoreDir(path);
        if (state.kind === 'lost-current' || state.kind === 'not-directory') throw refusal(path, state);
        // A store now: another process created it meanwhile (or the failure is real: retried once).
        if (state.kind === 'store') continue;
        if (!options.create) throw openFailure(path, err);
        await makeStoreDir(path, state);
        create = true;
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw busy(path, options, `${attempts} attempts`, err);
      // Full jitter, so a crowd of waiting processes spreads out instead of retrying in step.
      await sleep(Math.min(left, Math.max(1, Math.random() * backoff)));
      backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
    }
  }
}

function openFailure(path: string, err: unknown): IpamError {
  const reason = describe(err);
  if (isCorruption(reason)) return damagedError(path, 'open it', reason, err);
  return new IpamError(IpamErrorCode.IoFailure, `cannot open IPAM store ${path}`, reason, { cause: err });
}

/** The store directory, private to root (the failed open above may have made it with 0755). */
async function makeStoreDir(path: string, state: StoreDirState): Promise<void> {
  await prepareCreate(path, state);
  try {
    await mkdir(path, { recursive: true, mode: 0o700 });
    await chmod(path, 0o700);
  } catch (err) {
    throw new IpamError(IpamErrorCode.IoFailure, `cannot create IPAM store directory ${path}`, describe(err), { cause: err });
  }
}

async function closeSession(db: Database, unlock: StoreUnlock | undefined, upkeep: boolean): Promise<void> {
  try {
    await closeDatabase(db, upkeep);
  } finally {
    unlock?.();
  }
}

function level0Files(db: Upkeep): number {
  return Number(db.getProperty('leveldb.num-files-at-level0'));
}

/** Bytes of table files at `level`, from LevelDB's "leveldb.sstables" listing (` 12:3456[...]`). */
function levelBytes(db: Upkeep, level: number): number {
  let current = -1;
  let bytes = 0;
  for (const line of db.getProperty('leveldb.sstables').split('\n')) {
    const header = /^--- level (\d+) ---/.exec(line);
    if (header !== null) {
      current = Number(header[1]);
      continue;
    }
    const file = current === level ? /^\s*\d+:(\d+)\[/.exec(line) : null;
    if (file !== null) bytes += Number(file[1]);
  }
  return bytes;
}

/** Compaction upkeep (see the file comment); then close. Errors in upkeep never fail the call. */
async function closeDatabase(db: Database, wanted: boolean): Promise<void> {
  const upkeep = wanted ? upkeepOf(db) : undefined;
  try {
    if (upkeep !== undefined && db.status === 'open' && level0Files(upkeep) >= LEVEL0_TRIGGER) {
      if (levelBytes(upkeep, 1) > LEVEL1_PUSH_DOWN_BYTES) {
        // Keys are ASCII; this range covers all of them.
        await upkeep.compactRange('\u0000', '\u007f');
      } else {
        const until = Date.now() + COMPACTION_WAIT_MS;
        while (level0Files(upkeep) >= LEVEL0_TRIGGER && Date.now() < until) await sleep(1);
      }
    }
  } catch {
    // Upkeep is an optimisation; the data is already written.
  }
  await db.close();
}
