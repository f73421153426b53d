// The agent in-process on the real `local` store, with a node half that only records and can be
// held at a gate, and nft/iptables stubbed (the test runs in the host's netns, which it must not
// change): readiness follows the lease — 503 from the loss until the reconcile after re-acquiring.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLeaseStore, parseNetworkConfig } from '@podnet/cluster';
import type { Lease, LeaseStore } from '@podnet/cluster';
import type { NodeHalf, NodeHalfFactory, NodeLease } from '@podnet/core/backend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from '../src/agent.js';
import { resolveOptions } from '../src/options.js';
import { captureLogger, eventually } from './support/quiet.js';

let dir: string;
let store: LeaseStore;
let agent: Agent | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pna-agent-unit-'));
  store = await openLeaseStore({ kind: 'local', dir: join(dir, 'store') });
  await store.putNetworkConfig(parseNetworkConfig({ Network: '10.216.0.0/16', Backend: { Type: 'recording' } }));
});

afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function recording() {
  const calls: Array<{ local: NodeLease; peers: NodeLease[] }> = [];
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  const half: NodeHalf = {
    async reconcile(local, peers) {
      calls.push({ local, peers: [...peers] });
      await gate;
      return { programmed: peers.length, changes: 0, skipped: [], errors: [] };
    },
    async teardown() {},
    close() {},
  };
  const factory: NodeHalfFactory = { podMtu: (mtu) => mtu - 10, create: () => half };
  return {
    calls,
    factory,
    hold: () => void (gate = new Promise<void>((r) => (open = r))),
    release: () => {
      gate = undefined;
      open?.();
    },
  };
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, body: await r.text() };
}

describe('Agent (in-process, local store)', () => {
  it('ready after the first reconcile; lease lost → 503 until re-acquired and reconciled; same subnet', async () => {
    const rec = recording();
    const { log } = captureLogger();
    const options = resolveOptions(
      {},
      {
        node: 'pna-a1',
        store: `local:${join(dir, 'store')}`,
        leaseFile: join(dir, 'lease.json'),
        listen: '127.0.0.1:0',
        reconcilePeriod: '1h',
        leaseTtl: '30s',
      },
    );
    agent = new Agent(options, log, {
      backends: { recording: async () => rec.factory },
      nft: { apply: async () => {}, listJson: async () => undefined },
      forwardAccept: async () => [],
      processMetrics: false,
    });
    await agent.start();
    const port = (agent.listen as { port: number }).port;
    expect(await get(port, '/readyz')).toEqual({ status: 200, body: 'ready\n' });
    expect(rec.calls).toHaveLength(1);
    const first = agent.status().lease?.subnets;
    // The pod MTU comes from the backend (underlay MTU − 10 here).
    expect(agent.status().underlay?.mtu).toBeGreaterThan(0);

    rec.hold();
    const mine = (await store.list()).leases.find((l) => l.node === 'pna-a1') as Lease;
    await store.release(mine);
    // The watch shows our lease removed → renew now → lease-lost → re-acquire → reconcile (held).
    await eventually('re-acquired and reconciling', () => rec.calls.length === 2);
    const during = await get(port, '/readyz');
    expect(during.status).toBe(503);
    expect(during.body).toMatch(/lease lost/);
    expect(agent.status().readyReason).toMatch(/lease lost/);
    rec.release();
    await eventually('ready again', async () => (await get(port, '/readyz')).status === 200);
    expect(agent.status().lease?.subnets).toEqual(first);
    expect(rec.calls[1]?.local.subnets).toEqual([first?.ipv4]);
  });

  it('an unknown Backend.Type is a start error naming the field', async () => {
    await store.putNetworkConfig(parseNetworkConfig({ Network: '10.216.0.0/16', Backend: { Type: 'carrier-pigeon' } }));
    const { log } = captureLogger();
    const options = resolveOptions({}, { node: 'pna-a2', store: `local:${join(dir, 'store')}`, leaseFile: join(dir, 'lease.json'), listen: '127.0.0.1:0' });
    agent = new Agent(options, log, { processMetrics: false, forwardAccept: async () => [] });
    await expect(agent.start()).rejects.toThrow(/"Backend.Type" "carrier-pigeon".*known: host-gw, vxlan/);
  });
});
