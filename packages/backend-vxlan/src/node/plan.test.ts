import { describe, expect, it } from 'vitest';
import type { NodeLease } from '@podnet/core/backend';
import { deriveVtepMac } from '../vtep/mac.js';
import { knownNodeAddresses, planPeers } from './plan.js';

const local: NodeLease = { node: 'a', subnets: ['10.244.1.0/24', 'fd00:244:1::/64'], nodeIps: ['192.168.1.1', 'fd01::1'] };
const b: NodeLease = {
  node: 'b',
  subnets: ['10.244.2.0/24', 'fd00:244:2::/64'],
  nodeIps: ['192.168.1.2', 'fd01::2'],
  backendData: { VNI: 1, VtepMAC: '02:00:00:00:00:0b', VtepMAC6: '02:00:00:00:06:0b' },
};
const c: NodeLease = { node: 'c', subnets: ['10.244.3.0/24'], nodeIps: ['10.9.0.3'] };
const devices = { 4: { index: 10 }, 6: { index: 11 } };

describe('planPeers', () => {
  it('gives every peer subnet a neighbour, an FDB entry and an onlink route on the device of its family', () => {
    const plan = planPeers(local, [b, c], { vni: 1, devices });
    expect(plan.skipped).toEqual([]);
    expect(plan.tunneled).toBe(3);
    expect(plan.neighbours).toEqual([
      { index: 10, address: '10.244.2.0', mac: '02:00:00:00:00:0b' },
      { index: 11, address: 'fd00:244:2::', mac: '02:00:00:00:06:0b' },
      { index: 10, address: '10.244.3.0', mac: deriveVtepMac('c', 4) },
    ]);
    expect(plan.fdb).toEqual([
      { index: 10, mac: '02:00:00:00:00:0b', dst: '192.168.1.2' },
      { index: 11, mac: '02:00:00:00:06:0b', dst: 'fd01::2' },
      { index: 10, mac: deriveVtepMac('c', 4), dst: '10.9.0.3' },
    ]);
    expect(plan.routes).toEqual([
      { dst: '10.244.2.0', dstLen: 24, gateway: '10.244.2.0', oif: 10, onlink: true },
      { dst: 'fd00:244:2::', dstLen: 64, gateway: 'fd00:244:2::', oif: 11, onlink: true },
      { dst: '10.244.3.0', dstLen: 24, gateway: '10.244.3.0', oif: 10, onlink: true },
    ]);
  });

  it("skips, with host-gw's reasons, what cannot be routed; and peers on another VNI or sharing our underlay address", () => {
    const bad: NodeLease[] = [
      { node: 'd', subnets: ['10.244.1.128/25'], nodeIps: ['192.168.1.4'] },
      { node: 'e', subnets: ['10.244.5.0/24'], nodeIps: ['192.168.1.5'], backendData: { VNI: 7 } },
      { node: 'f', subnets: ['10.244.6.0/24'], nodeIps: ['192.168.1.1'] },
      { node: 'g', subnets: ['fd00:244:7::/64'], nodeIps: ['192.168.1.7'] },
      { node: 'h', subnets: ['10.244.2.0/24'], nodeIps: ['192.168.1.8'] },
    ];
    const plan = planPeers(local, [b, ...bad], { vni: 1, devices });
    expect(plan.tunneled).toBe(2);
    expect(plan.skipped.map((s) => `${s.node}: ${s.reason}`)).toEqual([
      'e: publishes VNI 7, this node runs VNI 1 (Backend.VNI must be the same on every node)',
      "d: subnet 10.244.1.128/25: overlaps this node's subnet 10.244.1.0/24",
      'g: subnet fd00:244:7::/64: no IPv6 node address (node addresses: 192.168.1.7)',
      'h: subnet 10.244.2.0/24: also leased to node b, which keeps the route',
      "f: subnet 10.244.6.0/24: its underlay address 192.168.1.1 is this node's own",
    ]);
  });

  it('reports a peer subnet of a family this node has no overlay for', () => {
    const plan = planPeers(local, [b], { vni: 1, devices: { 4: { index: 10 } } });
    expect(plan.tunneled).toBe(1);
    expect(plan.skipped).toEqual([{ node: 'b', reason: expect.stringContaining('subnet fd00:244:2::/64: this node has no IPv6 overlay') }]);
  });

  it('with DirectRouting routes on-link peers as host-gw does and tunnels the rest', () => {
    const underlay = {
      name: 'eth0',
      index: 2,
      addresses: [
        { address: '192.168.1.1', prefixLength: 24 },
        { address: 'fd01::1', prefixLength: 64 },
      ],
    };
    const plan = planPeers(local, [b, c], { vni: 1, devices, direct: underlay });
    expect([plan.direct, plan.tunneled]).toEqual([2, 1]);
    expect(plan.routes).toEqual([
      { dst: '10.244.2.0', dstLen: 24, gateway: '192.168.1.2', oif: 2 },
      { dst: 'fd00:244:2::', dstLen: 64, gateway: 'fd01::2', oif: 2 },
      { dst: '10.244.3.0', dstLen: 24, gateway: '10.244.3.0', oif: 10, onlink: true },
    ]);
    expect(plan.neighbours.map((n) => n.address)).toEqual(['10.244.3.0']);
  });
});

describe('knownNodeAddresses', () => {
  it('collects every peer address by family, canonical and without duplicates', () => {
    expect(knownNodeAddresses([b, c, { node: 'x', subnets: [], nodeIps: ['FD01:0::2', 'junk'] }])).toEqual({ 4: ['10.9.0.3', '192.168.1.2'], 6: ['fd01::2'] });
  });
});
