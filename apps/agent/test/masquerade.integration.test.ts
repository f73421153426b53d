// Masquerade and forward accept with real traffic: a node netns whose iptables FORWARD policy is
// DROP, a pod netns behind it (an address of the node's leased subnet), and a fabric netns
// standing in for the outside world and for a remote node. Each receiver reports the source
// address it saw: pod → outside is masqueraded to the node's underlay address; pod → another
// cluster address, a remote node → pod, and node → pod keep their own address.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORWARD_COMMENT } from '../src/forward-accept.js';
import { PODNETD } from './support/paths.js';
import { createNode, destroyNode, httpGet, inNs, sh, startAgent } from './support/node-netns.js';
import type { RunningAgent, TestNode } from './support/node-netns.js';
import { eventually } from './support/quiet.js';

const id = randomBytes(2).toString('hex');
const NETWORK = '10.214.0.0/16';
const REMOTE_POD = '10.214.200.5';
const port = 20_000 + Math.floor(Math.random() * 20_000);
let node: TestNode;
let pod: string;
let dir: string;
let agent: RunningAgent | undefined;
const servers: ChildProcess[] = [];
let podAddress = '';
let gateway = '';

/** A TCP server that answers each connection with the peer address it saw, then closes. */
async function sourceServer(ns: string, host: string, tcpPort: number): Promise<void> {
  const script = `require('net').createServer((s) => s.end(s.remoteAddress)).listen(${tcpPort}, '${host}', () => console.log('listening'))`;
  const child = spawn('nsenter', [`--net=/run/netns/${ns}`, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  servers.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`source server in ${ns} exited ${code}`)));
  });
}

/** Connect from `ns` and return the address the server saw. */
function seenSource(ns: string, host: string, tcpPort: number): string {
  const script = `const s = require('net').connect(${tcpPort}, '${host}'); let d = ''; s.on('data', (c) => (d += c)); s.on('end', () => { process.stdout.write(d); process.exit(0); }); s.on('error', (e) => { console.error(e.message); process.exit(1); }); setTimeout(() => { console.error('timeout'); process.exit(2); }, 3000);`;
  return inNs(ns, process.execPath, ['-e', script]).replace(/^::ffff:/, '');
}

