// Needs root. Three "nodes" (network namespaces this file creates, pnv-<pid>-…) that are NOT on
// one L2 segment: a and b share segment 1, c is on segment 2, a router namespace forwards between
// them (IPv4 and IPv6). Each node has one "pod" (a namespace behind a veth, the node side carrying
// the subnet's gateway address as the bridge would). Leases are passed in directly (no agent).
// Kernel state is read with `ip -j` / `bridge -j`, traffic is ping between pods.
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PODNET_ROUTE_PROTOCOL } from '@podnet/core/backend';
import type { NodeEnvironment, NodeLease } from '@podnet/core/backend';
import { createNamedNetns, deleteNamedNetns, namedNetnsPath } from '@podnet/core/netns';
import { deriveVtepMac } from '../vtep/mac.js';
import { type VxlanNodeHalf, vxlanNodeHalf } from './node-half.js';

const P = `pnv-${process.pid}`;
const R = `${P}-r`;
const NODES = { a: `${P}-a`, b: `${P}-b`, c: `${P}-c` } as const;
const PODS = { a: `${P}-pa`, b: `${P}-pb`, c: `${P}-pc` } as const;
const ALL = [R, ...Object.values(NODES), ...Object.values(PODS)];
const OURS = PODNET_ROUTE_PROTOCOL;
const DEV = 'vxlan.podnet';
const DEV6 = 'vxlan6.podnet';

type Name = keyof typeof NODES;
const NUM: Record<Name, number> = { a: 1, b: 2, c: 3 };
const UNDERLAY: Record<Name, { v4: string; v6: string; seg: number }> = {
  a: { v4: '192.168.81.1', v6: 'fd81::1', seg: 81 },
  b: { v4: '192.168.81.2', v6: 'fd81::2', seg: 81 },
  c: { v4: '192.168.82.3', v6: 'fd82::3', seg: 82 },
};
const podIp = (n: Name): string => `10.246.${NUM[n]}.2`;
const podIp6 = (n: Name): string => `fd00:246:${NUM[n]}::2`;

