// CIDR parsing itself is core's (@podnet/core/netlink tryParseCidr, tested in core's ip.test.ts).
import { parseCidr } from '@podnet/core/netlink';
import { describe, expect, it } from 'vitest';
import { canonicalIp, contains, firstHost, networkOf } from './cidr.js';

describe('cidr', () => {
  it.each([
    ['10.22.0.5/24', '10.22.0.0/24', '10.22.0.1'],
    ['10.22.7.5/16', '10.22.0.0/16', '10.22.0.1'],
    ['fd00:1:2:3::5/64', 'fd00:1:2:3::/64', 'fd00:1:2:3::1'],
    ['2001:db8::1:0:0:1/48', '2001:db8::/48', '2001:db8::1'],
  ])('%s: network %s, first host %s', (text, net, gw) => {
    const c = parseCidr(text);
    expect(networkOf(c)).toBe(net);
    expect(firstHost(c)).toBe(gw);
  });

  it('formats IPv6 per RFC 5952', () => {
    expect(canonicalIp('2001:0db8:0000:0000:0001:0000:0000:0001')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('0:0:0:0:0:0:0:0')).toBe('::');
    expect(canonicalIp('fd00:0:1:0:0:0:0:0')).toBe('fd00:0:1::');
    expect(canonicalIp('1:0:2:3:4:5:6:7')).toBe('1:0:2:3:4:5:6:7');
  });

  it('tests membership', () => {
    const c = parseCidr('10.22.0.0/24');
    expect(contains(c, '10.22.0.200')).toBe(true);
    expect(contains(c, '10.22.1.1')).toBe(false);
    expect(contains(c, 'fd00::1')).toBe(false);
  });
});
