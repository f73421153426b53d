// pnpm bench:agent — podnetd itself (root): convergence of 1,000 / 5,000 peer leases appearing at
// once in the `local` store and in etcd into one node's kernel (podnetd with host-gw in a node
// netns, the peers' node addresses on its underlay), beside the `ip -batch` floor for the same
// routes; podnetd's RSS and the CPU of one periodic reconcile with nothing to change; and host-gw
// pod → pod throughput across two nodes beside the same routes set by hand with `ip`.
//   bun --conditions=@podnet/source run src/agent/main.ts [--runs 3] [--peers 1000,5000]
//       [--stores local,etcd] [--seconds 3] [--throughput-runs 5] [--json FILE]
// Needs the built agent (npx nx run @podnet/agent:build → dist/bin/podnetd). Namespaces are
// pnb-b<pid>-…, stores and etcd data live in $TMPDIR/pnb-bench-*; all removed afterwards.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLeaseStore, parseNetworkConfig } from '@podnet/cluster';
import { makeLeases, seedLeases } from '@podnet/cluster/testing';
import type { SeedLease } from '@podnet/cluster/testing';
import { PODNET_ROUTE_PROTOCOL } from '@podnet/core/backend';
import type { NodeLease } from '@podnet/core/backend';
import { hostGwNodeHalf } from '@podnet/backend-host-gw';
import { summarize } from '../cni/stats.js';
import type { Summary } from '../cni/stats.js';
import { nodeEnv } from '../netlab/node-env.js';
import { alternate, iperf, podLab } from '../netlab/pods.js';
import { cleanup, dropNetns, exec, ip, netns, option, sh } from '../netlab/shell.js';
import { bundleEtcdSeeder } from './seeder-bundle.js';
import { PODNETD, Podnetd, epochNow } from './podnetd.js';

const RUNS = Number(option('runs', '3'));
const PEERS = option('peers', '1000,5000').split(',').map(Number);
const STORES = option('stores', 'local,etcd').split(',') as Array<'local' | 'etcd'>;
const SECONDS = Number(option('seconds', '3'));
const THROUGHPUT_RUNS = Number(option('throughput-runs', '5'));
const CPU_PASSES = Number(option('cpu-passes', '5'));
const VERBOSE = process.argv.includes('--verbose');
const PERIOD_MS = 1000;
const JSON_FILE = process.argv.includes('--json') ? option('json', '') : undefined;
/** --cpu-prof DIR: podnetd runs with node --cpu-prof, one profile per podnetd in DIR (profiling only). */
const CPU_PROF = process.argv.includes('--cpu-prof') ? option('cpu-prof', '') : undefined;
/** --node-flags "…": extra flags for podnetd's node (experiments: heap settings). */
const NODE_FLAGS = option('node-flags', '');
const WRAPPER_DIR = join(tmpdir(), `pnb-bench-node-${process.pid}`);
const P = `pnb-b${process.pid}`;

const CONFIG_JSON = { Network: '10.0.0.0/8', SubnetLen: 24, Backend: { Type: 'host-gw' } };
const CONFIG = parseNetworkConfig(CONFIG_JSON);
/** The node's underlay: 172.30.0.1/16; peer i at 172.30.0.0 + i + 2 (on-link). */
const UNDERLAY = '172.30.0.1/16';
const peerIp = (i: number): string => `172.30.${((i + 2) >> 8) & 255}.${(i + 2) & 255}`;

// ---- convergence -----------------------------------------------------------------------------

interface ConvergenceRun {
  endToEndMs: number;
  /** Sum of podnetd's own durations of the passes that changed routes (the kernel part). */
  kernelMs: number;
  passes: number;
  floorMs: number;
  rssMb: number;
  peakMb: number;
  /** Process CPU (utime + stime) per periodic pass with nothing to change, idle time included. */
  periodicCpuMs: number;
  /** podnetd's own wall time of those passes (reconcile_duration). */
  periodicWallMs: number;
  /** The node half's reconcile alone: CPU podnetd measures around it (process.cpuUsage). */
  reconcileCpuMs: number;
}

interface Convergence {
  store: 'local' | 'etcd';
  peers: number;
  endToEnd: Summary;
  kernel: Summary;
  floor: Summary;
  rss: Summary;
  peak: Summary;
  periodicCpu: Summary;
  periodicWall: Summary;
  reconcileCpu: Summary;
  ratioFloor: number;
  runs: ConvergenceRun[];
}

