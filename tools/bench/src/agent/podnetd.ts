// One podnetd (the built agent, on Node) in a node netns, seen from the benchmark: its JSON log
// lines as they arrive (each stamped with the arrival time), waits on them, and its process
// counters from /proc (CPU ticks, RSS).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const PODNETD = join(ROOT, 'dist', 'bin', 'podnetd');

export interface LogLine {
  /** performance.timeOrigin + performance.now() when the line reached us (epoch ms). */
  seenAt: number;
  msg: string;
  [key: string]: unknown;
}

type Waiter = { test: (l: LogLine) => boolean; resolve: (l: LogLine) => void; reject: (e: Error) => void; timer: Timer };

export const epochNow = (): number => performance.timeOrigin + performance.now();

export class Podnetd {
  readonly lines: LogLine[] = [];
  readonly #proc: ChildProcess;
  #waiters: Waiter[] = [];
  #exited: string | undefined;
  #stderr = '';

  constructor(ns: string, args: string[], extraArgs: string[] = []) {
    this.#proc = spawn('ip', ['netns', 'exec', ns, ...extraArgs, PODNETD, 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let rest = '';
    // podnetd logs to stderr (pino, JSON lines); stdout carries nothing of interest.
    this.#proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      const seenAt = epochNow();
      rest += chunk;
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        const text = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        let line: LogLine;
        try {
          line = { ...(JSON.parse(text) as object), seenAt } as LogLine;
        } catch {
          this.#stderr = (this.#stderr + text + '\n').slice(-4000);
          continue;
        }
        // Per-peer lines are not kept (5,000 of them per run); waiters still see them.
        if (line.msg !== 'peer joined') this.lines.push(line);
        this.#waiters = this.#waiters.filter((w) => {
          if (!w.test(line)) return true;
          clearTimeout(w.timer);
          w.resolve(line);
          return false;
        });
      }
    });
    this.#proc.stdout!.resume();
    this.#proc.on('exit', (code, signal) => {
      this.#exited = `podnetd exited (${code ?? signal}): ${this.#stderr.trim()}`;
      for (const w of this.#waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(new Error(this.#exited));
      }
    });
  }

  get pid(): number {
    return this.#proc.pid!;
  }

  /** The next log line (from now on) passing `test`. */
  next(test: (l: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine> {
    if (this.#exited) return Promise.reject(new Error(this.#exited));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.timer !== timer);
        const tail = this.lines
          .slice(-5)
          .map((l) => JSON.stringify(l))
          .join('\n  ');
        reject(new Error(`podnetd: no "${what}" within ${timeoutMs} ms; last lines:\n  ${tail}\n  stderr: ${this.#stderr.trim()}`));
      }, timeoutMs);
      this.#waiters.push({ test, resolve, reject, timer });
    });
  }

  /** utime + stime of the process in clock ticks (1/100 s). */
  cpuTicks(): number {
    // Fields after the command name "(…)": state is field 3, utime 14, stime 15.
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  }

  /** utime + stime per thread name (main thread "node", V8's workers, libuv's pool "libuv-worker"). */
  threadTicks(): Map<string, { user: number; sys: number }> {
    const out = new Map<string, { user: number; sys: number }>();
    for (const task of readdirSync(`/proc/${this.pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${this.pid}/task/${task}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const t = out.get(name) ?? { user: 0, sys: 0 };
        t.user += Number(fields[11]);
        t.sys += Number(fields[12]);
        out.set(name, t);
      } catch {
        // the thread ended
      }
    }
    return out;
  }

  /** VmRSS and VmHWM (peak) in MB. */
  memory(): { rssMb: number; peakMb: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  }

  async stop(): Promise<void> {
    if (this.#exited) return;
    const done = new Promise<void>((r) => this.#proc.once('exit', () => r()));
    this.#proc.kill('SIGTERM');
    const t = setTimeout(() => this.#proc.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(t);
  }
}
