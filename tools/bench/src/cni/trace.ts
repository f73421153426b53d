// Where one CNI call's time goes, read from `strace -f -ttt -T` of that call. Pure: trace text
// in, phases out. The timestamps are inflated by tracing, so the phases are meant as shares of a
// traced run, next to the untraced medians.
//
// A line is `<tid> <epoch seconds> <syscall>(<args>) = <ret> <duration>`, or split in two
// (`… <unfinished ...>` then `<... name resumed> …`), or `<tid> <time> +++ exited with N +++`.

/** The syscalls a trace needs for these phases (`strace -e trace=…`). */
export const TRACED_SYSCALLS = [
  'execve',
  'read',
  'write',
  'openat',
  'mkdir',
  'fcntl',
  'sendto',
  'sendmsg',
  'recvfrom',
  'recvmsg',
  'fsync',
  'fdatasync',
  'clone',
  'clone3',
  'vfork',
  'fork',
  'exit_group',
] as const;

export interface TraceEvent {
  tid: number;
  /** Seconds since the epoch at the call (the unfinished half for split calls). */
  ts: number;
  name: string;
  /** Everything between the syscall name and the duration, both halves joined. */
  text: string;
  /** The return value (the child tid for clone); undefined for `?` or a missing value. */
  ret?: number | undefined;
  /** Seconds spent in the syscall (`-T`). */
  dur: number;
}

export interface ParsedTrace {
  events: TraceEvent[];
  /** tid → time of its `+++ exited` / `+++ killed` line. */
  exits: Map<number, number>;
}

const LINE = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/;

export function parseTrace(text: string): ParsedTrace {
  const events: TraceEvent[] = [];
  const exits = new Map<number, number>();
  const pending = new Map<number, { ts: number; name: string; text: string }>();
  for (const raw of text.split('\n')) {
    const m = LINE.exec(raw.trim());
    if (!m) continue;
    const tid = Number(m[1]);
    const ts = Number(m[2]);
    const rest = m[3] ?? '';
    if (rest.startsWith('+++')) {
      exits.set(tid, ts);
      continue;
    }
    if (rest.startsWith('---')) continue;
    let name: string;
    let body: string;
    let start = ts;
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(rest);
    if (resumed) {
      name = resumed[1] ?? '';
      const first = pending.get(tid);
      pending.delete(tid);
      body = `${first?.text ?? ''}${resumed[2] ?? ''}`;
      if (first) start = first.ts;
    } else {
      const call = /^(\w+)\((.*)$/.exec(rest);
      if (!call) continue;
      name = call[1] ?? '';
      body = call[2] ?? '';
      if (body.endsWith('<unfinished ...>')) {
        pending.set(tid, { ts, name, text: body.slice(0, -'<unfinished ...>'.length) });
        continue;
      }
    }
    const dur = /<(\d+\.\d+)>\s*$/.exec(body);
    const ret = /\)\s+=\s+(-?\d+)[^=]*$/.exec(body);
    events.push({ tid, ts: start, name, text: body, ret: ret ? Number(ret[1]) : undefined, dur: dur ? Number(dur[1]) : 0 });
  }
  return { events, exits };
}

export interface ChildSpan {
  /** Basename of what the child executed. */
  program: string;
  ms: number;
}

export interface CallPhases {
  /** execve of the plugin to the exit of its main thread. */
  totalMs: number;
  /** execve to the first read of the config on stdin: loader, runtime init, module evaluation. */
  startMs: number;
  /**
   * In-process IPAM store: from the first syscall of the plugin naming the IPAM data dir to the
   * last one of those, of its fsyncs, or of its lock releases (a store's close ends with those).
   */
  storeMs: number;
  /** fsync + fdatasync inside the plugin process. */
  syncMs: number;
  /** Time inside netlink send/receive syscalls of the plugin process (the kernel's work). */
  netlinkMs: number;
  /** Processes the plugin started (IPAM delegate, iptables, nft): each one from its first syscall to its exit. */
  children: ChildSpan[];
  /** The result written on stdout to the exit of the process. */
  exitMs: number;
  /** What is left: parsing, computing, waiting between the phases above. */
  otherMs: number;
}

const CLONES = new Set(['clone', 'clone3', 'vfork', 'fork']);

/** tid → process (its first tid): threads join their creator's process, other clones start a new one. */
function processes(events: readonly TraceEvent[], main: number): Map<number, number> {
  const proc = new Map<number, number>([[main, main]]);
  for (const e of events) {
    if (!proc.has(e.tid)) proc.set(e.tid, e.tid);
    if (CLONES.has(e.name) && e.ret !== undefined && e.ret > 0) {
      proc.set(e.ret, e.text.includes('CLONE_THREAD') ? (proc.get(e.tid) ?? e.tid) : e.ret);
    }
  }
  return proc;
}

const base = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/**
 * Splits one traced call into phases. `dataDir` is the IPAM directory of the config (it tells the
 * in-process store's syscalls apart); the first execve in the trace is the plugin itself.
 */
