import { describe, expect, it } from 'vitest';
import { fixture, expectSameAsIproute2 } from './testing/golden.js';
import { decodeMessages } from './message.js';
import { decodeFdb, decodeNeighbour, fdbAdd, fdbAppend, fdbDel, neighAdd, neighDel } from './neigh.js';

describe('neighbour and fdb requests', () => {
  it('permanent neighbour', () => {
    expectSameAsIproute2(neighAdd({ index: 3, address: '10.1.3.9', mac: '02:00:00:00:00:09' }), 'req-neigh-add');
  });
  it('vxlan fdb entry with a remote', () => {
    expectSameAsIproute2(fdbAdd({ index: 5, mac: '00:00:00:00:00:00', dst: '10.1.2.4' }), 'req-fdb-add');
  });
  it('append, delete and names', () => {
    expect(fdbAppend({ index: 5, mac: '00:00:00:00:00:00', dst: '10.1.2.5' }).flags).toBe(0xc00); // CREATE | APPEND
    expect(fdbDel({ index: 5, mac: '0a:00:00:00:00:01', dst: '10.1.2.5' }).what).toBe('fdb 0a:00:00:00:00:01 dst 10.1.2.5 on link #5');
    expect(neighDel({ index: 3, address: 'fd00::9' }).what).toBe('neighbour fd00::9 on link #3');
  });
});

describe('neighbour and fdb replies', () => {
  it('decodes a neighbour', () => {
    const [m] = decodeMessages(fixture('msg-neigh-dump'));
    expect(decodeNeighbour(m!)).toEqual({ index: 3, family: 4, address: '10.1.3.9', mac: '02:00:00:00:00:09', state: 0x80, flags: 0 });
  });
  it('decodes a vxlan fdb entry', () => {
    const [m] = decodeMessages(fixture('msg-fdb-dump'));
    expect(decodeFdb(m!)).toEqual({ index: 5, mac: '00:00:00:00:00:00', dst: '10.1.2.4', state: 0xc0, flags: 0x02 });
  });
});
