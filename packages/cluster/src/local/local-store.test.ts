// The contract against the local store, plus what only it promises: one write is atomic across
// a SIGKILL, and 16 acquirers are 16 separate OS processes (Bun running the sources).
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseNetworkConfig } from '../config/network-config.js';
import type { AcquireRequest, Lease, LeaseEventBatch } from '../lease/types.js';
import { describeLeaseStoreContract } from '../testing/contract.js';
import { killAll, spawnTracked } from '../testing/processes.js';
import { makeLeases, seedLeases } from '../testing/seed.js';
import { LocalLeaseStore } from './local-store.js';
import { readState } from './state.js';

const packageDir = fileURLToPath(new URL('../..', import.meta.url));
const worker = join(packageDir, 'test', 'local-worker.mjs');
// The binary itself (node_modules/.bin/bun is a wrapper script): signals must reach Bun.
const bun = join(packageDir, '..', '..', 'node_modules', 'bun', 'bin', 'bun.exe');
const dirs: string[] = [];

afterAll(async () => {
  killAll();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pnc-local-'));
  dirs.push(dir);
  return dir;
}

/** Start one worker per request, wait until all are loaded, then release them at once. */
async function acquireInProcesses(dir: string, requests: AcquireRequest[]): Promise<Lease[]> {
  if (!existsSync(bun)) throw new Error(`${bun} is missing: run pnpm install at the workspace root (bun is a root devDependency)`);
  const children = requests.map((request) =>
    spawnTracked(bun, ['--conditions=@podnet/source', worker, dir, JSON.stringify(request)], { stdio: ['pipe', 'pipe', 'pipe'] }),
  );
  const outputs = children.map((child) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const ready = new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (out.startsWith('ready\n')) resolve();
      };
      child.stdout?.on('data', check);
      child.once('exit', (code) => reject(new Error(`worker exited ${code} before ready: ${err}`)));
    });
    const done = new Promise<string>((resolve) => child.once('close', () => resolve(out.slice('ready\n'.length) + err)));
    return { child, ready, done };
  });
  await Promise.all(outputs.map((o) => o.ready));
  for (const { child } of outputs) child.stdin?.write('go\n');
  const texts = await Promise.all(outputs.map((o) => o.done));
  return texts.map((text) => {
    const parsed = JSON.parse(text) as Lease | { error: unknown };
    if ('error' in parsed) throw new Error(`worker failed: ${text}`);
    return parsed;
  });
}

