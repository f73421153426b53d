// The lease keeper's state machine against the real `local` store (a temp dir): a lost lease is
// reported and re-acquired — the same subnet when it is still free, another one when it was
// taken meanwhile, after waiting while the pool is exhausted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLeaseStore, parseNetworkConfig } from '@podnet/cluster';
import type { Lease, LeaseStore } from '@podnet/cluster';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeaseKeeper } from '../src/lease-keeper.js';
import { AgentMetrics } from '../src/metrics.js';
import { StoreHealth } from '../src/store-health.js';
import { captureLogger, eventually } from './support/quiet.js';

let dir: string;
let store: LeaseStore;
let other: LeaseStore;
const keepers: LeaseKeeper[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pna-keeper-'));
  store = await openLeaseStore({ kind: 'local', dir });
  other = await openLeaseStore({ kind: 'local', dir });
  // /22 in /24s with the first skipped: three subnets, so exhaustion is easy to reach.
  await store.putNetworkConfig(parseNetworkConfig({ Network: '10.212.0.0/22', SubnetLen: 24 }));
});

afterEach(async () => {
  for (const k of keepers.splice(0)) await k.stop();
  await store.close();
  await other.close();
  rmSync(dir, { recursive: true, force: true });
});

function keeper(node: string, events: string[], acquired: Array<{ lease: Lease; previous?: Lease }>, ttlMs = 60_000) {
  const { log, lines } = captureLogger();
  const metrics = new AgentMetrics(false);
  const k = new LeaseKeeper(
    store,
    { node, nodeIps: ['192.168.50.1'], backend: { type: 'host-gw' }, ttlMs },
    {
      onAcquired: (lease, previous) => {
        events.push(previous ? 'reacquired' : 'acquired');
        acquired.push(previous ? { lease, previous } : { lease });
      },
      onLost: () => void events.push('lost'),
    },
    log,
    metrics,
    new StoreHealth(log, metrics),
    { backoff: { initialMs: 20, maxMs: 100 } },
  );
  keepers.push(k);
  return { k, lines, metrics };
}

describe('LeaseKeeper on the local store', () => {
  it('acquires, renews (extending the expiry), and a restart by node name gets the same subnet', async () => {
    const events: string[] = [];
    const acquired: Array<{ lease: Lease }> = [];
    const { k } = keeper('pna-k1', events, acquired);
    const first = await k.start();
    expect(k.state).toBe('held');
    expect(first?.subnets.ipv4).toMatch(/^10\.212\.[123]\.0\/24$/);
    const before = k.lease?.expiresAt ?? 0;
    await new Promise((r) => setTimeout(r, 5));
    await k.renewNow();
    expect(k.lease?.expiresAt).toBeGreaterThan(before);
    await k.stop();
    // stop() does not release: the lease is still in the store …
    expect((await other.list()).leases.map((l) => l.node)).toContain('pna-k1');
    // … and a new keeper for the same node gets the same subnet.
    const again = keeper('pna-k1', [], []);
    expect((await again.k.start())?.subnets).toEqual(first?.subnets);
  });

  it('lease lost (deleted in the store) → reported loudly, re-acquired with the same subnet', async () => {
    const events: string[] = [];
    const acquired: Array<{ lease: Lease; previous?: Lease }> = [];
    const { k, lines, metrics } = keeper('pna-k2', events, acquired);
    const first = (await k.start()) as Lease;
    await other.release(first);
    await k.renewNow();
    await eventually('re-acquired', () => k.state === 'held' && events.includes('reacquired'));
    expect(events).toEqual(['acquired', 'lost', 'reacquired']);
    expect(acquired[1]?.lease.subnets).toEqual(first.subnets);
    expect(acquired[1]?.previous?.subnets).toEqual(first.subnets);
    expect(lines.some((l) => l['level'] === 50 && /LEASE LOST/.test(String(l['msg'])))).toBe(true);
    expect((await metrics.leaseLost.get()).values[0]?.value).toBe(1);
  });

  it('lease lost and its subnet taken, pool exhausted → waits, then gets the subnet that frees up', async () => {
    const events: string[] = [];
    const acquired: Array<{ lease: Lease; previous?: Lease }> = [];
    const { k, lines } = keeper('pna-k3', events, acquired);
    const first = (await k.start()) as Lease;
    await other.release(first);
    // Three other nodes take all three subnets (one of them ours).
    const others: Lease[] = [];
    for (const node of ['pna-o1', 'pna-o2', 'pna-o3'])
      others.push(await other.acquire({ node, nodeIps: ['192.168.50.9'], backend: { type: 'host-gw' }, ttlMs: 60_000 }));
    // The renewal's promise spans the re-acquisition, which waits while the pool is exhausted.
    const renewing = k.renewNow();
    await eventually('exhaustion reported', () => events.includes('lost') && lines.some((l) => /no free subnet/.test(String(l['msg']))));
    expect(k.state).toBe('acquiring');
    const freed = others.find((o) => o.subnets.ipv4 !== first.subnets.ipv4) as Lease;
    await other.release(freed);
    await renewing;
    expect(k.state).toBe('held');
    expect(acquired[1]?.lease.subnets).toEqual(freed.subnets);
    expect(acquired[1]?.previous?.subnets).toEqual(first.subnets);
  });

  it('stop() during re-acquisition ends the retry loop', async () => {
    const events: string[] = [];
    const { k } = keeper('pna-k4', events, []);
    const first = (await k.start()) as Lease;
    await other.release(first);
    for (const node of ['pna-o1', 'pna-o2', 'pna-o3']) await other.acquire({ node, nodeIps: ['192.168.50.9'], backend: { type: 'host-gw' }, ttlMs: 60_000 });
    const renewing = k.renewNow();
    await eventually('lost', () => events.includes('lost'));
    await k.stop();
    await renewing;
    expect(k.state).toBe('stopped');
  });
});

describe('LeaseKeeper when acting on the lease fails', () => {
  it('a failing onAcquired (say, an unwritable lease file) is logged and retried, not taken for a store outage', async () => {
    const { log, lines } = captureLogger();
    const metrics = new AgentMetrics(false);
    let attempts = 0;
    const k = new LeaseKeeper(
      store,
      { node: 'pna-k5', nodeIps: ['192.168.50.1'], backend: { type: 'host-gw' }, ttlMs: 60_000 },
      {
        onAcquired: () => {
          attempts++;
          if (attempts < 3) throw new Error('EROFS: read-only file system');
        },
        onLost: () => {},
      },
      log,
      metrics,
      new StoreHealth(log, metrics),
      { backoff: { initialMs: 10, maxMs: 20 } },
    );
    keepers.push(k);
    await k.start();
    expect(attempts).toBe(3);
    expect(k.state).toBe('held');
    expect(lines.some((l) => l['level'] === 50 && /acting on it failed: EROFS/.test(String(l['msg'])))).toBe(true);
    expect((await metrics.storeErrors.get()).values[0]?.value ?? 0).toBe(0);
  });
});
