// podnetd's run: the services wired together. Start order (issue 7): listener (alive, not
// ready) → store → network config → underlay → lease → lease file → masquerade → node half →
// peers listed → first reconcile → ready; then watch, coalesce, reconcile periodically.
// stop() keeps the data plane and the lease: pods keep talking while the agent restarts, and the
// restarted agent gets the same subnet back by node name.
import { readFileSync } from 'node:fs';
import { ClusterError, parseNetworkConfig } from '@podnet/cluster';
import type { Lease, LeaseStore, NetworkConfig } from '@podnet/cluster';
import { writeLeaseFile } from '@podnet/cluster/lease-file';
import type { LeaseFile } from '@podnet/cluster/lease-file';
import { nftBinary } from '@podnet/backend-bridge';
import { repairHostPorts } from '@podnet/portmap';
import type { NftRunner } from '@podnet/backend-bridge';
import { PODNET_ROUTE_PROTOCOL } from '@podnet/core/backend';
import type { NodeEnvironment, NodeHalf, NodeHalfFactory, NodeLease } from '@podnet/core/backend';
import { NetlinkSocket } from '@podnet/core/netlink';
import { Backoff, sleep } from './backoff.js';
import { BACKENDS, nodeHalfFor } from './backends.js';
import type { BackendRegistry } from './backends.js';
import { ensureForwardAccept } from './forward-accept.js';
import { HttpService } from './http.js';
import type { Listen } from './http.js';
import { LeaseKeeper } from './lease-keeper.js';
import type { Logger } from './logger.js';
import { NatRules } from './masquerade.js';
import type { ClusterNetworks } from './masquerade.js';
import { AgentMetrics } from './metrics.js';
import type { AgentOptions } from './options.js';
import { PeerWatcher, toNodeLease } from './peer-watcher.js';
import { Reconciler } from './reconciler.js';
import type { ReconcileRecord } from './reconciler.js';
import { openStore } from './store.js';
import { StoreHealth } from './store-health.js';
import { findUnderlay, leaseNodeIps, refindUnderlay, underlayChanges, underlayQuery } from './underlay.js';
import type { Underlay } from './underlay.js';

/** What tests (and a later in-process CNI service) may swap. */
export interface AgentDeps {
  backends?: BackendRegistry;
  openStore?: (options: AgentOptions) => Promise<LeaseStore>;
  nft?: NftRunner;
  /** The iptables FORWARD step (default ensureForwardAccept: the host's iptables). */
  forwardAccept?: (networks: ClusterNetworks) => Promise<string[]>;
  /** Process metrics (default true; tests with several agents in one process turn them off). */
  processMetrics?: boolean;
  /** Event coalescing window (default 50 ms). */
  debounceMs?: number;
}

export interface AgentStatus {
  node: string;
  ready: boolean;
  readyReason: string;
  state: string;
  store: { kind: string; down: boolean };
  backend?: string;
  underlay?: { name: string; mtu: number; addresses: string[]; foundBy: string };
  leaseFile: string;
  lease?: { subnets: Lease['subnets']; nodeIps: string[]; expiresAt: string; revision: number };
  network?: ClusterNetworks;
  peers: Array<{ node: string; subnets: string[]; nodeIps: string[] }>;
  routesProgrammed?: number;
  skipped: Array<{ node: string; reason: string }>;
  lastReconcile?: Omit<ReconcileRecord, 'report'> & { changes?: number; errors?: string[] };
}

export function clusterNetworks(config: NetworkConfig): ClusterNetworks {
  const out: ClusterNetworks = {};
  if (config.EnableIPv4 && config.Network !== undefined) out.ipv4 = config.Network;
  if (config.EnableIPv6 && config.IPv6Network !== undefined) out.ipv6 = config.IPv6Network;
  return out;
}

function sameSubnets(a: Lease, b: Lease): boolean {
  return a.subnets.ipv4 === b.subnets.ipv4 && a.subnets.ipv6 === b.subnets.ipv6;
}

