// Named network namespaces (`/run/netns/<name>`), driven through iproute2 from the root netns:
// `ip netns add` run inside another `ip netns exec` would be invisible outside it.
import { readdir } from 'node:fs/promises';
import { run, runOk, type RunOptions, type RunResult } from './exec.js';

export class Netns {
  constructor(readonly name: string) {}

  /** What a runtime passes as CNI_NETNS. */
  get path(): string {
    return `/run/netns/${this.name}`;
  }

  /** Runs `cmd` inside this namespace (`ip netns exec`, which also remounts /sys for it). */
  exec(cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args], opts);
  }

  execOk(cmd: string, args: readonly string[], opts?: RunOptions): Promise<string> {
    return runOk('ip', ['netns', 'exec', this.name, cmd, ...args], opts);
  }
}

/** Creates the namespace and brings its loopback up (a runtime does the same for a pod). */
export async function createNetns(name: string): Promise<Netns> {
  await runOk('ip', ['netns', 'add', name]);
  const ns = new Netns(name);
  try {
    await runOk('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (err) {
    await deleteNetns(name);
    throw err;
  }
  return ns;
}

/** Deletes the namespace; a namespace that is already gone is fine. */
export async function deleteNetns(name: string): Promise<void> {
  const r = await run('ip', ['netns', 'delete', name]);
  if (r.code !== 0 && (await netnsExists(name))) {
    throw new Error(`ip netns delete ${name} failed: ${r.stderr.trim()}`);
  }
}

export async function listNetns(): Promise<string[]> {
  try {
    return await readdir('/run/netns');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export async function netnsExists(name: string): Promise<boolean> {
  return (await listNetns()).includes(name);
}

/**
 * Deletes every namespace whose name starts with `prefix`: the leftovers of a run that was
 * killed before it could clean up. Only call it with a prefix that no running program uses.
 */
export async function sweepNetns(prefix: string): Promise<string[]> {
  const stale = (await listNetns()).filter((n) => n.startsWith(prefix));
  for (const name of stale) await deleteNetns(name);
  return stale;
}
