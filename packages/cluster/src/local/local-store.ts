// The `local` lease store: one machine, no server. Several processes (the lab's podnetd's) share
// one directory; every write is a short flock-guarded read-modify-replace of state.json (see
// state.ts), reads take no lock, and watchers notice a new file (watch.ts).
//
// Expiry is enforced by whoever touches the store: every write first removes leases past their
// expiresAt (logged as `removed` events), `list` hides them, and a watcher whose view holds a
// lease past its expiry triggers that sweep itself, so expiry reaches every watcher even when no
// agent writes.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { lockFile } from '@podnet/core/lock';
import { parseNetworkConfig } from '../config/network-config.js';
import type { NetworkConfig } from '../config/network-config.js';
import { checkNode, checkRequest, checkTtl, leaseLost, planSubnets, sameSubnets, subnetsFit, takenSubnets } from '../lease/plan.js';
import { ClusterError } from '../lease/types.js';
import type { AcquireRequest, Lease, LeaseEvent, LeaseStore, LeaseWatch, WatchHandlers } from '../lease/types.js';
import { LOCK_FILE, LOG_LIMIT, readState, writeState } from './state.js';
import type { LocalState } from './state.js';
import { LocalWatch } from './watch.js';

export interface LocalStoreOptions {
  /** Longest wait for another process's lock (then ClusterError 'unavailable'). */
  lockTimeoutMs?: number;
  /** How often watchers look at the file besides inotify (fs.watch). */
  pollMs?: number;
  /** Lease events kept for watchers that fall behind (default LOG_LIMIT). */
  logLimit?: number;
  /** Watchers also use inotify (default true; false leaves the poll alone, for measurements). */
  inotify?: boolean;
}

const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
const DEFAULT_POLL_MS = 50;

/** A write in progress: the state read under the lock and the events it records. */
class Draft {
  readonly events: LeaseEvent[] = [];
  changed = false;
  constructor(
    readonly state: LocalState,
    readonly now: number,
  ) {}

  /** The revision this write commits at. */
  get revision(): number {
    return this.state.revision + 1;
  }

  put(lease: Lease, previous: Lease | undefined, ttlMs: number): void {
    this.state.leases[lease.node] = lease;
    this.state.ttls[lease.node] = ttlMs;
    this.state.history[lease.node] = lease.subnets;
    this.events.push(previous === undefined ? { type: 'added', lease } : { type: 'changed', lease, previous });
    this.changed = true;
  }

  remove(lease: Lease): void {
    delete this.state.leases[lease.node];
    delete this.state.ttls[lease.node];
    this.events.push({ type: 'removed', lease });
    this.changed = true;
  }
}

export class LocalLeaseStore implements LeaseStore {
  readonly kind = 'local';
  readonly #watches = new Set<LocalWatch>();
  readonly #lockTimeoutMs: number;
  readonly #pollMs: number;
  readonly #logLimit: number;
  readonly #inotify: boolean;
  #closed = false;

