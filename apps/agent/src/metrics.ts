// The agent's Prometheus metrics (prom-client), on their own registry so tests and a later
// in-process CNI service do not collide with anything global.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly peers = new Gauge({ name: 'podnetd_peers', help: 'Peer leases in the watched set', registers: [this.registry] });
  readonly routesProgrammed = new Gauge({
    name: 'podnetd_routes_programmed',
    help: 'Peer routes (or entries) the last reconcile left programmed',
    registers: [this.registry],
  });
  readonly peersSkipped = new Gauge({
    name: 'podnetd_peers_skipped',
    help: 'Peers the backend left out in the last reconcile (e.g. not on-link for host-gw)',
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'podnetd_reconcile_duration_seconds',
    help: 'Duration of one reconcile of the data plane',
    labelNames: ['trigger'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly reconcileCpu = new Counter({
    name: 'podnetd_reconcile_cpu_seconds_total',
    help: 'Process CPU (user + system, every thread) spent inside reconciles of the data plane',
    labelNames: ['trigger'] as const,
    registers: [this.registry],
  });
  readonly reconcileChanges = new Counter({
    name: 'podnetd_reconcile_changes_total',
    help: 'Kernel changes made by reconciles (drift repaired, peers added or removed)',
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: 'podnetd_reconcile_errors_total',
    help: 'Reconciles that failed, plus changes the kernel refused',
    registers: [this.registry],
  });
  readonly leaseExpiry = new Gauge({
    name: 'podnetd_lease_expiry_timestamp_seconds',
    help: 'When the node lease expires unless renewed (Unix time)',
    registers: [this.registry],
  });
  readonly leaseLost = new Counter({
    name: 'podnetd_lease_lost_total',
    help: 'Times the node lost its lease (expired, deleted or taken) and re-acquired',
    registers: [this.registry],
  });
  readonly storeErrors = new Counter({
    name: 'podnetd_store_errors_total',
    help: 'Failed calls and watch errors against the lease store',
    registers: [this.registry],
  });
  readonly storeReconnects = new Counter({
    name: 'podnetd_store_reconnects_total',
    help: 'Times the lease store came back after being unreachable',
    registers: [this.registry],
  });
  readonly ready = new Gauge({
    name: 'podnetd_ready',
    help: '1 when the lease file is written and the data plane reconciled, 0 otherwise',
    registers: [this.registry],
  });
  readonly masqueradeErrors = new Counter({
    name: 'podnetd_masquerade_errors_total',
    help: 'Failed applies of the nftables masquerade and forward tables',
    registers: [this.registry],
  });
  readonly underlayChanges = new Counter({
    name: 'podnetd_underlay_changes_total',
    help: 'Times the underlay link was found changed (recreated, renumbered, new MTU) and followed',
    registers: [this.registry],
  });
  readonly underlayErrors = new Counter({
    name: 'podnetd_underlay_errors_total',
    help: 'Periodic underlay checks that found no usable underlay (gone, down, no address); the last one is kept',
    registers: [this.registry],
  });

  constructor(processMetrics = true) {
    // Process metrics (RSS, CPU, event loop lag): what an operator checks an agent by.
    if (processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'podnetd_' });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
