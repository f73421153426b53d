import { describe, expect, it } from 'vitest';
import { canonicalIp, contains, firstHost, networkOf, parseCidr } from './cidr.js';

describe('cidr', () => {
  it.each([
    ['10.22.0.5/24', { address: '10.22.0.5', prefix: 24, family: 4 }],
    ['10.22.0.5', { address: '10.22.0.5', prefix: 32, family: 4 }],
    ['FD00:0:0::5/64', { address: 'fd00::5', prefix: 64, family: 6 }],
    ['::ffff:10.0.0.1/128', { address: '::ffff:a00:1', prefix: 128, family: 6 }],
  ])('parses %s', (text, want) => {
    expect(parseCidr(text)).toEqual(want);
  });

  it.each(['256.0.0.1', '01.0.0.1x', '1.2.3', 'fd00:::1', '1:2:3:4:5:6:7:8:9', 'g::1', '1::2::3', ':', '10.0.0.1/33', 'fd00::/129', '10.0.0/24', 'x', '10.0.0.1/', '10.0.0.1/2a', 'fd00::1/-1'])('rejects %s', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });

  it.each([
    ['10.22.0.5/24', '10.22.0.0/24', '10.22.0.1'],
    ['10.22.7.5/16', '10.22.0.0/16', '10.22.0.1'],
    ['fd00:1:2:3::5/64', 'fd00:1:2:3::/64', 'fd00:1:2:3::1'],
    ['2001:db8::1:0:0:1/48', '2001:db8::/48', '2001:db8::1'],
  ])('%s: network %s, first host %s', (text, net, gw) => {
    const c = parseCidr(text)!;
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
    const c = parseCidr('10.22.0.0/24')!;
    expect(contains(c, '10.22.0.200')).toBe(true);
    expect(contains(c, '10.22.1.1')).toBe(false);
    expect(contains(c, 'fd00::1')).toBe(false);
  });
});
