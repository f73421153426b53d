// Needs root: runs in a pnt-k-* netns this file creates and removes.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetNS, createNamedNetns, deleteNamedNetns } from '../netns/index.js';
import { NetlinkSocket, addressAdd, getLink, linkSet, vethAdd } from '../netlink/index.js';
import { RouteReconcileMemo, reconcileRoutes } from './index.js';
import type { DesiredRoute } from './index.js';

const NS = `pnt-k-r${process.pid}`;
const OURS = 99;
const ip = (...args: string[]): string => execFileSync('ip', ['-n', NS, ...args], { encoding: 'utf8' });
const routes = (): string[] =>
  (JSON.parse(ip('-N', '-j', 'route', 'show', 'table', 'main')) as Array<{ dst: string; gateway?: string; protocol?: string }>)
    .filter((r) => r.dst.startsWith('10.'))
    .map((r) => `${r.dst} via ${r.gateway ?? '-'} ${r.protocol ?? ''}`.trim())
    .sort();

let ns: NetNS;
let sock: NetlinkSocket;
let dev: number;

beforeAll(() => {
  deleteNamedNetns(NS);
  ns = NetNS.open(createNamedNetns(NS));
  sock = NetlinkSocket.open({ netns: ns });
  sock.request(vethAdd({ name: 'pnt-k-ra', peer: { name: 'pnt-k-rb' } }));
  dev = getLink(sock, 'pnt-k-ra')?.index ?? -1;
  sock.batch([linkSet('pnt-k-rb', { up: true }), linkSet(dev, { up: true }), addressAdd({ index: dev, address: '192.168.50.1', prefixLength: 24 })]);
  ip('route', 'add', '10.60.0.0/24', 'via', '192.168.50.3', 'proto', 'static'); // another owner's
  ip('route', 'add', '10.61.0.0/24', 'via', '192.168.50.4', 'proto', String(OURS)); // ours, stale
  ip('route', 'add', '10.62.0.0/24', 'via', '192.168.50.5', 'proto', String(OURS)); // ours, drifted
});

afterAll(() => {
  sock?.close();
  ns?.close();
  deleteNamedNetns(NS);
});

describe('reconcileRoutes', () => {
  it('repairs drift, removes stale routes, leaves foreign ones, and is idempotent', () => {
    const desired: DesiredRoute[] = [
      { dst: '10.60.0.0', dstLen: 24, gateway: '192.168.50.8' },
      { dst: '10.62.0.0', dstLen: 24, gateway: '192.168.50.6' },
      { dst: '10.63.0.0', dstLen: 24, gateway: '192.168.50.7' },
      { dst: '10.64.0.0', dstLen: 24, gateway: '10.64.0.0', oif: dev, onlink: true },
    ];
    const first = reconcileRoutes(sock, desired, { protocol: OURS, table: 254 });
    expect(first.failed).toEqual([]);
    expect(first.added.map((r) => r.dst).sort()).toEqual(['10.63.0.0', '10.64.0.0']);
    expect(first.replaced.map((r) => r.dst)).toEqual(['10.62.0.0']);
    expect(first.deleted.map((r) => r.dst)).toEqual(['10.61.0.0']);
    expect(first.conflicts.map((c) => [c.want.dst, c.have.protocol])).toEqual([['10.60.0.0', 4]]);
    expect(routes()).toEqual([
      '10.60.0.0/24 via 192.168.50.3 4',
      `10.62.0.0/24 via 192.168.50.6 ${OURS}`,
      `10.63.0.0/24 via 192.168.50.7 ${OURS}`,
      `10.64.0.0/24 via 10.64.0.0 ${OURS}`,
    ]);

    const second = reconcileRoutes(sock, desired, { protocol: OURS, table: 254 });
    expect([second.added, second.replaced, second.deleted, second.failed]).toEqual([[], [], [], []]);

    ip('route', 'replace', '10.63.0.0/24', 'via', '192.168.50.9', 'proto', String(OURS)); // drift by hand
    const third = reconcileRoutes(sock, desired.slice(0, 3), { protocol: OURS });
    expect(third.replaced.map((r) => r.dst)).toEqual(['10.63.0.0']);
    expect(third.deleted.map((r) => r.dst)).toEqual(['10.64.0.0']);
    expect(routes()).toContain(`10.63.0.0/24 via 192.168.50.7 ${OURS}`);
  });

  it('reports what the kernel refused and applies the rest', () => {
    const res = reconcileRoutes(
      sock,
      [
        { dst: '10.70.0.0', dstLen: 24, gateway: '172.31.0.1' }, // unreachable gateway
        { dst: '10.71.0.0', dstLen: 24, gateway: '192.168.50.7' },
      ],
      { protocol: OURS, table: 254 },
    );
    expect(res.failed.map((f) => [f.route.dst, f.error.code])).toEqual([['10.70.0.0', 'ENETUNREACH']]);
    expect(res.added.map((r) => r.dst)).toEqual(['10.71.0.0']);
    expect(routes().filter((r) => r.endsWith(` ${OURS}`))).toEqual([`10.71.0.0/24 via 192.168.50.7 ${OURS}`]);
  });

  it('with a memo: a pass finding the kernel as the last no-change pass left it returns that result; any drift is seen', () => {
    const memo = new RouteReconcileMemo();
    const desired: DesiredRoute[] = [
      Object.freeze({ dst: '10.80.0.0', dstLen: 24, gateway: '192.168.50.8' }),
      Object.freeze({ dst: '10.81.0.0', dstLen: 24, gateway: '192.168.50.9' }),
    ];
    const options = { protocol: OURS, table: 254 };
    const first = reconcileRoutes(sock, desired, options, memo);
    expect(first.added.map((r) => r.dst)).toEqual(['10.80.0.0', '10.81.0.0']);
    expect(first.deleted.map((r) => r.dst)).toEqual(['10.71.0.0']); // left by the test before
    const quiet = reconcileRoutes(sock, desired, options, memo);
    expect([quiet.added, quiet.replaced, quiet.deleted, quiet.failed]).toEqual([[], [], [], []]);
    expect(reconcileRoutes(sock, [...desired], options, memo), 'same kernel, same route objects: the kept result').toBe(quiet);

    ip('route', 'replace', '10.81.0.0/24', 'via', '192.168.50.7', 'proto', String(OURS)); // drift by hand
    const repaired = reconcileRoutes(sock, desired, options, memo);
    expect(repaired.replaced.map((r) => r.dst)).toEqual(['10.81.0.0']);
    expect(routes()).toContain(`10.81.0.0/24 via 192.168.50.9 ${OURS}`);

    const again = reconcileRoutes(sock, desired, options, memo);
    expect(again).not.toBe(quiet);
    expect(
      reconcileRoutes(sock, [{ dst: '10.80.0.0', dstLen: 24, gateway: '192.168.50.8' }, desired[1]!], options, memo),
      'a route object that may change: planned afresh',
    ).not.toBe(again);
    const fewer = reconcileRoutes(sock, desired.slice(0, 1), options, memo);
    expect(
      fewer.deleted.map((r) => r.dst),
      'other desired routes: planned afresh',
    ).toEqual(['10.81.0.0']);
  });
});
