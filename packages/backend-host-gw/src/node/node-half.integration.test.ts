// Needs root. Two "nodes" as network namespaces this file creates (pnh-n<pid>-a, -b), joined by
// a veth underlay; leases are passed in directly (no agent). Kernel state is read with `ip -j`,
// traffic is ping between the nodes' pod-subnet addresses (a veth per node standing in for pods).
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PODNET_ROUTE_PROTOCOL } from '@podnet/core/backend';
import type { NodeEnvironment, NodeLease } from '@podnet/core/backend';
import { createNamedNetns, deleteNamedNetns, namedNetnsPath } from '@podnet/core/netns';
import { type HostGwNodeHalf, hostGwNodeHalf } from './node-half.js';

const A = `pnh-n${process.pid}-a`;
const B = `pnh-n${process.pid}-b`;
const OURS = PODNET_ROUTE_PROTOCOL;

const ip = (ns: string, ...args: string[]): string => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const ipj = (ns: string, ...args: string[]): any[] => {
  const out = ip(ns, '-j', ...args);
  return out.trim() ? JSON.parse(out) : [];
};
const ping = (ns: string, from: string, to: string): boolean =>
  // -w: keep trying up to 5 s for one reply (the first IPv6 echo can be lost while the fresh
  // links' neighbour discovery settles).
  spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-w', '5', '-I', from, to], { encoding: 'utf8' }).status === 0;

/** `dst via gw proto` of every route in `ns` (both families, every table), sorted; kernel ones left out. */
function routes(ns: string, table = 'main'): string[] {
  // A table without routes of a family does not exist for it: `ip` fails, which means none.
  const family = (f: string): any[] => {
    try {
      return ipj(ns, f, 'route', 'show', 'table', table);
    } catch {
      return [];
    }
  };
  return [...family('-4'), ...family('-6')]
    .filter((r) => r.protocol !== 'kernel' && !String(r.dst).startsWith('fe80') && !String(r.dst).startsWith('multicast') && r.type !== 'multicast')
    .map((r) => `${r.dst} via ${r.gateway ?? '-'} dev ${r.dev} proto ${r.protocol ?? 'boot'}`)
    .sort();
}
const ours = (ns: string, table = 'main'): string[] => routes(ns, table).filter((r) => r.endsWith(` proto ${OURS}`));

const logs: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
function env(ns: string, link: string): NodeEnvironment {
  const l = ipj(ns, 'link', 'show', link)[0];
  return {
    underlay: { name: link, index: l.ifindex, mtu: l.mtu, addresses: [] },
    netns: namedNetnsPath(ns),
    routeProtocol: OURS,
    log: (level, message, fields) => logs.push({ level, message, ...(fields ? { fields } : {}) }),
  };
}

const leaseA: NodeLease = { node: 'node-a', subnets: ['10.77.1.0/24', 'fd00:77:1::/64'], nodeIps: ['192.168.77.1', 'fd77::1'] };
const leaseB: NodeLease = { node: 'node-b', subnets: ['10.77.2.0/24', 'fd00:77:2::/64'], nodeIps: ['192.168.77.2', 'fd77::2'] };
/** On the underlay's prefix but not running: a route via an on-link next hop needs no neighbour. */
const leaseC: NodeLease = { node: 'node-c', subnets: ['10.77.3.0/24'], nodeIps: ['192.168.77.3'] };
/** Behind a router: not on-link. */
const leaseD: NodeLease = { node: 'node-d', subnets: ['10.77.4.0/24'], nodeIps: ['10.99.0.4'] };

let halfA: HostGwNodeHalf;
let halfB: HostGwNodeHalf;