  constructor(
    /** The store's directory (created when missing). */
    readonly dir: string,
    options: LocalStoreOptions = {},
  ) {
    this.#lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    this.#pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    this.#logLimit = options.logLimit ?? LOG_LIMIT;
    this.#inotify = options.inotify ?? true;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new ClusterError('unavailable', `local lease store ${dir}: cannot create the directory: ${(error as Error).message}`, { cause: error });
    }
  }

  #live(): void {
    if (this.#closed) throw new ClusterError('unavailable', `local lease store ${this.dir} is closed`);
  }

  /** Read the state (no lock): a consistent snapshot, since writers replace the file whole. */
  snapshot(): LocalState {
    this.#live();
    return withTtls(readState(this.dir));
  }

  /**
   * One write: lock, read, sweep expired leases, `fn`, replace the file when anything changed.
   * When `fn` throws, what the sweep removed is still committed (fn checks before it changes).
   */
  async #transact<T>(fn: (draft: Draft) => T): Promise<T> {
    this.#live();
    let unlock: (() => void) | undefined;
    try {
      const held = await lockFile(join(this.dir, LOCK_FILE), { timeoutMs: this.#lockTimeoutMs, createParents: true });
      unlock = held ? () => held.release() : undefined;
    } catch (error) {
      throw new ClusterError('unavailable', `local lease store ${this.dir}: cannot take its lock: ${(error as Error).message}`, { cause: error });
    }
    if (unlock === undefined) {
      throw new ClusterError('unavailable', `local lease store ${this.dir} is busy: another process held its lock for ${this.#lockTimeoutMs} ms`);
    }
    try {
      const draft = new Draft(withTtls(readState(this.dir)), Date.now());
      for (const lease of Object.values(draft.state.leases)) if (lease.expiresAt <= draft.now) draft.remove(lease);
      let result: T;
      try {
        result = fn(draft);
      } catch (error) {
        this.#commit(draft);
        throw error;
      }
      this.#commit(draft);
      return result;
    } finally {
      unlock();
    }
  }

  #commit(draft: Draft): void {
    if (!draft.changed) return;
    const state = draft.state;
    state.revision = draft.revision;
    for (const event of draft.events) state.log.push({ revision: state.revision, event });
    if (state.log.length > this.#logLimit) {
      const dropped = state.log.splice(0, state.log.length - this.#logLimit);
      state.logFrom = dropped[dropped.length - 1]?.revision ?? state.logFrom;
    }
    writeState(this.dir, state);
  }

  async getNetworkConfig(): Promise<NetworkConfig> {
    const config = this.snapshot().config;
    if (config === undefined)
      throw new ClusterError(
        'config-missing',
        `local lease store ${this.dir} holds no network config: store one first (putNetworkConfig, or podnetd's network config flag)`,
      );
    return config;
  }

  async putNetworkConfig(config: NetworkConfig): Promise<void> {
    const parsed = parseNetworkConfig(config);
    await this.#transact((draft) => {
      if (JSON.stringify(draft.state.config) === JSON.stringify(parsed)) return;
      draft.state.config = parsed;
      draft.changed = true;
    });
  }

  async list(): Promise<{ leases: Lease[]; revision: number }> {
    const state = this.snapshot();
    const now = Date.now();
    return { leases: Object.values(state.leases).filter((lease) => lease.expiresAt > now), revision: state.revision };
  }

  acquire(request: AcquireRequest): Promise<Lease> {
    checkRequest(request);
    return this.#transact((draft) => {
      const config = draft.state.config;
      if (config === undefined) throw new ClusterError('config-missing', `local lease store ${this.dir} holds no network config: store one before acquiring`);
      const existing = draft.state.leases[request.node];
      const others = Object.values(draft.state.leases).filter((lease) => lease.node !== request.node);
      const subnets =
        existing !== undefined && subnetsFit(config, existing.subnets)
          ? existing.subnets
          : planSubnets(config, takenSubnets(others), existing?.subnets ?? draft.state.history[request.node] ?? request.previous);
      const lease: Lease = {
        node: request.node,
        nodeIps: [...request.nodeIps],
        subnets,
        backend: request.backend,
        expiresAt: draft.now + request.ttlMs,
        revision: draft.revision,
      };
      draft.put(lease, existing, request.ttlMs);
      return lease;
    });
  }

  renew(lease: Lease, update: Partial<Pick<AcquireRequest, 'nodeIps' | 'backend' | 'ttlMs'>> = {}): Promise<Lease> {
    checkNode(lease.node);
    if (update.ttlMs !== undefined) checkTtl(update.ttlMs, lease.node);
    return this.#transact((draft) => {
      const current = draft.state.leases[lease.node];
      if (current === undefined) throw leaseLost(lease, 'it expired or was released');
      if (!sameSubnets(current.subnets, lease.subnets)) throw leaseLost(lease, `the node now holds ${JSON.stringify(current.subnets)}`);
      const ttlMs = update.ttlMs ?? draft.state.ttls[lease.node] ?? Math.max(1_000, current.expiresAt - draft.now);
      const next: Lease = {
        ...current,
        nodeIps: [...(update.nodeIps ?? current.nodeIps)],
        backend: update.backend ?? current.backend,
        expiresAt: draft.now + ttlMs,
        revision: draft.revision,
      };
      draft.put(next, current, ttlMs);
      return next;
    });
  }

  async release(lease: Lease): Promise<void> {
    checkNode(lease.node);
    await this.#transact((draft) => {
      const current = draft.state.leases[lease.node];
      if (current !== undefined && sameSubnets(current.subnets, lease.subnets)) draft.remove(current);
    });
  }

  /** Remove expired leases now (what watchers call when a lease they know of passes its expiry). */
  async sweep(): Promise<void> {
    await this.#transact(() => undefined);
  }

  watch(fromRevision: number, handlers: WatchHandlers): LeaseWatch {
    this.#live();
    const watch = new LocalWatch(this, fromRevision, handlers, { pollMs: this.#pollMs, inotify: this.#inotify }, () => this.#watches.delete(watch));
    this.#watches.add(watch);
    watch.start();
    return watch;
  }

  /**
   * Test and benchmark support: write many leases in one commit, as `added`/`changed` events.
   * No planning: the caller's subnets must be distinct and fit the config.
   */
  async seed(leases: ReadonlyArray<Omit<Lease, 'revision' | 'expiresAt'> & { ttlMs: number }>): Promise<number> {
    return this.#transact((draft) => {
      for (const { ttlMs, ...rest } of leases) {
        checkNode(rest.node);
        draft.put({ ...rest, expiresAt: draft.now + ttlMs, revision: draft.revision }, draft.state.leases[rest.node], ttlMs);
      }
      return draft.revision;
    });
  }

  /**
   * Test and tooling hook: forget the event log up to the current revision, so watchers behind
   * it must resync (what etcd's compaction does).
   */
  async compactLog(): Promise<void> {
    await this.#transact((draft) => {
      draft.state.log = [];
      draft.state.logFrom = draft.revision;
      draft.changed = true;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await Promise.all([...this.#watches].map((watch) => watch.close()));
    this.#closed = true;
  }
}

/** Files written before `ttls` existed (none yet, but cheap) get an empty map. */
function withTtls(state: LocalState): LocalState {
  state.ttls ??= {};
  return state;
}
