// The documented way back from a damaged store (see the IPAM repair section of core's README):
// LevelDB's own repair, then the store made consistent and every address a live pod uses recorded
// again (restore.ts). The live pods come from the caller: the IPAM cannot see the kernel; a backend
// (e.g. `podnet-bridge repair`) finds them. Without them the repair still rebuilds the store, but
// an address whose entries sat in a lost table may be handed out again while a pod uses it: the
// report says so.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoreLocation } from './config.js';
import { repairDatabase } from './database.js';
import { IpamError, IpamErrorCode } from './errors.js';
import type { SessionOptions } from './ipam.js';
import type { RestorePlan } from './restore.js';
import { inspectStoreDir, refusal } from './store-dir.js';
import type { StoreDirState } from './store-dir.js';
import { IpamStore } from './store.js';
import type { LiveSource } from './store.js';

export interface RepairReport {
  readonly path: string;
  /** What was at the path before: a store, a store without CURRENT, or nothing. */
  readonly found: StoreDirState['kind'];
  /** LevelDB's repair ran (not when there was no store). */
  readonly leveldbRepaired: boolean;
  /** Files LevelDB could not read, moved to `<path>/lost/` (their entries are gone). */
  readonly lostFiles: readonly string[];
  /** Entries read back after the repair (the whole store reads cleanly). */
  readonly entries: number;
  /** What was re-linked, restored from live pods, or in conflict. */
  readonly plan: RestorePlan;
  /** False when no live pods were given: addresses of lost entries are not protected. */
  readonly liveChecked: boolean;
}

export interface RepairOptions extends SessionOptions {
  /**
   * Live attachments on this node (from a backend), or a function that finds them given the owners
   * the repaired store knows; absent: LevelDB repair and consistency only.
   */
  readonly live?: LiveSource | undefined;
}

/**
 * Repairs the store at `location` under its lock hook (sessions of CNI calls wait meanwhile, up to
 * their lockTimeoutMs). Where no store exists, one is created only to record live pods.
 */
export async function repair(location: StoreLocation, options: RepairOptions = {}): Promise<RepairReport> {
  const path = location.path;
  const before = await inspectStoreDir(path);
  if (before.kind === 'not-directory') throw refusal(path, before);
  const unlock = options.lock === undefined ? undefined : await options.lock(path, location.lockTimeoutMs);
  if (options.lock !== undefined && unlock === undefined) {
    throw new IpamError(
      IpamErrorCode.TryAgainLater,
      `IPAM store ${path} is busy: try again later`,
      `other processes held its lock for the whole ${location.lockTimeoutMs} ms`,
    );
  }
  try {
    const hasStore = before.kind === 'store' || before.kind === 'lost-current';
    if (!hasStore && options.live === undefined) {
      return { path, found: before.kind, leveldbRepaired: false, lostFiles: [], entries: 0, plan: emptyPlan(), liveChecked: options.live !== undefined };
    }
    if (hasStore) await repairDatabase(path);
    // We hold the lock hook ourselves: the session must not take it again.
    const store = await IpamStore.open(path, { lockTimeoutMs: location.lockTimeoutMs, create: !hasStore });
    try {
      const plan = await store.restore(options.live);
      const entries = await store.verify();
      return { path, found: before.kind, leveldbRepaired: hasStore, lostFiles: await lostFiles(path), entries, plan, liveChecked: options.live !== undefined };
    } finally {
      await store.close();
    }
  } finally {
    unlock?.();
  }
}

async function lostFiles(path: string): Promise<string[]> {
  try {
    return (await readdir(join(path, 'lost'))).sort();
  } catch {
    return [];
  }
}

function emptyPlan(): RestorePlan {
  return { addresses: new Map(), owners: new Map(), relinked: [], stale: [], restored: [], released: [], conflicts: [] };
}
