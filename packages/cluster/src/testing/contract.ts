// The one contract every LeaseStore passes (local, etcd plain, etcd TLS). Each test gets a fresh
// store namespace from the harness (a new directory, a new etcd prefix) and removes it after.
// Waits are generous and no test claims a latency: timing lives in tools/bench.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseNetworkConfig } from '../config/network-config.js';
import { ClusterError } from '../lease/types.js';
import type { AcquireRequest, Lease, LeaseEventBatch, LeaseStore, LeaseWatch } from '../lease/types.js';
import { fitsRange } from '../subnet/pick.js';
import { familyRanges } from '../config/network-config.js';

export interface ContractHarness {
  /** A new client on this test's store (a second call is what a restarted agent sees). */
  open(): Promise<LeaseStore>;
  /** Make the history before the current revision unreplayable (etcd: compact; local: trim the log). */
  makeGap(store: LeaseStore): Promise<void>;
  /** Acquire all at the same moment from independent clients (local: separate OS processes). */
  acquireAtOnce(requests: AcquireRequest[]): Promise<Lease[]>;
  /** Remove the namespace; close what open() opened. */
  dispose(): Promise<void>;
}

const CONFIG = parseNetworkConfig({ Network: '10.20.0.0/16' });
const TINY = parseNetworkConfig({ Network: '10.30.0.0/28' }); // SubnetLen 30: 10.30.0.4, .8, .12
const DUAL = parseNetworkConfig({ Network: '10.40.0.0/16', EnableIPv6: true, IPv6Network: 'fd00:40::/48' });
const TTL = 60_000;
/** Short enough to wait out, long enough for etcd's minimum TTL. */
const SHORT_TTL = 2_000;
const WAIT_MS = 15_000;

function request(node: string, extra: Partial<AcquireRequest> = {}): AcquireRequest {
  return { node, nodeIps: [`192.0.2.${(node.length * 7) % 250}`], backend: { type: 'host-gw' }, ttlMs: TTL, ...extra };
}

async function kindOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    if (error instanceof ClusterError) return error.kind;
    throw error;
  }
}

async function errorOf(promise: Promise<unknown>): Promise<ClusterError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ClusterError) return error;
    throw error;
  }
  throw new Error('expected a ClusterError');
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Collects a watch's batches; `until` waits for a condition on everything seen so far. */
class Recorder {
  readonly batches: LeaseEventBatch[] = [];
  readonly errors: Error[] = [];
  connected = 0;
  watch: LeaseWatch | undefined;

  start(store: LeaseStore, from: number): this {
    this.watch = store.watch(from, {
      onEvents: (batch) => this.batches.push(batch),
      onError: (error) => this.errors.push(error),
      onConnected: () => this.connected++,
    });
    return this;
  }

  events(): Array<{ type: string; node: string }> {
    return this.batches.flatMap((batch) => batch.events.map((event) => ({ type: event.type, node: event.lease.node })));
  }

  until(what: string, predicate: (events: Array<{ type: string; node: string }>) => boolean): Promise<true> {
    return eventually(what, () => (predicate(this.events()) ? true : undefined));
  }
}

function has(events: Array<{ type: string; node: string }>, type: string, node: string): boolean {
  return events.some((event) => event.type === type && event.node === node);
}

