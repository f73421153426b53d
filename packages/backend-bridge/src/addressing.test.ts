import { describe, expect, it } from 'vitest';
import type { NetConf } from '@podnet/core/cni';
import { buildResult, planAddressing } from './addressing.js';
import { parseBridgeConfig } from './config.js';

const ipamSection = { type: 'podnet-ipam' };

function cfg(extra: Record<string, unknown> = {}) {
  return parseBridgeConfig({ cniVersion: '1.0.0', name: 'n', type: 'podnet-bridge', ipam: ipamSection, ...extra } as NetConf, {}, { defaultBridge: 'podnet0' });
}

describe('planAddressing', () => {
  it('is empty for L2-only', () => {
    expect(planAddressing(cfg({ ipam: {} }), undefined)).toEqual({ addresses: [], routes: [], bridgeAddresses: [] });
  });

  it('uses the IPAM gateway, adds default routes per family with isDefaultGateway', () => {
    const plan = planAddressing(cfg({ isDefaultGateway: true }), {
      cniVersion: '1.0.0',
      ips: [
        { address: '10.22.0.5/24', gateway: '10.22.0.1' },
        { address: 'fd22::5/64', gateway: 'fd22::1' },
      ],
    });
    expect(plan.addresses.map((a) => [a.cidr, a.gateway])).toEqual([
      ['10.22.0.5/24', '10.22.0.1'],
      ['fd22::5/64', 'fd22::1'],
    ]);
    expect(plan.routes.map((r) => r.entry)).toEqual([
      { dst: '0.0.0.0/0', gw: '10.22.0.1' },
      { dst: '::/0', gw: 'fd22::1' },
    ]);
    expect(plan.bridgeAddresses).toEqual([
      { address: '10.22.0.1', prefixLength: 24, family: 4 },
      { address: 'fd22::1', prefixLength: 64, family: 6 },
    ]);
  });

  it('derives the gateway from the subnet when IPAM gives none and isGateway', () => {
    const plan = planAddressing(cfg({ isGateway: true }), { cniVersion: '1.0.0', ips: [{ address: '10.22.3.7/16' }] });
    expect(plan.addresses[0]!.gateway).toBe('10.22.0.1');
    expect(plan.bridgeAddresses).toEqual([{ address: '10.22.0.1', prefixLength: 16, family: 4 }]);
  });

  it('has no gateway without isGateway and no IPAM gateway', () => {
    const plan = planAddressing(cfg(), { cniVersion: '1.0.0', ips: [{ address: '10.22.3.7/16' }] });
    expect(plan.addresses[0]!.gateway).toBeUndefined();
    expect(plan.bridgeAddresses).toEqual([]);
  });

  it('keeps IPAM routes, filling a missing gw with the family gateway, and no duplicate default', () => {
    const plan = planAddressing(cfg({ isDefaultGateway: true }), {
      cniVersion: '1.0.0',
      ips: [{ address: '10.22.0.5/24', gateway: '10.22.0.1' }],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '10.22.0.254' }],
    });
    expect(plan.routes.map((r) => [r.entry.dst, r.gw])).toEqual([
      ['0.0.0.0/0', '10.22.0.1'],
      ['192.168.0.0/16', '10.22.0.254'],
    ]);
  });

  it('fails when a configured IPAM returns no address', () => {
    expect(() => planAddressing(cfg(), { cniVersion: '1.0.0', ips: [] })).toThrow(expect.objectContaining({ code: 7 }));
  });

  it('fails on a malformed IPAM address', () => {
    expect(() => planAddressing(cfg(), { cniVersion: '1.0.0', ips: [{ address: '10.22.0.5' }] })).toThrow(expect.objectContaining({ code: 6 }));
  });
});

describe('buildResult', () => {
  it('lists bridge, host veth, container; points ips at the container; config dns wins', () => {
    const c = cfg({ dns: { nameservers: ['10.0.0.10'] } });
    const ipam = { cniVersion: '1.0.0', ips: [{ address: '10.22.0.5/24', gateway: '10.22.0.1' }], dns: { nameservers: ['1.1.1.1'] } };
    const r = buildResult(c, ipam, planAddressing(c, ipam), {
      bridge: { name: 'podnet0', mac: '02:00:00:00:00:01' },
      host: { name: 'veth0123456789a', mac: '02:00:00:00:00:02' },
      pod: { name: 'eth0', mac: '02:00:00:00:00:03', mtu: 1500, sandbox: '/run/netns/p' },
    });
    expect(r).toEqual({
      cniVersion: '1.0.0',
      interfaces: [
        { name: 'podnet0', mac: '02:00:00:00:00:01' },
        { name: 'veth0123456789a', mac: '02:00:00:00:00:02' },
        { name: 'eth0', mac: '02:00:00:00:00:03', mtu: 1500, sandbox: '/run/netns/p' },
      ],
      ips: [{ address: '10.22.0.5/24', gateway: '10.22.0.1', interface: 2 }],
      dns: { nameservers: ['10.0.0.10'] },
    });
  });

  it('passes the IPAM dns through when the config has none', () => {
    const c = cfg();
    const ipam = { cniVersion: '1.0.0', ips: [{ address: '10.22.0.5/24' }], dns: { nameservers: ['1.1.1.1'] } };
    const r = buildResult(c, ipam, planAddressing(c, ipam), {
      bridge: { name: 'b', mac: 'm' },
      host: { name: 'h', mac: 'm' },
      pod: { name: 'eth0', mac: 'm', sandbox: '/p' },
    });
    expect(r.dns).toEqual({ nameservers: ['1.1.1.1'] });
  });
});
