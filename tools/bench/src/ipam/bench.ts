// One scenario of the IPAM benchmark: a /16 store already holding N addresses, then
// allocate + release cycles measured two ways:
//   - per call: open → allocate → close, then open → release → close, as two CNI calls do
//     (process start excluded: that is the CNI bench's business);
//   - in-process: one open store, allocate + release, the library's own cost.
// Plus the worst single allocation: the fill takes 10.20.0.2 onwards by request, which leaves
// round-robin at the start of the range, so the first allocation walks past every held address
// (the price of never enumerating the range: the walk reads held keys, in order, in batches).
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocate, IpamStore, list, parseIpamConfig, release } from '@podnet/core/ipam';
import type { IpamConfig, Owner } from '@podnet/core/ipam';
import { summarize } from '../cni/stats.js';
import type { Summary } from '../cni/stats.js';

export const TEMP_PREFIX = 'pnt-ipam-bench-';
export const SUBNET = '10.20.0.0/16';

export interface ScenarioOptions {
  held: number;
  /** Measured per-call cycles (after `warmup`). */
  cycles: number;
  /** Measured in-process cycles. */
  inProcess: number;
  warmup: number;
}

export interface ScenarioResult {
  held: number;
  fillMs: number;
  /** allocate + release, each its own open/close session (ms). */
  perCall: Summary & { mean: number };
  allocate: Summary;
  release: Summary;
  /** allocate + release on one open store (ms). */
  inProcess: Summary & { mean: number };
  /** One allocation that walks past every held address (ms). */
  worstWalkMs: number;
  storeBytes: number;
  tableFiles: number;
}

function owner(): Owner {
  // Container IDs as runtimes make them: 64 hex digits. Their size is most of the store's.
  return { containerId: randomBytes(32).toString('hex'), ifname: 'eth0' };
}

function withMean(samples: number[]): Summary & { mean: number } {
  return { ...summarize(samples), mean: samples.reduce((a, b) => a + b, 0) / samples.length };
}

async function storeSize(path: string): Promise<{ bytes: number; tables: number }> {
  let bytes = 0;
  let tables = 0;
  for (const file of await readdir(path)) {
    bytes += (await stat(join(path, file))).size;
    if (file.endsWith('.ldb')) tables++;
  }
  return { bytes, tables };
}

function input(dataDir: string): { name: string; ipam: Record<string, unknown> } {
  return { name: 'bench', ipam: { type: 'podnet-ipam', dataDir, ranges: [[{ subnet: SUBNET }]] } };
}

/**
 * Fills the store with `held` allocations, 10.20.0.2 upwards, in one in-process session through
 * the library's own path. Requested addresses do not move round-robin, which stays at the start.
 */
async function fill(dataDir: string, held: number): Promise<number> {
  const t0 = performance.now();
  const base = input(dataDir);
  const store = await IpamStore.open(parseIpamConfig(base).path);
  try {
    for (let i = 0; i < held; i++) {
      const n = i + 2;
      await store.allocate(parseIpamConfig(base, { IP: `10.20.${n >> 8}.${n & 255}` }), owner());
    }
  } finally {
    await store.close();
  }
  return performance.now() - t0;
}

/** The first round-robin allocation after the fill: it walks the whole held block. */
async function worstWalk(config: IpamConfig): Promise<number> {
  const store = await IpamStore.open(config.path);
  try {
    const who = owner();
    const t0 = performance.now();
    const [got] = await store.allocate(config, who);
    const ms = performance.now() - t0;
    await store.release(who);
    return got === undefined ? Number.NaN : ms;
  } finally {
    await store.close();
  }
}

export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const dataDir = await mkdtemp(join(tmpdir(), TEMP_PREFIX));
  try {
    const config = parseIpamConfig(input(dataDir));
    const fillMs = await fill(dataDir, options.held);
    const worstWalkMs = await worstWalk(config);

    const pairs: number[] = [];
    const allocs: number[] = [];
    const releases: number[] = [];
    for (let i = 0; i < options.warmup + options.cycles; i++) {
      const who = owner();
      const t0 = performance.now();
      await allocate(config, who);
      const t1 = performance.now();
      await release(config, who);
      const t2 = performance.now();
      if (i >= options.warmup) {
        allocs.push(t1 - t0);
        releases.push(t2 - t1);
        pairs.push(t2 - t0);
      }
    }

    const inProcess: number[] = [];
    const store = await IpamStore.open(config.path);
    try {
      for (let i = 0; i < options.warmup + options.inProcess; i++) {
        const who = owner();
        const t0 = performance.now();
        await store.allocate(config, who);
        await store.release(who);
        if (i >= options.warmup) inProcess.push(performance.now() - t0);
      }
    } finally {
      await store.close();
    }

    const held = (await list(config)).length;
    if (held !== options.held) throw new Error(`store holds ${held} addresses after the cycles, expected ${options.held}`);
    const size = await storeSize(config.path);
    return {
      held: options.held,
      fillMs,
      perCall: withMean(pairs),
      allocate: summarize(allocs),
      release: summarize(releases),
      inProcess: withMean(inProcess),
      worstWalkMs,
      storeBytes: size.bytes,
      tableFiles: size.tables,
    };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
