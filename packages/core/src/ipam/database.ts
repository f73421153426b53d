// The LevelDB handle behind the store: open with a bounded, jittered wait for the lock, and close
// after upkeep.
//
// LevelDB admits one process at a time (a LOCK file); a CNI call holds it only for open → one
// read/batch → close, so contenders retry with jittered backoff until `lockTimeoutMs` runs out.
//
// Upkeep exists because of how these short sessions interact with LevelDB compaction (measured,
// see tools/bench): every open turns the previous session's log into a new level-0 table, and a
// compaction still running at close is abandoned. Left alone, a store holding 60,000 addresses
// grew to 1,000 table files and its median open+allocate+close went from 3 ms to 19 ms. So before
// closing, a session that sees >= 4 level-0 tables (LevelDB's own trigger) lets the compaction
// finish, and when level 1 has grown past LEVEL1_PUSH_DOWN_BYTES it compacts everything to the
// bottom level once, which keeps every later level-0 merge small. Amortized, the cost per call then
// stays flat with the number of allocations.
import { mkdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Level } from 'level';
import { IpamError, IpamErrorCode } from './errors.js';

export type Database = Level<string, string>;

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
  /** Create the directory and database when missing (false: fail with code 5). */
  readonly create: boolean;
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

/** Opens the LevelDB at `path`, waiting (bounded, jittered) while another process holds it. */
export async function openDatabase(path: string, options: OpenOptions): Promise<Database> {
  if (options.create) {
    try {
      await mkdir(path, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new IpamError(IpamErrorCode.IoFailure, `cannot create IPAM store directory ${path}`, describe(err), { cause: err });
    }
  }
  const deadline = Date.now() + options.lockTimeoutMs;
  let backoff = FIRST_BACKOFF_MS;
  let attempts = 0;
  for (;;) {
    attempts++;
    const db = new Level<string, string>(path, { valueEncoding: 'utf8', createIfMissing: options.create });
    try {
      await db.open();
      return db;
    } catch (err) {
      if (causeCode(err) !== 'LEVEL_LOCKED') {
        throw new IpamError(IpamErrorCode.IoFailure, `cannot open IPAM store ${path}`, describe(err), { cause: err });
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new IpamError(
          IpamErrorCode.TryAgainLater,
          `IPAM store ${path} is busy: try again later`,
          `another process held its lock for the whole ${options.lockTimeoutMs} ms wait (${attempts} attempts); raise ipam.lockTimeoutMs if this node runs many calls at once`,
          { cause: err },
        );
      }
      // Full jitter, so a crowd of waiting processes spreads out instead of retrying in step.
      await sleep(Math.min(left, Math.max(1, Math.random() * backoff)));
      backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
    }
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
export async function closeDatabase(db: Database): Promise<void> {
  const upkeep = upkeepOf(db);
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