export class Agent {
  readonly metrics: AgentMetrics;
  readonly #http: HttpService;
  readonly #health: StoreHealth;
  readonly #stop = new AbortController();
  #phase = 'starting';
  #listen: Listen | undefined;
  #store: LeaseStore | undefined;
  #config: NetworkConfig | undefined;
  #underlay: Underlay | undefined;
  /** Set while the periodic underlay check finds none usable (said once, not at every pass). */
  #underlayTrouble = false;
  /** The MTU the lease file gives pods (follows the underlay's). */
  #podMtu = 0;
  /** The lease file holds an older pod MTU (its rewrite failed): retried each periodic pass. */
  #leaseFileStale = false;
  #factory: NodeHalfFactory | undefined;
  #half: NodeHalf | undefined;
  #keeper: LeaseKeeper | undefined;
  #watcher: PeerWatcher | undefined;
  #reconciler: Reconciler | undefined;
  #nat: NatRules | undefined;
  #leaseFileWritten = false;
  /** Between onLost and the reconcile after re-acquiring: not ready, not programming. */
  #lost = false;

  constructor(
    readonly options: AgentOptions,
    private readonly log: Logger,
    private readonly deps: AgentDeps = {},
  ) {
    this.metrics = new AgentMetrics(deps.processMetrics ?? true);
    this.#health = new StoreHealth(log, this.metrics);
    this.#http = new HttpService({ ready: () => this.readiness(), status: () => this.status(), metrics: this.metrics }, log);
  }

  /** The address the listener is bound to (after start). */
  get listen(): Listen | undefined {
    return this.#listen;
  }

