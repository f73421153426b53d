// Driving the backend's node half: one reconcile at a time of (local lease, watched peers),
// coalesced from bursts of events, plus a periodic pass that re-diffs the kernel and repairs
// drift (the node half removes stale entries of our route protocol and never touches others).
// Paused while the node has no valid lease: nothing is removed then, nothing programmed.
import type { NodeHalf, NodeLease, NodeReconcileReport } from '@podnet/core/backend';
import { Coalescer } from './coalesce.js';
import type { Logger } from './logger.js';
import type { AgentMetrics } from './metrics.js';

export type ReconcileTrigger = 'start' | 'peers' | 'periodic' | 'lease';

export interface ReconcileRecord {
  at: string;
  trigger: ReconcileTrigger;
  durationMs: number;
  report?: NodeReconcileReport;
  /** Set when the pass threw (the node half could not run at all). */
  error?: string;
}

export interface ReconcilerOptions {
  /** Events arriving within this window become one reconcile (default 50 ms). */
  debounceMs?: number;
  /** Full pass every this often (default 10 s). */
  periodMs: number;
  /** Extra work for each periodic pass, after the node half's (the masquerade check). */
  onPeriodic?: () => Promise<void>;
  /**
   * Work before the node half's reconcile of each periodic pass, in the same turn (so it may
   * swap the node half with setHalf): the underlay check.
   */
  beforePeriodic?: () => Promise<void>;
}

export class Reconciler {
  #local: NodeLease | undefined;
  #last: ReconcileRecord | undefined;
  #firstDone = false;
  #trigger: ReconcileTrigger = 'start';
  #periodic: NodeJS.Timeout | undefined;
  readonly #coalescer: Coalescer;
  #half: NodeHalf;

  constructor(
    half: NodeHalf,
    private readonly peers: () => readonly NodeLease[],
    private readonly log: Logger,
    private readonly metrics: AgentMetrics,
    private readonly options: ReconcilerOptions,
  ) {
    this.#half = half;
    this.#coalescer = new Coalescer(
      () => this.#run(),
      options.debounceMs ?? 50,
      (error) => this.log.error({ err: error }, 'reconcile task failed'),
    );
  }

  /** True once a pass has run to the end with a lease (errors for single peers do not count). */
  get firstDone(): boolean {
    return this.#firstDone;
  }

  get last(): ReconcileRecord | undefined {
    return this.#last;
  }

  get paused(): boolean {
    return this.#local === undefined;
  }

  /** Program for this local lease (resumes a pause). */
  setLocal(local: NodeLease): void {
    this.#local = local;
  }

  /** Stop programming: the lease is lost. Nothing is removed. */
  pause(): void {
    this.#local = undefined;
  }

  /** Peers changed: reconcile after the debounce window. */
  peersChanged(): void {
    this.#request('peers');
  }

  /**
   * The node half later passes use. Call it between passes or from beforePeriodic; the caller
   * closes the one it replaces.
   */
  setHalf(half: NodeHalf): void {
    this.#half = half;
  }

  /** Reconcile now and wait for it (start, lease re-acquired). */
  async reconcileNow(trigger: ReconcileTrigger): Promise<void> {
    this.#trigger = trigger;
    await this.#coalescer.runNow();
  }

  startPeriodic(): void {
    const tick = (): void => {
      this.#periodic = setTimeout(() => {
        this.#request('periodic', 0);
        tick();
      }, this.options.periodMs);
    };
    if (!this.#periodic) tick();
  }

  /** Resolves when no reconcile is scheduled or running (tests). */
  idle(): Promise<void> {
    return this.#coalescer.idle();
  }

  async stop(): Promise<void> {
    if (this.#periodic) clearTimeout(this.#periodic);
    this.#periodic = undefined;
    await this.#coalescer.close();
  }

  #request(trigger: ReconcileTrigger, delayMs?: number): void {
    // A periodic pass that joins a peers pass is still the periodic one (it also checks nft).
    if (this.#trigger !== 'periodic') this.#trigger = trigger;
    this.#coalescer.request(delayMs);
  }

  async #run(): Promise<void> {
    const trigger = this.#trigger;
    this.#trigger = 'peers';
    if (trigger === 'periodic' && this.options.beforePeriodic) await this.options.beforePeriodic();
    const local = this.#local;
    if (!local) {
      this.log.debug({ trigger }, 'reconcile skipped: no valid lease');
      return;
    }
    const peers = this.peers();
    const started = performance.now();
    const cpu = process.cpuUsage();
    const at = new Date().toISOString();
    try {
      const report = await this.#half.reconcile(local, peers);
      const durationMs = performance.now() - started;
      this.metrics.reconcileDuration.observe({ trigger }, durationMs / 1000);
      const used = process.cpuUsage(cpu);
      this.metrics.reconcileCpu.inc({ trigger }, (used.user + used.system) / 1e6);
      this.metrics.routesProgrammed.set(report.programmed);
      this.metrics.peersSkipped.set(report.skipped.length);
      this.metrics.peers.set(peers.length);
      this.metrics.reconcileChanges.inc(report.changes);
      if (report.errors.length > 0) {
        this.metrics.reconcileErrors.inc(report.errors.length);
        this.log.warn({ trigger, errors: report.errors }, 'reconcile: the kernel refused some changes');
      }
      const level = report.changes > 0 ? 'info' : 'debug';
      this.log[level](
        {
          trigger,
          peers: peers.length,
          programmed: report.programmed,
          changes: report.changes,
          skipped: report.skipped.length,
          durationMs: Math.round(durationMs * 100) / 100,
        },
        'reconciled',
      );
      this.#last = { at, trigger, durationMs, report };
      this.#firstDone = true;
    } catch (error) {
      const durationMs = performance.now() - started;
      this.metrics.reconcileErrors.inc();
      this.log.error({ trigger, err: error }, 'reconcile failed');
      this.#last = { at, trigger, durationMs, error: (error as Error).message };
    }
    if (trigger === 'periodic' && this.options.onPeriodic) await this.options.onPeriodic();
  }
}
