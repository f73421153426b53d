// The `etcd` lease store (etcd v3, through the npm `etcd3` client, run under Node).
//
// One etcd lease (TTL = the request's ttlMs, rounded up to whole seconds) per node lease; the
// lease key and the subnet keys are attached to it, so etcd itself removes an expired claim,
// and a watcher sees the removal. Claims are create-if-absent transactions; losers re-read and
// retry. Renewal is explicit: `renew` checks that the lease key is still there and still names
// our subnets, then sends one keepalive for its etcd lease and reads the TTL back. No background
// keepalive stream is used (etcd3's Lease object only reports `lost` after 2×TTL without a
// successful keepalive, see cluster-facts §2): the agent calls `renew` at a third of the TTL and
// learns of a lost lease on that call, as 'lease-lost'.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExponentialBackoff, handleWhen, noop, retry } from 'cockatiel';
import { Etcd3, isRecoverableError } from 'etcd3';
import type { IOptions, IKeyValue } from 'etcd3';
import { parseNetworkConfig } from '../config/network-config.js';
import type { NetworkConfig } from '../config/network-config.js';
import { checkNode, checkRequest, checkTtl, leaseLost, planSubnets, sameSubnets, subnetsFit } from '../lease/plan.js';
import { ClusterError } from '../lease/types.js';
import type { AcquireRequest, Lease, LeaseStore, LeaseSubnets, LeaseWatch, WatchHandlers } from '../lease/types.js';
import { DEFAULT_ETCD_PREFIX } from '../store/open.js';
import type { StoreOptions } from '../store/open.js';
import { EtcdKeys, fromStored, publicLease, toStored } from './keys.js';
import { EtcdWatch } from './etcd-watch.js';

type EtcdOptions = Extract<StoreOptions, { kind: 'etcd' }>;

/** Transaction attempts before giving up on a contended claim. */
const MAX_ATTEMPTS = 30;
const DEFAULT_DIAL_TIMEOUT_MS = 5_000;
const DEFAULT_CALL_TIMEOUT_MS = 10_000;
const DEFAULT_RELIST_MS = 5 * 60_000;

function ttlSeconds(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs / 1_000));
}

export class EtcdLeaseStore implements LeaseStore {
  readonly kind = 'etcd';
  readonly keys: EtcdKeys;
  readonly #watches = new Set<EtcdWatch>();
  #closed = false;

  private constructor(
    readonly client: Etcd3,
    readonly endpoints: readonly string[],
    prefix: string,
    readonly callTimeoutMs: number,
    readonly relistIntervalMs: number,
  ) {
    this.keys = new EtcdKeys(prefix);
  }