export function describeLeaseStoreContract(name: string, makeHarness: () => Promise<ContractHarness>): void {
  describe(`LeaseStore contract: ${name}`, () => {
    let harness: ContractHarness;
    let store: LeaseStore;
    const recorders: Recorder[] = [];

    beforeEach(async () => {
      harness = await makeHarness();
      store = await harness.open();
    });
    afterEach(async () => {
      for (const recorder of recorders.splice(0)) await recorder.watch?.close();
      await harness.dispose();
    });

    function record(on: LeaseStore, from: number): Recorder {
      const recorder = new Recorder().start(on, from);
      recorders.push(recorder);
      return recorder;
    }

    it('stores the network config and refuses a missing or invalid one', async () => {
      expect(await kindOf(store.getNetworkConfig())).toBe('config-missing');
      expect(await kindOf(store.acquire(request('pnc-a')))).toBe('config-missing');
      await store.putNetworkConfig(CONFIG);
      expect(await store.getNetworkConfig()).toEqual(CONFIG);
      const other = await harness.open();
      expect(await other.getNetworkConfig()).toEqual(CONFIG);
      const bad = await errorOf(store.putNetworkConfig({ ...CONFIG, SubnetLen: 31 }));
      expect(bad.kind).toBe('config-invalid');
      expect(bad.message).toMatch(/SubnetLen/);
      expect(await store.getNetworkConfig()).toEqual(CONFIG);
    });

    it('acquires a subnet inside the range, never the first one, and lists it', async () => {
      await store.putNetworkConfig(CONFIG);
      const before = Date.now();
      const lease = await store.acquire(request('pnc-a', { backend: { type: 'host-gw', data: { k: 1 } } }));
      const range = familyRanges(CONFIG)[0];
      expect(range).toBeDefined();
      if (range === undefined) return;
      expect(fitsRange(range, lease.subnets.ipv4)).toBe(true);
      expect(lease.subnets.ipv4).not.toBe('10.20.0.0/24');
      expect(lease.subnets.ipv6).toBeUndefined();
      expect(lease).toMatchObject({ node: 'pnc-a', nodeIps: request('pnc-a').nodeIps, backend: { type: 'host-gw', data: { k: 1 } } });
      expect(lease.expiresAt).toBeGreaterThanOrEqual(before + TTL - 1_000);
      expect(lease.revision).toBeGreaterThan(0);
      const listed = await store.list();
      expect(listed.leases.map((l) => [l.node, l.subnets.ipv4])).toEqual([['pnc-a', lease.subnets.ipv4]]);
      expect(listed.revision).toBeGreaterThanOrEqual(lease.revision);
    });

    it('gives a node its previous subnet back: while alive (restart) and after release', async () => {
      await store.putNetworkConfig(CONFIG);
      const first = await store.acquire(request('pnc-a'));
      await store.acquire(request('pnc-b'));
      // A restarted agent: a new client, the lease still alive.
      const restarted = await harness.open();
      const again = await restarted.acquire(request('pnc-a'));
      expect(again.subnets).toEqual(first.subnets);
      expect((await restarted.list()).leases).toHaveLength(2);
      await restarted.release(again);
      expect((await store.list()).leases.map((l) => l.node)).toEqual(['pnc-b']);
      const back = await store.acquire(request('pnc-a'));
      expect(back.subnets).toEqual(first.subnets);
    });

    it('takes the hinted previous subnet when the store remembers none', async () => {
      await store.putNetworkConfig(CONFIG);
      const lease = await store.acquire(request('pnc-h', { previous: { ipv4: '10.20.77.0/24' } }));
      expect(lease.subnets.ipv4).toBe('10.20.77.0/24');
      const unfit = await store.acquire(request('pnc-i', { previous: { ipv4: '10.99.0.0/24' } }));
      expect(unfit.subnets.ipv4).toMatch(/^10\.20\./);
    });

    it('moves a node to a fitting subnet when the config changed under its lease', async () => {
      await store.putNetworkConfig(CONFIG);
      const old = await store.acquire(request('pnc-a'));
      await store.putNetworkConfig(parseNetworkConfig({ Network: '10.21.0.0/16' }));
      const moved = await store.acquire(request('pnc-a'));
      expect(moved.subnets.ipv4).toMatch(/^10\.21\./);
      expect(await kindOf(store.renew(old))).toBe('lease-lost');
    });

    it('renews: extends the expiry and updates node addresses and backend data', async () => {
      await store.putNetworkConfig(CONFIG);
      const lease = await store.acquire(request('pnc-a', { ttlMs: 30_000 }));
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const renewed = await store.renew(lease, { nodeIps: ['192.0.2.99'], backend: { type: 'host-gw', data: { v: 2 } } });
      expect(renewed.subnets).toEqual(lease.subnets);
      expect(renewed.expiresAt).toBeGreaterThan(lease.expiresAt);
      expect(renewed.nodeIps).toEqual(['192.0.2.99']);
      const listed = (await store.list()).leases[0];
      expect(listed?.nodeIps).toEqual(['192.0.2.99']);
      expect(listed?.backend).toEqual({ type: 'host-gw', data: { v: 2 } });
      const plain = await store.renew(renewed);
      expect(plain.nodeIps).toEqual(['192.0.2.99']);
    });

    it('renew after release or expiry says lease-lost', async () => {
      await store.putNetworkConfig(CONFIG);
      const released = await store.acquire(request('pnc-r'));
      await store.release(released);
      await store.release(released); // idempotent
      const lost = await errorOf(store.renew(released));
      expect(lost.kind).toBe('lease-lost');
      expect(lost.message).toMatch(/pnc-r/);

      const short = await store.acquire(request('pnc-e', { ttlMs: SHORT_TTL }));
      await eventually('the short lease to expire', async () => ((await store.list()).leases.some((l) => l.node === 'pnc-e') ? undefined : true));
      expect(await kindOf(store.renew(short))).toBe('lease-lost');
    });

    it('runs out with a clear error naming Network and SubnetLen; release and expiry free subnets', async () => {
      await store.putNetworkConfig(TINY);
      const a = await store.acquire(request('pnc-a'));
      await store.acquire(request('pnc-b'));
      const c = await store.acquire(request('pnc-c', { ttlMs: SHORT_TTL }));
      const out = await errorOf(store.acquire(request('pnc-d')));
      expect(out.kind).toBe('exhausted');
      expect(out.message).toMatch(/Network 10\.30\.0\.0\/28/);
      expect(out.message).toMatch(/SubnetLen 30/);
      const subnets = new Set([a.subnets.ipv4, c.subnets.ipv4]);
      await store.release(a);
      const d = await store.acquire(request('pnc-d'));
      expect(d.subnets.ipv4).toBe(a.subnets.ipv4);
      // c expires: its subnet is free again, and it is gone from the list.
      await eventually('pnc-c to expire', async () => ((await store.list()).leases.some((l) => l.node === 'pnc-c') ? undefined : true));
      const e = await store.acquire(request('pnc-e'));
      expect(subnets.has(e.subnets.ipv4)).toBe(true);
      expect(e.subnets.ipv4).toBe(c.subnets.ipv4);
    });

    it('watch from 0: a snapshot, then added, changed and removed events in order', async () => {
      await store.putNetworkConfig(CONFIG);
      const a = await store.acquire(request('pnc-a'));
      const recorder = record(store, 0);
      await recorder.until('the snapshot', (events) => has(events, 'added', 'pnc-a'));
      expect(recorder.batches[0]?.snapshot?.map((l) => l.node)).toEqual(['pnc-a']);
      expect(recorder.batches[0]?.resync).toBe(false);
      const writer = await harness.open();
      const b = await writer.acquire(request('pnc-b'));
      await recorder.until('b added', (events) => has(events, 'added', 'pnc-b'));
      await writer.renew(a, { nodeIps: ['192.0.2.200'] });
      await recorder.until('a changed', (events) => has(events, 'changed', 'pnc-a'));
      const changed = recorder.batches.flatMap((batch) => batch.events).find((event) => event.type === 'changed');
      expect(changed?.type === 'changed' ? [changed.lease.nodeIps, changed.previous.nodeIps] : undefined).toEqual([['192.0.2.200'], a.nodeIps]);
      await writer.release(b);
      await recorder.until('b removed', (events) => has(events, 'removed', 'pnc-b'));
      expect(recorder.events().map((e) => `${e.type} ${e.node}`)).toEqual(['added pnc-a', 'added pnc-b', 'changed pnc-a', 'removed pnc-b']);
      const revisions = recorder.batches.map((batch) => batch.revision);
      expect([...revisions].sort((x, y) => x - y)).toEqual(revisions);
      expect(recorder.errors).toEqual([]);
      // Connected once, and never again: there was no trouble to recover from.
      expect(recorder.connected).toBe(1);
    });

    it('watch sees an expiry as a removal', async () => {
      await store.putNetworkConfig(CONFIG);
      const recorder = record(store, 0);
      await store.acquire(request('pnc-x', { ttlMs: SHORT_TTL }));
      await recorder.until('x added', (events) => has(events, 'added', 'pnc-x'));
      await recorder.until('x removed by expiry', (events) => has(events, 'removed', 'pnc-x'));
    });

    it('watch from a revision replays exactly what came after it', async () => {
      await store.putNetworkConfig(CONFIG);
      const a = await store.acquire(request('pnc-a'));
      await store.acquire(request('pnc-b'));
      await store.release(a);
      const recorder = record(store, a.revision);
      await recorder.until('the replay', (events) => has(events, 'removed', 'pnc-a'));
      expect(recorder.events().map((e) => `${e.type} ${e.node}`)).toEqual(['added pnc-b', 'removed pnc-a']);
      expect(recorder.batches.every((batch) => !batch.resync)).toBe(true);
    });

    it('watch from a revision the store no longer has: a resync batch with the live snapshot', async () => {
      await store.putNetworkConfig(CONFIG);
      const a = await store.acquire(request('pnc-a'));
      await store.acquire(request('pnc-b'));
      await store.release(a);
      await store.acquire(request('pnc-c'));
      await harness.makeGap(store);
      const recorder = record(store, a.revision);
      await recorder.until('the resync', () => recorder.batches.some((batch) => batch.resync));
      const batch = recorder.batches.find((b) => b.resync);
      expect(batch?.snapshot?.map((l) => l.node).sort()).toEqual(['pnc-b', 'pnc-c']);
      expect(batch?.events.map((e) => `${e.type} ${e.lease.node}`).sort()).toEqual(['added pnc-b', 'added pnc-c']);
      // And it keeps watching after the resync.
      await store.acquire(request('pnc-d'));
      await recorder.until('d added', (events) => has(events, 'added', 'pnc-d'));
    });

    it('watch from a revision ahead of the store (a recreated store): a resync with the snapshot', async () => {
      await store.putNetworkConfig(CONFIG);
      const a = await store.acquire(request('pnc-a'));
      const recorder = record(store, a.revision + 1_000);
      await recorder.until('the resync', () => recorder.batches.some((batch) => batch.resync));
      expect(recorder.batches.find((b) => b.resync)?.snapshot?.map((l) => l.node)).toEqual(['pnc-a']);
      await store.acquire(request('pnc-b'));
      await recorder.until('b added', (events) => has(events, 'added', 'pnc-b'));
    });

    it('16 acquirers at the same moment get 16 distinct subnets', async () => {
      // /25 with SubnetLen 30: 31 candidates for 16 nodes, so random picks collide often.
      await store.putNetworkConfig(parseNetworkConfig({ Network: '10.50.0.0/25', SubnetLen: 30 }));
      const requests = Array.from({ length: 16 }, (_, i) => request(`pnc-n${i}`));
      const leases = await harness.acquireAtOnce(requests);
      expect(leases).toHaveLength(16);
      expect(new Set(leases.map((l) => l.subnets.ipv4)).size).toBe(16);
      const listed = await store.list();
      expect(new Set(listed.leases.map((l) => l.subnets.ipv4)).size).toBe(16);
      expect(listed.leases.map((l) => l.node).sort()).toEqual(requests.map((r) => r.node).sort());
    });

    it('dual-stack: one subnet per family, distinct across nodes', async () => {
      await store.putNetworkConfig(DUAL);
      const [r4, r6] = familyRanges(DUAL);
      const a = await store.acquire(request('pnc-a'));
      const b = await store.acquire(request('pnc-b'));
      for (const lease of [a, b]) {
        expect(r4 !== undefined && fitsRange(r4, lease.subnets.ipv4)).toBe(true);
        expect(r6 !== undefined && fitsRange(r6, lease.subnets.ipv6)).toBe(true);
      }
      expect(a.subnets.ipv4).not.toBe(b.subnets.ipv4);
      expect(a.subnets.ipv6).not.toBe(b.subnets.ipv6);
      expect(a.subnets.ipv6).not.toBe('fd00:40::/64');
      await store.release(a);
      expect((await store.acquire(request('pnc-a'))).subnets).toEqual(a.subnets);
    });
  });
}
