// Thick mode on a node without an agent (the single-node bridge lab): `podnetd serve-cni` alone
// in the node's namespace, serving the node's CNI calls on the node's own socket. (With an agent,
// the agent itself serves them: `podnetd run --cni-socket`, agent.ts.)
import { lstat, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { alive, logTail, spawnDetached, stopProcess } from './process.js';
import type { CniDaemonRecord, NodeRecord } from './state.js';

export function cniDaemonArgs(node: NodeRecord, binary: string, socket: string, logLevel = 'info'): CniDaemonRecord {
  return {
    pid: 0,
    log: path.join(node.dir, 'podnetd-cni.log'),
    args: [binary, 'serve-cni', '--cni-socket', socket, '--log-level', logLevel, '--log-format', 'json'],
  };
}

/** The socket a daemon record serves (its `--cni-socket`), also the marker of its process. */
function socketOf(daemon: CniDaemonRecord): string {
  const i = daemon.args.indexOf('--cni-socket');
  const socket = i >= 0 ? daemon.args[i + 1] : undefined;
  if (!socket) throw new Error(`CNI daemon record without --cni-socket: ${daemon.args.join(' ')}`);
  return socket;
}

async function isSocket(file: string): Promise<boolean> {
  try {
    return (await lstat(file)).isSocket();
  } catch {
    return false;
  }
}

/** Starts the daemon in `node`'s namespace and waits until its socket is there. */
export async function startCniDaemon(node: NodeRecord, daemon: CniDaemonRecord, timeoutMs = 30_000): Promise<CniDaemonRecord> {
  const socket = socketOf(daemon);
  // A killed daemon leaves its socket file behind: wait for the new one, not the old one.
  await rm(socket, { force: true });
  const [binary, ...args] = daemon.args as [string, ...string[]];
  const pid = spawnDetached(node.netns, binary, args, daemon.log);
  const deadline = Date.now() + timeoutMs;
  while (!(await isSocket(socket))) {
    if (!(await alive(pid)))
      throw new Error(`podnetd serve-cni of ${node.name} exited before serving ${socket}; its log (${daemon.log}):\n${await logTail(daemon.log)}`);
    if (Date.now() > deadline)
      throw new Error(`podnetd serve-cni of ${node.name}: no socket ${socket} after ${timeoutMs / 1000} s; its log:\n${await logTail(daemon.log)}`);
    await sleep(50);
  }
  return { ...daemon, pid };
}

export async function stopCniDaemon(daemon: CniDaemonRecord, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  await stopProcess(daemon.pid, signal, 15_000, socketOf(daemon));
}

export function cniDaemonAlive(daemon: CniDaemonRecord): Promise<boolean> {
  return alive(daemon.pid, socketOf(daemon));
}