beforeAll(() => {
  for (const ns of [A, B]) deleteNamedNetns(ns);
  createNamedNetns(A);
  createNamedNetns(B);
  execFileSync('ip', ['link', 'add', 'pnh-ua', 'netns', A, 'type', 'veth', 'peer', 'name', 'pnh-ub', 'netns', B]);
  for (const [ns, link, pod, n] of [
    [A, 'pnh-ua', 'pnh-pa', '1'],
    [B, 'pnh-ub', 'pnh-pb', '2'],
  ] as const) {
    ip(ns, 'link', 'set', 'lo', 'up');
    ip(ns, 'link', 'set', link, 'up');
    ip(ns, 'address', 'add', `192.168.77.${n}/24`, 'dev', link);
    ip(ns, 'address', 'add', `fd77::${n}/64`, 'dev', link, 'nodad');
    // The node's pod subnet, as the bridge gateway would carry it.
    // (A veth pair with both ends up: carrier, so IPv6 uses the address; no dummy module needed.)
    ip(ns, 'link', 'add', pod, 'type', 'veth', 'peer', 'name', `${pod}x`);
    ip(ns, 'link', 'set', `${pod}x`, 'up');
    ip(ns, 'link', 'set', pod, 'up');
    ip(ns, 'address', 'add', `10.77.${n}.1/24`, 'dev', pod);
    ip(ns, 'address', 'add', `fd00:77:${n}::1/64`, 'dev', pod, 'nodad');
  }
  halfA = hostGwNodeHalf.create(env(A, 'pnh-ua')) as HostGwNodeHalf;
  halfB = hostGwNodeHalf.create(env(B, 'pnh-ub')) as HostGwNodeHalf;
});

afterAll(() => {
  halfA?.close();
  halfB?.close();
  for (const ns of [A, B]) deleteNamedNetns(ns);
});

