// The throughput lab the root benchmarks share: two nodes on one veth underlay
// (192.168.90.1 and .2/24), a bridge on each with pods behind veths (node n's pods in
// 10.90.n.0/24), and iperf3 between two pods for a bounded time.
import { spawn, spawnSync } from 'node:child_process';
import { exec, ip, netns, sh } from './shell.js';

export interface PodLab {
  a: string;
  b: string;
  pods: Record<'a1' | 'a2' | 'b1', string>;
}

/** Two nodes, two pods on A's bridge, one on B's; pods and bridges get `podMtu`. */
export function podLab(prefix: string, podMtu: number): PodLab {
  const a = netns(`${prefix}-a`);
  const b = netns(`${prefix}-b`);
  sh('ip', ['link', 'add', 'eth0', 'netns', a, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b]);
  const pods = { a1: netns(`${prefix}-a1`), a2: netns(`${prefix}-a2`), b1: netns(`${prefix}-b1`) };
  const mtu = String(podMtu);
  for (const [ns, n] of [
    [a, 1],
    [b, 2],
  ] as const) {
    ip(ns, 'address', 'add', `192.168.90.${n}/24`, 'dev', 'eth0');
    ip(ns, 'link', 'set', 'eth0', 'up');
    exec(ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    ip(ns, 'link', 'add', 'br0', 'type', 'bridge');
    ip(ns, 'address', 'add', `10.90.${n}.1/24`, 'dev', 'br0');
    ip(ns, 'link', 'set', 'br0', 'mtu', mtu, 'up');
  }
  for (const [pod, node, n, host] of [
    [pods.a1, a, 1, 2],
    [pods.a2, a, 1, 3],
    [pods.b1, b, 2, 2],
  ] as const) {
    sh('ip', ['link', 'add', `v${host}`, 'netns', node, 'mtu', mtu, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod, 'mtu', mtu]);
    ip(node, 'link', 'set', `v${host}`, 'master', 'br0', 'up');
    ip(pod, 'address', 'add', `10.90.${n}.${host}/24`, 'dev', 'eth0');
    ip(pod, 'link', 'set', 'eth0', 'up');
    ip(pod, 'route', 'add', 'default', 'via', `10.90.${n}.1`);
  }
  return { a, b, pods };
}

/** iperf3 TCP from `client` to `server` (a pod at `address`) for `seconds`; bits per second received. */
export async function iperf(client: string, server: string, address: string, seconds: number): Promise<number> {
  const srv = spawn('ip', ['netns', 'exec', server, 'iperf3', '-s', '-1', '-p', '5299'], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 50; i++) {
      if (spawnSync('ip', ['netns', 'exec', server, 'sh', '-c', 'ss -ltn | grep -q :5299']).status === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const out = exec(client, 'iperf3', '-c', address, '-p', '5299', '-t', String(seconds), '-J');
    return JSON.parse(out).end.sum_received.bits_per_second as number;
  } finally {
    srv.kill('SIGKILL');
  }
}

/**
 * Runs each named path once per run, back to back, in an order that alternates between runs,
 * so that load drifting on the machine does not favour one path.
 */
export async function alternate<K extends string>(runs: number, paths: Record<K, () => Promise<void>>): Promise<void> {
  const order = Object.keys(paths) as K[];
  for (let run = 0; run < runs; run++) {
    for (const name of run % 2 === 0 ? order : [...order].reverse()) await paths[name]();
  }
}