  /** Connects lazily: an unreachable etcd fails the first call ('unavailable'), not the open. */
  static async open(options: EtcdOptions): Promise<EtcdLeaseStore> {
    if (!Array.isArray(options.endpoints) || options.endpoints.length === 0) throw new ClusterError('config-invalid', 'etcd store: no endpoints');
    const callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const etcdOptions: IOptions = {
      hosts: options.endpoints,
      dialTimeout: options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
      // A deadline on every unary call; streams (watch, keepalive) must not have one.
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
      faultHandling: {
        // The default per-host breaker stays open 5 s after 3 failures: with one endpoint that
        // only delays recovery after an etcd restart. Retries go to the next host.
        host: () => noop,
        global: retry(handleWhen(isRecoverableError), { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 500 }) }),
        // Watch reconnects: 100 ms doubling to 2 s (the default tops out at 30 s).
        watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2_000 }).next(),
      },
    };
    if (options.tls !== undefined) {
      const tls = options.tls;
      const read = async (what: string, path: string): Promise<Buffer> => {
        try {
          return await readFile(path);
        } catch (error) {
          throw new ClusterError('config-invalid', `etcd store: cannot read the TLS ${what} ${path}: ${(error as Error).message}`, { cause: error });
        }
      };
      etcdOptions.credentials = {
        rootCertificate: await read('CA', tls.ca),
        certChain: await read('certificate', tls.cert),
        privateKey: await read('key', tls.key),
      };
    }
    return new EtcdLeaseStore(
      new Etcd3(etcdOptions),
      options.endpoints,
      options.prefix ?? DEFAULT_ETCD_PREFIX,
      callTimeoutMs,
      options.relistIntervalMs ?? DEFAULT_RELIST_MS,
    );
  }

  /** Runs one store call; etcd and transport errors become ClusterError('unavailable'). */
  async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new ClusterError('unavailable', `etcd store (${this.endpoints.join(',')}) is closed`);
    try {
      return await fn();
    } catch (error) {
      if (error instanceof ClusterError) throw error;
      throw new ClusterError('unavailable', `etcd ${this.endpoints.join(',')}: cannot ${what}: ${(error as Error).message}`, { cause: error });
    }
  }

  async getNetworkConfig(): Promise<NetworkConfig> {
    const text = await this.call('read the network config', () => this.client.get(this.keys.config).string());
    if (text === null)
      throw new ClusterError('config-missing', `etcd ${this.endpoints.join(',')} holds no network config at ${this.keys.config}: store one first`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new ClusterError('config-invalid', `network config at ${this.keys.config} is not JSON: ${(error as Error).message}`);
    }
    return parseNetworkConfig(json);
  }

  async putNetworkConfig(config: NetworkConfig): Promise<void> {
    const parsed = parseNetworkConfig(config);
    await this.call('store the network config', () => this.client.put(this.keys.config).value(JSON.stringify(parsed)).exec());
  }

  /** Every lease key (live: etcd removes expired ones) and the revision of the read. */
  async listWithKvs(): Promise<{ leases: Lease[]; revision: number }> {
    const response = await this.call('list leases', () => this.client.getAll().prefix(this.keys.leasesPrefix).exec());
    const leases: Lease[] = [];
    for (const kv of response.kvs) {
      const lease = fromStored(kv.value, kv.mod_revision);
      if (lease !== undefined) leases.push(publicLease(lease));
    }
    return { leases, revision: Number(response.header.revision) };
  }

  list(): Promise<{ leases: Lease[]; revision: number }> {
    return this.listWithKvs();
  }

  /** The store's current revision. */
  async currentRevision(): Promise<number> {
    const response = await this.call('read the revision', () => this.client.get(this.keys.config).exec());
    return Number(response.header.revision);
  }

  async #getKv(key: string): Promise<IKeyValue | undefined> {
    const response = await this.call(`read ${key}`, () => this.client.get(key).exec());
    return response.kvs[0];
  }

  async #grant(ttlMs: number): Promise<{ id: string; ttl: number }> {
    const response = await this.call('grant an etcd lease', () => this.client.leaseClient.leaseGrant({ TTL: ttlSeconds(ttlMs), ID: 0 }));
    return { id: String(response.ID), ttl: Number(response.TTL) };
  }

  async #revoke(id: string | undefined): Promise<void> {
    if (id === undefined || id === '0') return;
    try {
      await this.client.leaseClient.leaseRevoke({ ID: id });
    } catch {
      // Already gone, or etcd unreachable: it expires by itself.
    }
  }

  /** One keepalive for an etcd lease; its remaining TTL in seconds (<= 0: gone). */
  async #keepaliveOnce(id: string): Promise<number> {
    return this.call('renew the etcd lease', async () => {
      const stream = await this.client.leaseClient.leaseKeepAlive();
      try {
        const response = await new Promise<{ TTL: string | number }>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no keepalive answer within ${this.callTimeoutMs} ms`)), this.callTimeoutMs);
          stream.on('data', (res: { TTL: string | number }) => {
            clearTimeout(timer);
            resolve(res);
          });
          stream.on('error', (error: Error) => {
            clearTimeout(timer);
            reject(error);
          });
          stream.write({ ID: id });
        });
        return Number(response.TTL);
      } finally {
        stream.end();
      }
    });
  }

  /** The puts that (re)write a node's lease under etcd lease `id`. */
  #puts(lease: Lease, ttlMs: number, id: string): ReturnType<Etcd3['put']>[] {
    const value = JSON.stringify(toStored(lease, ttlMs));
    return [
      this.client.put(this.keys.lease(lease.node)).value(value).lease(id),
      ...this.keys.subnetKeys(lease.subnets).map((key) => this.client.put(key).value(lease.node).lease(id)),
      this.client.put(this.keys.history(lease.node)).value(JSON.stringify(lease.subnets)),
    ];
  }

  async acquire(request: AcquireRequest): Promise<Lease> {
    checkRequest(request);
    const config = await this.getNetworkConfig();
    const node = request.node;
    const leaseKey = this.keys.lease(node);
    let grant: { id: string; ttl: number } | undefined;
    try {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        if (attempt > 0) await sleep(Math.random() * Math.min(100, 5 * 2 ** attempt));
        const kv = await this.#getKv(leaseKey);
        const existing = kv === undefined ? undefined : fromStored(kv.value, kv.mod_revision);
        if (kv !== undefined && existing === undefined) {
          // A damaged lease value (written by hand?): nobody can renew it; remove it and retry.
          await this.call('drop a damaged lease key', () =>
            this.client.if(leaseKey, 'Mod', '==', kv.mod_revision).then(this.client.delete().key(leaseKey)).commit(),
          );
          continue;
        }
        if (kv !== undefined && existing !== undefined && !subnetsFit(config, existing.subnets)) {
          // The config changed under this lease: drop it, then claim afresh.
          await this.call('drop a lease that no longer fits', () =>
            this.client
              .if(leaseKey, 'Mod', '==', kv.mod_revision)
              .then(this.client.delete().key(leaseKey), ...this.keys.subnetKeys(existing.subnets).map((key) => this.client.delete().key(key)))
              .commit(),
          );
          await this.#revoke(kv.lease);
          continue;
        }
        grant ??= await this.#grant(request.ttlMs);
        const now = Date.now();
        let subnets: LeaseSubnets;
        let txn;
        if (kv !== undefined && existing !== undefined) {
          // The node's lease is alive (an agent restart): move it and its claims to the new etcd lease.
          subnets = existing.subnets;
          txn = this.client.if(leaseKey, 'Mod', '==', kv.mod_revision);
        } else {
          const [claims, history] = await Promise.all([this.#claims(), this.#history(node)]);
          // Claims still naming this node (its lease key was deleted by hand, the etcd lease
          // not yet expired) are not in anyone's way: the node may take them back.
          const taken = new Set([...claims].filter(([, claim]) => claim.node !== node).map(([cidr]) => cidr));
          subnets = planSubnets(config, taken, history ?? request.previous);
          txn = this.client.if(leaseKey, 'Version', '==', 0);
          for (const cidr of [subnets.ipv4, subnets.ipv6]) {
            if (cidr === undefined) continue;
            const own = claims.get(cidr);
            txn = own === undefined ? txn.and(this.keys.subnet(cidr), 'Version', '==', 0) : txn.and(this.keys.subnet(cidr), 'Mod', '==', own.mod);
          }
        }
        const lease: Lease = { node, nodeIps: [...request.nodeIps], subnets, backend: request.backend, expiresAt: now + grant.ttl * 1_000, revision: 0 };
        const result = await this.call('claim subnets', () => txn.then(...this.#puts(lease, request.ttlMs, grant?.id ?? '0')).commit());
        if (!result.succeeded) continue;
        const claimed = grant;
        grant = undefined; // in use now: not revoked below
        if (kv !== undefined && kv.lease !== claimed.id) await this.#revoke(kv.lease);
        return { ...lease, revision: Number(result.header.revision) };
      }
      throw new ClusterError('conflict', `node ${node}: could not claim a subnet in ${MAX_ATTEMPTS} attempts (too many nodes acquiring at once?)`);
    } finally {
      if (grant !== undefined) await this.#revoke(grant.id);
    }
  }

  /** Every claimed subnet: who claims it and the claim key's mod_revision. */
  async #claims(): Promise<Map<string, { node: string; mod: string }>> {
    const response = await this.call('list claimed subnets', () => this.client.getAll().prefix(this.keys.subnetsPrefix).exec());
    return new Map(response.kvs.map((kv) => [this.keys.subnetOfKey(kv.key.toString()), { node: kv.value.toString(), mod: kv.mod_revision }]));
  }

  async #history(node: string): Promise<LeaseSubnets | undefined> {
    const text = await this.call('read the node history', () => this.client.get(this.keys.history(node)).string());
    if (text === null) return undefined;
    try {
      return JSON.parse(text) as LeaseSubnets;
    } catch {
      return undefined;
    }
  }

  async renew(lease: Lease, update: Partial<Pick<AcquireRequest, 'nodeIps' | 'backend' | 'ttlMs'>> = {}): Promise<Lease> {
    checkNode(lease.node);
    if (update.ttlMs !== undefined) checkTtl(update.ttlMs, lease.node);
    const leaseKey = this.keys.lease(lease.node);
    const kv = await this.#getKv(leaseKey);
    const stored = kv === undefined ? undefined : fromStored(kv.value, kv.mod_revision);
    if (kv === undefined || stored === undefined) throw leaseLost(lease, 'its key is gone from etcd (expired, released or deleted)');
    if (!sameSubnets(stored.subnets, lease.subnets)) throw leaseLost(lease, `etcd now holds ${JSON.stringify(stored.subnets)} for this node`);
    const ttlMs = update.ttlMs ?? stored.ttlMs;
    const next: Lease = { ...publicLease(stored), nodeIps: [...(update.nodeIps ?? stored.nodeIps)], backend: update.backend ?? stored.backend };
    const changed = JSON.stringify([next.nodeIps, next.backend]) !== JSON.stringify([stored.nodeIps, stored.backend]);
    if (ttlSeconds(ttlMs) !== ttlSeconds(stored.ttlMs)) {
      // An etcd lease's TTL is fixed: move the keys to a new one.
      const grant = await this.#grant(ttlMs);
      next.expiresAt = Date.now() + grant.ttl * 1_000;
      const result = await this.call('renew with a new TTL', () =>
        this.client
          .if(leaseKey, 'Mod', '==', kv.mod_revision)
          .then(...this.#puts(next, ttlMs, grant.id))
          .commit(),
      );
      if (!result.succeeded) {
        await this.#revoke(grant.id);
        throw leaseLost(lease, 'its key changed while renewing');
      }
      await this.#revoke(kv.lease);
      return { ...next, revision: Number(result.header.revision) };
    }
    const ttl = await this.#keepaliveOnce(kv.lease);
    if (ttl <= 0) throw leaseLost(lease, `its etcd lease ${kv.lease} expired`);
    next.expiresAt = Date.now() + ttl * 1_000;
    if (!changed) return { ...next, revision: Number(kv.mod_revision) };
    const result = await this.call('update the lease', () =>
      this.client
        .if(leaseKey, 'Mod', '==', kv.mod_revision)
        .then(
          this.client
            .put(leaseKey)
            .value(JSON.stringify(toStored(next, ttlMs)))
            .lease(kv.lease),
        )
        .commit(),
    );
    if (!result.succeeded) throw leaseLost(lease, 'its key changed while renewing');
    return { ...next, revision: Number(result.header.revision) };
  }

  async release(lease: Lease): Promise<void> {
    checkNode(lease.node);
    const leaseKey = this.keys.lease(lease.node);
    const kv = await this.#getKv(leaseKey);
    const stored = kv === undefined ? undefined : fromStored(kv.value, kv.mod_revision);
    if (kv === undefined || stored === undefined || !sameSubnets(stored.subnets, lease.subnets)) return;
    await this.call('release the lease', () =>
      this.client
        .if(leaseKey, 'Mod', '==', kv.mod_revision)
        .then(this.client.delete().key(leaseKey), ...this.keys.subnetKeys(stored.subnets).map((key) => this.client.delete().key(key)))
        .commit(),
    );
    await this.#revoke(kv.lease);
  }

  watch(fromRevision: number, handlers: WatchHandlers): LeaseWatch {
    if (this.#closed) throw new ClusterError('unavailable', `etcd store (${this.endpoints.join(',')}) is closed`);
    const watch = new EtcdWatch(this, fromRevision, handlers, this.relistIntervalMs, () => this.#watches.delete(watch));
    this.#watches.add(watch);
    watch.start();
    return watch;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await Promise.all([...this.#watches].map((watch) => watch.close()));
    this.#closed = true;
    this.client.close();
  }
}