describe('host-gw node half', () => {
  it('routes every on-link peer subnet via its node address, with our protocol, and reports the rest', async () => {
    logs.length = 0;
    const report = await halfA.reconcile(leaseA, [leaseB, leaseC, leaseD]);
    expect(report.programmed).toBe(3);
    expect(report.changes).toBe(3);
    expect(report.errors).toEqual([]);
    expect(report.skipped).toEqual([
      {
        node: 'node-d',
        reason:
          'subnet 10.77.4.0/24: node address 10.99.0.4 is not on-link on pnh-ua (its IPv4 prefixes: 192.168.77.0/24); host-gw needs the nodes on one L2 segment',
      },
    ]);
    expect(ours(A)).toEqual([
      `10.77.2.0/24 via 192.168.77.2 dev pnh-ua proto ${OURS}`,
      `10.77.3.0/24 via 192.168.77.3 dev pnh-ua proto ${OURS}`,
      `fd00:77:2::/64 via fd77::2 dev pnh-ua proto ${OURS}`,
    ]);
    expect(logs.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual(['host-gw: peer node-d skipped']);

    // Nothing drifted: no change, and the skipped peer is not logged again.
    logs.length = 0;
    const again = await halfA.reconcile(leaseA, [leaseB, leaseC, leaseD]);
    expect([again.programmed, again.changes, again.skipped.length]).toEqual([3, 0, 1]);
    expect(logs).toEqual([]);
  });

  it('carries pod traffic between the nodes, IPv4 and IPv6, without NAT', async () => {
    await halfB.reconcile(leaseB, [leaseA]);
    expect(ours(B)).toEqual([`10.77.1.0/24 via 192.168.77.1 dev pnh-ub proto ${OURS}`, `fd00:77:1::/64 via fd77::1 dev pnh-ub proto ${OURS}`]);
    expect(ping(A, '10.77.1.1', '10.77.2.1')).toBe(true);
    expect(ping(B, '10.77.2.1', '10.77.1.1')).toBe(true);
    expect(ping(A, 'fd00:77:1::1', 'fd00:77:2::1')).toBe(true);
  });

  it('removes the route of a peer that left', async () => {
    const report = await halfA.reconcile(leaseA, [leaseB, leaseD]);
    expect(report.changes).toBe(1);
    expect(ours(A)).not.toContain(`10.77.3.0/24 via 192.168.77.3 dev pnh-ua proto ${OURS}`);
    expect(ours(A)).toHaveLength(2);
  });

  it('repairs drift: a stale route of ours goes, a changed one is put back, a deleted one restored', async () => {
    ip(A, 'route', 'add', '10.77.50.0/24', 'via', '192.168.77.50', 'proto', String(OURS));
    ip(A, 'route', 'add', 'fd00:77:50::/64', 'via', 'fd77::50', 'proto', String(OURS));
    ip(A, 'route', 'replace', '10.77.2.0/24', 'via', '192.168.77.9', 'proto', String(OURS));
    ip(A, 'route', 'del', 'fd00:77:2::/64');
    const report = await halfA.reconcile(leaseA, [leaseB, leaseD]);
    expect(report.changes).toBe(4);
    expect(ours(A)).toEqual([`10.77.2.0/24 via 192.168.77.2 dev pnh-ua proto ${OURS}`, `fd00:77:2::/64 via fd77::2 dev pnh-ua proto ${OURS}`]);
  });

  it('never touches a route of another protocol, also when a peer wants its destination', async () => {
    ip(A, 'route', 'add', '10.77.60.0/24', 'via', '192.168.77.60', 'proto', 'static');
    ip(A, 'route', 'add', '10.77.61.0/24', 'via', '192.168.77.61', 'proto', 'boot');
    const leaseE: NodeLease = { node: 'node-e', subnets: ['10.77.60.0/24'], nodeIps: ['192.168.77.6'] };
    const report = await halfA.reconcile(leaseA, [leaseB, leaseE]);
    expect(report.programmed).toBe(2);
    expect(report.errors).toEqual([
      `route 10.77.60.0/24 via 192.168.77.6 dev #${env(A, 'pnh-ua').underlay.index} proto ${OURS} metric 0: the kernel has route 10.77.60.0/24 via 192.168.77.60 dev #${env(A, 'pnh-ua').underlay.index} proto 4 there (protocol 4, not ours); left alone`,
    ]);
    expect(routes(A)).toContain('10.77.60.0/24 via 192.168.77.60 dev pnh-ua proto static');
    expect(routes(A)).toContain('10.77.61.0/24 via 192.168.77.61 dev pnh-ua proto boot');
  });

  it('reopens its socket after close() and works on', async () => {
    halfA.close();
    const report = await halfA.reconcile(leaseA, [leaseB]);
    expect([report.programmed, report.changes, report.errors]).toEqual([2, 0, []]);
  });

  it('fails a reconcile whose underlay link is gone, without touching the routes', async () => {
    const gone = hostGwNodeHalf.create({ ...env(A, 'pnh-ua'), underlay: { name: 'pnh-gone', index: 999_999, mtu: 1500, addresses: [] } });
    await expect(gone.reconcile(leaseA, [leaseB])).rejects.toThrow(/ENODEV/);
    gone.close();
    expect(ours(A)).toHaveLength(2);
  });

  it('teardown removes every route of ours (any table, both families) and nothing else', async () => {
    ip(A, 'route', 'add', '10.77.70.0/24', 'via', '192.168.77.70', 'proto', String(OURS), 'table', '100');
    const before = routes(A).filter((r) => !r.endsWith(` proto ${OURS}`));
    await halfA.teardown();
    expect(ours(A)).toEqual([]);
    expect(ours(A, '100')).toEqual([]);
    expect(routes(A)).toEqual(before);
    expect(before).toContain('10.77.60.0/24 via 192.168.77.60 dev pnh-ua proto static');
    // The kernel's connected routes are still there: the node keeps its underlay.
    expect(ipj(A, 'route', 'show', '192.168.77.0/24')).toHaveLength(1);
    await halfA.teardown(); // idempotent
  });

  it('reports what the kernel refuses (underlay down) and converges again once it is back', async () => {
    // Down: the connected routes go (the kernel refuses a next hop there), IPv6 addresses go too.
    ip(B, 'link', 'set', 'pnh-ub', 'down');
    const down = await halfB.reconcile(leaseB, [leaseA]);
    expect(down.programmed).toBe(0);
    expect(down.errors).toEqual([expect.stringMatching(/^RTM_NEWROUTE route 10\.77\.1\.0\/24 via 192\.168\.77\.1 .*: ENETUNREACH/)]);
    expect(down.skipped.map((s) => s.reason)).toEqual([expect.stringContaining('node address fd77::1 is not on-link on pnh-ub')]);

    ip(B, 'link', 'set', 'pnh-ub', 'up');
    ip(B, 'address', 'add', 'fd77::2/64', 'dev', 'pnh-ub', 'nodad');
    const up = await halfB.reconcile(leaseB, [leaseA]);
    expect([up.programmed, up.errors, up.skipped]).toEqual([2, [], []]);
    expect(ours(B)).toHaveLength(2);
  });

  it('refuses an environment that would make it delete routes it does not own', () => {
    const e = env(A, 'pnh-ua');
    expect(() => hostGwNodeHalf.create({ ...e, routeProtocol: 2 })).toThrow(/invalid routeProtocol 2/);
    expect(() => hostGwNodeHalf.create({ ...e, underlay: { ...e.underlay, index: 0 } })).toThrow(/invalid underlay.index 0/);
    expect(hostGwNodeHalf.podMtu(9000, 4)).toBe(9000);
  });
});