const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const ip = (ns: string, ...args: string[]): string => run('ip', ['-n', ns, ...args]);
const inNs = (ns: string, cmd: string, ...args: string[]): string => run('ip', ['netns', 'exec', ns, cmd, ...args]);
const json = (out: string): any[] => (out.trim() ? JSON.parse(out) : []);
const ping = (from: Name, to: string, extra: string[] = []): { ok: boolean; out: string } => {
  const r = spawnSync('ip', ['netns', 'exec', PODS[from], 'ping', '-c', '1', '-W', '1', '-w', '4', ...extra, to], { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
};

/** `neigh ADDR lladdr MAC` of the permanent neighbours on `dev` in node `n`. */
function neighbours(n: Name, dev = DEV): string[] {
  return json(ip(NODES[n], '-j', 'neigh', 'show', 'dev', dev, 'nud', 'permanent'))
    .map((e) => `${e.dst} ${e.lladdr}`)
    .sort();
}
function fdb(n: Name, dev = DEV): string[] {
  return json(run('bridge', ['-n', NODES[n], '-j', 'fdb', 'show', 'dev', dev]))
    .filter((e) => (e.state ?? '') === 'permanent' || (e.flags ?? []).includes('permanent') || e.state === undefined)
    .map((e) => `${e.mac} ${e.dst ?? '-'}`)
    .sort();
}
function ourRoutes(n: Name): string[] {
  const fam = (f: string): any[] => json(ip(NODES[n], '-j', f, 'route', 'show', 'proto', String(OURS)));
  return [...fam('-4'), ...fam('-6')].map((r) => `${r.dst} via ${r.gateway} dev ${r.dev}${(r.flags ?? []).includes('onlink') ? ' onlink' : ''}`).sort();
}
const link = (n: Name, dev = DEV): any => json(ip(NODES[n], '-d', '-j', 'link', 'show', dev))[0];
const stats = (n: Name, dev = DEV): { rx: number; tx: number } => {
  const l = json(ip(NODES[n], '-s', '-j', 'link', 'show', dev))[0];
  return { rx: l.stats64.rx.packets, tx: l.stats64.tx.packets };
};

const logs: Array<{ level: string; message: string }> = [];
function env(n: Name, backend: Record<string, unknown> = { Type: 'vxlan' }): NodeEnvironment {
  const l = json(ip(NODES[n], '-j', 'link', 'show', 'eth0'))[0];
  return {
    node: `node-${n}`,
    backend,
    underlay: { name: 'eth0', index: l.ifindex, mtu: l.mtu, addresses: [UNDERLAY[n].v4, UNDERLAY[n].v6] },
    netns: namedNetnsPath(NODES[n]),
    routeProtocol: OURS,
    log: (level, message) => logs.push({ level, message }),
  };
}
function lease(n: Name): NodeLease {
  return {
    node: `node-${n}`,
    subnets: [`10.246.${NUM[n]}.0/24`, `fd00:246:${NUM[n]}::/64`],
    nodeIps: [UNDERLAY[n].v4, UNDERLAY[n].v6],
    backendData: vxlanNodeHalf.leaseData!(env(n))!,
  };
}
const peersOf = (n: Name, among: Name[] = ['a', 'b', 'c']): NodeLease[] => among.filter((m) => m !== n).map(lease);

const halves = new Map<Name, VxlanNodeHalf>();
async function reconcileAll(among: Name[] = ['a', 'b', 'c']): Promise<void> {
  for (const n of among) {
    const report = await halves.get(n)!.reconcile(lease(n), peersOf(n, among));
    expect(report.errors).toEqual([]);
  }
}

function cleanup(): void {
  for (const ns of ALL) deleteNamedNetns(ns);
}

beforeAll(() => {
  cleanup();
  for (const ns of ALL) createNamedNetns(ns);
  for (const ns of ALL) ip(ns, 'link', 'set', 'lo', 'up');
  // The router: a bridge for segment 1 (a, b), a plain veth for segment 2 (c), forwarding on.
  ip(R, 'link', 'add', 'br1', 'type', 'bridge');
  ip(R, 'link', 'set', 'br1', 'up');
  ip(R, 'address', 'add', '192.168.81.254/24', 'dev', 'br1');
  ip(R, 'address', 'add', 'fd81::fe/64', 'dev', 'br1', 'nodad');
  inNs(R, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
  for (const n of ['a', 'b', 'c'] as const) {
    const ns = NODES[n];
    const u = UNDERLAY[n];
    run('ip', ['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', `u${n}`, 'netns', R]);
    if (u.seg === 81) {
      ip(R, 'link', 'set', `u${n}`, 'master', 'br1');
    } else {
      ip(R, 'address', 'add', '192.168.82.254/24', 'dev', `u${n}`);
      ip(R, 'address', 'add', 'fd82::fe/64', 'dev', `u${n}`, 'nodad');
    }
    ip(R, 'link', 'set', `u${n}`, 'up');
    ip(ns, 'link', 'set', 'eth0', 'up');
    ip(ns, 'address', 'add', `${u.v4}/24`, 'dev', 'eth0');
    ip(ns, 'address', 'add', `${u.v6}/64`, 'dev', 'eth0', 'nodad');
    ip(ns, 'route', 'add', 'default', 'via', `192.168.${u.seg}.254`);
    ip(ns, '-6', 'route', 'add', 'default', 'via', `fd${u.seg}::fe`);
    inNs(ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
    // The pod: a namespace behind a veth, the node side with the subnet's gateway, MTU as the
    // pod half sets it from the lease (the overlay MTU).
    const mtu = String(vxlanNodeHalf.podMtu(1500, 4, { Type: 'vxlan' }));
    run('ip', ['link', 'add', 'gw0', 'netns', ns, 'mtu', mtu, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', PODS[n], 'mtu', mtu]);
    ip(ns, 'link', 'set', 'gw0', 'up');
    ip(ns, 'address', 'add', `10.246.${NUM[n]}.1/24`, 'dev', 'gw0');
    ip(ns, 'address', 'add', `fd00:246:${NUM[n]}::1/64`, 'dev', 'gw0', 'nodad');
    ip(PODS[n], 'link', 'set', 'eth0', 'up');
    ip(PODS[n], 'address', 'add', `${podIp(n)}/24`, 'dev', 'eth0');
    ip(PODS[n], 'address', 'add', `${podIp6(n)}/64`, 'dev', 'eth0', 'nodad');
    ip(PODS[n], 'route', 'add', 'default', 'via', `10.246.${NUM[n]}.1`);
    ip(PODS[n], '-6', 'route', 'add', 'default', 'via', `fd00:246:${NUM[n]}::1`);
  }
  for (const n of ['a', 'b', 'c'] as const) halves.set(n, vxlanNodeHalf.create(env(n)) as VxlanNodeHalf);
});

afterAll(async () => {
  for (const h of halves.values()) h.close();
  cleanup();
});

const mac = (n: Name, family: 4 | 6 = 4): string => deriveVtepMac(`node-${n}`, family);

describe('vxlan node half', () => {
  it('creates one device per family with the settings asked for, the lease MAC and the VTEP address', async () => {
    await reconcileAll();
    const l = link('a');
    expect(l.linkinfo.info_kind).toBe('vxlan');
    expect(l.linkinfo.info_data).toMatchObject({ id: 1, port: 8472, local: '192.168.81.1', link: 'eth0', learning: false });
    expect(l.address).toBe(mac('a'));
    expect(l.mtu).toBe(1450);
    expect(l.operstate === 'UNKNOWN' || l.operstate === 'UP').toBe(true);
    const l6 = link('a', DEV6);
    expect(l6.linkinfo.info_data).toMatchObject({ id: 1, port: 8472, local6: 'fd81::1', learning: false });
    expect(l6.address).toBe(mac('a', 6));
    expect(l6.mtu).toBe(1430);
    const addrs = json(ip(NODES.a, '-j', 'address', 'show', 'dev', DEV))[0]
      .addr_info.filter((a: any) => a.scope === 'global')
      .map((a: any) => `${a.local}/${a.prefixlen}`);
    expect(addrs).toEqual(['10.246.1.0/32']);
    const addrs6 = json(ip(NODES.a, '-j', 'address', 'show', 'dev', DEV6))[0]
      .addr_info.filter((a: any) => a.scope === 'global')
      .map((a: any) => `${a.local}/${a.prefixlen}`);
    expect(addrs6).toEqual(['fd00:246:1::/128']);
  });

  it('programs a neighbour, an FDB entry and an onlink route per peer and family', () => {
    expect(neighbours('a')).toEqual([`10.246.2.0 ${mac('b')}`, `10.246.3.0 ${mac('c')}`]);
    expect(fdb('a')).toEqual([`${mac('b')} 192.168.81.2`, `${mac('c')} 192.168.82.3`]);
    expect(neighbours('a', DEV6)).toEqual([`fd00:246:2:: ${mac('b', 6)}`, `fd00:246:3:: ${mac('c', 6)}`]);
    expect(fdb('a', DEV6)).toEqual([`${mac('b', 6)} fd81::2`, `${mac('c', 6)} fd82::3`]);
    expect(ourRoutes('a')).toEqual([
      `10.246.2.0/24 via 10.246.2.0 dev ${DEV} onlink`,
      `10.246.3.0/24 via 10.246.3.0 dev ${DEV} onlink`,
      `fd00:246:2::/64 via fd00:246:2:: dev ${DEV6} onlink`,
      `fd00:246:3::/64 via fd00:246:3:: dev ${DEV6} onlink`,
    ]);
  });

  it('carries pod traffic across the router through the tunnel, IPv4 and IPv6, sources preserved', () => {
    // What pod c receives from pod a, counted by source address inside pod c.
    execFileSync('ip', ['netns', 'exec', PODS.c, 'nft', '-f', '-'], {
      input: `table inet ${P}-seen { chain count { type filter hook input priority 0; ip saddr ${podIp('a')} counter; ip6 saddr ${podIp6('a')} counter; }\n}\n`,
    });
    const before = stats('c');
    for (const [from, to] of [
      ['a', 'c'],
      ['c', 'b'],
      ['b', 'a'],
    ] as const) {
      expect(ping(from, podIp(to)).ok).toBe(true);
      expect(ping(from, podIp6(to)).ok).toBe(true);
    }
    const after = stats('c');
    expect(after.rx).toBeGreaterThan(before.rx);
    expect(after.tx).toBeGreaterThan(before.tx);
    const seen = JSON.parse(inNs(PODS.c, 'nft', '-j', 'list', 'table', 'inet', `${P}-seen`)).nftables.filter((o: any) => o.rule);
    expect(seen.map((o: any) => o.rule.expr.find((e: any) => e.counter).counter.packets > 0)).toEqual([true, true]);
  });

  it('fits a do-not-fragment packet of exactly the pod MTU, and refuses one byte more at the sender', () => {
    // ICMP payload = MTU − 20 (IPv4) − 8 (ICMP).
    expect(ping('a', podIp('c'), ['-M', 'do', '-s', String(1450 - 28)]).ok).toBe(true);
    const over = ping('a', podIp('c'), ['-M', 'do', '-s', String(1450 - 28 + 1)]);
    expect(over.ok).toBe(false);
    expect(over.out).toMatch(/message too long|mtu = 1450/i);
  });

  it('keeps the same MAC and changes nothing on a restart (a new node half over the same kernel state)', async () => {
    const dump = (): string[] =>
      (['a', 'b', 'c'] as const).flatMap((n) => [...neighbours(n), ...fdb(n), ...ourRoutes(n), link(n).address, String(link(n).ifindex)]);
    const before = dump();
    halves.get('a')!.close();
    const restarted = vxlanNodeHalf.create(env('a')) as VxlanNodeHalf;
    halves.set('a', restarted);
    const report = await restarted.reconcile(lease('a'), peersOf('a'));
    expect(report.changes).toBe(0);
    expect(report.errors).toEqual([]);
    expect(dump()).toEqual(before);
  });

  it('recreates a deleted device and replays every peer within one reconcile', async () => {
    ip(NODES.a, 'link', 'del', DEV);
    expect(ping('a', podIp('c')).ok).toBe(false);
    const report = await halves.get('a')!.reconcile(lease('a'), peersOf('a'));
    expect(report.errors).toEqual([]);
    expect(report.changes).toBeGreaterThanOrEqual(1 + 6);
    expect(neighbours('a')).toHaveLength(2);
    expect(fdb('a')).toHaveLength(2);
    expect(ourRoutes('a')).toHaveLength(4);
    expect(link('a').address).toBe(mac('a'));
    expect(ping('a', podIp('c')).ok).toBe(true);
  });

  it('raises a device set down and replays what the kernel flushed', async () => {
    ip(NODES.a, 'link', 'set', DEV, 'down');
    await halves.get('a')!.reconcile(lease('a'), peersOf('a'));
    expect(link('a').flags).toContain('UP');
    expect(ourRoutes('a')).toHaveLength(4);
    expect(neighbours('a')).toHaveLength(2);
    expect(ping('a', podIp('b')).ok).toBe(true);
  });

  it('replaces a device found with other settings (a VNI, a MAC, learning on)', async () => {
    for (const change of [
      ['type', 'vxlan', 'id', '9', 'dstport', '8472', 'local', '192.168.81.1', 'dev', 'eth0', 'nolearning'],
      ['address', '02:11:22:33:44:55', 'type', 'vxlan', 'id', '1', 'dstport', '8472', 'local', '192.168.81.1', 'dev', 'eth0', 'nolearning'],
      ['type', 'vxlan', 'id', '1', 'dstport', '8472', 'local', '192.168.81.1', 'dev', 'eth0', 'learning'],
    ]) {
      ip(NODES.a, 'link', 'del', DEV);
      ip(NODES.a, 'link', 'add', DEV, ...change);
      logs.length = 0;
      await halves.get('a')!.reconcile(lease('a'), peersOf('a'));
      expect(logs.map((l) => l.message).join('\n')).toMatch(/vxlan: device vxlan\.podnet replaced: /);
      expect(link('a').linkinfo.info_data).toMatchObject({ id: 1, learning: false });
      expect(link('a').address).toBe(mac('a'));
      expect(fdb('a')).toHaveLength(2);
    }
    expect(ping('a', podIp('c')).ok).toBe(true);
  });

  it('restores an FDB entry and a neighbour deleted by hand, and removes foreign permanent ones', async () => {
    run('bridge', ['-n', NODES.a, 'fdb', 'del', mac('c'), 'dev', DEV, 'dst', '192.168.82.3']);
    ip(NODES.a, 'neigh', 'del', '10.246.2.0', 'dev', DEV);
    run('bridge', ['-n', NODES.a, 'fdb', 'append', '00:00:00:00:00:00', 'dev', DEV, 'dst', '192.168.81.99']);
    run('bridge', ['-n', NODES.a, 'fdb', 'add', '02:aa:bb:cc:dd:ee', 'dev', DEV, 'dst', '192.168.81.98']);
    ip(NODES.a, 'neigh', 'add', '10.246.9.0', 'lladdr', '02:aa:bb:cc:dd:ee', 'dev', DEV, 'nud', 'permanent');
    const report = await halves.get('a')!.reconcile(lease('a'), peersOf('a'));
    expect(report.changes).toBe(5);
    expect(neighbours('a')).toEqual([`10.246.2.0 ${mac('b')}`, `10.246.3.0 ${mac('c')}`]);
    expect(fdb('a')).toEqual([`${mac('b')} 192.168.81.2`, `${mac('c')} 192.168.82.3`]);
  });

  it('puts back an FDB entry pointed elsewhere and a neighbour with another MAC', async () => {
    run('bridge', ['-n', NODES.a, 'fdb', 'replace', mac('c'), 'dev', DEV, 'dst', '192.168.81.97']);
    ip(NODES.a, 'neigh', 'replace', '10.246.3.0', 'lladdr', '02:00:00:00:00:01', 'dev', DEV, 'nud', 'permanent');
    const report = await halves.get('a')!.reconcile(lease('a'), peersOf('a'));
    expect(report.changes).toBe(2);
    expect(neighbours('a')).toEqual([`10.246.2.0 ${mac('b')}`, `10.246.3.0 ${mac('c')}`]);
    expect(fdb('a')).toEqual([`${mac('b')} 192.168.81.2`, `${mac('c')} 192.168.82.3`]);
  });

  it('drops VXLAN from an underlay address that is no node, and counts it', async () => {
    const before = (await halves.get('a')!.strangersDropped()) ?? 0;
    // The router is on the underlay but holds no lease: a stranger.
    for (let i = 0; i < 3; i++) inNs(R, 'bash', '-c', `echo x > /dev/udp/${UNDERLAY.a.v4}/8472`);
    inNs(R, 'bash', '-c', `echo x > /dev/udp/${UNDERLAY.a.v6}/8472`);
    const after = (await halves.get('a')!.strangersDropped()) ?? 0;
    expect(after - before).toBe(4);
    // Known nodes' traffic is not counted.
    expect(ping('c', podIp('a')).ok).toBe(true);
    expect(((await halves.get('a')!.strangersDropped()) ?? 0) - after).toBe(0);
  });

  it('removes all three entries of a node that left', async () => {
    await reconcileAll(['a', 'b']);
    expect(neighbours('a')).toEqual([`10.246.2.0 ${mac('b')}`]);
    expect(fdb('a')).toEqual([`${mac('b')} 192.168.81.2`]);
    expect(ourRoutes('a')).toEqual([`10.246.2.0/24 via 10.246.2.0 dev ${DEV} onlink`, `fd00:246:2::/64 via fd00:246:2:: dev ${DEV6} onlink`]);
    expect(neighbours('b', DEV6)).toEqual([`fd00:246:1:: ${mac('a', 6)}`]);
    await reconcileAll();
  });

  it('never leaves an encapsulated packet with the masquerade mark for a later SNAT rule', async () => {
    // kube-proxy marks pod → service packets 0x4000 and masquerades them in nat POSTROUTING; the
    // mark survives encapsulation. Stand-in rules: mark a's pod traffic, count VXLAN packets still marked where SNAT happens.
    const script = [
      `table ip ${P}-kp {`,
      '  chain pre { type filter hook prerouting priority mangle; ip saddr 10.246.1.0/24 meta mark set 0x4000 counter; }',
      // A filter chain at srcnat sees every packet there (a nat chain only a flow's first).
      '  chain post { type filter hook postrouting priority srcnat; udp dport 8472 meta mark & 0x4000 == 0x4000 counter; }',
      '}',
    ].join('\n');
    execFileSync('ip', ['netns', 'exec', NODES.a, 'nft', '-f', '-'], { input: script });
    expect(ping('a', podIp('b'), ['-c', '3']).ok).toBe(true);
    const list = inNs(NODES.a, 'nft', '-j', 'list', 'table', 'ip', `${P}-kp`);
    const counters = JSON.parse(list)
      .nftables.filter((o: any) => o.rule)
      .map((o: any) => o.rule.expr.find((e: any) => e.counter).counter.packets);
    expect(counters[0]).toBeGreaterThan(0); // pod packets were marked
    expect(counters[1]).toBe(0); // no encapsulated packet reached srcnat with the mark
  });

  it('gives peers on its own L2 segment host-gw routes with DirectRouting, the tunnel to the rest', async () => {
    for (const h of halves.values()) h.close();
    for (const n of ['a', 'b', 'c'] as const) halves.set(n, vxlanNodeHalf.create(env(n, { Type: 'vxlan', DirectRouting: true })) as VxlanNodeHalf);
    await reconcileAll();
    expect(ourRoutes('a')).toEqual([
      '10.246.2.0/24 via 192.168.81.2 dev eth0',
      `10.246.3.0/24 via 10.246.3.0 dev ${DEV} onlink`,
      'fd00:246:2::/64 via fd81::2 dev eth0',
      `fd00:246:3::/64 via fd00:246:3:: dev ${DEV6} onlink`,
    ]);
    expect(neighbours('a')).toEqual([`10.246.3.0 ${mac('c')}`]);
    expect(fdb('a')).toEqual([`${mac('c')} 192.168.82.3`]);
    expect(ourRoutes('c')).toHaveLength(4);
    expect(ourRoutes('c').every((r) => r.endsWith('.podnet onlink'))).toBe(true);
    const tunnel = stats('a');
    for (const [from, to] of [
      ['a', 'b'],
      ['b', 'a'],
      ['a', 'c'],
      ['c', 'b'],
    ] as const) {
      expect(ping(from, podIp(to)).ok).toBe(true);
      expect(ping(from, podIp6(to)).ok).toBe(true);
    }
    expect(stats('a').tx).toBeGreaterThan(tunnel.tx); // a → c went through the tunnel
  });

  it('runs VXLAN-GBP, another port and VNI, and an explicit MTU when the options say so; peers on another VNI are skipped; back again, all replayed', async () => {
    const opts = { Type: 'vxlan', GBP: true, Port: 4789, VNI: 77, MTU: 1400 };
    const before = [neighbours('a'), fdb('a'), ourRoutes('a')];
    const half = vxlanNodeHalf.create(env('a', opts)) as VxlanNodeHalf;
    try {
      const report = await half.reconcile(lease('a'), peersOf('a'));
      expect(report.errors).toEqual([]);
      expect(link('a').linkinfo.info_data).toMatchObject({ id: 77, port: 4789, gbp: true });
      expect(link('a').mtu).toBe(1400);
      // The peers still publish VNI 1: they cannot be reached on VNI 77, and are skipped saying so.
      expect(report.skipped.map((s) => s.reason)).toEqual([
        expect.stringContaining('publishes VNI 1, this node runs VNI 77'),
        expect.stringContaining('publishes VNI 1'),
      ]);
      expect(fdb('a')).toEqual([]);
      expect(ourRoutes('a').filter((r) => r.includes('.podnet'))).toEqual([]);
      const script = inNs(NODES.a, 'nft', 'list', 'chain', 'inet', 'podnet-vxlan', 'input');
      expect(script).toContain('udp dport 4789');
    } finally {
      half.close();
    }
    await halves.get('a')!.reconcile(lease('a'), peersOf('a'));
    expect(link('a').linkinfo.info_data.gbp).toBeUndefined();
    expect(link('a').linkinfo.info_data).toMatchObject({ id: 1, port: 8472 });
    expect([neighbours('a'), fdb('a'), ourRoutes('a')]).toEqual(before);
  });

  it('reports a node with an IPv6 subnet but no IPv6 underlay address as skipped (no error), without an IPv6 device', async () => {
    const e = env('c');
    const half = vxlanNodeHalf.create({ ...e, underlay: { ...e.underlay, addresses: [UNDERLAY.c.v4] } }) as VxlanNodeHalf;
    const v4only = { ...lease('c'), nodeIps: [UNDERLAY.c.v4] };
    try {
      const report = await half.reconcile(v4only, peersOf('c'));
      expect(report.errors).toEqual([]);
      expect(report.skipped[0]).toEqual({
        node: 'node-c',
        reason: expect.stringMatching(/^no IPv6 overlay on this node: subnet fd00:246:3::\/64 but no IPv6 underlay address/),
      });
      expect(report.skipped.filter((s) => s.reason.includes('this node has no IPv6 overlay'))).toHaveLength(2);
      expect(json(ip(NODES.c, '-j', 'link', 'show', 'type', 'vxlan')).map((l) => l.ifname)).toEqual([DEV]);
      expect(ping('c', podIp('a')).ok).toBe(true);
    } finally {
      half.close();
    }
    await halves.get('c')!.reconcile(lease('c'), peersOf('c'));
    expect(link('c', DEV6)).toBeDefined();
  });

  it('refuses options naming the field, and an MTU the underlay cannot carry', () => {
    expect(() => vxlanNodeHalf.create(env('a', { Type: 'vxlan', VNI: -1 }))).toThrow(/"Backend\.VNI" must be an integer from 0 to 16777215/);
    expect(() => vxlanNodeHalf.create(env('a', { Type: 'vxlan', MTU: 1480 }))).toThrow(/"Backend\.MTU" 1480 does not fit the underlay/);
  });

  it('teardown removes the devices, every route of ours and the filter table', async () => {
    for (const n of ['a', 'b', 'c'] as const) await halves.get(n)!.teardown();
    expect(json(ip(NODES.a, '-j', 'link', 'show', 'type', 'vxlan'))).toEqual([]);
    expect(ourRoutes('a')).toEqual([]);
    expect(spawnSync('ip', ['netns', 'exec', NODES.a, 'nft', 'list', 'table', 'inet', 'podnet-vxlan']).status).not.toBe(0);
    await halves.get('a')!.teardown(); // idempotent
  });
});
