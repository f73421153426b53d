import { describe, expect, it } from 'vitest';
import { parseBridgeConfig } from '@podnet/backend-bridge';
import type { BridgeConfig } from '@podnet/backend-bridge';
import type { LeaseFile } from '@podnet/cluster/lease-file';
import type { NetConf } from '@podnet/core/cni';
import { HOST_GW_KEYS } from './lease.js';
import { DEFAULT_BRIDGE } from './pod-half.js';
import { resolveHostGwConfig, withDefaultIpam } from './resolve.js';

const dual: LeaseFile = {
  version: 1,
  node: 'node-a',
  network: { ipv4: '10.244.0.0/16', ipv6: 'fd00:10:244::/56' },
  subnets: { ipv4: '10.244.3.0/24', ipv6: 'fd00:10:244:3::/64' },
  mtu: 1480,
  backend: 'host-gw',
  writtenAt: '2026-12-01T00:00:00Z',
};
const v4only: LeaseFile = { ...dual, network: { ipv4: '10.244.0.0/16' }, subnets: { ipv4: '10.244.3.0/24' } };

/** What the pod half does: default ipam, bridge parse, host-gw resolution. */
function resolve(extra: Record<string, unknown>, lease: LeaseFile | null = dual): BridgeConfig {
  const conf = withDefaultIpam({ cniVersion: '1.1.0', name: 'pods', type: 'podnet-host-gw', ...extra } as NetConf);
  return resolveHostGwConfig(parseBridgeConfig(conf, {}, { defaultBridge: DEFAULT_BRIDGE, extraKeys: HOST_GW_KEYS }), conf, lease ?? undefined);
}

describe('resolveHostGwConfig', () => {
  it('turns {"type": "podnet-host-gw"} and a dual-stack lease into a complete bridge config', () => {
    expect(resolve({})).toEqual({
      network: 'pods',
      cniVersion: '1.1.0',
      bridge: 'podnet0',
      isGateway: true,
      isDefaultGateway: true,
      forceAddress: false,
      ipMasq: false,
      hairpinMode: true,
      promiscMode: false,
      mtu: 1480,
      masqExempt: ['10.244.0.0/16', 'fd00:10:244::/56'],
      portMappings: [],
      ipam: {
        type: 'podnet-ipam',
        ranges: [[{ subnet: '10.244.3.0/24' }], [{ subnet: 'fd00:10:244:3::/64' }]],
        routes: [{ dst: '10.244.0.0/16' }, { dst: 'fd00:10:244::/56' }],
      },
    });
  });

  it('gives a single-stack lease a single range and a single cluster route', () => {
    const cfg = resolve({}, v4only);
    expect(cfg.ipam).toEqual({ type: 'podnet-ipam', ranges: [[{ subnet: '10.244.3.0/24' }]], routes: [{ dst: '10.244.0.0/16' }] });
    expect(cfg.masqExempt).toEqual(['10.244.0.0/16']);
  });

  it('lets every explicit key win over the lease and the defaults', () => {
    const cfg = resolve({ mtu: 1400, bridge: 'cni0', ipMasq: true, isDefaultGateway: false, hairpinMode: false, forceAddress: true });
    expect(cfg).toMatchObject({ mtu: 1400, bridge: 'cni0', ipMasq: true, isDefaultGateway: false, isGateway: true, hairpinMode: false, forceAddress: true });
    // Masquerading by the pod half (ipMasq) still never touches pod → cluster traffic.
    expect(cfg.masqExempt).toEqual(['10.244.0.0/16', 'fd00:10:244::/56']);
  });

  it('keeps isGateway false (and so no default route) when the conflist says so', () => {
    expect(resolve({ isGateway: false })).toMatchObject({ isGateway: false, isDefaultGateway: false });
    expect(resolve({ isGateway: false, isDefaultGateway: true })).toMatchObject({ isGateway: true, isDefaultGateway: true });
  });

  it('does not turn hairpin on next to promiscMode (the bridge refuses both)', () => {
    expect(resolve({ promiscMode: true })).toMatchObject({ promiscMode: true, hairpinMode: false });
  });

  it('fills the built-in IPAM section key by key: dataDir and reserved kept, ranges and routes from the lease', () => {
    expect(resolve({ ipam: { type: 'podnet-ipam', dataDir: '/tmp/x', reserved: ['10.244.3.9'] } }).ipam).toEqual({
      type: 'podnet-ipam',
      dataDir: '/tmp/x',
      reserved: ['10.244.3.9'],
      ranges: [[{ subnet: '10.244.3.0/24' }], [{ subnet: 'fd00:10:244:3::/64' }]],
      routes: [{ dst: '10.244.0.0/16' }, { dst: 'fd00:10:244::/56' }],
    });
    const ranges = [[{ subnet: '10.244.3.0/25' }]];
    expect(resolve({ ipam: { type: 'podnet-ipam', ranges } }).ipam).toEqual({
      type: 'podnet-ipam',
      ranges,
      routes: [{ dst: '10.244.0.0/16' }, { dst: 'fd00:10:244::/56' }],
    });
    expect(resolve({ ipam: { type: 'podnet-ipam', subnet: '10.244.3.0/26', routes: [] } }).ipam).toEqual({
      type: 'podnet-ipam',
      subnet: '10.244.3.0/26',
      routes: [],
    });
  });

  it('hands another IPAM its section untouched (the same object: the delegate then gets the stdin bytes)', () => {
    const ipam = { type: 'host-local', ranges: [[{ subnet: '10.244.3.0/24' }]] };
    const conf = { cniVersion: '1.1.0', name: 'pods', type: 'podnet-host-gw', ipam } as NetConf;
    const cfg = resolveHostGwConfig(parseBridgeConfig(conf, {}, { defaultBridge: DEFAULT_BRIDGE, extraKeys: HOST_GW_KEYS }), conf, dual);
    expect(cfg.ipam).toBe(ipam);
    expect(cfg.mtu).toBe(1480);
  });

  it('keeps an explicit "ipam": {} (L2 only): no addresses, no gateway defaults', () => {
    const cfg = resolve({ ipam: {} });
    expect(cfg.ipam).toBeUndefined();
    expect(cfg).toMatchObject({ isGateway: false, isDefaultGateway: false });
  });

  it('without a lease (DEL, GC) keeps the store location and fills nothing from the lease', () => {
    const cfg = resolve({ ipam: { type: 'podnet-ipam', dataDir: '/tmp/x' } }, null);
    expect(cfg.ipam).toEqual({ type: 'podnet-ipam', dataDir: '/tmp/x' });
    expect(cfg.mtu).toBeUndefined();
    expect(cfg.masqExempt).toEqual([]);
    expect(resolve({}, null).ipam).toEqual({ type: 'podnet-ipam' });
  });
});

describe('withDefaultIpam', () => {
  it('adds the built-in IPAM only when the conflist has no ipam at all', () => {
    const conf = { cniVersion: '1.1.0', name: 'pods', type: 'podnet-host-gw' } as NetConf;
    expect(withDefaultIpam(conf).ipam).toEqual({ type: 'podnet-ipam' });
    expect(conf.ipam).toBeUndefined();
    const explicit = { ...conf, ipam: { type: 'host-local' } };
    expect(withDefaultIpam(explicit)).toBe(explicit);
  });
});
