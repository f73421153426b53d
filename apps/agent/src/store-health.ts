// One view of "is the lease store reachable", fed by every caller (lease keeper, peer watch):
// an outage is logged once when it starts and once when it ends, and each end is a reconnect.
import type { Logger } from './logger.js';
import type { AgentMetrics } from './metrics.js';

export class StoreHealth {
  #down = false;
  #since = 0;

  constructor(
    private readonly log: Logger,
    private readonly metrics: AgentMetrics,
  ) {}

  get down(): boolean {
    return this.#down;
  }

  failed(source: string, error: unknown): void {
    this.metrics.storeErrors.inc();
    if (this.#down) {
      this.log.debug({ source, err: error }, 'lease store still unreachable');
      return;
    }
    this.#down = true;
    this.#since = Date.now();
    this.log.warn({ source, err: error }, 'lease store unreachable: keeping the data plane as it is, retrying');
  }

  ok(source: string): void {
    if (!this.#down) return;
    this.#down = false;
    this.metrics.storeReconnects.inc();
    this.log.info({ source, downMs: Date.now() - this.#since }, 'lease store reachable again');
  }
}
