import { describe, expect, it } from 'vitest';
import { NUD_NOARP, NUD_PERMANENT, NUD_REACHABLE } from '@podnet/core/netlink';
import { diffFdb, diffNeighbours } from './entries.js';

const P = NUD_PERMANENT;
const on = new Set([10]);

describe('diffNeighbours', () => {
  it('puts missing, changed and non-permanent entries; deletes unexpected permanent ones on our devices only', () => {
    const have = [
      { index: 10, family: 4 as const, address: '10.0.2.0', mac: '02:00:00:00:00:02', state: P, flags: 0 },
      { index: 10, family: 4 as const, address: '10.0.3.0', mac: '02:00:00:00:00:99', state: P, flags: 0 },
      { index: 10, family: 4 as const, address: '10.0.4.0', mac: '02:00:00:00:00:04', state: NUD_REACHABLE, flags: 0 },
      { index: 10, family: 4 as const, address: '10.0.9.0', mac: '02:00:00:00:00:09', state: P, flags: 0 },
      { index: 10, family: 4 as const, address: '10.0.8.0', mac: '02:00:00:00:00:08', state: NUD_REACHABLE, flags: 0 },
      { index: 3, family: 4 as const, address: '10.0.7.0', mac: '02:00:00:00:00:07', state: P, flags: 0 },
    ];
    const want = ['2', '3', '4', '5'].map((n) => ({ index: 10, address: `10.0.${n}.0`, mac: `02:00:00:00:00:0${n}` }));
    const d = diffNeighbours(have, want, on);
    expect(d.put.map((p) => p.address)).toEqual(['10.0.3.0', '10.0.4.0', '10.0.5.0']);
    expect(d.del.map((n) => n.address)).toEqual(['10.0.9.0']);
  });
});

describe('diffFdb', () => {
  it('puts missing pairs, replaces a wanted MAC pointed elsewhere instead of deleting it, deletes foreign permanent ones', () => {
    const have = [
      { index: 10, mac: '02:00:00:00:00:02', dst: '192.168.0.2', state: P | NUD_NOARP, flags: 2 },
      { index: 10, mac: '02:00:00:00:00:03', dst: '192.168.0.99', state: P | NUD_NOARP, flags: 2 },
      { index: 10, mac: '00:00:00:00:00:00', dst: '192.168.0.98', state: P | NUD_NOARP, flags: 2 },
      { index: 10, mac: '02:00:00:00:00:0a', dst: '192.168.0.10', state: NUD_REACHABLE, flags: 2 },
      { index: 4, mac: '02:00:00:00:00:0b', state: P, flags: 2 },
    ];
    const want = [
      { index: 10, mac: '02:00:00:00:00:02', dst: '192.168.0.2' },
      { index: 10, mac: '02:00:00:00:00:03', dst: '192.168.0.3' },
      { index: 10, mac: '02:00:00:00:00:04', dst: '192.168.0.4' },
    ];
    const d = diffFdb(have, want, on);
    expect(d.put.map((e) => e.mac)).toEqual(['02:00:00:00:00:03', '02:00:00:00:00:04']);
    expect(d.del.map((e) => `${e.mac} ${e.dst}`)).toEqual(['00:00:00:00:00:00 192.168.0.98']);
  });
});
