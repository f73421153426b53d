// pnpm bench:vxlan — the VXLAN backend (root): pod → pod throughput over podnet's tunnel beside a
// VXLAN path set up by hand with `ip` and the same-bridge path, in one run; and convergence of
// 1,000 / 5,000 peers (three kernel entries each) into one node's kernel, from the local lease
// store and for the kernel part alone, beside the `ip -batch` floor for the same entries.
//   bun --conditions=@podnet/source run src/vxlan/main.ts [--runs 7] [--seconds 3] [--peers 1000,5000] [--json FILE]
// Every namespace is named pnv-b<pid>-…, stores live in $TMPDIR/pnv-bench-*; all removed afterwards.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLeaseStore, parseNetworkConfig } from '@podnet/cluster';
import type { Lease } from '@podnet/cluster';
import { makeLeases, seedLeases } from '@podnet/cluster/testing';
import { PODNET_ROUTE_PROTOCOL } from '@podnet/core/backend';
import type { NodeEnvironment, NodeLease } from '@podnet/core/backend';
import { vxlanNodeHalf, deriveVtepMac } from '@podnet/backend-vxlan';
import type { VxlanNodeHalf } from '@podnet/backend-vxlan';
import { summarize } from '../cni/stats.js';
import type { Summary } from '../cni/stats.js';
import { alternate, iperf as iperfFor, podLab } from '../netlab/pods.js';
import { nodeEnv } from '../netlab/node-env.js';
import { cleanup, dropNetns, ip, netns, option, sh } from '../netlab/shell.js';

const RUNS = Number(option('runs', '7'));
const SECONDS = Number(option('seconds', '3'));
const PEERS = option('peers', '1000,5000').split(',').map(Number);
const JSON_FILE = process.argv.includes('--json') ? option('json', '') : undefined;

const P = `pnv-b${process.pid}`;
const iperf = (client: string, server: string, address: string): Promise<number> => iperfFor(client, server, address, SECONDS);

const env = (ns: string, node: string): NodeEnvironment => nodeEnv(ns, node, { Type: 'vxlan' });

// ---- throughput ------------------------------------------------------------------------------

interface Throughput {
  podnet: Summary;
  hand: Summary;
  bridge: Summary;
  ratioHand: number;
  ratioBridge: number;
}

const lease = (n: 1 | 2): NodeLease => ({
  node: `node-${n}`,
  subnets: [`10.90.${n}.0/24`],
  nodeIps: [`192.168.90.${n}`],
  backendData: { VNI: 1, VtepMAC: deriveVtepMac(`node-${n}`, 4) },
});

/** The same three entries and device per side, by hand with `ip` and `bridge`. */
function handVxlan(ns: string, me: 1 | 2): void {
  const peer = me === 1 ? 2 : 1;
  ip(
    ns,
    'link',
    'add',
    'vxh',
    'address',
    deriveVtepMac(`node-${me}`, 4),
    'mtu',
    '1450',
    'type',
    'vxlan',
    'id',
    '1',
    'local',
    `192.168.90.${me}`,
    'dev',
    'eth0',
    'dstport',
    '8472',
    'nolearning',
  );
  ip(ns, 'address', 'add', `10.90.${me}.0/32`, 'dev', 'vxh');
  ip(ns, 'link', 'set', 'vxh', 'up');
  ip(ns, 'neigh', 'add', `10.90.${peer}.0`, 'lladdr', deriveVtepMac(`node-${peer}`, 4), 'dev', 'vxh', 'nud', 'permanent');
  sh('bridge', ['-n', ns, 'fdb', 'append', deriveVtepMac(`node-${peer}`, 4), 'dev', 'vxh', 'dst', `192.168.90.${peer}`]);
  ip(ns, 'route', 'add', `10.90.${peer}.0/24`, 'via', `10.90.${peer}.0`, 'dev', 'vxh', 'onlink');
}

