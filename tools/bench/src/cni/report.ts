// Turns the samples of every variant into the printed report: the comparison table with targets,
// the masquerade sanity line, where podnet's time goes, and anything DEL left behind.
import type { BenchOptions, TracedCall, VariantResult } from './bench.js';
import type { SideKey } from './implementations.js';
import { summarize, type Summary } from './stats.js';
import { formatTable, verdicts, type Row } from './table.js';
import type { KernelFloor } from './kernel-floor.js';
import type { CallPhases } from './trace.js';

/** The issues' targets, as the highest acceptable ratio of medians podnet/reference, per mode. */
export const TARGETS = {
  embedded: { add: 1.0, del: 1.0, burstAdd: 1.0, burstDel: 1.0, masqAdd: 0.6 },
  thick: { add: 0.85, del: 0.9, burstAdd: 0.6, burstDel: 0.8, masqAdd: 0.6 },
} as const;

const pick = (r: VariantResult, side: SideKey, f: (s: VariantResult['sides'][SideKey]) => number[]): Summary | undefined => {
  const v = f(r.sides[side]);
  return v.length ? summarize(v) : undefined;
};

function row(r: VariantResult, label: string, f: (s: VariantResult['sides'][SideKey]) => number[], target?: number): Row[] {
  const podnet = pick(r, 'podnet', f);
  const reference = pick(r, 'reference', f);
  return podnet && reference ? [{ label, podnet, reference, target }] : [];
}

export function rows(results: readonly VariantResult[], opts: Pick<BenchOptions, 'burst'>): Row[] {
  const out: Row[] = [];
  for (const r of results) {
    const m = r.variant === 'ipMasq';
    const t = TARGETS[r.mode];
    const p = `${r.mode === 'thick' ? 'thick ' : ''}${m ? 'ipMasq ' : ''}`;
    out.push(
      ...row(r, `${p}ADD`, (s) => s.add, m ? t.masqAdd : t.add),
      ...row(r, `${p}DEL`, (s) => s.del, m ? undefined : t.del),
      ...row(r, `${p}burst ${opts.burst} ADD (wall)`, (s) => s.burstAddWall, m ? undefined : t.burstAdd),
      ...row(r, `${p}burst ${opts.burst} DEL (wall)`, (s) => s.burstDelWall, m ? undefined : t.burstDel),
      ...row(r, `${p}ADD inside a burst`, (s) => s.burstAddCalls),
      ...row(r, `${p}DEL inside a burst`, (s) => s.burstDelCalls),
      ...row(r, `${p}VERSION`, (s) => s.version),
      ...row(r, `${p}ADD CPU time`, (s) => s.addCpu),
      ...row(r, `${p}DEL CPU time`, (s) => s.delCpu),
      ...row(r, `${p}VERSION CPU time`, (s) => s.versionCpu),
    );
  }
  return out;
}

const fmt = (v: number): string => `${v.toFixed(1)} ms`;

/**
 * podnet's start-up split by layer: each probe adds one layer (probes.ts), then the real bundle.
 * Wall and CPU medians of VERSION calls, with what each step adds.
 */
function startupLadder(plain: VariantResult): string[] {
  const probes = plain.sides.podnet.probes;
  const names = Object.keys(probes);
  if (names.length === 0) return [];
  const steps: Array<[string, number[], number[]]> = names.map((n) => [n, probes[n]?.ms ?? [], probes[n]?.cpu ?? []]);
  steps.push(['podnet-bridge', plain.sides.podnet.version, plain.sides.podnet.versionCpu]);
  const lines = ['  podnet start-up, VERSION calls of compiled probes adding one layer each (probes.ts), median wall / CPU:'];
  let prev: [number, number] | undefined;
  for (const [name, ms, cpu] of steps) {
    const w = med(ms);
    const c = med(cpu);
    const delta = prev
      ? `   (${w - prev[0] >= 0 ? '+' : '−'}${Math.abs(w - prev[0]).toFixed(1)} / ${c - prev[1] >= 0 ? '+' : '−'}${Math.abs(c - prev[1]).toFixed(1)})`
      : '';
    lines.push(`    ${name.padEnd(14)} ${w.toFixed(1).padStart(5)} / ${c.toFixed(1).padStart(5)} ms${delta}`);
    prev = [w, c];
  }
  return lines;
}

/** VERSION is the process floor (start, runtime init, skel, exit): ADD − VERSION is the work. */
function startVsWork(results: readonly VariantResult[]): string[] {
  const plain = results.find((r) => r.variant === 'plain') ?? results[0];
  if (!plain) return [];
  const lines: string[] = [];
  for (const side of ['podnet', 'reference'] as const) {
    const s = plain.sides[side];
    if (!s.version.length || !s.add.length) continue;
    const v = summarize(s.version).median;
    const add = summarize(s.add).median;
    const del = summarize(s.del).median;
    lines.push(
      `  ${side.padEnd(9)} VERSION ${fmt(v)} (process start + exit)  ADD ${fmt(add)} = start + ${fmt(add - v)} work  DEL ${fmt(del)} = start + ${fmt(del - v)} work`,
    );
  }
  lines.push(...startupLadder(plain));
  for (const r of results) {
    if (r.variant !== 'ipMasq' || !plain || plain === r) continue;
    for (const side of ['podnet', 'reference'] as const) {
      const a = r.sides[side].add;
      const b = plain.sides[side].add;
      if (a.length && b.length) lines.push(`  ${side.padEnd(9)} ipMasq adds ${fmt(summarize(a).median - summarize(b).median)} to ADD (median vs plain)`);
    }
  }
  return lines;
}

const med = (v: readonly number[]): number => (v.length ? summarize(v).median : 0);

