// A test "node": a network namespace with an underlay veth whose other end sits in a fabric
// namespace, an address on it and a default route through it, and podnetd started inside it as
// the lab starts it (`nsenter --net=/run/netns/<node> dist/bin/podnetd …`). Names carry the
// `pna-` prefix and a per-run id; everything is removed in `destroy`, also after a failure.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { PODNETD } from './paths.js';

export function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input !== undefined ? { input } : {}) });
}

export function inNs(ns: string, cmd: string, args: string[], input?: string): string {
  return sh('nsenter', [`--net=/run/netns/${ns}`, cmd, ...args], input);
}

/** Remove leftovers of an earlier crashed run (every netns with our prefix and this id). */
export function sweepNetns(prefix: string): void {
  for (const line of sh('ip', ['netns', 'list']).split('\n')) {
    const name = line.split(' ')[0];
    if (name && name.startsWith(prefix)) sh('ip', ['netns', 'del', name]);
  }
}

export interface TestNode {
  ns: string;
  fabric: string;
  underlay: string;
  address: string;
}

export function createNode(id: string, address = '192.168.77.1', prefixLength = 24): TestNode {
  const ns = `pna-${id}-node`;
  const fabric = `pna-${id}-fab`;
  const underlay = `pna${id}u`;
  sh('ip', ['netns', 'add', ns]);
  sh('ip', ['netns', 'add', fabric]);
  sh('ip', ['-n', ns, 'link', 'add', underlay, 'type', 'veth', 'peer', 'name', `pna${id}f`, 'netns', fabric]);
  sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  sh('ip', ['-n', ns, 'link', 'set', underlay, 'up']);
  sh('ip', ['-n', fabric, 'link', 'set', `pna${id}f`, 'up']);
  sh('ip', ['-n', ns, 'address', 'add', `${address}/${prefixLength}`, 'dev', underlay]);
  const gw = address.replace(/\.\d+$/, '.254');
  sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', gw, 'dev', underlay]);
  return { ns, fabric, underlay, address };
}

export function destroyNode(node: TestNode): void {
  for (const ns of [node.ns, node.fabric]) if (existsSync(`/run/netns/${ns}`)) sh('ip', ['netns', 'del', ns]);
}

export interface RunningAgent {
  child: ChildProcess;
  logs: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startAgent(node: TestNode, args: string[]): RunningAgent {
  const child = spawn('nsenter', [`--net=/run/netns/${node.ns}`, PODNETD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  // Whole lines only: a chunk may end mid-line.
  const collector = (): ((chunk: Buffer) => void) => {
    let partial = '';
    return (chunk) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      logs.push(...parts.filter(Boolean));
    };
  };
  child.stdout?.on('data', collector());
  child.stderr?.on('data', collector());
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, logs, exited };
}

/** GET http://127.0.0.1:<port><path> from inside the node's netns (its loopback is not ours). */
export function httpGet(node: TestNode, port: number, path: string): { status: number; body: string } {
  const script = `fetch('http://127.0.0.1:${port}${path}').then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })), (e) => process.stdout.write(JSON.stringify({ status: 0, body: String(e) })))`;
  return JSON.parse(inNs(node.ns, process.execPath, ['-e', script])) as { status: number; body: string };
}

export interface KernelRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string | number;
}

export function routes(node: TestNode, extra: string[] = []): KernelRoute[] {
  return JSON.parse(inNs(node.ns, 'ip', ['-j', 'route', 'show', ...extra]) || '[]') as KernelRoute[];
}
