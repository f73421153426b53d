// Shell and namespace helpers the root benchmarks share (vxlan, agent): synchronous `ip` calls,
// namespaces remembered and removed at exit, command-line options.
import { spawnSync } from 'node:child_process';

export function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : (process.argv[i + 1] ?? fallback);
}

export function sh(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...(input !== undefined ? { input } : {}) });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout;
}
export const ip = (ns: string, ...args: string[]): string => sh('ip', ['-n', ns, ...args]);
export const exec = (ns: string, ...args: string[]): string => sh('ip', ['netns', 'exec', ns, ...args]);

const made: string[] = [];
let hooked = false;

/** A new netns with lo up, removed by cleanup() (also at exit and on SIGINT). */
export function netns(name: string): string {
  if (!hooked) {
    hooked = true;
    process.on('exit', cleanup);
    process.on('SIGINT', () => process.exit(130));
  }
  sh('ip', ['netns', 'add', name]);
  made.push(name);
  ip(name, 'link', 'set', 'lo', 'up');
  return name;
}

/** Delete one namespace made by netns(). */
export function dropNetns(ns: string): void {
  spawnSync('ip', ['netns', 'delete', ns]);
  const i = made.indexOf(ns);
  if (i >= 0) made.splice(i, 1);
}

export function cleanup(): void {
  for (const ns of made.splice(0)) spawnSync('ip', ['netns', 'delete', ns]);
}
