// A watch on the etcd store's lease keys. etcd3's watcher resumes by itself after a disconnect
// (at its last revision + 1, so nothing is missed), but a server cancel — a compaction past the
// revision asked for — ends it with an `error` (cluster-facts §2). Then, and after any other
// watcher error, this re-lists, diffs the live leases against what it told its handler (one
// `resync` batch with the snapshot) and watches again from the listing's revision + 1. A periodic
// re-list does the same to catch what a watch could drop (etcd #18089: a DELETE at the
// compaction revision), delivering only when the diff is not empty.
import type { IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import { applyEvents, diffLeases } from '../lease/plan.js';
import { ClusterError } from '../lease/types.js';
import type { Lease, LeaseEvent, LeaseWatch, WatchHandlers } from '../lease/types.js';
import { fromStored, publicLease } from './keys.js';
import type { EtcdLeaseStore } from './etcd-store.js';

/** After a failed re-list or watch start: 100 ms doubling to 5 s. */
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

export class EtcdWatch implements LeaseWatch {
  readonly #known = new Map<string, Lease>();
  #revision: number;
  #watcher: Watcher | undefined;
  #closed = false;
  #resyncing = false;
  #retryMs = FIRST_RETRY_MS;
  #relist: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;

  constructor(
    readonly store: EtcdLeaseStore,
    fromRevision: number,
    readonly handlers: WatchHandlers,
    readonly relistIntervalMs: number,
    readonly onClose: () => void,
  ) {
    this.#revision = fromRevision;
  }

  start(): void {
    if (this.relistIntervalMs > 0) {
      this.#relist = setInterval(() => void this.#resync(false), this.relistIntervalMs);
      this.#relist.unref();
    }
    if (this.#revision === 0) void this.#resync(true);
    else void this.#resume();
  }

  /** Watch from the asked revision, unless the store is behind it (recreated): then resync. */
  async #resume(): Promise<void> {
    try {
      const current = await this.store.currentRevision();
      if (this.#revision > current) {
        await this.#resync(false, true);
        return;
      }
    } catch (error) {
      this.#error(error);
      this.#later(() => this.#resync(false, true));
      return;
    }
    await this.#watchFrom(this.#revision + 1);
  }

  #error(error: unknown): void {
    if (this.#closed || this.handlers.onError === undefined) return;
    this.handlers.onError(error instanceof Error ? error : new Error(String(error)));
  }

  /**
   * Re-list and diff. `initial`: the first snapshot of a watch from 0 (not a resync). Otherwise a
   * resync batch is delivered when something differs, or always after a watch error (`forced`).
   */
  async #resync(initial: boolean, forced = false): Promise<void> {
    if (this.#closed || this.#resyncing) return;
    this.#resyncing = true;
    try {
      const old = this.#watcher;
      this.#watcher = undefined;
      if (old !== undefined) await old.cancel().catch(() => undefined);
      const { leases, revision } = await this.store.listWithKvs();
      if (this.#closed) return;
      const events: LeaseEvent[] = initial ? leases.map((lease) => ({ type: 'added', lease })) : diffLeases(this.#known, leases);
      this.#revision = revision;
      this.#known.clear();
      for (const lease of leases) this.#known.set(lease.node, lease);
      if (initial || forced || events.length > 0) this.handlers.onEvents({ events, revision, resync: !initial, snapshot: leases });
      this.#resyncing = false;
      await this.#watchFrom(revision + 1);
    } catch (error) {
      this.#resyncing = false;
      this.#error(error);
      this.#later(() => this.#resync(initial, forced));
    }
  }

  #later(fn: () => Promise<void>): void {
    if (this.#closed) return;
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => void fn(), this.#retryMs);
    this.#retryMs = Math.min(MAX_RETRY_MS, this.#retryMs * 2);
  }

  async #watchFrom(startRevision: number): Promise<void> {
    if (this.#closed) return;
    let watcher: Watcher;
    try {
      watcher = await this.store.client.watch().prefix(this.store.keys.leasesPrefix).withPreviousKV().startRevision(String(startRevision)).create();
    } catch (error) {
      this.#error(new ClusterError('unavailable', `etcd watch from revision ${startRevision}: ${(error as Error).message}`, { cause: error }));
      this.#later(() => this.#resync(false, true));
      return;
    }
    if (this.#closed) {
      await watcher.cancel().catch(() => undefined);
      return;
    }
    this.#watcher = watcher;
    // create() resolved on the first 'connected'; later ones are reconnections.
    this.handlers.onConnected?.();
    watcher.on('data', (response) => {
      if (this.#watcher === watcher) this.#onData(response);
    });
    watcher.on('disconnected', (error) => {
      // etcd3 reconnects and resumes at its last revision + 1 by itself.
      if (this.#watcher === watcher) this.#error(new ClusterError('unavailable', `etcd watch disconnected (resuming): ${error.message}`, { cause: error }));
    });
    watcher.on('connected', () => {
      this.#retryMs = FIRST_RETRY_MS;
      if (this.#watcher === watcher && !this.#closed) this.handlers.onConnected?.();
    });
    watcher.on('error', (error) => {
      // A cancel by the server (compaction) or a broken stream: this watcher is dead.
      if (this.#watcher !== watcher) return;
      this.#error(new ClusterError('unavailable', `etcd watch ended (re-listing): ${error.message}`, { cause: error }));
      this.#watcher = undefined;
      void this.#resync(false, true);
    });
  }

  #onData(response: IWatchResponse): void {
    if (this.#closed || response.events.length === 0) return;
    const events: LeaseEvent[] = [];
    for (const event of response.events) {
      const kv: IKeyValue = event.kv;
      const node = kv.key.toString().slice(this.store.keys.leasesPrefix.length);
      const known = this.#known.get(node);
      if (event.type === 'Delete') {
        const previous =
          known ?? (event.prev_kv === undefined || event.prev_kv === null ? undefined : fromStored(event.prev_kv.value, event.prev_kv.mod_revision));
        if (previous !== undefined) events.push({ type: 'removed', lease: publicLease(previous) });
        this.#known.delete(node);
        continue;
      }
      const parsed = fromStored(kv.value, kv.mod_revision);
      if (parsed === undefined) continue;
      const lease = publicLease(parsed);
      const previous =
        known ?? (event.prev_kv === undefined || event.prev_kv === null ? undefined : fromStored(event.prev_kv.value, event.prev_kv.mod_revision));
      events.push(previous === undefined ? { type: 'added', lease } : { type: 'changed', lease, previous: publicLease(previous) });
    }
    // The events' own revision (the header's may be later: the server's current one).
    const revision = Math.max(...response.events.map((event) => Number(event.kv.mod_revision)));
    this.#revision = Math.max(this.#revision, revision);
    applyEvents(this.#known, events);
    if (events.length > 0) this.handlers.onEvents({ events, revision: this.#revision, resync: false });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#relist);
    clearTimeout(this.#retry);
    const watcher = this.#watcher;
    this.#watcher = undefined;
    if (watcher !== undefined) await watcher.cancel().catch(() => undefined);
    this.onClose();
  }
}
