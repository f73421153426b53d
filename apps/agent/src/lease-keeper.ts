// Holding this node's subnet lease: acquire (retrying while the store is down or out of
// subnets), renew at a third of the TTL, and when the store says the lease is gone
// (ClusterError 'lease-lost': expired, deleted, taken) report it loudly and re-acquire — the
// store hands back the same subnet when it is still free.
//
//   idle → acquiring → held ⇄ (renew fails transiently: still held, retried with backoff)
//                       held → lost → acquiring → held …        any → stopped
//
// Stopping never releases the lease: a restarted agent gets its subnet back by node name.
import { ClusterError } from '@podnet/cluster';
import type { AcquireRequest, Lease, LeaseStore } from '@podnet/cluster';
import { Backoff, sleep } from './backoff.js';
import type { Logger } from './logger.js';
import type { AgentMetrics } from './metrics.js';
import type { StoreHealth } from './store-health.js';

export type LeaseState = 'idle' | 'acquiring' | 'held' | 'lost' | 'stopped';

export interface LeaseKeeperHandlers {
  /** A lease was (re-)acquired; `previous` is the one it replaces (undefined the first time). */
  onAcquired(lease: Lease, previous: Lease | undefined): Promise<void> | void;
  /** The store says the held lease is gone; programming for it must stop until onAcquired. */
  onLost(lease: Lease, error: Error): void;
}

export interface LeaseKeeperOptions {
  /** How long between renewals (default ttl/3). */
  renewEveryMs?: number;
  backoff?: { initialMs: number; maxMs: number };
}

export class LeaseKeeper {
  #state: LeaseState = 'idle';
  #lease: Lease | undefined;
  #timer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> | undefined;
  readonly #stop = new AbortController();
  readonly #backoff: Backoff;
  readonly #renewEveryMs: number;

  constructor(
    private readonly store: LeaseStore,
    private request: AcquireRequest,
    private readonly handlers: LeaseKeeperHandlers,
    private readonly log: Logger,
    private readonly metrics: AgentMetrics,
    private readonly health: StoreHealth,
    options: LeaseKeeperOptions = {},
  ) {
    this.#renewEveryMs = options.renewEveryMs ?? Math.max(1, Math.floor(request.ttlMs / 3));
    this.#backoff = new Backoff(options.backoff?.initialMs ?? 200, options.backoff?.maxMs ?? Math.max(1000, Math.min(10_000, this.#renewEveryMs)));
  }

  get state(): LeaseState {
    return this.#state;
  }

  get lease(): Lease | undefined {
    return this.#lease;
  }

  /** Acquire (retrying until it works or stop()), tell onAcquired, then keep renewing. */
  async start(): Promise<Lease | undefined> {
    await this.#acquire(undefined);
    return this.#lease;
  }

  /** Stop renewing; the lease stays in the store until it expires (or the agent comes back). */
  async stop(): Promise<void> {
    this.#state = 'stopped';
    this.#stop.abort();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#renewing;
  }

  /**
   * New node addresses or backend data (the underlay was renumbered or replaced): every later
   * acquire and renew carries them, and a renewal now publishes them (the store writes the lease
   * only when something changed).
   */
  async update(change: Partial<Pick<AcquireRequest, 'nodeIps' | 'backend'>>): Promise<void> {
    this.request = { ...this.request, ...change };
    // A renewal in flight may have sent the old values: wait for it, then send the new ones.
    await this.#renewing;
    await this.renewNow();
  }

  /** Renew now (what the timer does); exposed for tests and for a watch that saw our lease go. */
  renewNow(): Promise<void> {
    if (this.#state !== 'held') return Promise.resolve();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#renewing ??= this.#renew().finally(() => {
      this.#renewing = undefined;
    });
    return this.#renewing;
  }

  async #acquire(previous: Lease | undefined): Promise<void> {
    this.#state = 'acquiring';
    for (;;) {
      if (this.#stop.signal.aborted) return;
      let lease: Lease;
      try {
        lease = await this.store.acquire(this.request);
        this.health.ok('acquire');
        this.#backoff.reset();
      } catch (error) {
        const delay = this.#backoff.next();
        if (error instanceof ClusterError && error.kind === 'exhausted') {
          this.log.error({ err: error, retryInMs: delay }, 'no free subnet for this node; retrying');
        } else if (error instanceof ClusterError && (error.kind === 'config-missing' || error.kind === 'config-invalid')) {
          this.log.error({ err: error, retryInMs: delay }, 'cannot acquire a lease: the network config in the store is missing or invalid; retrying');
        } else {
          this.health.failed('acquire', error);
        }
        if (!(await sleep(delay, this.#stop.signal))) return;
        continue;
      }
      if (this.#stop.signal.aborted) return;
      this.#lease = lease;
      this.#state = 'held';
      this.metrics.leaseExpiry.set(lease.expiresAt / 1000);
      this.log.info(
        { subnets: lease.subnets, nodeIps: lease.nodeIps, expiresAt: new Date(lease.expiresAt).toISOString(), reacquired: previous !== undefined },
        'lease acquired',
      );
      try {
        await this.handlers.onAcquired(lease, previous);
      } catch (error) {
        // Not the store's fault (e.g. the lease file cannot be written): say so, and try the
        // whole step again — the store hands back the same lease.
        this.#state = 'acquiring';
        const delay = this.#backoff.next();
        this.log.error({ err: error, retryInMs: delay }, `lease acquired, but acting on it failed: ${(error as Error).message}; retrying`);
        if (!(await sleep(delay, this.#stop.signal))) return;
        continue;
      }
      this.#schedule(this.#renewEveryMs);
      return;
    }
  }

  #schedule(ms: number): void {
    if (this.#state !== 'held') return;
    this.#timer = setTimeout(() => void this.renewNow(), ms);
  }

  async #renew(): Promise<void> {
    const lease = this.#lease;
    if (!lease || this.#state !== 'held') return;
    try {
      const { ttlMs, nodeIps, backend } = this.request;
      const renewed = await this.store.renew(lease, { ttlMs, nodeIps, backend });
      this.health.ok('renew');
      this.#backoff.reset();
      if (this.#state !== 'held') return;
      this.#lease = renewed;
      this.metrics.leaseExpiry.set(renewed.expiresAt / 1000);
      this.log.debug({ expiresAt: new Date(renewed.expiresAt).toISOString() }, 'lease renewed');
      this.#schedule(this.#renewEveryMs);
    } catch (error) {
      if ((this.#state as LeaseState) === 'stopped') return;
      if (error instanceof ClusterError && error.kind === 'lease-lost') {
        this.#state = 'lost';
        this.metrics.leaseLost.inc();
        this.log.error({ err: error, subnets: lease.subnets }, 'LEASE LOST: this node no longer holds its subnet; stopping programming and re-acquiring');
        this.handlers.onLost(lease, error);
        await this.#acquire(lease);
        return;
      }
      // Store trouble: the lease may still be valid; the data plane stays; retry soon, well
      // before expiry when the outage is short.
      this.health.failed('renew', error);
      this.#schedule(Math.min(this.#backoff.next(), this.#renewEveryMs));
    }
  }
}
