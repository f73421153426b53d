// The side-by-side run: for one network variant (ipMasq off or on), each implementation gets its
// own node netns with a runner inside it, the same network config and pre-made pod namespaces.
// Sequential ADDs then DELs alternate which side goes first per round; bursts start all calls at
// once on one side while the other side is idle. Only the plugin processes are timed.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { cniEnvironment, mentionsAddress, type Lab, type LabNode, type LabPod } from '@podnet/lab';
import { networkConfig, type Implementation, type NetworkShape, type SideKey } from './implementations.js';
import { iptablesCniChains, leftovers } from './leftovers.js';
import type { CallTiming, RunnerCall } from './protocol.js';
import { Runner } from './runner-client.js';
import { callPhases, largestGaps, parseTrace, TRACED_SYSCALLS, type CallPhases, type Gap } from './trace.js';

/** A call run under strace: its phases and where it sat idle between traced syscalls. */
export interface TracedCall extends CallPhases {
  gaps: Gap[];
}

export type Variant = 'plain' | 'ipMasq';

export interface BenchOptions {
  /** Pods per side in the sequential phase (≥ 50 for the numbers). */
  pods: number;
  /** Concurrent ADDs (then DELs) in one burst. */
  burst: number;
  /** Bursts per side; their order alternates like the sequential rounds. */
  burstRounds: number;
  /** VERSION calls per side (process start floor); 0 skips them. */
  versionCalls: number;
  /** Start-up probes (probes.ts) run beside each podnet VERSION, on the podnet side. */
  startupProbes?: ReadonlyArray<{ name: string; binary: string }> | undefined;
  /** Sequential ADD+DEL rounds per side before timing (bridge creation, page cache). */
  warmup: number;
  /** ADD+DEL pairs per side run under strace for the phase breakdown; 0 = none. */
  trace: number;
  subnet: string;
  log: (line: string) => void;
}

export interface SideSamples {
  add: number[];
  del: number[];
  version: number[];
  /** CPU (user + system, children included) of the sequential calls, when the runner reports it. */
  addCpu: number[];
  delCpu: number[];
  versionCpu: number[];
  /** Start-up probe runs by probe name: wall and CPU ms (podnet side only). */
  probes: Record<string, { ms: number[]; cpu: number[] }>;
  /** Wall time of each burst (first spawn to last exit). */
  burstAddWall: number[];
  burstDelWall: number[];
  /** Every call inside the bursts. */
  burstAddCalls: number[];
  burstDelCalls: number[];
  /** State a DEL should have removed (empty when every DEL did its part). */
  leftovers: string[];
  /** What the ipMasq ADDs visibly made (sanity: both sides really masquerade). */
  masqEvidence?: string;
  /** Phases of the calls run under strace (not part of the timings above). */
  tracedAdd: TracedCall[];
  tracedDel: TracedCall[];
}

export interface VariantResult {
  variant: Variant;
  /** How the podnet side ran: each call in its own process, or through podnetd. */
  mode: 'embedded' | 'thick';
  /** Thick mode: podnetd's resident memory at the end of the run, and its peak (MiB). */
  daemonRss?: { rssMib: number; peakMib: number };
  labels: Record<SideKey, string>;
  sides: Record<SideKey, SideSamples>;
}

interface Side {
  impl: Implementation;
  /** Thick mode: the podnetd serving this side. */
  daemon?: ChildProcess;
  node: LabNode;
  runner: Runner;
  dataDir: string;
  config: Record<string, unknown>;
  pods: LabPod[];
  samples: SideSamples;
  /** Addresses handed out by ADDs of this side, for the leftover checks. */
  addresses: Set<string>;
  /** Addresses of the current phase's ADDs. */
  recent: string[];
}

interface Attachment {
  pod: LabPod;
  containerId: string;
}

