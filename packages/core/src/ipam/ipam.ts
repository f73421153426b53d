// One call = one short store session: open (waiting for other processes) → one operation → close.
// These are what a CNI call does; a long-lived process may instead keep an IpamStore open.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { IpamConfig, IpamRoute, StoreLocation } from './config.js';
import { IpamError, IpamErrorCode } from './errors.js';
import { readResolvConf } from './resolv-conf.js';
import { inspectStoreDir, refusal } from './store-dir.js';
import type { IpamDns } from './resolv-conf.js';
import type { StoreLock } from './database.js';
import { IpamStore } from './store.js';
import type { AllocationEntry, Owner } from './store.js';

/** What ADD returns: a CNI result's `ips`, `routes` and `dns` (IPAM results have no interfaces). */
export interface IpamResult {
  ips: Array<{ address: string; gateway: string }>;
  routes: IpamRoute[];
  dns?: IpamDns;
}

/** Hands out open stores: a long-lived process keeps them open instead of one session per call. */
export interface StoreProvider {
  use<T>(location: StoreLocation, fn: (store: IpamStore) => Promise<T>): Promise<T>;
}

/** How a call opens its store session. */
export interface SessionOptions {
  /** An inter-process lock taken around the session (e.g. flock on a sidecar file); see StoreLock. */
  readonly lock?: StoreLock | undefined;
  /** Stores already open (HeldStores); when given, `lock` is the provider's business. */
  readonly provider?: StoreProvider | undefined;
}

/** Runs `fn` with the store open, closing it afterwards even when `fn` throws. */
export async function withStore<T>(location: StoreLocation, fn: (store: IpamStore) => Promise<T>, options: SessionOptions = {}): Promise<T> {
  if (options.provider) return options.provider.use(location, fn);
  const store = await IpamStore.open(location.path, { lockTimeoutMs: location.lockTimeoutMs, create: true, lock: options.lock });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/**
 * True when a store was ever created at the location (DEL, GC and CHECK never create one). A
 * directory that holds database files but lost CURRENT is not "no store": it is refused (code 5),
 * or DEL would report success while the allocation is still recorded in the damaged store.
 * A healthy store costs one access(); the directory is inspected only when CURRENT is missing.
 */
async function storeExists(location: StoreLocation): Promise<boolean> {
  try {
    await access(join(location.path, 'CURRENT'));
    return true;
  } catch {
    // Inspected below.
  }
  const state = await inspectStoreDir(location.path);
  if (state.kind === 'store') return true;
  if (state.kind === 'lost-current' || state.kind === 'not-directory') throw refusal(location.path, state);
  return false;
}

/** ADD: one address per range set for `owner` (the same ones again if it already holds them). */
export async function allocate(config: IpamConfig, owner: Owner, options: SessionOptions = {}): Promise<IpamResult> {
  // Read resolv.conf before taking the lock: a bad path fails without touching the store.
  const dns = config.resolvConf === undefined ? undefined : await readResolvConf(config.resolvConf);
  const addresses = await withStore(config, (store) => store.allocate(config, owner), options);
  return {
    ips: addresses.map((a) => ({ address: a.address, gateway: a.gateway })),
    routes: config.routes.map((r) => ({ ...r })),
    ...(dns !== undefined ? { dns } : {}),
  };
}

/** DEL: releases what `owner` holds; succeeds when it holds nothing. Returns the released addresses. */
export async function release(location: StoreLocation, owner: Owner, options: SessionOptions = {}): Promise<string[]> {
  if (!(await storeExists(location))) return [];
  return withStore(location, (store) => store.release(owner), options);
}

/** CHECK: `owner` holds an allocation (exactly `expected`, when given); code 102 otherwise. */
export async function check(location: StoreLocation, owner: Owner, expected?: readonly string[], options: SessionOptions = {}): Promise<void> {
  if (!(await storeExists(location))) {
    throw new IpamError(
      IpamErrorCode.NotAllocated,
      `container ${owner.containerId} interface ${owner.ifname} holds no address: no IPAM store at ${location.path}`,
      'expected an allocation made by ADD',
    );
  }
  await withStore(location, (store) => store.check(owner, expected), options);
}

/** GC: releases every allocation whose owner is not in `valid`; returns what it released. */
export async function gc(location: StoreLocation, valid: readonly Owner[], options: SessionOptions = {}): Promise<AllocationEntry[]> {
  if (!(await storeExists(location))) return [];
  return withStore(location, (store) => store.gc(valid), options);
}

/** Every allocation (address, owner, time). */
export async function list(location: StoreLocation, options: SessionOptions = {}): Promise<AllocationEntry[]> {
  if (!(await storeExists(location))) return [];
  return withStore(location, (store) => store.list(), options);
}

/**
 * STATUS: the store can be opened (creating it where none is), every entry read back (a damaged
 * table fails here, not at the next ADD) and written now. Returns the number of entries.
 */
export async function status(location: StoreLocation, options: SessionOptions = {}): Promise<number> {
  return withStore(
    location,
    async (store) => {
      const entries = await store.verify();
      await store.probe();
      return entries;
    },
    options,
  );
}
