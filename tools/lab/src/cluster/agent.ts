// One podnetd per node, run inside the node's namespace like a host-network DaemonSet pod: its
// underlay is the node's `eth0`, its health port the node's loopback, its lease file and log in
// the node's directory of the lab state.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpGetIn } from './http.js';
import { alive, logTail, spawnDetached, stopProcess } from './process.js';
import type { AgentRecord, NodeRecord } from './state.js';

/** Every agent's health/metrics address, inside its own node namespace (so all can share it). */
export const AGENT_LISTEN = '127.0.0.1:9660';

export interface AgentOptions {
  binary: string;
  storeSpec: string;
  networkConfigFile: string;
  /** `--reconcile-period`, e.g. `10s` (the agent's default) or `1s` in tests. */
  reconcilePeriod: string;
  logLevel?: string;
  /** Thick mode: also serve the node's CNI calls on this socket (`--cni-socket`). */
  cniSocket?: string;
}

export function agentArgs(node: NodeRecord, opts: AgentOptions): AgentRecord {
  const leaseFile = path.join(node.dir, 'lease.json');
  return {
    pid: 0,
    listen: AGENT_LISTEN,
    log: path.join(node.dir, 'podnetd.log'),
    leaseFile,
    args: [
      opts.binary,
      'run',
      '--node',
      node.name,
      '--store',
      opts.storeSpec,
      '--network-config',
      opts.networkConfigFile,
      '--underlay',
      node.underlay,
      '--lease-file',
      leaseFile,
      '--listen',
      AGENT_LISTEN,
      '--reconcile-period',
      opts.reconcilePeriod,
      '--log-level',
      opts.logLevel ?? 'info',
      '--log-format',
      'json',
      ...(opts.cniSocket ? ['--cni-socket', opts.cniSocket] : []),
    ],
  };
}

/** The agent's pid file marker: its lease file path is unique to this node of this lab. */
function marker(agent: AgentRecord): string {
  return agent.leaseFile;
}

/** Starts the agent of `agent` in `node`'s namespace and waits for /readyz. */
export async function startAgent(node: NodeRecord, agent: AgentRecord, readyTimeoutMs = 60_000): Promise<AgentRecord> {
  const [binary, ...args] = agent.args as [string, ...string[]];
  const pid = spawnDetached(node.netns, binary, args, agent.log);
  const started = { ...agent, pid };
  await waitAgentReady(node, started, readyTimeoutMs);
  return started;
}

export async function waitAgentReady(node: NodeRecord, agent: AgentRecord, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    // No marker check here: the pid is a fresh child (it cannot have been reused), and while it
    // execs (ip → the launcher → node) its command line can read empty for a moment.
    if (!(await alive(agent.pid))) {
      throw new Error(`podnetd of ${node.name} exited before it was ready; its log (${agent.log}):\n${await logTail(agent.log)}`);
    }
    const r = await httpGetIn(node.netns, `http://${agent.listen}/readyz`);
    if (r.status === 200) return;
    last = `${r.status} ${r.body.trim().slice(0, 200)}`;
    if (Date.now() > deadline) {
      throw new Error(`podnetd of ${node.name} not ready after ${timeoutMs / 1000} s (/readyz: ${last}); its log:\n${await logTail(agent.log)}`);
    }
    await sleep(200);
  }
}

export async function stopAgent(agent: AgentRecord, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  await stopProcess(agent.pid, signal, 15_000, marker(agent));
}

export function agentAlive(agent: AgentRecord): Promise<boolean> {
  return alive(agent.pid, marker(agent));
}

export interface AgentHealth {
  alive: boolean;
  healthz: number;
  readyz: number;
  /** `/status` parsed, when it answered JSON. */
  status?: unknown;
}

export async function agentHealth(node: NodeRecord, agent: AgentRecord): Promise<AgentHealth> {
  if (!(await agentAlive(agent))) return { alive: false, healthz: 0, readyz: 0 };
  const [h, r, s] = await Promise.all(['healthz', 'readyz', 'status'].map((p) => httpGetIn(node.netns, `http://${agent.listen}/${p}`)));
  let status: unknown;
  try {
    status = JSON.parse(s!.body);
  } catch {
    status = undefined;
  }
  return { alive: true, healthz: h!.status, readyz: r!.status, ...(status === undefined ? {} : { status }) };
}
