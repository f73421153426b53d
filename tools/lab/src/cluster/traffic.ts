// Traffic and kernel observers for the failure scenarios: a bounded ping series (loss across an
// agent restart) and a route monitor (churn while etcd restarts).
import { spawn } from 'node:child_process';
import { Netns } from '../netns.js';

export interface PingSeries {
  transmitted: number;
  received: number;
  output: string;
}

/** `count` echoes every `intervalS` seconds from `netns` to `ip`; resolves when the series ends. */
export async function pingSeries(netns: string, ip: string, count: number, intervalS = 0.2): Promise<PingSeries> {
  const r = await new Netns(netns).exec('ping', ['-n', '-q', '-i', String(intervalS), '-c', String(count), '-W', '1', ip], {
    timeoutMs: (count * intervalS + 10) * 1000,
  });
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  if (!m) throw new Error(`ping from ${netns} to ${ip}: no summary (exit ${r.code}): ${r.stdout}${r.stderr}`);
  return { transmitted: Number(m[1]), received: Number(m[2]), output: r.stdout.trim() };
}

export interface RouteMonitor {
  /** Stops the monitor and returns every route event line it printed. */
  stop(): Promise<string[]>;
}

/** Starts `ip monitor route` inside `netns`: every route add/delete/change there is one line. */
export async function monitorRoutes(netns: string): Promise<RouteMonitor> {
  const child = spawn('ip', ['-n', netns, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
  // The netlink subscription is made right after exec; a short pause makes sure it exists
  // before the caller starts the change it wants to observe.
  await new Promise((r) => setTimeout(r, 200));
  return {
    stop: () =>
      new Promise<string[]>((resolve) => {
        child.once('exit', () => resolve(out.split('\n').filter((l) => l.trim())));
        child.kill('SIGTERM');
      }),
  };
}