describeLeaseStoreContract('local', async () => {
  const dir = await tempDir();
  const opened: LocalLeaseStore[] = [];
  return {
    open: async () => {
      const store = new LocalLeaseStore(dir);
      opened.push(store);
      return store;
    },
    makeGap: (store) => (store as LocalLeaseStore).compactLog(),
    acquireAtOnce: (requests) => acquireInProcesses(dir, requests),
    dispose: async () => {
      await Promise.all(opened.map((store) => store.close()));
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('local store', () => {
  it('keeps every write whole across SIGKILLs of writers mid-write', async () => {
    const dir = await tempDir();
    const store = new LocalLeaseStore(dir);
    // A /12 of /24s: 4,095 subnets. Four writers churning for up to 250 ms, three times, finish a
    // few hundred acquisitions on a fast machine, which once exhausted a /16 (255) before the last
    // acquire below.
    await store.putNetworkConfig(parseNetworkConfig({ Network: '10.64.0.0/12' }));
    const completed: string[] = [];
    // 4 writer processes acquire in a loop; kill them all at a random moment, 3 times over.
    for (let round = 0; round < 3; round++) {
      const workers = Array.from({ length: 4 }, (_, i) => {
        const request = { node: `pnc-k${round}-${i}`, nodeIps: ['192.0.2.1'], backend: { type: 'host-gw' }, ttlMs: 600_000 };
        const child = spawnTracked(bun, ['--conditions=@podnet/source', worker, dir, JSON.stringify(request), 'churn'], { stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
        const ready = new Promise<void>((resolve, reject) => {
          child.stdout?.on('data', () => out.startsWith('ready\n') && resolve());
          child.once('exit', (code) => reject(new Error(`worker exited ${code} before ready`)));
        });
        const exited = new Promise((resolve) => child.once('exit', resolve));
        return { child, ready, exited, output: () => out };
      });
      await Promise.all(workers.map((w) => w.ready));
      for (const { child } of workers) child.stdin?.write('go\n');
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 150));
      for (const { child } of workers) child.kill('SIGKILL');
      await Promise.all(workers.map((w) => w.exited));
      for (const w of workers) for (const match of w.output().matchAll(/A (\S+)\n/g)) completed.push(match[1] ?? '');
      const state = readState(dir); // throws on a damaged file
      const subnets = Object.values(state.leases).map((lease) => lease.subnets.ipv4);
      expect(new Set(subnets).size).toBe(subnets.length);
    }
    // The workers really wrote, and every acquisition they finished is in the store.
    expect(completed.length).toBeGreaterThan(3);
    const held = new Set((await store.list()).leases.map((lease) => lease.node));
    expect(completed.filter((node) => !held.has(node))).toEqual([]);
    // Still writable: no lock left behind by a killed holder.
    await store.acquire({ node: 'pnc-after', nodeIps: ['192.0.2.2'], backend: { type: 'host-gw' }, ttlMs: 60_000 });
    expect(await readdir(dir)).toContain('state.json');
    await store.close();
  });

  it('seeds many leases in one commit (benchmark support), seen by a watcher as one batch', async () => {
    const dir = await tempDir();
    const store = new LocalLeaseStore(dir);
    const config = parseNetworkConfig({ Network: '10.62.0.0/16' });
    await store.putNetworkConfig(config);
    const batches: LeaseEventBatch[] = [];
    const watch = store.watch(0, { onEvents: (b) => batches.push(b) });
    await vi.waitFor(() => expect(batches).toHaveLength(1));
    await seedLeases(store, makeLeases(config, 200));
    await vi.waitFor(() => expect(batches).toHaveLength(2), { timeout: 5_000 });
    expect(batches[1]?.events).toHaveLength(200);
    expect(new Set((await store.list()).leases.map((l) => l.subnets.ipv4)).size).toBe(200);
    await watch.close();
    await store.close();
  });

  it('keeps a bounded event log and resyncs watchers behind it', async () => {
    const dir = await tempDir();
    const store = new LocalLeaseStore(dir, { logLimit: 8 });
    await store.putNetworkConfig(parseNetworkConfig({ Network: '10.61.0.0/16' }));
    const lease = await store.acquire({ node: 'pnc-l', nodeIps: ['192.0.2.1'], backend: { type: 'host-gw' }, ttlMs: 60_000 });
    const other = await store.acquire({ node: 'pnc-m', nodeIps: ['192.0.2.2'], backend: { type: 'host-gw' }, ttlMs: 60_000 });
    let current = lease;
    for (let i = 0; i < 20; i++) current = await store.renew(current);
    await store.release(other);
    const state = readState(dir);
    expect(state.log).toHaveLength(8);
    expect(state.logFrom).toBeGreaterThan(lease.revision);
    // A watcher from inside the kept log replays; one from before it gets one resync batch.
    const batches: LeaseEventBatch[] = [];
    const watch = store.watch(state.log[0]?.revision ?? 0, { onEvents: (b) => batches.push(b) });
    const stale = store.watch(1, { onEvents: (b) => batches.push(b) });
    await vi.waitFor(() => expect(batches.filter((b) => b.resync)).toHaveLength(1), { timeout: 5_000 });
    const resync = batches.find((b) => b.resync);
    expect(resync?.snapshot?.map((l) => l.node)).toEqual(['pnc-l']);
    await watch.close();
    await stale.close();
    await store.close();
  });
});
