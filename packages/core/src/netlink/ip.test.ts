import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { formatIp, formatMac, ipFamily, isIp, parseCidr, parseIp, parseMac, tryParseCidr } from './ip.js';

describe('IP text', () => {
  it.each([
    ['10.1.2.3', '10.1.2.3'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['fd00::1', 'fd00::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['fe80::0:0:1', 'fe80::1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['1::', '1::'],
  ])('%s round-trips to %s', (text, canonical) => {
    expect(formatIp(parseIp(text))).toBe(canonical);
  });

  it('gives bytes in network order', () => {
    expect([...parseIp('10.1.2.3')]).toEqual([10, 1, 2, 3]);
    expect([...parseIp('fd00::1')]).toEqual([0xfd, 0, ...new Array(13).fill(0), 1]);
    expect(ipFamily('10.0.0.1')).toBe(4);
    expect(ipFamily('fd00::')).toBe(6);
  });

  it.each([
    '',
    '10.1.2',
    '10.1.2.256',
    '010.1.2.3',
    '1.2.3.4.5',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7::8',
    'fe80::1%eth0',
    'g::1',
    '12345::',
    '10.0.0.1/24',
    '1.2.3.4::',
    '1.2.3.4::1',
    '::1.2.3.4:5',
  ])('rejects %j', (text) => {
    expect(isIp(text)).toBe(false);
    expect(() => parseIp(text)).toThrow(`invalid IP address "${text}"`);
  });
});

// node:net's isIP is the reference isIp/ipFamily must agree with (the codec exists so that shipped
// code need not load node:net); zones are refused on purpose, where isIP accepts them.
describe('IP text against node:net isIP', () => {
  it.each([
    '0.0.0.0',
    '10.22.0.5',
    '255.255.255.255',
    '256.1.1.1',
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4',
    '1.2.3.4 ',
    '',
    '::',
    '::1',
    '1::',
    'fd00:22::5',
    '2001:db8:0:0:0:0:0:1',
    '2001:db8::0:0:0:0:0:1',
    '2001:db8:0:0:0:0:0:0:1',
    '::ffff:10.0.0.1',
    '64:ff9b::192.0.2.33',
    '1:2:3:4:5:6:1.2.3.4',
    '1:2:3:4:5:6:7:1.2.3.4',
    '::1.2.3.4:5',
    ':::',
    '1:::2',
    ':1::',
    '1::2::3',
    'fe80::1%eth0',
    'g::1',
    '12345::',
    'fd00::/64',
    '1.2.3.4/24',
  ])('%j', (text) => {
    expect(isIp(text) ? ipFamily(text) : 0).toBe(text.includes('%') ? 0 : isIP(text));
  });
});

describe('MAC text', () => {
  it('parses and formats', () => {
    expect(formatMac(parseMac('02:42:AC:11:00:02'))).toBe('02:42:ac:11:00:02');
    expect(formatMac(parseMac('02-42-ac-11-00-02'))).toBe('02:42:ac:11:00:02');
  });
  it('rejects bad text', () => {
    expect(() => parseMac('02:42:ac:11:00')).toThrow('invalid MAC address "02:42:ac:11:00"');
    expect(() => parseMac('02:42:ac:11:00:0g')).toThrow(/invalid MAC/);
  });
});

describe('CIDR text', () => {
  it('splits address and prefix length, canonicalising the address', () => {
    expect(parseCidr('10.1.0.0/16')).toEqual({ address: '10.1.0.0', prefixLength: 16, family: 4 });
    expect(parseCidr('FD00:0::/64')).toEqual({ address: 'fd00::', prefixLength: 64, family: 6 });
    expect(parseCidr('10.1.2.3')).toEqual({ address: '10.1.2.3', prefixLength: 32, family: 4 });
  });
  it.each(['10.1.0.0/33', 'fd00::/129', '10.1.0.0/', '10.1.0.0/08', 'x/8', '10.0.0.0/8/8'])('rejects %j', (text) => {
    expect(() => parseCidr(text)).toThrow(`invalid CIDR "${text}"`);
    expect(tryParseCidr(text)).toBeUndefined();
  });
  // The bridge backend's table (it parses IPAM results with tryParseCidr).
  it.each([
    ['10.22.0.5/24', { address: '10.22.0.5', prefixLength: 24, family: 4 }],
    ['10.22.0.5', { address: '10.22.0.5', prefixLength: 32, family: 4 }],
    ['FD00:0:0::5/64', { address: 'fd00::5', prefixLength: 64, family: 6 }],
    // RFC 5952 §5: an IPv4-mapped address keeps its dotted tail (inet_ntop and nft print it so).
    ['::ffff:10.0.0.1/128', { address: '::ffff:10.0.0.1', prefixLength: 128, family: 6 }],
  ])('tryParseCidr parses %s', (text, want) => {
    expect(tryParseCidr(text)).toEqual(want);
  });
  it.each([
    '256.0.0.1',
    '01.0.0.1x',
    '1.2.3',
    'fd00:::1',
    '1:2:3:4:5:6:7:8:9',
    'g::1',
    '1::2::3',
    ':',
    '10.0.0.1/33',
    'fd00::/129',
    '10.0.0/24',
    'x',
    '10.0.0.1/',
    '10.0.0.1/2a',
    'fd00::1/-1',
  ])('tryParseCidr rejects %j', (text) => {
    expect(tryParseCidr(text)).toBeUndefined();
  });
});
