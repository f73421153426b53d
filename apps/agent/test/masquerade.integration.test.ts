// Masquerade and forward accept with real traffic: a node netns whose iptables FORWARD policy is
// DROP, a pod netns behind it (an address of the node's leased subnet), and a fabric netns
// standing in for the outside world and for a remote node. Each receiver reports the source
// address it saw: pod → outside is masqueraded to the node's underlay address; pod → another
// cluster address, a remote node → pod, and node → pod keep their own address.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORWARD_COMMENT } from '../src/forward-accept.js';
import { useAgentBed } from './support/agent-bed.js';
import { inNs, sh } from './support/node-netns.js';
import { PODNETD } from './support/paths.js';
import { eventually } from './support/quiet.js';

const NETWORK = '10.214.0.0/16';
const REMOTE_POD = '10.214.200.5';
const bed = useAgentBed({ dirPrefix: 'pna-masq-', address: '192.168.78.1', netConf: { Network: NETWORK, Backend: { Type: 'host-gw' } } });
const { id } = bed;
const pod = `pna-${id}-pod`;
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
  const { node } = bed;
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

  await bed.start(bed.args('m1', ['--reconcile-period', '1s', '--lease-ttl', '30s']));

  // A pod on the node's leased subnet, as the host-gw pod half would make it (minus the bridge).
  const subnet = bed.leaseFile<{ subnets: { ipv4: string } }>().subnets.ipv4;
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

afterAll(() => {
  for (const s of servers) s.kill('SIGKILL');
  if (existsSync(`/run/netns/${pod}`)) sh('ip', ['netns', 'del', pod]);
});

describe('masquerade and forward accept (FORWARD policy DROP)', () => {
  it('appends forward accept rules for the cluster network to the FORWARD chain', () => {
    const rules = inNs(bed.node.ns, 'iptables', ['-S', 'FORWARD']);
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
    expect(seenSource(bed.node.fabric, podAddress, 7003)).toBe('192.168.78.254');
  });

  it('node → pod keeps the node address', () => {
    expect(seenSource(bed.node.ns, podAddress, 7003)).toBe(gateway);
  });

  it('FORWARD rules deleted by hand come back at a periodic pass; teardown removes them', async () => {
    inNs(bed.node.ns, 'iptables', ['-D', 'FORWARD', '-s', NETWORK, '-m', 'comment', '--comment', FORWARD_COMMENT, '-j', 'ACCEPT']);
    await eventually('rule restored', () => inNs(bed.node.ns, 'iptables', ['-S', 'FORWARD']).includes(`-s ${NETWORK} -m comment`), 10_000, 100);
    expect(await bed.stop()).toEqual({ code: 0, signal: null });
    // Still passing traffic with the agent stopped.
    expect(seenSource(bed.node.fabric, podAddress, 7003)).toBe('192.168.78.254');
    inNs(bed.node.ns, PODNETD, ['teardown', '--lease-file', join(bed.dir, 'lease.json'), '--log-level', 'warn']);
    expect(inNs(bed.node.ns, 'iptables', ['-S', 'FORWARD'])).not.toContain('podnet');
    // Our tables only: the host-port table (podnet_hostports) is portmap's, restored from host-wide records.
    expect(inNs(bed.node.ns, 'nft', ['list', 'tables'])).not.toMatch(/^table ip6? podnet$/m);
    // Proof the rules were what passed it: without them the DROP policy wins.
    expect(() => seenSource(bed.node.fabric, podAddress, 7003)).toThrow();
  });
});