async function throughput(): Promise<Throughput> {
  const { a, b, pods } = podLab(P, 1450);
  const halves = [vxlanNodeHalf.create(env(a, 'node-1')) as VxlanNodeHalf, vxlanNodeHalf.create(env(b, 'node-2')) as VxlanNodeHalf];
  const samples = { podnet: [] as number[], hand: [] as number[], bridge: [] as number[] };
  try {
    await alternate(RUNS, {
      podnet: async (): Promise<void> => {
        await halves[0]!.reconcile(lease(1), [lease(2)]);
        await halves[1]!.reconcile(lease(2), [lease(1)]);
        samples.podnet.push(await iperf(pods.a1, pods.b1, '10.90.2.2'));
        for (const h of halves) await h.teardown();
      },
      hand: async (): Promise<void> => {
        handVxlan(a, 1);
        handVxlan(b, 2);
        samples.hand.push(await iperf(pods.a1, pods.b1, '10.90.2.2'));
        ip(a, 'link', 'del', 'vxh');
        ip(b, 'link', 'del', 'vxh');
      },
      bridge: async (): Promise<void> => {
        samples.bridge.push(await iperf(pods.a1, pods.a2, '10.90.1.3'));
      },
    });
  } finally {
    for (const h of halves) h.close();
  }
  const s = { podnet: summarize(samples.podnet), hand: summarize(samples.hand), bridge: summarize(samples.bridge) };
  return { ...s, ratioHand: s.podnet.median / s.hand.median, ratioBridge: s.podnet.median / s.bridge.median };
}

// ---- convergence -----------------------------------------------------------------------------

interface Convergence {
  peers: number;
  /** Seed N leases in the local store → watcher has them all → one reconcile done. */
  store: Summary;
  /** The reconcile of N new peers alone (device, 3N entries, routes, nft set). */
  kernel: Summary;
  /** `ip -batch` neighbours + `bridge -batch` FDB + `ip -batch` routes, same entries, fresh device. */
  floor: Summary;
  ratioFloor: number;
}

function convergenceNode(): string {
  const n = netns(`${P}-c`);
  // The underlay: a veth with both ends here (carrier up, no dummy module needed).
  ip(n, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
  ip(n, 'link', 'set', 'eth0p', 'up');
  ip(n, 'address', 'add', '192.168.91.1/24', 'dev', 'eth0');
  ip(n, 'link', 'set', 'eth0', 'up');
  return n;
}

const CONFIG = parseNetworkConfig({ Network: '10.0.0.0/8', SubnetLen: 24, Backend: { Type: 'vxlan' } });
const nodeIp = (i: number): string => `198.18.${(i >> 8) & 255}.${i & 255}`;
const toNodeLease = (l: Lease | { node: string; subnets: Lease['subnets']; nodeIps: string[] }): NodeLease => ({
  node: l.node,
  subnets: [l.subnets.ipv4!],
  nodeIps: [...l.nodeIps],
});
const LOCAL: NodeLease = { node: 'pnv-bench-self', subnets: ['10.255.255.0/24'], nodeIps: ['192.168.91.1'] };

function countEntries(ns: string): number {
  const neigh = JSON.parse(ip(ns, '-j', 'neigh', 'show', 'dev', 'vxlan.podnet', 'nud', 'permanent')).length;
  const fdb = JSON.parse(sh('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', 'vxlan.podnet'])).length;
  const routes = JSON.parse(ip(ns, '-j', 'route', 'show', 'proto', String(PODNET_ROUTE_PROTOCOL))).length;
  return neigh + fdb + routes;
}

function floorOnce(ns: string, peers: readonly NodeLease[]): number {
  ip(ns, 'link', 'add', 'vxf', 'mtu', '1450', 'type', 'vxlan', 'id', '1', 'local', '192.168.91.1', 'dev', 'eth0', 'dstport', '8472', 'nolearning');
  ip(ns, 'address', 'add', '10.255.255.0/32', 'dev', 'vxf');
  ip(ns, 'link', 'set', 'vxf', 'up');
  const neigh: string[] = [];
  const fdb: string[] = [];
  const routes: string[] = [];
  for (const p of peers) {
    const [dst, len] = p.subnets[0]!.split('/');
    const mac = deriveVtepMac(p.node, 4);
    neigh.push(`neigh add ${dst} lladdr ${mac} dev vxf nud permanent`);
    fdb.push(`fdb append ${mac} dev vxf dst ${p.nodeIps[0]}`);
    routes.push(`route add ${dst}/${len} via ${dst} dev vxf onlink proto ${PODNET_ROUTE_PROTOCOL}`);
  }
  const start = performance.now();
  sh('ip', ['-n', ns, '-batch', '-'], `${neigh.join('\n')}\n`);
  sh('bridge', ['-n', ns, '-batch', '-'], `${fdb.join('\n')}\n`);
  sh('ip', ['-n', ns, '-batch', '-'], `${routes.join('\n')}\n`);
  const ms = performance.now() - start;
  ip(ns, 'link', 'del', 'vxf'); // takes its neighbours, FDB entries and routes with it
  return ms;
}

