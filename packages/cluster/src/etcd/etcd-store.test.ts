// The contract against a real etcd (plain and TLS with client certificates), plus what only etcd
// has: a restart under a live watch, a compaction past a watcher, refusal without a trusted
// client certificate, prompt lease loss.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { readFileSync } from 'node:fs';
import { parseNetworkConfig } from '../config/network-config.js';
import { ClusterError } from '../lease/types.js';
import type { AcquireRequest, LeaseEventBatch, LeaseStore } from '../lease/types.js';
import { describeLeaseStoreContract } from '../testing/contract.js';
import type { ContractHarness } from '../testing/contract.js';
import { startEtcd } from '../testing/etcd-server.js';
import type { EtcdServer, TlsFiles } from '../testing/etcd-server.js';
import { killAll } from '../testing/processes.js';
import { startTcpProxy } from '../testing/tcp-proxy.js';
import { makeLeases, seedLeases } from '../testing/seed.js';
import { EtcdLeaseStore } from './etcd-store.js';

let plain: EtcdServer;
let secure: EtcdServer;
let namespaces = 0;

beforeAll(async () => {
  [plain, secure] = await Promise.all([startEtcd(), startEtcd({ tls: true })]);
});
afterAll(async () => {
  await Promise.allSettled([plain?.stop(), secure?.stop()]);
  killAll();
});

function harness(server: () => EtcdServer): () => Promise<ContractHarness> {
  return async () => {
    const etcd = server();
    const prefix = `/pnc-test/${process.pid}-${++namespaces}`;
    const opened: EtcdLeaseStore[] = [];
    const open = async (): Promise<EtcdLeaseStore> => {
      const store = await EtcdLeaseStore.open({ kind: 'etcd', endpoints: etcd.endpoints, prefix, ...(etcd.tls === undefined ? {} : { tls: etcd.tls }) });
      opened.push(store);
      return store;
    };
    return {
      open,
      makeGap: async (store) => {
        const client = (store as EtcdLeaseStore).client;
        const header = (await client.get('pnc-compact-probe').exec()).header;
        await client.kv.compact({ revision: header.revision, physical: true });
      },
      acquireAtOnce: async (requests: AcquireRequest[]) => {
        const stores = await Promise.all(requests.map(() => open()));
        return Promise.all(requests.map((request, i) => stores[i]?.acquire(request) ?? Promise.reject(new Error('no store'))));
      },
      dispose: async () => {
        const admin = opened[0];
        if (admin !== undefined)
          await admin.client
            .delete()
            .prefix(`${prefix}/`)
            .exec()
            .catch(() => undefined);
        await Promise.all(opened.map((store) => store.close()));
      },
    };
  };
}

describeLeaseStoreContract(
  'etcd',
  harness(() => plain),
);
describeLeaseStoreContract(
  'etcd with TLS client certificates',
  harness(() => secure),
);

