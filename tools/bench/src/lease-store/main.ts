// pnpm bench:lease-store — the local lease store: how fast watchers see a change (inotify + the
// 50 ms poll, and the poll alone), what a write costs with 10 / 1,000 / 5,000 leases held, and
// how long until 1,000 / 5,000 leases written at once have reached every watcher.
//   bun --conditions=@podnet/source run src/lease-store/main.ts [--writes 100] [--watchers 3] [--json FILE]
// Temporary stores live in $TMPDIR/pnc-lease-bench-* and are removed afterwards. No root needed.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLeaseStore, parseNetworkConfig } from '@podnet/cluster';
import type { Lease, LeaseStore } from '@podnet/cluster';
import { makeLeases, seedLeases } from '@podnet/cluster/testing';
import { summarize } from '../cni/stats.js';
import type { Summary } from '../cni/stats.js';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}
const WRITES = option('writes', 100);
const WATCHERS = option('watchers', 3);
const jsonIndex = process.argv.indexOf('--json');
const JSON_FILE = jsonIndex < 0 ? undefined : process.argv[jsonIndex + 1];

const CONFIG = parseNetworkConfig({ Network: '10.0.0.0/8', SubnetLen: 24 });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface LatencyResult {
  mode: string;
  held: number;
  write: Summary;
  delivery: Summary;
}

async function withStores<T>(watchers: number, inotify: boolean, fn: (writer: LeaseStore, readers: LeaseStore[]) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'pnc-lease-bench-'));
  const open = (): Promise<LeaseStore> => openLeaseStore({ kind: 'local', dir, inotify });
  const writer = await open();
  const readers = await Promise.all(Array.from({ length: watchers }, open));
  try {
    await writer.putNetworkConfig(CONFIG);
    return await fn(writer, readers);
  } finally {
    await Promise.all([writer, ...readers].map((store) => store.close()));
    await rm(dir, { recursive: true, force: true });
  }
}

/** One lease renewed WRITES times; each watcher's arrival time of each revision, from just before the renew call. */
async function latency(mode: 'inotify' | 'poll', held: number): Promise<LatencyResult> {
  return withStores(WATCHERS, mode === 'inotify', async (writer, readers) => {
    if (held > 0) await seedLeases(writer, makeLeases(CONFIG, held, { firstIndex: 1 }));
    let lease: Lease = await writer.acquire({ node: 'pnc-bench', nodeIps: ['198.18.0.1'], backend: { type: 'host-gw' }, ttlMs: 3_600_000 });
    const arrivals = new Map<number, number[]>();
    const watches = readers.map((reader) =>
      reader.watch(lease.revision, {
        onEvents: ({ events }) => {
          const at = performance.now();
          for (const event of events)
            if (event.lease.node === 'pnc-bench')
              (arrivals.get(event.lease.revision) ?? arrivals.set(event.lease.revision, []).get(event.lease.revision))?.push(at);
        },
      }),
    );
    await sleep(200);
    const writes: number[] = [];
    const delivery: number[] = [];
    for (let i = 0; i < WRITES; i++) {
      const start = performance.now();
      lease = await writer.renew(lease);
      writes.push(performance.now() - start);
      const deadline = performance.now() + 2_000;
      while ((arrivals.get(lease.revision)?.length ?? 0) < readers.length && performance.now() < deadline) await sleep(1);
      for (const at of arrivals.get(lease.revision) ?? []) delivery.push(at - start);
      await sleep(10 + Math.random() * 20);
    }
    await Promise.all(watches.map((watch) => watch.close()));
    return { mode, held, write: summarize(writes), delivery: summarize(delivery) };
  });
}

/** N leases written in one commit: time from the write's start until every watcher has all N. */
async function burst(count: number): Promise<{ count: number; seedMs: number; allWatchersMs: number }> {
  return withStores(WATCHERS, true, async (writer, readers) => {
    const seen = readers.map(() => 0);
    const watches = readers.map((reader, i) => reader.watch(0, { onEvents: ({ events }) => (seen[i] = (seen[i] ?? 0) + events.length) }));
    await sleep(200);
    const leases = makeLeases(CONFIG, count, { firstIndex: 1 });
    const start = performance.now();
    await seedLeases(writer, leases);
    const seedMs = performance.now() - start;
    while (seen.some((n) => n < count)) await sleep(1);
    const allWatchersMs = performance.now() - start;
    await Promise.all(watches.map((watch) => watch.close()));
    return { count, seedMs, allWatchersMs };
  });
}

const fmt = (s: Summary): string => `median ${s.median.toFixed(2)} ms, p90 ${s.p90.toFixed(2)} ms, max ${s.max.toFixed(2)} ms (n=${s.n})`;

const results: { latency: LatencyResult[]; bursts: Array<Awaited<ReturnType<typeof burst>>> } = { latency: [], bursts: [] };
console.log(
  `local lease store, ${WATCHERS} watchers, ${WRITES} renewals per row (runtime: ${typeof Bun === 'undefined' ? `node ${process.version}` : `bun ${Bun.version}`})`,
);
for (const held of [10, 1_000, 5_000]) {
  for (const mode of ['inotify', 'poll'] as const) {
    const r = await latency(mode, held);
    results.latency.push(r);
    console.log(`held ${String(held).padStart(5)} ${mode.padEnd(7)}  write: ${fmt(r.write)}   write→every watcher: ${fmt(r.delivery)}`);
  }
}
for (const count of [1_000, 5_000]) {
  const r = await burst(count);
  results.bursts.push(r);
  console.log(
    `burst ${String(count).padStart(5)} leases in one commit: written in ${r.seedMs.toFixed(1)} ms, at all ${WATCHERS} watchers after ${r.allWatchersMs.toFixed(1)} ms`,
  );
}
if (JSON_FILE !== undefined) await writeFile(JSON_FILE, `${JSON.stringify(results, null, 2)}\n`);