/** podnet goes first in even rounds, the reference in odd ones. */
const order = (round: number, sides: readonly [Side, Side]): Side[] => (round % 2 === 0 ? [sides[0], sides[1]] : [sides[1], sides[0]]);

function call(side: Side, command: string, a?: Attachment): RunnerCall {
  const env = cniEnvironment({
    command,
    config: side.config,
    path: side.impl.cniPath,
    ...(a ? { containerId: a.containerId, netns: a.pod.netns.path, ifname: 'eth0' } : {}),
  });
  return { file: side.impl.binary, env, stdin: JSON.stringify(side.config) };
}

function expectOk(side: Side, what: string, t: CallTiming): void {
  if (t.code !== 0) {
    throw new Error(`${side.impl.label}: ${what} failed (exit ${t.signal ?? t.code}): ${t.stdout.trim()} ${t.stderr.trim()}`);
  }
}

function recordAddress(side: Side, t: CallTiming): void {
  const result = JSON.parse(t.stdout) as { ips?: Array<{ address: string }> };
  const ips = result.ips ?? [];
  if (ips.length === 0) throw new Error(`${side.impl.label}: ADD returned no address: ${t.stdout}`);
  for (const ip of ips) {
    side.addresses.add(ip.address);
    side.recent.push(ip.address);
  }
}

const fresh = (pod: LabPod): Attachment => ({ pod, containerId: randomBytes(32).toString('hex') });

async function sequential(side: Side, command: 'ADD' | 'DEL', a: Attachment): Promise<CallTiming> {
  const reply = await side.runner.run([call(side, command, a)]);
  const t = reply.results[0];
  if (!t) throw new Error('runner returned no result');
  expectOk(side, `${command} ${a.pod.netns.name}`, t);
  if (command === 'ADD') recordAddress(side, t);
  return t;
}

function record(ms: number[], cpu: number[], t: CallTiming): void {
  ms.push(t.ms);
  if (t.cpuMs !== undefined) cpu.push(t.cpuMs);
}

async function burst(side: Side, command: 'ADD' | 'DEL', list: readonly Attachment[]): Promise<{ wall: number; calls: number[] }> {
  const reply = await side.runner.run(list.map((a) => call(side, command, a)));
  reply.results.forEach((t, i) => {
    expectOk(side, `${command} ${list[i]?.pod.netns.name} (burst)`, t);
    if (command === 'ADD') recordAddress(side, t);
  });
  return { wall: reply.wallMs, calls: reply.results.map((t) => t.ms) };
}

/** One call under `strace -f`: the plugin still gets exactly the runtime's env and stdin. */
async function traced(side: Side, command: 'ADD' | 'DEL', a: Attachment, file: string): Promise<TracedCall> {
  const plain = call(side, command, a);
  const args = ['-f', '-ttt', '-T', '--seccomp-bpf', '-e', `trace=${TRACED_SYSCALLS.join(',')}`, '-o', file, plain.file];
  const reply = await side.runner.run([{ ...plain, file: 'strace', args }]);
  const t = reply.results[0];
  if (!t) throw new Error('runner returned no result');
  expectOk(side, `${command} ${a.pod.netns.name} (strace)`, t);
  if (command === 'ADD') recordAddress(side, t);
  const trace = parseTrace(await readFile(file, 'utf8'));
  return { ...callPhases(trace, side.dataDir), gaps: largestGaps(trace, 4) };
}

