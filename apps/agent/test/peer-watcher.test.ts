// The watched peer set and the coalesced reconcile, on the real `local` store, with a node half
// that only records what it was asked to program.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLeaseStore, parseNetworkConfig } from '@podnet/cluster';
import { makeLeases, seedLeases } from '@podnet/cluster/testing';
import type { Lease, LeaseEvent, LeaseStore } from '@podnet/cluster';
import type { NodeHalf, NodeLease } from '@podnet/core/backend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentMetrics } from '../src/metrics.js';
import { PeerWatcher } from '../src/peer-watcher.js';
import { Reconciler } from '../src/reconciler.js';
import { StoreHealth } from '../src/store-health.js';
import { captureLogger, eventually } from './support/quiet.js';

let dir: string;
let store: LeaseStore;
let other: LeaseStore;
const stops: Array<() => Promise<void>> = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pna-watch-'));
  store = await openLeaseStore({ kind: 'local', dir });
  other = await openLeaseStore({ kind: 'local', dir });
  await store.putNetworkConfig(parseNetworkConfig({ Network: '10.211.0.0/16' }));
});

afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  await store.close();
  await other.close();
  rmSync(dir, { recursive: true, force: true });
});

function recordingHalf(): NodeHalf & { calls: Array<{ local: NodeLease; peers: NodeLease[] }> } {
  const calls: Array<{ local: NodeLease; peers: NodeLease[] }> = [];
  return {
    calls,
    async reconcile(local, peers) {
      calls.push({ local, peers: [...peers] });
      return { programmed: peers.length, changes: 0, skipped: [], errors: [] };
    },
    async teardown() {},
    close() {},
  };
}

const peer = (node: string, ip = '192.168.60.2'): Promise<Lease> => other.acquire({ node, nodeIps: [ip], backend: { type: 'host-gw' }, ttlMs: 60_000 });

async function setup(debounceMs: number) {
  const { log, lines } = captureLogger();
  const metrics = new AgentMetrics(false);
  const health = new StoreHealth(log, metrics);
  const half = recordingHalf();
  const self: LeaseEvent[] = [];
  let reconciler: Reconciler | undefined;
  const watcher = new PeerWatcher(store, 'pna-self', { onChange: () => reconciler?.peersChanged(), onSelf: (e) => void self.push(e) }, log, health);
  reconciler = new Reconciler(half, () => watcher.peers(), log, metrics, { periodMs: 60_000, debounceMs });
  reconciler.setLocal({ node: 'pna-self', subnets: ['10.211.1.0/24'], nodeIps: ['192.168.60.1'] });
  const r = reconciler;
  stops.push(async () => {
    await r.stop();
    await watcher.stop();
  });
  return { watcher, reconciler: r, half, self, metrics, lines };
}

