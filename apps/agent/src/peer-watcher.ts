// The set of peer leases this node programs: listed once, then kept by the store's watch from
// the listing's revision. The watched set is the truth between events (the periodic reconcile
// re-diffs the kernel against it, not the store). A resync batch is already diffed by the
// store, so applying its events converges too. Our own node's events go to `onSelf`.
import type { Lease, LeaseEvent, LeaseStore, LeaseWatch } from '@podnet/cluster';
import type { NodeLease } from '@podnet/core/backend';
import { Backoff, sleep } from './backoff.js';
import type { Logger } from './logger.js';
import type { StoreHealth } from './store-health.js';

export interface PeerWatcherHandlers {
  /** The peer set changed (called once per delivered batch that changed something). */
  onChange(): void;
  /** An event about this node's own lease (e.g. removed: the keeper should renew now). */
  onSelf?(event: LeaseEvent): void;
}

export function toNodeLease(lease: Lease): NodeLease {
  const subnets = [lease.subnets.ipv4, lease.subnets.ipv6].filter((s): s is string => s !== undefined);
  const out: NodeLease = { node: lease.node, subnets, nodeIps: [...lease.nodeIps] };
  if (lease.backend.data !== undefined) out.backendData = lease.backend.data;
  return out;
}

/** Do two leases of one node ask for the same data plane (everything but expiry and revision)? */
export function sameProgramming(a: Lease, b: Lease): boolean {
  return JSON.stringify(toNodeLease(a)) === JSON.stringify(toNodeLease(b));
}

/** Joins, changes and departures in one batch up to this many are logged one line each. */
const LOG_EACH_UP_TO = 20;

export class PeerWatcher {
  readonly #peers = new Map<string, Lease>();
  /**
   * What peers() returns until the set changes: the same (frozen) array and NodeLease objects
   * every pass, so a steady-state reconcile at 5,000 peers neither sorts nor converts, and
   * parsing caches below it can key by object.
   */
  #view: readonly NodeLease[] | undefined;
  /** Each peer's NodeLease, converted (and frozen, deep) once per change of what it programs. */
  readonly #converted = new Map<string, NodeLease>();
  #watch: LeaseWatch | undefined;
  #revision = 0;
  readonly #stop = new AbortController();

  constructor(
    private readonly store: LeaseStore,
    private readonly self: string,
    private readonly handlers: PeerWatcherHandlers,
    private readonly log: Logger,
    private readonly health: StoreHealth,
  ) {}

  get revision(): number {
    return this.#revision;
  }

  get size(): number {
    return this.#peers.size;
  }

  /** Peers in node-name order (stable input for the backend); frozen, kept until a change. */
  peers(): readonly NodeLease[] {
    this.#view ??= Object.freeze([...this.#peers.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0)).map((l) => this.#convert(l)));
    return this.#view;
  }

  #convert(lease: Lease): NodeLease {
    let out = this.#converted.get(lease.node);
    if (out === undefined) {
      const n = toNodeLease(lease);
      Object.freeze(n.subnets);
      Object.freeze(n.nodeIps);
      out = Object.freeze(n);
      this.#converted.set(lease.node, out);
    }
    return out;
  }

  leases(): Lease[] {
    return [...this.#peers.values()];
  }

  /** List (retrying while the store is down), then watch from the listing's revision. */
  async start(): Promise<void> {
    const backoff = new Backoff();
    for (;;) {
      if (this.#stop.signal.aborted) return;
      try {
        const { leases, revision } = await this.store.list();
        this.health.ok('list');
        this.#peers.clear();
        this.#converted.clear();
        this.#view = undefined;
        for (const lease of leases) if (lease.node !== this.self) this.#peers.set(lease.node, lease);
        this.#revision = revision;
        break;
      } catch (error) {
        this.health.failed('list', error);
        if (!(await sleep(backoff.next(), this.#stop.signal))) return;
      }
    }
    this.log.info({ peers: this.#peers.size, revision: this.#revision }, 'peers listed; watching');
    this.#watch = this.store.watch(this.#revision, {
      onEvents: (batch) => {
        this.health.ok('watch');
        this.#revision = Math.max(this.#revision, batch.revision);
        const seen = { joined: [] as Lease[], changed: [] as Lease[], left: [] as Lease[] };
        for (const event of batch.events) {
          if (event.lease.node === this.self) {
            this.handlers.onSelf?.(event);
            continue;
          }
          const known = this.#peers.get(event.lease.node);
          if (event.type === 'removed') {
            this.#peers.delete(event.lease.node);
            this.#converted.delete(event.lease.node);
            seen.left.push(event.lease);
          } else {
            this.#peers.set(event.lease.node, event.lease);
            // A renewal only moves expiresAt and the revision: nothing to program. Skipping it
            // matters at scale (5,000 peers renewing every 20 s would be 250 events a second).
            if (known !== undefined && sameProgramming(known, event.lease)) continue;
            this.#converted.delete(event.lease.node);
            (known === undefined ? seen.joined : seen.changed).push(event.lease);
          }
        }
        const changed = seen.joined.length + seen.changed.length + seen.left.length > 0;
        if (changed) this.#view = undefined;
        this.#logChanges(seen);
        if (batch.resync) this.log.info({ revision: batch.revision, events: batch.events.length }, 'watch resynchronised from a snapshot');
        if (changed) this.handlers.onChange();
      },
      onError: (error) => this.health.failed('watch', error),
      // Reconnected after an outage: the store is reachable again now, not at the next renewal.
      onConnected: () => this.health.ok('watch'),
    });
  }

  /**
   * One line per peer for a small batch; for a burst (5,000 peers appearing at once) one summary
   * line at info and the per-peer lines at debug — 5,000 info lines cost ~250 ms of the agent's
   * single thread before the reconcile could start.
   */
  #logChanges(seen: { joined: Lease[]; changed: Lease[]; left: Lease[] }): void {
    const each = seen.joined.length + seen.changed.length + seen.left.length <= LOG_EACH_UP_TO;
    if (!each) {
      this.log.info(
        {
          joined: seen.joined.length,
          changed: seen.changed.length,
          left: seen.left.length,
          sample: [...seen.joined, ...seen.changed, ...seen.left].slice(0, 5).map((l) => l.node),
        },
        'peers changed',
      );
      if (!this.log.isLevelEnabled('debug')) return;
    }
    const level = each ? 'info' : 'debug';
    for (const l of seen.left) this.log[level]({ peer: l.node, subnets: l.subnets }, 'peer left');
    for (const l of seen.joined) this.log[level]({ peer: l.node, subnets: l.subnets, nodeIps: l.nodeIps }, 'peer joined');
    for (const l of seen.changed) this.log[level]({ peer: l.node, subnets: l.subnets, nodeIps: l.nodeIps }, 'peer changed');
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    const watch = this.#watch;
    this.#watch = undefined;
    await watch?.close();
  }
}