async function prepareSide(lab: Lab, impl: Implementation, variant: Variant, shape: NetworkShape, podCount: number, thickRun: boolean): Promise<Side> {
  const tag = `${variant === 'plain' ? 'p' : 'm'}${thickRun ? 't' : ''}${impl.key === 'podnet' ? 'pn' : 'rf'}`;
  const node = await lab.addNode(`${tag}-node`);
  const dataDir = await lab.tempDir(`${tag}-ipam`);
  const pods: LabPod[] = [];
  for (let i = 0; i < podCount; i++) pods.push(await lab.addPod(node, `${tag}-pod${i}`));
  const runner = await Runner.start(node.netns.path);
  let daemon: ChildProcess | undefined;
  if (impl.thick) {
    const socket = path.join(await lab.tempDir(`${tag}-cni`), 'cni.sock');
    daemon = await lab.serveCni(node, socket);
    impl = { ...impl, daemonSocket: socket };
  }
  return {
    impl,
    ...(daemon ? { daemon } : {}),
    node,
    runner,
    dataDir,
    config: networkConfig(impl, shape, dataDir),
    pods,
    addresses: new Set(),
    recent: [],
    samples: {
      add: [],
      del: [],
      version: [],
      addCpu: [],
      delCpu: [],
      versionCpu: [],
      probes: {},
      burstAddWall: [],
      burstDelWall: [],
      burstAddCalls: [],
      burstDelCalls: [],
      leftovers: [],
      tracedAdd: [],
      tracedDel: [],
    },
  };
}

/** VmRSS and VmHWM of a process, MiB. */
async function rssOf(pid: number): Promise<{ rssMib: number; peakMib: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rssMib: kib('VmRSS') / 1024, peakMib: kib('VmHWM') / 1024 };
}

async function checkClean(side: Side, phase: string): Promise<void> {
  const network = String(side.config['name']);
  const left = await leftovers(side.node, {
    addresses: side.addresses,
    ...(side.impl.ipamType === 'host-local' ? { hostLocalDir: path.join(side.dataDir, network) } : { podnetStore: { dataDir: side.dataDir, network } }),
  });
  side.samples.leftovers.push(...left.map((l) => `after ${phase}: ${l}`));
}

async function masqEvidence(side: Side): Promise<string> {
  if (side.impl.key === 'reference') return `${(await iptablesCniChains(side.node)).length} iptables CNI-* chains in nat`;
  const r = await side.node.netns.execOk('nft', ['list', 'ruleset']);
  const named = side.recent.filter((a) => mentionsAddress(r, a.split('/')[0] ?? a)).length;
  return `${named} pod addresses in nft sets`;
}

