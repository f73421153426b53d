import { describe, expect, it } from 'vitest';
import { ClusterError } from '../lease/types.js';
import { describeRange, familyRanges, parseNetworkConfig } from './network-config.js';

function fails(json: unknown, field: RegExp): void {
  let error: unknown;
  try {
    parseNetworkConfig(json);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ClusterError);
  expect((error as ClusterError).kind).toBe('config-invalid');
  expect((error as ClusterError).message).toMatch(field);
}

describe('parseNetworkConfig', () => {
  it('fills in flannel defaults for a /16: SubnetLen 24, the first subnet skipped, the last one included', () => {
    expect(parseNetworkConfig({ Network: '10.244.0.0/16' })).toEqual({
      Network: '10.244.0.0/16',
      SubnetLen: 24,
      SubnetMin: '10.244.1.0',
      SubnetMax: '10.244.255.0',
      EnableIPv4: true,
      EnableIPv6: false,
      IPv6SubnetLen: 0,
      IPv6SubnetMin: '',
      IPv6SubnetMax: '',
      Backend: { Type: 'host-gw' },
    });
  });

  it('uses SubnetLen 24 up to a /22 and prefix+2 for smaller networks', () => {
    expect(parseNetworkConfig({ Network: '10.0.0.0/22' }).SubnetLen).toBe(24);
    expect(parseNetworkConfig({ Network: '10.0.0.0/23' }).SubnetLen).toBe(25);
    const small = parseNetworkConfig({ Network: '10.0.0.0/28' });
    expect([small.SubnetLen, small.SubnetMin, small.SubnetMax]).toEqual([30, '10.0.0.4', '10.0.0.12']);
  });

  it('defaults IPv6SubnetLen to 64 and keeps backend options', () => {
    const c = parseNetworkConfig({ EnableIPv6: true, IPv6Network: 'fd00:10:244::/48', Network: '10.244.0.0/16', Backend: { Type: 'vxlan', VNI: 4 } });
    expect([c.IPv6Network, c.IPv6SubnetLen, c.IPv6SubnetMin, c.IPv6SubnetMax]).toEqual(['fd00:10:244::/48', 64, 'fd00:10:244:1::', 'fd00:10:244:ffff::']);
    expect(c.Backend).toEqual({ Type: 'vxlan', VNI: 4 });
    expect(familyRanges(c).map((r) => r.family)).toEqual([4, 6]);
  });

  it('allows IPv6 only', () => {
    const c = parseNetworkConfig({ EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fd00::/56' });
    expect(c.Network).toBeUndefined();
    expect(familyRanges(c).map((r) => describeRange(r))).toEqual([
      'IPv6Network fd00::/56 with IPv6SubnetLen 64 (IPv6SubnetMin fd00:0:0:1::, IPv6SubnetMax fd00:0:0:ff::)',
    ]);
  });

  it('honours explicit SubnetMin/SubnetMax', () => {
    const c = parseNetworkConfig({ Network: '10.1.0.0/16', SubnetLen: 20, SubnetMin: '10.1.0.0', SubnetMax: '10.1.32.0' });
    expect([c.SubnetMin, c.SubnetMax]).toEqual(['10.1.0.0', '10.1.32.0']);
  });

  it('refuses bad configs, naming the field', () => {
    fails(null, /JSON object/);
    fails({}, /"Network" is required/);
    fails({ Network: '10.0.0.0' }, /"Network".*no prefix/);
    fails({ Network: '10.0.0.1/16' }, /"Network".*host bits.*10\.0\.0\.0\/16/);
    fails({ Network: 'fd00::/16' }, /"Network".*not an IPv4 CIDR/);
    fails({ Network: '10.0.0.0/16', SubnetLen: 31 }, /"SubnetLen" 31 is too long/);
    fails({ Network: '10.0.0.0/16', SubnetLen: 17 }, /"SubnetLen" 17.*at least four subnets/);
    fails({ Network: '10.0.0.0/16', SubnetLen: '24' }, /"SubnetLen" must be an integer/);
    fails({ Network: '10.0.0.0/16', SubnetMin: '10.1.0.0' }, /"SubnetMin" 10\.1\.0\.0 is outside Network/);
    fails({ Network: '10.0.0.0/16', SubnetMax: '10.0.3.7' }, /"SubnetMax" 10\.0\.3\.7 is not the start of a \/24/);
    fails({ Network: '10.0.0.0/16', SubnetMin: '10.0.9.0', SubnetMax: '10.0.3.0' }, /"SubnetMin" 10\.0\.9\.0 is after "SubnetMax"/);
    fails({ Network: '10.0.0.0/16', EnableIPv4: false }, /both false/);
    fails({ Network: '10.0.0.0/16', EnableIPv6: true }, /"IPv6Network" is required/);
    fails({ Network: '10.0.0.0/16', EnableIPv6: 'yes' }, /"EnableIPv6" must be true or false/);
    fails({ Network: '10.0.0.0/16', EnableIPv6: true, IPv6Network: 'fd00::/64', IPv6SubnetLen: 65 }, /"IPv6SubnetLen" 65.*at least four/);
    fails({ Network: '10.0.0.0/16', Backend: 'vxlan' }, /"Backend" must be an object/);
    fails({ Network: '10.0.0.0/16', Backend: { Type: '' } }, /"Backend.Type"/);
    fails({ Network: '10.0.0.0/16', Subnetlen: 24, Foo: 1 }, /unknown keys "Subnetlen", "Foo"/);
  });

  it('parses its own output to the same config (what stores hold)', () => {
    const c = parseNetworkConfig({ Network: '10.244.0.0/16', EnableIPv6: true, IPv6Network: 'fd00:10:244::/56', Backend: { Type: 'host-gw' } });
    expect(parseNetworkConfig(JSON.parse(JSON.stringify(c)))).toEqual(c);
  });
});
