import { describe, expect, it } from 'vitest';
import { fixture, expectSameAsIproute2 } from './testing/golden.js';
import { addressAdd, addressDel, broadcastOf, decodeAddress } from './address.js';
import { RTM_NEWADDR } from './constants.js';
import { formatIp, parseIp } from './ip.js';
import { decodeMessages } from './message.js';

describe('address requests', () => {
  it('IPv4 without broadcast', () => {
    expectSameAsIproute2(addressAdd({ index: 4, address: '10.1.2.3', prefixLength: 24, broadcast: false }), 'req-addr-add-v4');
  });
  it('IPv4 with the computed broadcast (the default)', () => {
    expectSameAsIproute2(addressAdd({ index: 3, address: '10.1.3.3', prefixLength: 24 }), 'req-addr-add-v4-brd');
  });
  it('IPv6 with IFA_F_NODAD', () => {
    expectSameAsIproute2(addressAdd({ index: 4, address: 'fd00::1', prefixLength: 64, noDad: true }), 'req-addr-add-v6-nodad');
  });
  it('checks the prefix length and names the address', () => {
    expect(() => addressAdd({ index: 1, address: '10.0.0.1', prefixLength: 33 })).toThrow('invalid prefix length 33 for 10.0.0.1: expected 0..32');
    expect(addressDel({ index: 7, address: 'fd00::2', prefixLength: 64 }).what).toBe('address fd00::2/64 on link #7');
  });
  it('computes broadcasts', () => {
    expect(formatIp(broadcastOf(parseIp('10.1.2.3'), 24))).toBe('10.1.2.255');
    expect(formatIp(broadcastOf(parseIp('10.1.2.3'), 30))).toBe('10.1.2.3');
    expect(formatIp(broadcastOf(parseIp('10.0.0.0'), 8))).toBe('10.255.255.255');
  });
});

describe('address replies', () => {
  it('decodes an RTM_NEWADDR from a dump', () => {
    const m = decodeMessages(fixture('msg-addr-dump')).find((x) => x.type === RTM_NEWADDR)!;
    expect(decodeAddress(m)).toEqual({
      index: 3,
      family: 4,
      address: '10.1.3.3',
      prefixLength: 24,
      scope: 0,
      flags: 0x80,
      tentative: false,
      dadFailed: false,
      broadcast: '10.1.3.255',
      label: 'pnt-k-v1',
    });
  });
});