const CONFIG = parseNetworkConfig({ Network: '10.70.0.0/16' });
function request(node: string, ttlMs = 60_000): AcquireRequest {
  return { node, nodeIps: ['192.0.2.7'], backend: { type: 'host-gw' }, ttlMs };
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('etcd store', () => {
  const stores: LeaseStore[] = [];
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
  });
  async function open(
    endpoints: string[],
    prefix: string,
    tls?: TlsFiles,
    extra: { dialTimeoutMs?: number; callTimeoutMs?: number } = {},
  ): Promise<EtcdLeaseStore> {
    const store = await EtcdLeaseStore.open({ kind: 'etcd', endpoints, prefix, ...(tls === undefined ? {} : { tls }), ...extra });
    stores.push(store);
    return store;
  }

  it('keeps a watch across an etcd restart with no missed events', async () => {
    const prefix = '/pnc-restart';
    const store = await open(plain.endpoints, prefix);
    await store.putNetworkConfig(CONFIG);
    const a = await store.acquire(request('pnc-a'));
    const batches: LeaseEventBatch[] = [];
    let connected = 0;
    const watch = store.watch(0, { onEvents: (batch) => batches.push(batch), onConnected: () => connected++ });
    await until('the snapshot', () => (batches.length > 0 ? true : undefined));
    await until('connected', () => (connected > 0 ? true : undefined));
    const before = connected;
    await plain.restart();
    // Written right after the restart, likely before the watcher has reconnected.
    const writer = await open(plain.endpoints, prefix);
    await writer.acquire(request('pnc-b'));
    await writer.release(a);
    const events = (): string[] => batches.flatMap((batch) => batch.events.map((e) => `${e.type} ${e.lease.node}`));
    await until('b added and a removed', () => (events().includes('removed pnc-a') ? true : undefined));
    expect(events()).toEqual(['added pnc-a', 'added pnc-b', 'removed pnc-a']);
    expect(batches.some((batch) => batch.resync)).toBe(false);
    // The reconnection was announced (the agent counts a store reconnect from it).
    expect(connected).toBeGreaterThan(before);
    // The store works after the restart: renew still succeeds.
    const b = (await store.list()).leases.find((l) => l.node === 'pnc-b');
    expect(b).toBeDefined();
    if (b !== undefined) expect((await store.renew(b)).subnets).toEqual(b.subnets);
    await watch.close();
  });

  it('says unavailable (not lease-lost) while etcd is down, and carries on once it is back', async () => {
    const store = await open(plain.endpoints, '/pnc-down', undefined, { dialTimeoutMs: 1_000, callTimeoutMs: 2_000 });
    await store.putNetworkConfig(CONFIG);
    const lease = await store.acquire(request('pnc-a', 30_000));
    const errors: Error[] = [];
    const batches: LeaseEventBatch[] = [];
    const watch = store.watch(0, { onEvents: (batch) => batches.push(batch), onError: (error) => errors.push(error) });
    await until('the snapshot', () => (batches.length > 0 ? true : undefined));
    await plain.kill();
    try {
      const down = await store.renew(lease).catch((e: unknown) => e);
      expect(down).toBeInstanceOf(ClusterError);
      expect((down as ClusterError).kind).toBe('unavailable');
      expect((down as Error).message).toMatch(/127\.0\.0\.1/);
    } finally {
      await plain.restart();
    }
    const renewed = await until('a renew after the restart', () => store.renew(lease).catch(() => undefined));
    expect(renewed.subnets).toEqual(lease.subnets);
    const writer = await open(plain.endpoints, '/pnc-down');
    await writer.acquire(request('pnc-b'));
    await until('b added after the outage', () =>
      batches.some((batch) => batch.events.some((e) => e.type === 'added' && e.lease.node === 'pnc-b')) ? true : undefined,
    );
    expect(errors.length).toBeGreaterThan(0); // the outage was reported, not hidden
    await watch.close();
  });

  it('resyncs a live watcher whose revision was compacted while it was cut off', async () => {
    const prefix = '/pnc-compact';
    const proxy = await startTcpProxy(plain.endpoints[0] ?? '');
    try {
      const direct = await open(plain.endpoints, prefix);
      await direct.putNetworkConfig(CONFIG);
      const a = await direct.acquire(request('pnc-a'));
      const watched = await open([proxy.url], prefix);
      const batches: LeaseEventBatch[] = [];
      const watch = watched.watch(0, { onEvents: (batch) => batches.push(batch) });
      await until('the snapshot', () => (batches.length > 0 ? true : undefined));
      proxy.cut();
      await direct.acquire(request('pnc-b'));
      await direct.release(a);
      const header = (await direct.client.get('pnc-probe').exec()).header;
      await direct.client.kv.compact({ revision: header.revision, physical: true });
      proxy.heal();
      const resync = await until('a resync batch', () => batches.find((batch) => batch.resync));
      expect(resync.events.map((e) => `${e.type} ${e.lease.node}`).sort()).toEqual(['added pnc-b', 'removed pnc-a']);
      expect(resync.snapshot?.map((l) => l.node)).toEqual(['pnc-b']);
      // Watching again after the resync.
      await direct.acquire(request('pnc-c'));
      await until('c added', () => (batches.some((batch) => batch.events.some((e) => e.type === 'added' && e.lease.node === 'pnc-c')) ? true : undefined));
      await watch.close();
    } finally {
      await proxy.close();
    }
  });

  it('is refused by a TLS etcd without a trusted client certificate', async () => {
    const untrusted = secure.untrustedTls;
    expect(untrusted).toBeDefined();
    if (untrusted === undefined) return;
    const intruder = await open(secure.endpoints, '/pnc-tls', untrusted, { dialTimeoutMs: 2_000, callTimeoutMs: 2_000 });
    const error = await intruder.getNetworkConfig().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterError);
    expect((error as ClusterError).kind).toBe('unavailable');
    // No client certificate at all.
    const ca = secure.tls?.ca ?? '';
    const bare = new Etcd3({ hosts: secure.endpoints, credentials: { rootCertificate: readFileSync(ca) }, dialTimeout: 2_000 });
    try {
      await expect(bare.get('x').string()).rejects.toThrow();
    } finally {
      bare.close();
    }
    // The trusted client works (sanity: the refusal is about the certificate).
    const trusted = await open(secure.endpoints, '/pnc-tls', secure.tls);
    await trusted.putNetworkConfig(CONFIG);
    expect((await trusted.getNetworkConfig()).Network).toBe('10.70.0.0/16');
  });

  it('renew keeps a short lease alive past its TTL, and says lease-lost at once when it is revoked or deleted', async () => {
    const store = await open(plain.endpoints, '/pnc-lost');
    await store.putNetworkConfig(CONFIG);
    let lease = await store.acquire(request('pnc-a', 2_000));
    const until5s = Date.now() + 5_000;
    while (Date.now() < until5s) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      lease = await store.renew(lease);
    }
    expect((await store.list()).leases.map((l) => l.node)).toEqual(['pnc-a']);

    // An operator revokes the node's etcd lease: the next renew fails.
    const kv = (await store.client.get(store.keys.lease('pnc-a')).exec()).kvs[0];
    expect(kv?.lease).toBeDefined();
    await store.client.leaseClient.leaseRevoke({ ID: kv?.lease ?? '0' });
    const revoked = await store.renew(lease).catch((e: unknown) => e);
    expect((revoked as ClusterError).kind).toBe('lease-lost');
    // Re-acquiring gives the same subnet back (still free).
    const again = await store.acquire(request('pnc-a'));
    expect(again.subnets).toEqual(lease.subnets);
    // Someone deletes the key by hand: lease-lost, and the node gets the same subnet back
    // (its subnet claim, still alive under the old etcd lease, names it).
    await store.client.delete().key(store.keys.lease('pnc-a')).exec();
    expect(((await store.renew(again).catch((e: unknown) => e)) as ClusterError).kind).toBe('lease-lost');
    const third = await store.acquire(request('pnc-a'));
    expect(third.subnets).toEqual(lease.subnets);
    // And no other node can take it meanwhile.
    const other = await store.acquire(request('pnc-b'));
    expect(other.subnets).not.toEqual(lease.subnets);
  });

  it('seeds many leases (benchmark support), seen by a watcher', async () => {
    const store = await open(plain.endpoints, '/pnc-seed');
    const config = parseNetworkConfig({ Network: '10.72.0.0/16', EnableIPv6: true, IPv6Network: 'fd00:72::/48' });
    await store.putNetworkConfig(config);
    let seen = 0;
    const watch = store.watch(0, { onEvents: (batch) => (seen += batch.events.length) });
    await seedLeases(store, makeLeases(config, 200));
    await until('200 events', () => (seen === 200 ? true : undefined));
    const { leases } = await store.list();
    expect(new Set(leases.map((l) => l.subnets.ipv6)).size).toBe(200);
    // A seeded lease behaves like any other: renew works.
    const first = leases.find((l) => l.node === 'pnc-peer-0');
    if (first !== undefined) expect((await store.renew(first)).subnets).toEqual(first.subnets);
    await watch.close();
  });

  it('acquire replaces a damaged lease value instead of retrying forever', async () => {
    const store = await open(plain.endpoints, '/pnc-damaged');
    await store.putNetworkConfig(CONFIG);
    await store.client.put(store.keys.lease('pnc-a')).value('{not json').exec();
    const lease = await store.acquire(request('pnc-a'));
    expect(lease.subnets.ipv4).toMatch(/^10\.70\./);
    expect((await store.list()).leases.map((l) => l.node)).toEqual(['pnc-a']);
  });

  it('writes the documented key layout', async () => {
    const store = await open(plain.endpoints, '/pnc-layout');
    await store.putNetworkConfig(parseNetworkConfig({ Network: '10.71.0.0/16', EnableIPv6: true, IPv6Network: 'fd00:71::/48' }));
    const lease = await store.acquire(request('pnc-a'));
    const keys = (await store.client.getAll().prefix('/pnc-layout/').keys()).sort();
    expect(keys).toEqual(
      [
        '/pnc-layout/config',
        '/pnc-layout/history/pnc-a',
        '/pnc-layout/leases/pnc-a',
        `/pnc-layout/subnets/${lease.subnets.ipv4?.replace('/', '-')}`,
        `/pnc-layout/subnets/${lease.subnets.ipv6?.replace('/', '-')}`,
      ].sort(),
    );
    expect(await store.client.get(`/pnc-layout/subnets/${lease.subnets.ipv4?.replace('/', '-')}`).string()).toBe('pnc-a');
  });
});