beforeAll(async () => {
  node = createNode(id, '192.168.78.1');
  pod = `pna-${id}-pod`;
  dir = mkdtempSync(join(tmpdir(), 'pna-masq-'));
  writeFileSync(join(dir, 'net-conf.json'), JSON.stringify({ Network: NETWORK, Backend: { Type: 'host-gw' } }));
  // The fabric: the outside world at .254 (the node's default gateway), and a remote node whose
  // pods (10.214.200.0/24) it routes itself; it reaches the cluster network through our node.
  sh('ip', ['-n', node.fabric, 'address', 'add', '192.168.78.254/24', 'dev', `pna${id}f`]);
  sh('ip', ['-n', node.fabric, 'address', 'add', `${REMOTE_POD}/32`, 'dev', 'lo']);
  sh('ip', ['-n', node.fabric, 'link', 'set', 'lo', 'up']);
  sh('ip', ['-n', node.fabric, 'route', 'add', NETWORK, 'via', '192.168.78.1']);
  // The node: forwarding on, iptables FORWARD policy DROP (what Docker leaves behind).
  inNs(node.ns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  inNs(node.ns, 'iptables', ['-P', 'FORWARD', 'DROP']);
  // The remote node's pod subnet, as a peer route would say (added by hand: no peer lease here).
  sh('ip', ['-n', node.ns, 'route', 'add', '10.214.200.0/24', 'via', '192.168.78.254']);

  agent = startAgent(node, [
    '--node',
    `pna-${id}-m1`,
    '--store',
    `local:${join(dir, 'store')}`,
    '--network-config',
    join(dir, 'net-conf.json'),
    '--lease-file',
    join(dir, 'lease.json'),
    '--listen',
    `127.0.0.1:${port}`,
    '--reconcile-period',
    '1s',
    '--lease-ttl',
    '30s',
  ]);
  const a = agent;
  await eventually(
    '/readyz 200',
    async () => {
      const exit = await Promise.race([a.exited, new Promise<undefined>((r) => setTimeout(r, 0))]);
      if (exit) throw new Error(`podnetd exited ${JSON.stringify(exit)}:\n${a.logs.join('\n')}`);
      return httpGet(node, port, '/readyz').status === 200;
    },
    20_000,
    100,
  );

  // A pod on the node's leased subnet, as the host-gw pod half would make it (minus the bridge).
  const subnet = (JSON.parse(readFileSync(join(dir, 'lease.json'), 'utf8')) as { subnets: { ipv4: string } }).subnets.ipv4;
  const base = subnet.replace(/\.0\/24$/, '');
  gateway = `${base}.1`;
  podAddress = `${base}.2`;
  sh('ip', ['netns', 'add', pod]);
  sh('ip', ['-n', node.ns, 'link', 'add', `pna${id}h`, 'type', 'veth', 'peer', 'name', `pna${id}c`, 'netns', pod]);
  sh('ip', ['-n', node.ns, 'address', 'add', `${gateway}/24`, 'dev', `pna${id}h`]);
  sh('ip', ['-n', node.ns, 'link', 'set', `pna${id}h`, 'up']);
  sh('ip', ['-n', pod, 'link', 'set', 'lo', 'up']);
  sh('ip', ['-n', pod, 'address', 'add', `${podAddress}/24`, 'dev', `pna${id}c`]);
  sh('ip', ['-n', pod, 'link', 'set', `pna${id}c`, 'up']);
  sh('ip', ['-n', pod, 'route', 'add', 'default', 'via', gateway]);

  await sourceServer(node.fabric, '192.168.78.254', 7001);
  await sourceServer(node.fabric, REMOTE_POD, 7002);
  await sourceServer(pod, podAddress, 7003);
});

afterAll(async () => {
  for (const s of servers) s.kill('SIGKILL');
  if (agent) {
    agent.child.kill('SIGKILL');
    await agent.exited;
  }
  if (pod) sh('ip', ['netns', 'del', pod]);
  if (node) destroyNode(node);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('masquerade and forward accept (FORWARD policy DROP)', () => {
  it('appends forward accept rules for the cluster network to the FORWARD chain', () => {
    const rules = inNs(node.ns, 'iptables', ['-S', 'FORWARD']);
    expect(rules).toContain('-P FORWARD DROP');
    expect(rules).toContain(`-A FORWARD -s ${NETWORK} -m comment --comment "${FORWARD_COMMENT}" -j ACCEPT`);
    expect(rules).toContain(`-A FORWARD -d ${NETWORK} -m comment --comment "${FORWARD_COMMENT}" -j ACCEPT`);
  });

  it('pod → outside the cluster is masqueraded to the node address', () => {
    expect(seenSource(pod, '192.168.78.254', 7001)).toBe('192.168.78.1');
  });

  it('pod → a remote pod keeps the pod address (no NAT inside the cluster network)', () => {
    expect(seenSource(pod, REMOTE_POD, 7002)).toBe(podAddress);
  });

  it('a remote host → pod is forwarded despite the DROP policy and keeps its address', () => {
    expect(seenSource(node.fabric, podAddress, 7003)).toBe('192.168.78.254');
  });

  it('node → pod keeps the node address', () => {
    expect(seenSource(node.ns, podAddress, 7003)).toBe(gateway);
  });

  it('FORWARD rules deleted by hand come back at a periodic pass; teardown removes them', async () => {
    inNs(node.ns, 'iptables', ['-D', 'FORWARD', '-s', NETWORK, '-m', 'comment', '--comment', FORWARD_COMMENT, '-j', 'ACCEPT']);
    await eventually('rule restored', () => inNs(node.ns, 'iptables', ['-S', 'FORWARD']).includes(`-s ${NETWORK} -m comment`), 10_000, 100);
    const a = agent as RunningAgent;
    a.child.kill('SIGTERM');
    expect(await a.exited).toEqual({ code: 0, signal: null });
    agent = undefined;
    // Still passing traffic with the agent stopped.
    expect(seenSource(node.fabric, podAddress, 7003)).toBe('192.168.78.254');
    inNs(node.ns, PODNETD, ['teardown', '--lease-file', join(dir, 'lease.json'), '--log-level', 'warn']);
    expect(inNs(node.ns, 'iptables', ['-S', 'FORWARD'])).not.toContain('podnet');
    // Our tables only: the host-port table (podnet_hostports) is portmap's, restored from host-wide records.
    expect(inNs(node.ns, 'nft', ['list', 'tables'])).not.toMatch(/^table ip6? podnet$/m);
    // Proof the rules were what passed it: without them the DROP policy wins.
    expect(() => seenSource(node.fabric, podAddress, 7003)).toThrow();
  });
});
