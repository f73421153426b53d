// podnetd as the integration tests run it. Every file starts the built launcher in a test node
// with the same core arguments (node name, store, network config, lease file, metrics port) and
// waits for /readyz the same way; `useAgentBed` also makes the node, the temp dir with the network
// config and a local lease store before the file's tests, and removes all of it afterwards — a
// still-running agent is SIGKILLed first, also after a failure.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLeaseStore } from '@podnet/cluster';
import type { LeaseStore } from '@podnet/cluster';
import { afterAll, beforeAll } from 'vitest';
import { createNode, destroyNode, httpGet, startAgent } from './node-netns.js';
import type { RunningAgent, TestNode } from './node-netns.js';
import { eventually } from './quiet.js';

type Exit = Awaited<RunningAgent['exited']>;

/** A port for podnetd's HTTP listener inside the node netns (its loopback is its own). */
export const randomPort = (): number => 20_000 + Math.floor(Math.random() * 20_000);

export interface AgentPlace {
  /** The node name podnetd leases under. */
  node: string;
  /** The temp dir holding net-conf.json; the lease file goes there too unless `leaseFile` says. */
  dir: string;
  port: number;
  /** The --store value; a local store in `<dir>/store` by default. */
  store?: string;
  leaseFile?: string;
}

/** The arguments every test passes, then `extra`. */
export function agentArgs(place: AgentPlace, extra: string[] = []): string[] {
  return [
    '--node',
    place.node,
    '--store',
    place.store ?? `local:${join(place.dir, 'store')}`,
    '--network-config',
    join(place.dir, 'net-conf.json'),
    '--lease-file',
    place.leaseFile ?? join(place.dir, 'lease.json'),
    '--listen',
    `127.0.0.1:${place.port}`,
    ...extra,
  ];
}

/**
 * Start podnetd in `node` and wait for /readyz 200. An agent that exits first fails with its logs;
 * one that never gets ready is killed before the error is thrown, so nothing outlives the test.
 */
export async function startReady(node: TestNode, port: number, args: string[], timeoutMs = 20_000): Promise<RunningAgent> {
  const agent = startAgent(node, args);
  try {
    await eventually(
      '/readyz 200',
      async () => {
        const exit = await Promise.race([agent.exited, new Promise<undefined>((resolve) => setTimeout(resolve, 0))]);
        if (exit) throw new Error(`podnetd exited ${JSON.stringify(exit)}:\n${agent.logs.join('\n')}`);
        return httpGet(node, port, '/readyz').status === 200;
      },
      timeoutMs,
      100,
    );
  } catch (error) {
    await killAgent(agent);
    throw error;
  }
  return agent;
}

/** SIGKILL and reap: for clean-up after a test that left its agent running. */
export async function killAgent(agent: RunningAgent | undefined): Promise<void> {
  if (!agent) return;
  agent.child.kill('SIGKILL');
  await agent.exited;
}

export interface AgentBed {
  /** The per-run id in every name this file creates (`pna-<id>-…`). */
  readonly id: string;
  readonly port: number;
  readonly node: TestNode;
  readonly dir: string;
  /** The bed's local lease store, opened by the test itself to play the rest of the cluster. */
  readonly store: LeaseStore;
  /** The agent `start` started and `stop` or `kill` has not stopped; throws when there is none. */
  readonly agent: RunningAgent;
  /** The core arguments with node name `pna-<id>-<nodeSuffix>`, then `extra`. */
  args(nodeSuffix: string, extra?: string[]): string[];
  start(args: string[], timeoutMs?: number): Promise<RunningAgent>;
  /** SIGTERM the running agent and wait for it to exit. */
  stop(): Promise<Exit>;
  /** SIGKILL the running agent and reap it: a crash at an arbitrary moment. */
  kill(): Promise<void>;
  leaseFile<T>(): T;
}

export interface AgentBedOptions {
  /** The temp dir's name prefix (pna-…). */
  dirPrefix: string;
  /** The node's underlay address (a /24 with its gateway at .254). */
  address?: string;
  /** The network config podnetd reads (net-conf.json). */
  netConf: object;
  /** Where the lease file goes, relative to the dir. */
  leaseFile?: string;
}

/** Registers this file's beforeAll/afterAll: the node, the dir, the store; all removed afterwards. */
export function useAgentBed(options: AgentBedOptions): AgentBed {
  const id = randomBytes(2).toString('hex');
  const port = randomPort();
  let node: TestNode | undefined;
  let dir: string | undefined;
  let store: LeaseStore | undefined;
  let agent: RunningAgent | undefined;
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the agent bed's ${what} is used before its beforeAll ran`);
    return value;
  };
  const leasePath = () => join(need(dir, 'dir'), options.leaseFile ?? 'lease.json');

  beforeAll(async () => {
    node = createNode(id, options.address);
    dir = mkdtempSync(join(tmpdir(), options.dirPrefix));
    writeFileSync(join(dir, 'net-conf.json'), JSON.stringify(options.netConf));
    store = await openLeaseStore({ kind: 'local', dir: join(dir, 'store') });
  });

  afterAll(async () => {
    await killAgent(agent);
    await store?.close();
    if (node) destroyNode(node);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  return {
    id,
    port,
    get node() {
      return need(node, 'node');
    },
    get dir() {
      return need(dir, 'dir');
    },
    get store() {
      return need(store, 'store');
    },
    get agent() {
      if (!agent) throw new Error('no podnetd is running in this agent bed: start() it first');
      return agent;
    },
    args: (nodeSuffix, extra = []) => agentArgs({ node: `pna-${id}-${nodeSuffix}`, dir: need(dir, 'dir'), port, leaseFile: leasePath() }, extra),
    async start(args, timeoutMs) {
      agent = await startReady(need(node, 'node'), port, args, timeoutMs);
      return agent;
    },
    async stop() {
      const running = this.agent;
      running.child.kill('SIGTERM');
      const exit = await running.exited;
      agent = undefined;
      return exit;
    },
    async kill() {
      await killAgent(this.agent);
      agent = undefined;
    },
    leaseFile: <T>() => JSON.parse(readFileSync(leasePath(), 'utf8')) as T,
  };
}