async function convergence(count: number): Promise<Convergence> {
  const ns = convergenceNode();
  const leases = makeLeases(CONFIG, count, { firstIndex: 1, prefix: 'pnv-peer-', nodeIps: (i) => [nodeIp(i + 1)] }).map((l) => ({
    ...l,
    backend: { type: 'vxlan' },
  }));
  const peers = leases.map(toNodeLease);
  const kernel: number[] = [];
  const store: number[] = [];
  const floor: number[] = [];
  const half = vxlanNodeHalf.create(env(ns, LOCAL.node)) as VxlanNodeHalf;
  try {
    for (let run = 0; run < RUNS; run++) {
      // Kernel part: a fresh node (no device, no entries) given all N peers.
      let start = performance.now();
      const report = await half.reconcile(LOCAL, peers);
      kernel.push(performance.now() - start);
      if (report.errors.length > 0) throw new Error(`reconcile errors: ${report.errors.slice(0, 3).join('; ')}`);
      if (countEntries(ns) !== 3 * count) throw new Error(`expected ${3 * count} entries, found ${countEntries(ns)}`);
      await half.teardown();

      floor.push(floorOnce(ns, peers));

      // From the store: seed N leases, watch them arrive, reconcile once they are all there
      // (podnetd coalesces a burst into one reconcile).
      const dir = await mkdtemp(join(tmpdir(), 'pnv-bench-'));
      const writer = await openLeaseStore({ kind: 'local', dir });
      const reader = await openLeaseStore({ kind: 'local', dir });
      try {
        await writer.putNetworkConfig(CONFIG);
        const seen = new Map<string, NodeLease>();
        let all: () => void = () => {};
        const arrived = new Promise<void>((resolve) => (all = resolve));
        const watch = reader.watch(0, {
          onEvents: ({ events }) => {
            for (const e of events) if (e.type !== 'removed') seen.set(e.lease.node, toNodeLease(e.lease));
            if (seen.size >= count) all();
          },
        });
        await new Promise((r) => setTimeout(r, 200));
        start = performance.now();
        await seedLeases(writer, leases);
        await arrived;
        const r = await half.reconcile(LOCAL, [...seen.values()]);
        store.push(performance.now() - start);
        if (r.errors.length > 0) throw new Error(`reconcile errors: ${r.errors.slice(0, 3).join('; ')}`);
        await watch.close();
      } finally {
        await writer.close();
        await reader.close();
        await rm(dir, { recursive: true, force: true });
      }
      await half.teardown();
    }
  } finally {
    half.close();
    dropNetns(ns);
  }
  const s = { kernel: summarize(kernel), store: summarize(store), floor: summarize(floor) };
  return { peers: count, ...s, ratioFloor: s.kernel.median / s.floor.median };
}

// ---- report ----------------------------------------------------------------------------------

const gbit = (s: Summary): string => `${(s.median / 1e9).toFixed(2)} Gbit/s (min ${(s.min / 1e9).toFixed(2)}, max ${(s.max / 1e9).toFixed(2)}, n=${s.n})`;
const ms = (s: Summary): string => `median ${s.median.toFixed(0)} ms (min ${s.min.toFixed(0)}, max ${s.max.toFixed(0)}, n=${s.n})`;

console.log(`VXLAN backend, ${RUNS} runs per row, medians (runtime: ${typeof Bun === 'undefined' ? `node ${process.version}` : `bun ${Bun.version}`})`);
const results: { throughput?: Throughput; convergence: Convergence[] } = { convergence: [] };
try {
  const t = await throughput();
  results.throughput = t;
  console.log(`throughput pod → pod across nodes, iperf3 TCP ${SECONDS} s, pod MTU 1450:`);
  console.log(`  podnet tunnel   ${gbit(t.podnet)}`);
  console.log(`  hand-made VXLAN ${gbit(t.hand)}`);
  console.log(`  same bridge     ${gbit(t.bridge)}`);
  console.log(`  podnet / hand-made = ${t.ratioHand.toFixed(3)} (target >= 0.97); podnet / same bridge = ${t.ratioBridge.toFixed(3)}`);
  cleanup();
  for (const count of PEERS) {
    const c = await convergence(count);
    results.convergence.push(c);
    console.log(`convergence ${count} peers (${3 * count} kernel entries):`);
    console.log(`  local store → all in the kernel  ${ms(c.store)}   (target at 5,000: <= 1500 ms)`);
    console.log(`  kernel part (one reconcile)      ${ms(c.kernel)}`);
    console.log(`  ip -batch floor                  ${ms(c.floor)}`);
    console.log(`  kernel part / floor = ${c.ratioFloor.toFixed(2)} (target <= 2)`);
  }
} finally {
  cleanup();
}
if (JSON_FILE) await writeFile(JSON_FILE, `${JSON.stringify(results, null, 2)}\n`);