describe('peer watcher + coalesced reconcile (local store)', () => {
  it('lists the existing peers (not itself) and programs them in the first reconcile', async () => {
    await peer('pna-p1');
    await peer('pna-p2');
    const self = await other.acquire({ node: 'pna-self', nodeIps: ['192.168.60.1'], backend: { type: 'host-gw' }, ttlMs: 60_000 });
    expect(self.node).toBe('pna-self');
    const { watcher, reconciler, half } = await setup(20);
    await watcher.start();
    await reconciler.reconcileNow('start');
    expect(half.calls).toHaveLength(1);
    expect(half.calls[0]?.peers.map((p) => p.node)).toEqual(['pna-p1', 'pna-p2']);
    expect(half.calls[0]?.peers[0]).toMatchObject({ nodeIps: ['192.168.60.2'] });
    expect(half.calls[0]?.peers[0]?.subnets[0]).toMatch(/^10\.211\.\d+\.0\/24$/);
  });

  it('a burst of 20 joins becomes far fewer reconciles, the last one with all 20', async () => {
    const { watcher, reconciler, half, metrics } = await setup(300);
    await watcher.start();
    await reconciler.reconcileNow('start');
    await Promise.all(Array.from({ length: 20 }, (_, i) => peer(`pna-b${String(i).padStart(2, '0')}`)));
    await eventually('all 20 programmed', () => half.calls.at(-1)?.peers.length === 20);
    await reconciler.idle();
    const afterStart = half.calls.length - 1;
    expect(afterStart).toBeGreaterThanOrEqual(1);
    expect(afterStart).toBeLessThan(20);
    expect((await metrics.peers.get()).values[0]?.value).toBe(20);
  });

  it('a burst of 30 joins is one summary line (per-peer lines at debug); peers() is the same frozen view until a change', async () => {
    const { watcher, reconciler, half, lines } = await setup(20);
    await watcher.start();
    await reconciler.reconcileNow('start');
    const leases = makeLeases(parseNetworkConfig({ Network: '10.211.0.0/16' }), 30, { firstIndex: 10, prefix: 'pna-burst-' });
    await seedLeases(other, leases);
    await eventually('all 30 programmed', () => half.calls.at(-1)?.peers.length === 30);
    const summary = lines.filter((l) => l.msg === 'peers changed');
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatchObject({ level: 30, joined: 30, changed: 0, left: 0 });
    const joined = lines.filter((l) => l.msg === 'peer joined');
    expect(joined).toHaveLength(30);
    expect(joined.every((l) => l.level === 20)).toBe(true);

    const view = watcher.peers();
    expect(watcher.peers(), 'no change: the same array').toBe(view);
    expect(Object.isFrozen(view) && Object.isFrozen(view[0])).toBe(true);
    await peer('pna-late');
    await eventually('the late peer', () => watcher.size === 31);
    expect(watcher.peers()).not.toBe(view);
    expect(watcher.peers().map((p) => p.node)).toContain('pna-late');
    expect(
      lines.filter((l) => l.msg === 'peer joined' && l.peer === 'pna-late' && l.level === 30),
      'a single join: at info',
    ).toHaveLength(1);
  });

  it('a peer that leaves (released) drops out of the next reconcile; our own lease events go to onSelf', async () => {
    const p1 = await peer('pna-p1');
    await peer('pna-p2');
    const mine = await other.acquire({ node: 'pna-self', nodeIps: ['192.168.60.1'], backend: { type: 'host-gw' }, ttlMs: 60_000 });
    const { watcher, reconciler, half, self } = await setup(20);
    await watcher.start();
    await reconciler.reconcileNow('start');
    await other.release(p1);
    await eventually(
      'p1 gone',
      () =>
        half.calls
          .at(-1)
          ?.peers.map((p) => p.node)
          .join() === 'pna-p2',
    );
    await other.release(mine);
    await eventually('own removal seen', () => self.some((e) => e.type === 'removed'));
  });

  it('renewals (only the expiry moves) trigger no reconcile; a changed node address does', async () => {
    const p1 = await peer('pna-r1');
    const { watcher, reconciler, half } = await setup(10);
    await watcher.start();
    await reconciler.reconcileNow('start');
    let lease = p1;
    for (let i = 0; i < 5; i++) lease = await other.renew(lease);
    await eventually('renewals seen', () => (watcher.leases()[0]?.expiresAt ?? 0) === lease.expiresAt);
    await reconciler.idle();
    expect(half.calls).toHaveLength(1);
    await other.renew(lease, { nodeIps: ['192.168.60.99'] });
    await eventually('new address programmed', () => half.calls.at(-1)?.peers[0]?.nodeIps[0] === '192.168.60.99');
    expect(half.calls).toHaveLength(2);
  });

  it('paused (lease lost): no reconcile reaches the node half', async () => {
    const { watcher, reconciler, half } = await setup(10);
    await watcher.start();
    await reconciler.reconcileNow('start');
    reconciler.pause();
    await peer('pna-p3');
    await eventually('watched', () => watcher.size === 1);
    await reconciler.idle();
    await reconciler.reconcileNow('periodic');
    expect(half.calls).toHaveLength(1);
  });
});
