// Long-lived lab processes (agents, etcd): started detached inside a namespace with their output
// appended to a log file, so they outlive the `lab up` command; tracked by pid, which `down`
// does not even need (it kills whatever runs in the lab's namespaces).
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** Starts `cmd args` inside namespace `netns` (`ip netns exec` execs, so the pid is the program's). */
export function spawnDetached(netns: string, cmd: string, args: readonly string[], log: string, env?: Record<string, string>): number {
  const fd = openSync(log, 'a');
  try {
    const child = spawn('ip', ['netns', 'exec', netns, cmd, ...args], {
      detached: true,
      stdio: ['ignore', fd, fd],
      ...(env ? { env: { ...process.env, ...env } } : {}),
    });
    // A spawn failure (ENOENT of `ip`) is reported by the readiness wait, which sees no process.
    child.on('error', () => {});
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${cmd} in ${netns}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** True while `pid` runs (a zombie counts as gone) and, when given, its command line contains `marker`. */
export async function alive(pid: number, marker?: string): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The state is the first field after the parenthesised command name.
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    if (marker === undefined) return true;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
    return cmdline.includes(marker);
  } catch {
    return false;
  }
}

/**
 * Sends `signal` to the process's group (it leads one: it was started detached, so a launcher
 * script and the program it runs are stopped together) and waits until the process is gone;
 * escalates to SIGKILL after `graceMs`.
 */
export async function stopProcess(pid: number, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000, marker?: string): Promise<void> {
  if (!(await alive(pid, marker))) return;
  if (!signalGroup(pid, signal)) return;
  const deadline = Date.now() + graceMs;
  let killed = false;
  while ((await alive(pid)) || groupExists(pid)) {
    if (!killed && Date.now() > deadline) {
      signalGroup(pid, 'SIGKILL');
      killed = true;
    }
    if (Date.now() > deadline + 5_000) break;
    await sleep(50);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

function groupExists(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The last `lines` lines of a log, for error messages. */
export async function logTail(log: string, lines = 20): Promise<string> {
  try {
    return (await readFile(log, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