function nodeNetns(suffix: string): string {
  const n = netns(`${P}-${suffix}`);
  // The underlay: a veth with both ends here (carrier up, no dummy module needed).
  ip(n, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
  ip(n, 'link', 'set', 'eth0p', 'up');
  ip(n, 'address', 'add', UNDERLAY, 'dev', 'eth0');
  ip(n, 'link', 'set', 'eth0', 'up');
  return n;
}

const countRoutes = (ns: string): number => JSON.parse(ip(ns, '-j', 'route', 'show', 'proto', String(PODNET_ROUTE_PROTOCOL))).length;

/** podnetd's periodic passes so far and their summed duration (s), from /metrics in its netns. */
function periodicMetrics(ns: string): { count: number; sum: number; cpu: number } {
  const text = exec(ns, 'curl', '-sf', 'http://127.0.0.1:9808/metrics');
  const value = (name: string): number => Number(new RegExp(`^${name}\\{trigger="periodic"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return {
    count: value('podnetd_reconcile_duration_seconds_count'),
    sum: value('podnetd_reconcile_duration_seconds_sum'),
    cpu: value('podnetd_reconcile_cpu_seconds_total'),
  };
}

/** The same routes by one `ip -batch` (process start included) into a node netns of the same make. */
function floorOnce(ns: string, leases: readonly SeedLease[]): number {
  const lines = leases.map((l) => `route add ${l.subnets.ipv4} via ${l.nodeIps[0]} dev eth0 proto ${PODNET_ROUTE_PROTOCOL}`);
  const start = performance.now();
  sh('ip', ['-n', ns, '-batch', '-'], `${lines.join('\n')}\n`);
  const ms = performance.now() - start;
  if (countRoutes(ns) !== leases.length) throw new Error(`floor: expected ${leases.length} routes`);
  ip(ns, 'route', 'flush', 'proto', String(PODNET_ROUTE_PROTOCOL));
  return ms;
}

/** etcd inside the node netns (podnetd there reaches its loopback only). */
async function startEtcdIn(ns: string, dir: string): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const url = 'http://127.0.0.1:2379';
  const peer = 'http://127.0.0.1:2380';
  const proc: ChildProcess = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      'etcd',
      '--name',
      'pnb',
      '--data-dir',
      join(dir, 'etcd'),
      '--listen-client-urls',
      url,
      '--advertise-client-urls',
      url,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `pnb=${peer}`,
      '--initial-cluster-state',
      'new',
      '--heartbeat-interval',
      '50',
      '--election-timeout',
      '500',
      '--log-level',
      'warn',
    ],
    { stdio: 'ignore' },
  );
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null) return;
    const done = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGKILL');
    await done;
  };
  for (let i = 0; i < 300; i++) {
    // etcdctl 3.4 reports health on stderr: its exit status says it.
    if (spawnSync('ip', ['netns', 'exec', ns, 'etcdctl', '--endpoints', url, 'endpoint', 'health'], { stdio: 'ignore' }).status === 0)
      return { endpoint: url, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error('etcd did not become healthy within 30 s');
}

/** The seeder (Node) in the node netns: ready once connected; go() seeds and returns its start (epoch ms). */
async function startSeeder(
  ns: string,
  bundle: string,
  endpoint: string,
  leases: readonly SeedLease[],
): Promise<{ go: () => Promise<number>; stop: () => void }> {
  const proc = spawn('ip', ['netns', 'exec', ns, 'node', bundle], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let wake: () => void = () => {};
  proc.stdout.setEncoding('utf8').on('data', (c: string) => {
    lines.push(...c.split('\n').filter((l) => l !== ''));
    wake();
  });
  const nextLine = async (): Promise<string> => {
    while (lines.length === 0) {
      if (proc.exitCode !== null) throw new Error(`etcd seeder exited (${proc.exitCode})`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 200);
      });
    }
    return lines.shift()!;
  };
  proc.stdin.write(`${JSON.stringify({ endpoints: [endpoint], leases })}\n`);
  if ((await nextLine()) !== 'ready') throw new Error('etcd seeder: expected "ready"');
  return {
    go: async () => {
      proc.stdin.write('go\n');
      return (JSON.parse(await nextLine()) as { start: number }).start;
    },
    stop: () => proc.kill('SIGKILL'),
  };
}

async function convergenceRun(kind: 'local' | 'etcd', count: number, seeder: string | undefined): Promise<ConvergenceRun> {
  const ns = nodeNetns('n');
  const dir = await mkdtemp(join(tmpdir(), 'pnb-bench-'));
  let etcd: Awaited<ReturnType<typeof startEtcdIn>> | undefined;
  let agent: Podnetd | undefined;
  let seed: Awaited<ReturnType<typeof startSeeder>> | undefined;
  try {
    await writeFile(join(dir, 'net-conf.json'), JSON.stringify(CONFIG_JSON));
    let store = `local:${join(dir, 'store')}`;
    if (kind === 'etcd') {
      etcd = await startEtcdIn(ns, dir);
      store = `etcd:${etcd.endpoint}`;
    }
    const leaseFile = join(dir, 'lease.json');
    agent = new Podnetd(
      ns,
      [
        '--node',
        'pnb-self',
        '--store',
        store,
        '--network-config',
        join(dir, 'net-conf.json'),
        '--lease-file',
        leaseFile,
        '--underlay',
        'eth0',
        '--listen',
        '127.0.0.1:9808',
        '--reconcile-period',
        `${PERIOD_MS}ms`,
        '--log-level',
        'info',
      ],
      CPU_PROF || NODE_FLAGS ? ['env', `PODNETD_NODE=${join(WRAPPER_DIR, 'node')}`] : [],
    );
    await agent.next((l) => l.msg === 'podnetd running', 60_000, 'podnetd running');

    // The peers: `count` subnets other than the one podnetd took.
    const own = (JSON.parse(await readFile(leaseFile, 'utf8')) as { subnets: { ipv4?: string } }).subnets.ipv4;
    const leases = makeLeases(CONFIG, count + 1, { prefix: 'pnb-peer-', nodeIps: (i) => [peerIp(i)] })
      .filter((l) => l.subnets.ipv4 !== own)
      .slice(0, count);

    // The floor in a netns of its own: podnetd's periodic pass would delete routes of its
    // protocol it does not want while they are being counted.
    const floorNs = nodeNetns('f');
    let floorMs: number;
    try {
      floorMs = floorOnce(floorNs, leases);
    } finally {
      dropNetns(floorNs);
    }

    const done = agent.next((l) => l.msg === 'reconciled' && l.programmed === count, 120_000, `reconciled with ${count} programmed`);
    const firstLine = agent.lines.length;
    let start: number;
    if (kind === 'local') {
      const writer = await openLeaseStore({ kind: 'local', dir: join(dir, 'store') });
      try {
        start = epochNow();
        await seedLeases(writer, leases);
      } finally {
        await writer.close();
      }
    } else {
      seed = await startSeeder(ns, seeder!, etcd!.endpoint, leases);
      start = await seed.go();
    }
    const last = await done;
    const endToEndMs = last.seenAt - start;
    const changing = agent.lines.slice(firstLine).filter((l) => l.msg === 'reconciled' && Number(l.changes) > 0 && l.seenAt <= last.seenAt);
    const kernelMs = changing.reduce((sum, l) => sum + Number(l.durationMs), 0);
    const routes = countRoutes(ns);
    if (routes !== count) throw new Error(`expected ${count} routes of protocol ${PODNET_ROUTE_PROTOCOL}, found ${routes}`);

    // Steady state: podnetd logs at info (as deployed), so periodic passes are counted from its
    // metrics: CPU (/proc utime + stime) and passes between two reads about CPU_PASSES periods apart.
    await new Promise((r) => setTimeout(r, 2 * PERIOD_MS));
    const before = periodicMetrics(ns);
    const ticks0 = agent.cpuTicks();
    const threads0 = agent.threadTicks();
    await new Promise((r) => setTimeout(r, CPU_PASSES * PERIOD_MS + PERIOD_MS / 2));
    const ticks = agent.cpuTicks() - ticks0;
    const threads = [...agent.threadTicks()].map(([name, t]) => {
      const t0 = threads0.get(name) ?? { user: 0, sys: 0 };
      return `${name} ${(t.user - t0.user) * 10}+${(t.sys - t0.sys) * 10}`;
    });
    const after = periodicMetrics(ns);
    const passCount = after.count - before.count;
    if (passCount < 1) throw new Error('no periodic pass in the CPU window');
    if (process.argv.includes('--heap-snapshot')) process.kill(agent.pid, 'SIGUSR2'); // with --node-flags --heapsnapshot-signal=SIGUSR2
    if (VERBOSE) {
      const text = exec(ns, 'curl', '-sf', 'http://127.0.0.1:9808/metrics');
      const mbOf = (name: string): string => (Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20).toFixed(1);
      console.log(
        `    heap used ${mbOf('podnetd_nodejs_heap_size_used_bytes')} MB of ${mbOf('podnetd_nodejs_heap_size_total_bytes')}, external ${mbOf('podnetd_nodejs_external_memory_bytes')} MB`,
      );
    }
    if (VERBOSE) console.log(`    CPU window: ${passCount} periodic passes, ${ticks * 10} ms; by thread (user+sys ms): ${threads.join(', ')}`);
    if (agent.lines.some((l) => l.seenAt > last.seenAt && l.msg === 'reconciled' && Number(l.changes) > 0))
      throw new Error('a periodic pass changed routes at steady state');
    const { rssMb, peakMb } = agent.memory();
    return {
      endToEndMs,
      kernelMs,
      passes: changing.length,
      floorMs,
      rssMb,
      peakMb,
      periodicCpuMs: (ticks * 10) / passCount,
      periodicWallMs: ((after.sum - before.sum) * 1000) / passCount,
      reconcileCpuMs: ((after.cpu - before.cpu) * 1000) / passCount,
    };
  } finally {
    seed?.stop();
    await agent?.stop();
    await etcd?.stop();
    dropNetns(ns);
    await rm(dir, { recursive: true, force: true });
  }
}

async function convergence(kind: 'local' | 'etcd', count: number, seeder: string | undefined): Promise<Convergence> {
  const runs: ConvergenceRun[] = [];
  for (let run = 0; run < RUNS; run++) runs.push(await convergenceRun(kind, count, seeder));
  const s = (f: (r: ConvergenceRun) => number): Summary => summarize(runs.map(f));
  const kernel = s((r) => r.kernelMs);
  const floor = s((r) => r.floorMs);
  return {
    store: kind,
    peers: count,
    endToEnd: s((r) => r.endToEndMs),
    kernel,
    floor,
    rss: s((r) => r.rssMb),
    peak: s((r) => r.peakMb),
    periodicCpu: s((r) => r.periodicCpuMs),
    periodicWall: s((r) => r.periodicWallMs),
    reconcileCpu: s((r) => r.reconcileCpuMs),
    ratioFloor: kernel.median / floor.median,
    runs,
  };
}

// ---- throughput ------------------------------------------------------------------------------

interface Throughput {
  podnet: Summary;
  hand: Summary;
  ratio: number;
}

const lease = (n: 1 | 2): NodeLease => ({ node: `node-${n}`, subnets: [`10.90.${n}.0/24`], nodeIps: [`192.168.90.${n}`] });

async function throughput(): Promise<Throughput> {
  const { a, b, pods } = podLab(`${P}-t`, 1500);
  const halves = [hostGwNodeHalf.create(nodeEnv(a, 'node-1', { Type: 'host-gw' })), hostGwNodeHalf.create(nodeEnv(b, 'node-2', { Type: 'host-gw' }))] as const;
  const samples = { podnet: [] as number[], hand: [] as number[] };
  try {
    await alternate(THROUGHPUT_RUNS, {
      podnet: async () => {
        await halves[0].reconcile(lease(1), [lease(2)]);
        await halves[1].reconcile(lease(2), [lease(1)]);
        samples.podnet.push(await iperf(pods.a1, pods.b1, '10.90.2.2', SECONDS));
        for (const h of halves) await h.teardown();
      },
      hand: async () => {
        ip(a, 'route', 'add', '10.90.2.0/24', 'via', '192.168.90.2', 'dev', 'eth0');
        ip(b, 'route', 'add', '10.90.1.0/24', 'via', '192.168.90.1', 'dev', 'eth0');
        samples.hand.push(await iperf(pods.a1, pods.b1, '10.90.2.2', SECONDS));
        ip(a, 'route', 'del', '10.90.2.0/24');
        ip(b, 'route', 'del', '10.90.1.0/24');
      },
    });
  } finally {
    for (const h of halves) h.close();
  }
  const podnet = summarize(samples.podnet);
  const hand = summarize(samples.hand);
  return { podnet, hand, ratio: podnet.median / hand.median };
}

// ---- report ----------------------------------------------------------------------------------

const ms = (s: Summary): string => `${s.median.toFixed(0)} ms (min ${s.min.toFixed(0)}, max ${s.max.toFixed(0)})`;
const mb = (s: Summary): string => `${s.median.toFixed(0)} MB (max ${s.max.toFixed(0)})`;
const gbit = (s: Summary): string => `${(s.median / 1e9).toFixed(2)} Gbit/s (min ${(s.min / 1e9).toFixed(2)}, max ${(s.max / 1e9).toFixed(2)}, n=${s.n})`;

if (!existsSync(PODNETD)) throw new Error(`${PODNETD} missing: build the agent first (npx nx run @podnet/agent:build)`);
console.log(
  `podnetd (host-gw) benchmark, ${RUNS} runs per row, medians; load average ${(await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')}`,
);
const results: { convergence: Convergence[]; throughput?: Throughput } = { convergence: [] };
let bundle: { path: string; remove: () => Promise<void> } | undefined;
try {
  if (CPU_PROF || NODE_FLAGS) {
    // --cpu-prof is refused in NODE_OPTIONS: the launcher's PODNETD_NODE points at a wrapper.
    if (CPU_PROF) await mkdir(CPU_PROF, { recursive: true });
    await mkdir(WRAPPER_DIR, { recursive: true });
    const flags = `${CPU_PROF ? `--cpu-prof --cpu-prof-dir=${CPU_PROF} ` : ''}${NODE_FLAGS}`;
    await writeFile(join(WRAPPER_DIR, 'node'), `#!/bin/sh\nexec node ${flags} "$@"\n`, { mode: 0o755 });
  }
  if (STORES.includes('etcd')) bundle = await bundleEtcdSeeder();
  for (const kind of STORES) {
    for (const count of PEERS) {
      const c = await convergence(kind, count, bundle?.path);
      results.convergence.push(c);
      const target = kind === 'local' ? 1000 : 2000;
      console.log(`convergence, ${kind} store, ${count} peers:`);
      console.log(`  store → all routes in the kernel  ${ms(c.endToEnd)}   (target at 5,000: <= ${target} ms)`);
      console.log(`  kernel part (podnetd's passes)     ${ms(c.kernel)}   in ${c.runs.map((r) => r.passes).join('/')} pass(es)`);
      console.log(`  ip -batch floor                    ${ms(c.floor)}`);
      console.log(`  kernel part / floor = ${c.ratioFloor.toFixed(2)} (target <= 2)`);
      console.log(`  podnetd RSS ${mb(c.rss)}, peak ${mb(c.peak)} (target at 5,000: <= 100 MB)`);
      console.log(
        `  periodic pass, nothing to change (target <= 50 ms CPU): the route reconcile ${c.reconcileCpu.median.toFixed(1)} ms CPU (in podnetd), ${c.periodicWall.median.toFixed(1)} ms wall;`,
      );
      console.log(
        `    the whole process per pass ${c.periodicCpu.median.toFixed(1)} ms CPU (/proc; with the nftables/iptables/host-port checks and the store's watch)`,
      );
    }
  }
  cleanup();
  if (THROUGHPUT_RUNS > 0) {
    const t = await throughput();
    results.throughput = t;
    console.log(`throughput pod → pod across two nodes, host-gw, iperf3 TCP ${SECONDS} s, MTU 1500:`);
    console.log(`  podnet routes    ${gbit(t.podnet)}`);
    console.log(`  routes by hand   ${gbit(t.hand)}`);
    console.log(`  podnet / hand = ${t.ratio.toFixed(3)} (target >= 0.97)`);
  }
} finally {
  cleanup();
  await bundle?.remove();
  await rm(WRAPPER_DIR, { recursive: true, force: true });
}
if (JSON_FILE) await writeFile(JSON_FILE, `${JSON.stringify(results, null, 2)}\n`);