/** One variant, both sides; everything it creates belongs to `lab` (the caller destroys it). */
export async function runVariant(lab: Lab, impls: readonly [Implementation, Implementation], variant: Variant, opts: BenchOptions): Promise<VariantResult> {
  const shape: NetworkShape = { name: `${lab.id}-net`, bridge: lab.linkName('br'), subnet: opts.subnet, ipMasq: variant === 'ipMasq' };
  const podCount = Math.max(opts.pods, opts.burst, 1);
  const log = (s: string): void => opts.log(`[${variant}] ${s}`);
  log(`preparing 2 node netns and ${2 * podCount} pod netns`);
  const thick = impls.some((i) => i.thick);
  const sides = [await prepareSide(lab, impls[0], variant, shape, podCount, thick), await prepareSide(lab, impls[1], variant, shape, podCount, thick)] as const;
  try {
    for (const s of sides) log(`${s.impl.label}: runner in ${s.node.netns.name} (${s.runner.netnsId})`);

    log(`warm-up: ${opts.warmup} ADD+DEL per side (not timed)`);
    for (let i = 0; i < opts.warmup; i++) {
      for (const s of order(i, sides)) {
        const a = fresh(s.pods[0] as LabPod);
        await sequential(s, 'ADD', a);
        await sequential(s, 'DEL', a);
      }
    }

    if (opts.versionCalls > 0) {
      log(`VERSION ×${opts.versionCalls} per side`);
      for (let i = 0; i < opts.versionCalls; i++) {
        for (const s of order(i, sides)) {
          const reply = await s.runner.run([call(s, 'VERSION')]);
          const t = reply.results[0];
          if (!t) throw new Error('runner returned no result');
          expectOk(s, 'VERSION', t);
          record(s.samples.version, s.samples.versionCpu, t);
          if (s.impl.key === 'podnet') {
            for (const probe of opts.startupProbes ?? []) {
              // The env a VERSION call gets; stdin as for VERSION too.
              const p = (await s.runner.run([{ ...call(s, 'VERSION'), file: probe.binary }])).results[0];
              if (!p || p.code !== 0) throw new Error(`start-up probe ${probe.name} failed: ${p?.stdout} ${p?.stderr}`);
              const into = (s.samples.probes[probe.name] ??= { ms: [], cpu: [] });
              record(into.ms, into.cpu, p);
            }
          }
        }
      }
    }

    log(`sequential: ${opts.pods} ADDs per side, then ${opts.pods} DELs`);
    for (const s of sides) s.recent = [];
    const attachments = new Map<Side, Attachment[]>(sides.map((s) => [s, s.pods.slice(0, opts.pods).map(fresh)]));
    for (let i = 0; i < opts.pods; i++) {
      for (const s of order(i, sides)) record(s.samples.add, s.samples.addCpu, await sequential(s, 'ADD', attachments.get(s)?.[i] as Attachment));
    }
    if (variant === 'ipMasq') for (const s of sides) s.samples.masqEvidence = await masqEvidence(s);
    for (let i = 0; i < opts.pods; i++) {
      for (const s of order(i, sides)) record(s.samples.del, s.samples.delCpu, await sequential(s, 'DEL', attachments.get(s)?.[i] as Attachment));
    }
    for (const s of sides) await checkClean(s, 'sequential DEL');

    log(`burst: ${opts.burstRounds} × (${opts.burst} concurrent ADDs, then ${opts.burst} concurrent DELs) per side`);
    for (let r = 0; r < opts.burstRounds; r++) {
      for (const s of order(r, sides)) {
        const list = s.pods.slice(0, opts.burst).map(fresh);
        const added = await burst(s, 'ADD', list);
        const deleted = await burst(s, 'DEL', list);
        s.samples.burstAddWall.push(added.wall);
        s.samples.burstAddCalls.push(...added.calls);
        s.samples.burstDelWall.push(deleted.wall);
        s.samples.burstDelCalls.push(...deleted.calls);
        log(`  ${s.impl.key} round ${r + 1}: ADD burst ${added.wall.toFixed(0)} ms, DEL burst ${deleted.wall.toFixed(0)} ms`);
      }
    }
    for (const s of sides) await checkClean(s, 'burst DEL');

    if (opts.trace > 0) {
      log(`strace: ${opts.trace} ADD+DEL per side for the phase breakdown (not in the timings)`);
      const dir = await lab.tempDir(`${variant}-trace`);
      for (let i = 0; i < opts.trace; i++) {
        for (const s of order(i, sides)) {
          const a = fresh(s.pods[0] as LabPod);
          s.samples.tracedAdd.push(await traced(s, 'ADD', a, path.join(dir, `${s.impl.key}-add-${i}.txt`)));
          s.samples.tracedDel.push(await traced(s, 'DEL', a, path.join(dir, `${s.impl.key}-del-${i}.txt`)));
        }
      }
      for (const s of sides) await checkClean(s, 'traced DEL');
    }
  } finally {
    for (const s of sides) await s.runner.stop();
  }
  const [a, b] = sides;
  const daemon = sides.find((s) => s.daemon)?.daemon;
  const daemonRss = daemon?.pid !== undefined ? await rssOf(daemon.pid) : undefined;
  daemon?.kill('SIGTERM');
  return {
    variant,
    mode: thick ? 'thick' : 'embedded',
    ...(daemonRss ? { daemonRss } : {}),
    labels: { [a.impl.key]: a.impl.label, [b.impl.key]: b.impl.label } as Record<SideKey, string>,
    sides: { [a.impl.key]: a.samples, [b.impl.key]: b.samples } as Record<SideKey, SideSamples>,
  };
}