  readiness(): { ready: boolean; reason: string } {
    const state = this.#keeper?.state;
    let reason: string;
    if (this.#lost) reason = 'lease lost: re-acquiring (programming stopped)';
    else if (!this.#leaseFileWritten) reason = `starting (${this.#phase})`;
    else if (!this.#reconciler?.firstDone) reason = 'waiting for the first reconcile';
    else if (state !== 'held') reason = `lease ${state ?? 'not acquired'}`;
    else return { ready: true, reason: 'ready' };
    return { ready: false, reason };
  }

  #updateReady(): void {
    this.metrics.ready.set(this.readiness().ready ? 1 : 0);
  }

  /** Run until ready. Throws on misconfiguration; a store that is down is waited for instead. */
  async start(): Promise<void> {
    const o = this.options;
    this.metrics.ready.set(0);
    this.#listen = await this.#http.listen(o.listen);

    this.#phase = 'opening the store';
    const open = this.deps.openStore ?? openStore;
    const store = await this.#retry('open the store', () => open(o));
    if (!store) return;
    this.#store = store;
    this.log.info({ node: o.node, store: this.#store.kind }, 'lease store opened');

    this.#phase = 'reading the network config';
    this.#config = await this.#retry('network config', () => this.#networkConfig());
    if (!this.#config) return;
    const networks = clusterNetworks(this.#config);
    this.log.info({ network: networks, backend: this.#config.Backend.Type }, 'network config');

    this.#phase = 'finding the underlay';
    const sock = NetlinkSocket.open();
    try {
      this.#underlay = findUnderlay(sock, underlayQuery(o));
    } finally {
      sock.close();
    }
    const underlay = this.#underlay;
    this.log.info({ underlay: underlay.name, mtu: underlay.mtu, addresses: underlay.addresses, foundBy: underlay.foundBy }, 'underlay');

    this.#factory = await nodeHalfFor(this.#config.Backend.Type, this.deps.backends ?? BACKENDS);
    const env = this.#environment(underlay);
    this.#podMtu = this.#factory.podMtu(underlay.mtu, underlay.family, this.#config.Backend);
    const half = this.#factory.create(env);
    this.#half = half;

    this.#watcher = new PeerWatcher(
      this.#store,
      o.node,
      {
        onChange: () => this.#reconciler?.peersChanged(),
        onSelf: (event) => {
          // Our own lease vanished from the store: find out now rather than at the next renewal.
          if (event.type === 'removed') void this.#keeper?.renewNow();
        },
      },
      this.log,
      this.#health,
    );
    this.#reconciler = new Reconciler(half, () => this.#watcher?.peers() ?? [], this.log, this.metrics, {
      periodMs: o.reconcilePeriodMs,
      ...(this.deps.debounceMs !== undefined ? { debounceMs: this.deps.debounceMs } : {}),
      beforePeriodic: () => this.#followUnderlay(),
      onPeriodic: async () => {
        await this.#repairNat(networks);
        await this.#repairHostPorts();
      },
    });

    this.#phase = 'acquiring the lease';
    this.#keeper = new LeaseKeeper(
      this.#store,
      {
        node: o.node,
        nodeIps: leaseNodeIps(underlay),
        backend: this.#leaseBackend(this.#factory, env),
        ttlMs: o.leaseTtlMs,
      },
      {
        onAcquired: async (lease, previous) => {
          if (!previous || !sameSubnets(lease, previous) || !this.#leaseFileWritten) this.#writeLeaseFile(lease);
          this.#reconciler?.setLocal(this.#localLease(lease));
          if (previous) {
            const same = sameSubnets(lease, previous);
            // Another subnet strands the pods of the old one (their addresses are no longer
            // routed here); that can only happen when another node took ours meanwhile.
            this.log[same ? 'info' : 'warn'](
              { subnets: lease.subnets, previous: previous.subnets },
              same
                ? 'lease re-acquired with the same subnet; programming again'
                : 'lease re-acquired with ANOTHER subnet: pods on the old one must be recreated',
            );
            await this.#reconciler?.reconcileNow('lease');
            this.#lost = false;
            this.#updateReady();
          }
        },
        onLost: () => {
          this.#lost = true;
          this.#reconciler?.pause();
          this.#updateReady();
        },
      },
      this.log,
      this.metrics,
      this.#health,
    );
    await this.#keeper.start();
    if (this.#stop.signal.aborted) return;

    this.#phase = 'installing masquerade and forward rules';
    this.#nat = new NatRules(this.deps.nft ?? nftBinary(), { masquerade: o.masquerade });
    try {
      await this.#nat.apply(networks);
      this.log.info({ masquerade: o.masquerade }, 'nftables tables ip/ip6 podnet applied');
      const added = await (this.deps.forwardAccept ?? ensureForwardAccept)(networks);
      if (added.length > 0) this.log.info({ tools: added }, 'FORWARD policy is DROP: appended forward accept rules for the cluster network');
    } catch (error) {
      // Pod ↔ pod does not need them; the periodic pass retries.
      this.metrics.masqueradeErrors.inc();
      this.log.error({ err: error }, 'cannot apply the nftables tables; retrying at each periodic reconcile');
    }

    this.#phase = 'listing peers';
    await this.#watcher.start();
    if (this.#stop.signal.aborted) return;
    this.#phase = 'first reconcile';
    await this.#reconciler.reconcileNow('start');
    this.#reconciler.startPeriodic();
    this.#phase = 'running';
    this.#updateReady();
    this.log.info({ ...this.readiness(), peers: this.#watcher.size }, 'podnetd running');
  }

  #environment(underlay: Underlay): NodeEnvironment {
    return {
      node: this.options.node,
      backend: (this.#config as NetworkConfig).Backend,
      underlay: { name: underlay.name, index: underlay.index, mtu: underlay.mtu, addresses: underlay.addresses },
      routeProtocol: PODNET_ROUTE_PROTOCOL,
      log: (level, message, fields) => this.log[level](fields ?? {}, message),
    };
  }

  /** The backend part of the lease: its type, and the data the node half publishes to peers. */
  #leaseBackend(factory: NodeHalfFactory, env: NodeEnvironment): Lease['backend'] {
    const type = (this.#config as NetworkConfig).Backend.Type;
    const data = factory.leaseData?.(env);
    return data !== undefined ? { type, data } : { type };
  }

  /** What the CNI pod halves read: the subnets, the cluster network, the pods' MTU. */
  #writeLeaseFile(lease: Lease): void {
    const config = this.#config as NetworkConfig;
    const file: LeaseFile = {
      version: 1,
      node: this.options.node,
      network: clusterNetworks(config),
      subnets: lease.subnets,
      mtu: this.#podMtu,
      backend: config.Backend.Type,
      writtenAt: new Date().toISOString(),
    };
    writeLeaseFile(this.options.leaseFile, file);
    this.#leaseFileWritten = true;
    this.log.info({ path: this.options.leaseFile, subnets: lease.subnets, mtu: this.#podMtu }, 'lease file written');
  }

  /**
   * Each periodic pass, before the node half's: read the underlay again and follow a change. A
   * link recreated (new index), renumbered or given another MTU gets a new node half (its routes
   * and devices are re-made on the new link by the pass that follows), the lease carries the new
   * node addresses (peers re-route to them from their watch), and the lease file the new pod
   * MTU. No usable underlay (gone, down, no address yet) keeps the last one: said once, counted.
   */
  async #followUnderlay(): Promise<void> {
    const current = this.#underlay;
    const factory = this.#factory;
    const config = this.#config;
    if (!current || !factory || !config || !this.#reconciler) return;
    let found: Underlay;
    const sock = NetlinkSocket.open();
    try {
      found = refindUnderlay(sock, underlayQuery(this.options), current);
    } catch (error) {
      this.metrics.underlayErrors.inc();
      if (!this.#underlayTrouble) {
        this.log.error(
          { err: error, underlay: current.name },
          'no usable underlay: keeping the last one (lease and node half unchanged); checking again at every periodic pass',
        );
      }
      this.#underlayTrouble = true;
      return;
    } finally {
      sock.close();
    }
    if (this.#underlayTrouble) this.log.info({ underlay: found.name }, 'underlay usable again');
    this.#underlayTrouble = false;
    const changes = underlayChanges(current, found);
    if (changes.length > 0) {
      const describe = (u: Underlay) => ({ name: u.name, index: u.index, mtu: u.mtu, nodeIps: leaseNodeIps(u) });
      this.log.warn({ changes, from: describe(current), to: describe(found) }, 'the underlay changed: following it');
      const env = this.#environment(found);
      let half: NodeHalf;
      try {
        half = factory.create(env);
      } catch (error) {
        // The underlay stays the old one, so the next pass tries again.
        this.metrics.underlayErrors.inc();
        this.log.error({ err: error }, 'cannot set up the node half on the changed underlay; keeping the old one and retrying at the next periodic pass');
        return;
      }
      this.metrics.underlayChanges.inc();
      this.#underlay = found;
      this.#reconciler.setHalf(half);
      this.#half?.close();
      this.#half = half;
      const backend = this.#leaseBackend(factory, env);
      // Not awaited: a slow store must not hold up the data plane; the keeper retries on its own.
      void this.#keeper?.update({ nodeIps: leaseNodeIps(found), backend });
      // This pass already programs for the new addresses (VXLAN takes its VTEP address from them).
      const held = this.#keeper?.state === 'held' && !this.#lost ? this.#keeper.lease : undefined;
      if (held) this.#reconciler.setLocal(this.#localLease({ ...held, nodeIps: leaseNodeIps(found), backend }));
      const mtu = factory.podMtu(found.mtu, found.family, config.Backend);
      if (mtu !== this.#podMtu) {
        this.log.warn({ before: this.#podMtu, mtu }, 'pod MTU changed: new pods get the new one; pods created before keep theirs until they are recreated');
        this.#podMtu = mtu;
        this.#leaseFileStale = true;
      }
    }
    const lease = this.#keeper?.lease;
    if (this.#leaseFileStale && lease) {
      try {
        this.#writeLeaseFile(lease);
        this.#leaseFileStale = false;
      } catch (error) {
        this.log.error({ err: error, path: this.options.leaseFile }, 'cannot rewrite the lease file with the new pod MTU; retrying at the next periodic pass');
      }
    }
  }

  #localLease(lease: Lease): NodeLease {
    return toNodeLease(lease);
  }

  async #networkConfig(): Promise<NetworkConfig> {
    const store = this.#store as LeaseStore;
    const o = this.options;
    if (o.networkConfig === undefined) return store.getNetworkConfig();
    let fileConfig: NetworkConfig;
    try {
      fileConfig = parseNetworkConfig(JSON.parse(readFileSync(o.networkConfig, 'utf8')));
    } catch (error) {
      throw new Error(`--network-config ${o.networkConfig}: ${(error as Error).message}`, { cause: error });
    }
    if (!o.networkConfigOverwrite) {
      try {
        const stored = await store.getNetworkConfig();
        if (JSON.stringify(stored) !== JSON.stringify(fileConfig)) {
          this.log.warn(
            { file: o.networkConfig },
            'the store already has a different network config: using the stored one (--network-config-overwrite replaces it)',
          );
        }
        return stored;
      } catch (error) {
        if (!(error instanceof ClusterError && error.kind === 'config-missing')) throw error;
      }
    }
    await store.putNetworkConfig(fileConfig);
    this.log.info({ file: o.networkConfig }, 'network config written to the store');
    return fileConfig;
  }

  /** Retry while the store is unreachable; throw what retrying cannot fix. */
  async #retry<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    const backoff = new Backoff();
    let missingSaid = false;
    for (;;) {
      try {
        const value = await fn();
        this.#health.ok(what);
        return value;
      } catch (error) {
        const fatal = !(error instanceof ClusterError) || error.kind === 'config-invalid';
        if (fatal) throw error;
        if (error.kind === 'config-missing') {
          // Said once loudly; an operator (or another agent) may store one any moment.
          this.log[missingSaid ? 'debug' : 'error']({ err: error }, 'no network config in the store (give --network-config <file>); waiting for one');
          missingSaid = true;
        } else this.#health.failed(what, error);
        if (!(await sleep(backoff.next(), this.#stop.signal))) return undefined;
      }
    }
  }

  async #repairNat(networks: ClusterNetworks): Promise<void> {
    if (!this.#nat) return;
    try {
      const repaired = await this.#nat.repair(networks);
      if (repaired.length > 0) this.log.warn({ families: repaired }, 'nftables podnet tables had drifted: re-applied');
      const added = await (this.deps.forwardAccept ?? ensureForwardAccept)(networks);
      if (added.length > 0) this.log.warn({ tools: added }, 'FORWARD policy is DROP and our accept rules were missing: appended');
    } catch (error) {
      this.metrics.masqueradeErrors.inc();
      this.log.error({ err: error }, 'cannot check or apply the nftables podnet tables / FORWARD accept rules');
    }
  }

  /**
   * The CNI plugins' host-port table (@podnet/portmap), put back from its records when something
   * flushed it (firewalld reload, `nft flush ruleset`): one `nft -j list` when nothing is missing.
   */
  async #repairHostPorts(): Promise<void> {
    try {
      const report = await repairHostPorts({ nft: this.deps.nft ?? nftBinary() });
      if (report.repaired) this.log.warn({ missing: report.missing, restored: report.restored }, 'host-port table had drifted: re-applied');
      if (report.conflicts.length > 0) this.log.warn({ conflicts: report.conflicts.length }, 'host-port records whose ports another pod holds now: left alone');
      if (report.badRecords.length > 0) this.log.warn({ files: report.badRecords }, 'unreadable host-port records');
    } catch (error) {
      this.log.error({ err: error }, 'cannot check or repair the host-port table');
    }
  }

  status(): AgentStatus {
    const lease = this.#keeper?.lease;
    const last = this.#reconciler?.last;
    const r = this.readiness();
    const out: AgentStatus = {
      node: this.options.node,
      ready: r.ready,
      readyReason: r.reason,
      state: this.#keeper?.state ?? this.#phase,
      store: { kind: this.#store?.kind ?? this.options.store.split(':')[0] ?? '', down: this.#health.down },
      leaseFile: this.options.leaseFile,
      peers: (this.#watcher?.peers() ?? []).map((p) => ({ node: p.node, subnets: p.subnets, nodeIps: p.nodeIps })),
      skipped: last?.report?.skipped ?? [],
    };
    if (this.#config) {
      out.backend = this.#config.Backend.Type;
      out.network = clusterNetworks(this.#config);
    }
    if (this.#underlay)
      out.underlay = { name: this.#underlay.name, mtu: this.#underlay.mtu, addresses: this.#underlay.addresses, foundBy: this.#underlay.foundBy };
    if (lease) out.lease = { subnets: lease.subnets, nodeIps: lease.nodeIps, expiresAt: new Date(lease.expiresAt).toISOString(), revision: lease.revision };
    if (last) {
      const { report, ...rest } = last;
      out.lastReconcile = { ...rest, ...(report ? { changes: report.changes, errors: report.errors } : {}) };
      if (report) out.routesProgrammed = report.programmed;
    }
    return out;
  }

  /** Stop the services; the data plane, the lease file and the lease stay. */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#phase = 'stopping';
    await this.#keeper?.stop();
    await this.#watcher?.stop();
    await this.#reconciler?.stop();
    this.#half?.close();
    await this.#store?.close();
    await this.#http.close();
    this.log.info('podnetd stopped (routes, rules, lease file and lease kept)');
  }
}
