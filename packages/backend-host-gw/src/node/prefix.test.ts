import { describe, expect, it } from 'vitest';
import { parseIp } from '@podnet/core/netlink';
import { contains, overlaps, parsePrefix, prefixOf } from './prefix.js';

describe('prefix', () => {
  it('parses only CIDRs with an explicit length, naming the network canonically', () => {
    expect(parsePrefix('10.1.2.3/16')?.text).toBe('10.1.0.0/16');
    expect(parsePrefix('FD00:0:0:1::5/64')?.text).toBe('fd00:0:0:1::/64');
    expect(parsePrefix('10.1.0.0')).toBeUndefined();
    expect(parsePrefix('10.1.0.0/33')).toBeUndefined();
    expect(parsePrefix('nonsense/8')).toBeUndefined();
  });

  it('tests membership bit by bit, also off byte boundaries', () => {
    const p = prefixOf('192.168.1.130', 25);
    expect(contains(p, parseIp('192.168.1.255'))).toBe(true);
    expect(contains(p, parseIp('192.168.1.127'))).toBe(false);
    expect(contains(prefixOf('0.0.0.0', 0), parseIp('8.8.8.8'))).toBe(true);
    expect(contains(prefixOf('fd77::1', 64), parseIp('fd77::2'))).toBe(true);
    expect(contains(prefixOf('fd77::1', 64), parseIp('fd78::2'))).toBe(false);
    expect(contains(prefixOf('fd77::1', 64), parseIp('10.0.0.1')), 'another family').toBe(false);
  });

  it('finds overlaps in either direction and host bits', () => {
    expect(overlaps(parsePrefix('10.244.0.0/16')!, parsePrefix('10.244.7.0/24')!)).toBe(true);
    expect(overlaps(parsePrefix('10.244.7.0/24')!, parsePrefix('10.244.0.0/16')!)).toBe(true);
    expect(overlaps(parsePrefix('10.244.7.0/24')!, parsePrefix('10.244.8.0/24')!)).toBe(false);
    expect(parsePrefix('10.244.7.1/24')).toMatchObject({ hostBits: true, address: '10.244.7.1', text: '10.244.7.0/24' });
    expect(parsePrefix('10.244.7.0/24')?.hostBits).toBe(false);
    expect(parsePrefix('fd00::1/127')?.hostBits).toBe(true);
    expect(parsePrefix('fd00::/127')?.hostBits).toBe(false);
  });
});