export function callPhases(trace: ParsedTrace, dataDir: string): CallPhases {
  const { events, exits } = trace;
  const first = events.find((e) => e.name === 'execve');
  if (!first) throw new Error('trace has no execve: was the plugin traced with -f -e trace=execve,…?');
  const main = first.tid;
  const proc = processes(events, main);
  const programs = new Map<number, string>();
  for (const e of events) {
    if (e.name === 'execve' && e.tid !== main && (e.ret === 0 || e.ret === undefined)) {
      const path = /^"([^"]*)"/.exec(e.text)?.[1];
      if (path) programs.set(proc.get(e.tid) ?? e.tid, base(path));
    }
  }
  const inMain = (e: TraceEvent): boolean => proc.get(e.tid) === main;
  const end = exits.get(main) ?? Math.max(...events.map((e) => e.ts + e.dur));
  const ms = (s: number): number => s * 1000;

  const stdin = events.find((e) => inMain(e) && e.name === 'read' && e.text.startsWith('0,'));
  const touches = events.filter((e) => inMain(e) && e.text.includes(dataDir));
  const store = touches.length
    ? events.filter(
        (e) =>
          inMain(e) &&
          e.ts >= (touches[0]?.ts ?? 0) &&
          (e.text.includes(dataDir) || e.name === 'fsync' || e.name === 'fdatasync' || (e.name === 'fcntl' && e.text.includes('F_UNLCK'))),
      )
    : [];
  const storeMs = store.length ? ms(Math.max(...store.map((e) => e.ts + e.dur)) - (store[0]?.ts ?? 0)) : 0;
  const sum = (names: readonly string[]): number => ms(events.filter((e) => inMain(e) && names.includes(e.name)).reduce((t, e) => t + e.dur, 0));
  const out = events.find((e) => inMain(e) && e.name === 'write' && e.text.startsWith('1,'));

  const children: ChildSpan[] = [];
  for (const [pid, program] of programs) {
    const own = events.filter((e) => proc.get(e.tid) === pid);
    const from = Math.min(...own.map((e) => e.ts));
    const to = exits.get(pid) ?? Math.max(...own.map((e) => e.ts + e.dur));
    children.push({ program, ms: ms(to - from) });
  }

  const totalMs = ms(end - first.ts);
  const startMs = stdin ? ms(stdin.ts - first.ts) : 0;
  const syncMs = sum(['fsync', 'fdatasync']);
  const netlinkMs = sum(['sendto', 'sendmsg', 'recvfrom', 'recvmsg']);
  const exitMs = out ? ms(end - out.ts) : 0;
  const childMs = children.reduce((t, c) => t + c.ms, 0);
  return {
    totalMs,
    startMs,
    storeMs,
    syncMs,
    netlinkMs,
    children,
    exitMs,
    otherMs: totalMs - startMs - storeMs - netlinkMs - childMs - exitMs,
  };
}

export interface Gap {
  ms: number;
  /** The traced syscalls on either side (name and the start of its arguments). */
  after: string;
  before: string;
}

const label = (e: TraceEvent): string => `${e.name}(${e.text.replace(/\s+/g, ' ').slice(0, 48)}…)`;

/**
 * The longest stretches after the config was read in which the plugin process made none of the
 * traced syscalls: user-space work (JS or Go), or waits on untraced ones (futex, epoll). Where the
 * "other" time of `callPhases` sits.
 */
export function largestGaps(trace: ParsedTrace, count: number): Gap[] {
  const first = trace.events.find((e) => e.name === 'execve');
  if (!first) return [];
  const main = first.tid;
  const proc = processes(trace.events, main);
  const stdin = trace.events.find((e) => proc.get(e.tid) === main && e.name === 'read' && e.text.startsWith('0,'));
  if (!stdin) return [];
  // Busy intervals: each syscall of the plugin process, and each child process as a whole.
  const spans: Array<{ from: number; to: number; what: string }> = [];
  const children = new Map<number, TraceEvent[]>();
  for (const e of trace.events) {
    const p = proc.get(e.tid) ?? e.tid;
    if (p === main) spans.push({ from: e.ts, to: e.ts + e.dur, what: label(e) });
    else children.set(p, [...(children.get(p) ?? []), e]);
  }
  for (const [pid, events] of children) {
    const exec = events.find((e) => e.name === 'execve');
    const what = exec ? `child ${base(/^"([^"]*)"/.exec(exec.text)?.[1] ?? '?')}` : `child ${pid}`;
    spans.push({ from: Math.min(...events.map((e) => e.ts)), to: trace.exits.get(pid) ?? Math.max(...events.map((e) => e.ts + e.dur)), what });
  }
  spans.sort((a, b) => a.from - b.from);
  const gaps: Gap[] = [];
  let busyUntil = stdin.ts + stdin.dur;
  let last = label(stdin);
  for (const s of spans) {
    if (s.to <= busyUntil) continue;
    if (s.from > busyUntil) gaps.push({ ms: (s.from - busyUntil) * 1000, after: last, before: s.what });
    busyUntil = s.to;
    last = s.what;
  }
  return gaps.sort((a, b) => b.ms - a.ms).slice(0, count);
}
