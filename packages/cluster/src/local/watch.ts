// A watch on the local store. What wakes it: inotify on the directory (fs.watch: the rename that
// commits a write shows up within a millisecond or two) and, because inotify is not available on
// every filesystem and can drop events, a poll of the file's stat every `pollMs` (50 ms: one
// statx per poll, cheap enough for a handful of watchers). When the file changed it is read and
// the log entries after the watcher's revision are delivered; when the watcher is behind the
// kept log (or the store was recreated), it gets a resync batch: the live leases diffed against
// what it was told.
import { watch as fsWatch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { applyEvents, diffLeases } from '../lease/plan.js';
import type { Lease, LeaseEvent, LeaseWatch, WatchHandlers } from '../lease/types.js';
import { STATE_FILE, stateStamp } from './state.js';
import type { LocalState } from './state.js';

/** What a watch needs of the store. */
export interface WatchedStore {
  readonly dir: string;
  snapshot(): LocalState;
  sweep(): Promise<void>;
}

/** Slack after a lease's expiry before sweeping: clocks are read by different processes. */
const EXPIRY_SLACK_MS = 5;

export class LocalWatch implements LeaseWatch {
  readonly #known = new Map<string, Lease>();
  #revision: number;
  #first = true;
  #stamp: string | undefined | null = null;
  #closed = false;
  #busy = false;
  #again = false;
  #poll: NodeJS.Timeout | undefined;
  #expiry: NodeJS.Timeout | undefined;
  #inotify: FSWatcher | undefined;

  constructor(
    readonly store: WatchedStore,
    fromRevision: number,
    readonly handlers: WatchHandlers,
    readonly options: { pollMs: number; inotify: boolean },
    readonly onClose: () => void,
  ) {
    this.#revision = fromRevision;
  }

  /** The last check read the state (false before the first): onConnected on each change to true. */
  #readable = false;

  start(): void {
    if (this.options.inotify) this.#startInotify();
    this.#poll = setInterval(() => this.#kick(), this.options.pollMs);
    this.#poll.unref();
    setImmediate(() => this.#kick());
  }

  #startInotify(): void {
    try {
      this.#inotify = fsWatch(this.store.dir, { persistent: false }, (_type, file) => {
        if (file === null || file === STATE_FILE) this.#kick();
      });
      this.#inotify.on('error', () => {
        // The poll carries on alone.
        this.#inotify?.close();
        this.#inotify = undefined;
      });
    } catch {
      this.#inotify = undefined;
    }
  }

  #kick(): void {
    if (this.#closed) return;
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#busy = true;
    void this.#check().finally(() => {
      this.#busy = false;
      if (this.#again) {
        this.#again = false;
        this.#kick();
      }
    });
  }

  async #check(): Promise<void> {
    try {
      const stamp = stateStamp(this.store.dir);
      if (stamp !== this.#stamp || this.#first) {
        const state = this.store.snapshot();
        this.#stamp = stamp;
        this.#deliver(state);
      }
      if (this.#nextExpiry() + EXPIRY_SLACK_MS <= Date.now()) await this.store.sweep();
      if (!this.#readable && !this.#closed) {
        this.#readable = true;
        this.handlers.onConnected?.();
      }
    } catch (error) {
      this.#readable = false;
      if (!this.#closed) this.handlers.onError?.(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #deliver(state: LocalState): void {
    if (this.#closed) return;
    const now = Date.now();
    const live = Object.values(state.leases).filter((lease) => lease.expiresAt > now);
    let events: LeaseEvent[];
    let resync = false;
    let snapshot: Lease[] | undefined;
    if (this.#first && this.#revision === 0) {
      events = live.map((lease) => ({ type: 'added', lease }));
      snapshot = live;
    } else if (this.#revision < state.logFrom || this.#revision > state.revision) {
      // Behind the kept log, or ahead of a store that was recreated: diff against what we said.
      events = diffLeases(this.#known, live);
      resync = true;
      snapshot = live;
    } else {
      events = state.log.filter((entry) => entry.revision > this.#revision).map((entry) => entry.event);
    }
    const first = this.#first;
    this.#first = false;
    this.#revision = state.revision;
    applyEvents(this.#known, events);
    this.#scheduleExpiry();
    if (events.length === 0 && !resync && !(first && snapshot !== undefined)) return;
    const batch = { events, revision: state.revision, resync, ...(snapshot === undefined ? {} : { snapshot }) };
    this.handlers.onEvents(batch);
  }

  #nextExpiry(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const lease of this.#known.values()) next = Math.min(next, lease.expiresAt);
    return next;
  }

  #scheduleExpiry(): void {
    clearTimeout(this.#expiry);
    const next = this.#nextExpiry();
    if (!Number.isFinite(next)) return;
    this.#expiry = setTimeout(() => this.#kick(), Math.max(0, next + EXPIRY_SLACK_MS - Date.now()));
    this.#expiry.unref();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#poll);
    clearTimeout(this.#expiry);
    this.#inotify?.close();
    this.onClose();
  }
}
