import { describe, expect, it } from 'vitest';
import type { NodeLease } from '@podnet/core/backend';
import { ParseCache, peerRoutes } from './routes.js';
import type { Underlay } from './routes.js';

const underlay: Underlay = {
  name: 'eth0',
  index: 7,
  addresses: [
    { address: '192.168.50.1', prefixLength: 24 },
    { address: 'fd50::1', prefixLength: 64 },
    { address: 'fe80::1', prefixLength: 64 },
  ],
};
const local: NodeLease = { node: 'a', subnets: ['10.244.1.0/24', 'fd00:244:1::/64'], nodeIps: ['192.168.50.1', 'fd50::1'] };
const peer = (node: string, subnets: string[], nodeIps: string[]): NodeLease => ({ node, subnets, nodeIps });

describe('peerRoutes', () => {
  it('routes each peer subnet via the peer address of its family, out of the underlay', () => {
    const { routes, skipped } = peerRoutes(local, [peer('b', ['10.244.2.0/24', 'fd00:244:2::/64'], ['192.168.50.2', 'FD50::0:2'])], underlay);
    expect(skipped).toEqual([]);
    expect(routes).toEqual([
      { dst: '10.244.2.0', dstLen: 24, gateway: '192.168.50.2', oif: 7 },
      { dst: 'fd00:244:2::', dstLen: 64, gateway: 'fd50::2', oif: 7 },
    ]);
  });

  it('uses the first on-link address of a family and skips a peer with none, saying why', () => {
    const { routes, skipped } = peerRoutes(
      local,
      [peer('b', ['10.244.2.0/24'], ['172.16.0.2', '192.168.50.2']), peer('c', ['10.244.3.0/24', 'fd00:244:3::/64'], ['10.9.9.9', 'fd99::3'])],
      underlay,
    );
    expect(routes).toEqual([{ dst: '10.244.2.0', dstLen: 24, gateway: '192.168.50.2', oif: 7 }]);
    expect(skipped).toEqual([
      {
        node: 'c',
        reason:
          'subnet 10.244.3.0/24: node address 10.9.9.9 is not on-link on eth0 (its IPv4 prefixes: 192.168.50.0/24); host-gw needs the nodes on one L2 segment',
      },
      {
        node: 'c',
        reason:
          'subnet fd00:244:3::/64: node address fd99::3 is not on-link on eth0 (its IPv6 prefixes: fd50::/64, fe80::/64); host-gw needs the nodes on one L2 segment',
      },
    ]);
  });

  it('skips a subnet without a node address of its family, but routes the other family', () => {
    const { routes, skipped } = peerRoutes(local, [peer('b', ['10.244.2.0/24', 'fd00:244:2::/64'], ['192.168.50.2'])], underlay);
    expect(routes.map((r) => r.dst)).toEqual(['10.244.2.0']);
    expect(skipped).toEqual([{ node: 'b', reason: 'subnet fd00:244:2::/64: no IPv6 node address (node addresses: 192.168.50.2)' }]);
  });

  it('gives a subnet leased twice to the first node by name, whatever the order', () => {
    const x = peer('x', ['10.244.9.0/24'], ['192.168.50.9']);
    const w = peer('w', ['10.244.9.0/24'], ['192.168.50.8']);
    for (const peers of [
      [x, w],
      [w, x],
    ]) {
      const { routes, skipped } = peerRoutes(local, peers, underlay);
      expect(routes).toEqual([{ dst: '10.244.9.0', dstLen: 24, gateway: '192.168.50.8', oif: 7 }]);
      expect(skipped).toEqual([{ node: 'x', reason: 'subnet 10.244.9.0/24: also leased to node w, which keeps the route' }]);
    }
  });

  it('refuses what would break the node: its own subnet, its own address, itself, malformed subnets', () => {
    const { routes, skipped } = peerRoutes(
      local,
      [
        peer('a', ['10.244.1.0/24'], ['192.168.50.1']),
        peer('b', ['10.244.0.0/16'], ['192.168.50.2']),
        peer('c', ['10.244.5.0/24'], ['192.168.50.1']),
        peer('d', ['10.244.6.1/24', 'bogus', '10.244.7.0'], ['192.168.50.4']),
      ],
      underlay,
    );
    expect(routes).toEqual([]);
    expect(skipped).toEqual([
      { node: 'a', reason: 'is this node (its own lease among the peers)' },
      { node: 'b', reason: "subnet 10.244.0.0/16: overlaps this node's subnet 10.244.1.0/24" },
      { node: 'c', reason: "subnet 10.244.5.0/24: node address 192.168.50.1 is this node's own" },
      { node: 'd', reason: 'subnet 10.244.6.1/24: not a network address (expected 10.244.6.0/24)' },
      { node: 'd', reason: 'subnet bogus: not a CIDR' },
      { node: 'd', reason: 'subnet 10.244.7.0: not a CIDR' },
    ]);
  });

  it('skips everything when the underlay has no address of the family', () => {
    const { routes, skipped } = peerRoutes(local, [peer('b', ['10.244.2.0/24'], ['192.168.50.2'])], { ...underlay, addresses: [] });
    expect(routes).toEqual([]);
    expect(skipped[0]?.reason).toContain('(its IPv4 prefixes: none)');
  });

  it('handles 5,000 peers: 5,000 distinct routes', () => {
    const peers = Array.from({ length: 5000 }, (_, i) => peer(`n${i}`, [`10.${100 + (i >> 8)}.${i & 255}.0/24`], [`192.168.50.${(i % 250) + 2}`]));
    const { routes, skipped } = peerRoutes(local, peers, underlay);
    expect(skipped).toEqual([]);
    expect(new Set(routes.map((r) => r.dst)).size).toBe(5000);
  });

  it('reuses what an earlier pass parsed, and forgets what two passes did not use', () => {
    const cache = new ParseCache();
    const first = cache.get('10.244.2.0/24');
    cache.rotate();
    expect(cache.get('10.244.2.0/24'), 'the same object: not parsed again').toBe(first);
    cache.rotate();
    cache.rotate();
    expect(cache.get('10.244.2.0/24')).not.toBe(first);
    expect(cache.get('192.168.50.2')).toMatchObject({ length: 32, address: '192.168.50.2' });
    expect(cache.get('not-an-ip')).toBeUndefined();
  });

  it('hands out the same frozen route object pass after pass (core keeps its normal form)', () => {
    const cache = new ParseCache();
    const peers = [peer('n1', ['10.244.2.0/24'], ['192.168.50.2'])];
    const first = peerRoutes(local, peers, underlay, cache).routes[0]!;
    const again = peerRoutes(local, peers, underlay, cache).routes[0]!;
    expect(again).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    const moved = peerRoutes(local, [peer('n1', ['10.244.2.0/24'], ['192.168.50.3'])], underlay, cache).routes[0]!;
    expect(moved).not.toBe(first);
    expect(moved).toEqual({ dst: '10.244.2.0', dstLen: 24, gateway: '192.168.50.3', oif: underlay.index });
  });

  it('a frozen peer lease (as podnetd hands them) is parsed once; its route follows the underlay', () => {
    const cache = new ParseCache();
    const p = peer('n1', ['10.244.2.0/24'], ['192.168.50.2']);
    Object.freeze(p.subnets);
    Object.freeze(p.nodeIps);
    Object.freeze(p);
    expect(cache.peer(p)).toBe(cache.peer(p));
    const first = peerRoutes(local, [p], underlay, cache).routes[0]!;
    expect(peerRoutes(local, [p], underlay, cache).routes[0]).toBe(first);
    const other = { ...underlay, index: underlay.index + 1 };
    expect(peerRoutes(local, [p], other, cache).routes[0]).toEqual({ ...first, oif: underlay.index + 1 });
  });
});
