// `down`, also after a crash: everything a lab made carries its id (which starts with the lab
// prefix), so removal needs no record — kill every process living in the lab's namespaces
// (agents, etcd, probes), delete the namespaces (pods first), remove the state directories.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../exec.js';
import { deleteNetns, listNetns } from '../netns.js';
import { alive } from './process.js';
import { labDirs } from './state.js';

export interface SweepReport {
  namespaces: string[];
  processes: number[];
  dirs: string[];
}

async function pidsIn(netns: string): Promise<number[]> {
  const r = await run('ip', ['netns', 'pids', netns]);
  return r.stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 1 && n !== process.pid);
}

/** Removes every lab whose id starts with `prefix` (namespaces and state under `stateRoot`). */
export async function sweepLabs(prefix: string, stateRoot: string): Promise<SweepReport> {
  if (prefix.length < 3) throw new Error(`refusing to sweep with the prefix "${prefix}": too broad`);
  return sweep((name) => name.startsWith(prefix), stateRoot);
}

/**
 * Removes the one lab `id`: its namespaces are `id` itself or `<id>-…`, its state `stateRoot/id`.
 * Exact, unlike a prefix: lab `pnl-x1` must not take lab `pnl-x1ab` with it.
 */
export async function sweepLab(id: string, stateRoot: string): Promise<SweepReport> {
  if (id.length < 3) throw new Error(`refusing to sweep the lab "${id}": too short an id`);
  return sweep((name) => name === id || name.startsWith(`${id}-`), stateRoot);
}

async function sweep(ours: (name: string) => boolean, stateRoot: string): Promise<SweepReport> {
  const namespaces = (await listNetns()).filter(ours);
  const processes = (await Promise.all(namespaces.map(pidsIn))).flat();
  // SIGTERM first so agents and etcd exit cleanly, then SIGKILL whatever is left after 5 s.
  for (const pid of processes) signal(pid, 'SIGTERM');
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && (await Promise.all(processes.map((p) => alive(p)))).some(Boolean)) await sleep(50);
  for (const pid of processes) if (await alive(pid)) signal(pid, 'SIGKILL');
  const errors: string[] = [];
  // Longer names first: a pod's namespace (`<node>-<pod>`) goes before its node's.
  for (const name of [...namespaces].sort((a, b) => b.length - a.length)) {
    try {
      await deleteNetns(name);
    } catch (err) {
      errors.push(err instanceof Error ? err.message : String(err));
    }
  }
  const dirs = (await labDirs(stateRoot, '')).filter((dir) => ours(path.basename(dir)));
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  if (errors.length) throw new Error(`lab down: ${errors.join('; ')}`);
  return { namespaces, processes, dirs };
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