/** Medians of each phase over the traced calls of one side and command, one line. */
export function phaseLine(label: string, calls: readonly CallPhases[]): string {
  const pick = (f: (p: CallPhases) => number): string => med(calls.map(f)).toFixed(1).padStart(5);
  const programs = [...new Set(calls.flatMap((c) => c.children.map((ch) => ch.program)))].sort();
  const children = programs.map((prog) => {
    const count = med(calls.map((c) => c.children.filter((ch) => ch.program === prog).length));
    const total = med(calls.map((c) => c.children.filter((ch) => ch.program === prog).reduce((t, ch) => t + ch.ms, 0)));
    return `${prog}×${count} ${total.toFixed(1)}`;
  });
  return [
    `  ${label.padEnd(22)}`,
    pick((p) => p.totalMs),
    pick((p) => p.startMs),
    pick((p) => p.storeMs),
    pick((p) => p.syncMs),
    pick((p) => p.netlinkMs),
    pick((p) => p.exitMs),
    pick((p) => p.otherMs),
    `  ${children.join(', ') || '—'}`,
  ].join(' ');
}

/** The traced call whose total is the median one (a real call, not a blend). */
function medianCall(calls: readonly TracedCall[]): TracedCall | undefined {
  const sorted = [...calls].sort((a, b) => a.totalMs - b.totalMs);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function phaseTable(results: readonly VariantResult[]): string[] {
  const traced = results.some((r) => r.sides.podnet.tracedAdd.length > 0);
  if (!traced) return [];
  const lines = [
    '',
    `phases under strace -f (ms, medians of ${results[0]?.sides.podnet.tracedAdd.length ?? 0} calls; tracing inflates syscalls, so read them as shares):`,
    '    start = exec → config read on stdin (loader, runtime init, module evaluation)',
    '    store = first → last syscall on the IPAM dataDir inside the plugin (sync = fsync/fdatasync within it)',
    '    netlink = inside netlink syscalls; exit = result written → process gone; other = the rest (parsing, JS/Go work, waits)',
    `  ${''.padEnd(22)} total start store  sync netlk  exit other  child processes (count, ms)`,
  ];
  for (const r of results) {
    for (const side of ['podnet', 'reference'] as const) {
      const s = r.sides[side];
      if (s.tracedAdd.length) lines.push(phaseLine(`${r.variant} ${side} ADD`, s.tracedAdd));
      if (s.tracedDel.length) lines.push(phaseLine(`${r.variant} ${side} DEL`, s.tracedDel));
    }
  }
  for (const r of results) {
    const call = medianCall(r.sides.podnet.tracedAdd);
    if (!call) continue;
    lines.push(`  longest idle stretches of a ${r.variant} podnet ADD (traced, ${call.totalMs.toFixed(1)} ms, after the config read):`);
    for (const g of call.gaps) lines.push(`    ${g.ms.toFixed(1).padStart(5)} ms  after ${g.after}  before ${g.before}`);
  }
  return lines;
}

/** The kernel floor against the reference's plain sequential medians. */
export function kernelFloorLines(kf: KernelFloor, results: readonly VariantResult[]): string[] {
  const plain = results.find((r) => r.variant === 'plain');
  const ref = plain?.sides.reference;
  const vs = (v: number, r: number[] | undefined): string => (r?.length ? ` = ${(v / summarize(r).median).toFixed(2)}× the reference` : '');
  return [
    `  Bun floor + kernel work only (veth, address, route; no config, IPAM, checks; probes/kernel.ts):`,
    `            ADD ${fmt(kf.add.median)} (p90 ${fmt(kf.add.p90)})${vs(kf.add.median, ref?.add)}   DEL ${fmt(kf.del.median)} (p90 ${fmt(kf.del.p90)})${vs(kf.del.median, ref?.del)}`,
  ];
}

export function report(
  results: readonly VariantResult[],
  opts: Pick<BenchOptions, 'burst' | 'pods'>,
  extra: readonly string[] = [],
): { text: string; leftovers: number } {
  const table = rows(results, opts);
  const lines = [
    '',
    `CNI call latency, ${[...new Set(results.map((r) => r.labels.podnet))].join(' and ') || 'podnet'} vs reference ${results[0]?.labels.reference ?? ''} (ratio = podnet / reference, < 1 is faster; "thick" rows: through podnetd)`,
    formatTable(table),
    '',
  ];
  const missed = verdicts(table).filter((v) => !v.met);
  lines.push(
    missed.length ? `targets missed: ${missed.map((v) => `${v.label} ${v.ratio.toFixed(2)}× > ${v.target.toFixed(2)}×`).join('; ')}` : 'all targets met',
  );
  for (const r of results) {
    for (const side of ['podnet', 'reference'] as const) {
      const e = r.sides[side].masqEvidence;
      if (e) lines.push(`${r.mode} ${r.variant} ${side} after ${opts.pods} ADDs: ${e}`);
    }
    if (r.daemonRss)
      lines.push(
        `thick ${r.variant}: podnetd RSS ${r.daemonRss.rssMib.toFixed(0)} MiB at the end, peak ${r.daemonRss.peakMib.toFixed(0)} MiB (target ≤ 100 MB)`,
      );
  }
  lines.push('', 'where the time goes (medians):', ...startVsWork(results), ...phaseTable(results), ...extra);
  let leftovers = 0;
  for (const r of results) {
    for (const side of ['podnet', 'reference'] as const) {
      for (const l of r.sides[side].leftovers) {
        leftovers++;
        lines.push(`LEFT BEHIND (${r.variant}, ${side}): ${l}`);
      }
    }
  }
  return { text: lines.join('\n'), leftovers };
}
