import { describe, expect, it } from 'vitest';
import type { Route } from '../netlink/route.js';
import { planRouteChanges } from './plan.js';

const OURS = 99;
const kernel = (r: Partial<Route> & Pick<Route, 'dst' | 'dstLen'>): Route => ({
  family: r.dst.includes(':') ? 6 : 4,
  protocol: OURS,
  table: 254,
  scope: r.gateway ? 0 : 253,
  type: 1,
  onlink: false,
  ...r,
});

describe('planRouteChanges', () => {
  it('adds what is missing and keeps what matches', () => {
    const plan = planRouteChanges(
      [
        { dst: '10.2.0.0', dstLen: 24, gateway: '192.168.1.2' },
        { dst: '10.3.0.0', dstLen: 24, gateway: '192.168.1.3' },
      ],
      [kernel({ dst: '10.2.0.0', dstLen: 24, gateway: '192.168.1.2', oif: 2 })],
      { protocol: OURS },
    );
    expect(plan.add.map((r) => r.dst)).toEqual(['10.3.0.0']);
    expect(plan.add[0]).toMatchObject({ protocol: OURS, table: 254, priority: 0, type: 1, onlink: false, family: 4 });
    expect(plan.replace).toEqual([]);
    expect(plan.del).toEqual([]);
  });

  it('replaces one of ours whose gateway, device, onlink or metrics drifted', () => {
    const plan = planRouteChanges(
      [
        { dst: '10.2.0.0', dstLen: 24, gateway: '192.168.1.2' },
        { dst: '10.4.0.0', dstLen: 24, gateway: '10.4.0.0', oif: 7, onlink: true },
        { dst: '10.5.0.0', dstLen: 24, oif: 3, mtu: 1450 },
      ],
      [
        kernel({ dst: '10.2.0.0', dstLen: 24, gateway: '192.168.1.9', oif: 2 }),
        kernel({ dst: '10.4.0.0', dstLen: 24, gateway: '10.4.0.0', oif: 8, onlink: true }),
        kernel({ dst: '10.5.0.0', dstLen: 24, oif: 3 }),
      ],
      { protocol: OURS },
    );
    expect(plan.replace.map((r) => [r.want.dst, r.have.gateway ?? null])).toEqual([
      ['10.2.0.0', '192.168.1.9'],
      ['10.4.0.0', '10.4.0.0'],
      ['10.5.0.0', null],
    ]);
    expect(plan.add).toEqual([]);
  });

  it("deletes only our own stale routes, never another owner's", () => {
    const plan = planRouteChanges(
      [],
      [
        kernel({ dst: '10.6.0.0', dstLen: 24, gateway: '192.168.1.6' }),
        kernel({ dst: '10.7.0.0', dstLen: 24, gateway: '192.168.1.7', protocol: 4 }),
        kernel({ dst: '192.168.1.0', dstLen: 24, oif: 2, protocol: 2 }),
      ],
      { protocol: OURS },
    );
    expect(plan.del.map((r) => r.dst)).toEqual(['10.6.0.0']);
  });

  it('reports a desired route blocked by a foreign one instead of touching it', () => {
    const foreign = kernel({ dst: '10.8.0.0', dstLen: 24, gateway: '192.168.1.8', protocol: 4 });
    const plan = planRouteChanges([{ dst: '10.8.0.0', dstLen: 24, gateway: '192.168.1.2' }], [foreign], { protocol: OURS });
    expect(plan.conflicts).toEqual([{ want: expect.objectContaining({ dst: '10.8.0.0' }), have: foreign }]);
    expect(plan.add).toEqual([]);
    expect(plan.replace).toEqual([]);
    expect(plan.del).toEqual([]);
  });

  it('keys by metric and table: another metric is another route', () => {
    const plan = planRouteChanges(
      [{ dst: '10.9.0.0', dstLen: 24, gateway: '192.168.1.2', priority: 10 }],
      [
        kernel({ dst: '10.9.0.0', dstLen: 24, gateway: '192.168.1.2', priority: 20 }),
        kernel({ dst: '10.9.0.0', dstLen: 24, gateway: '192.168.1.2', table: 100 }),
      ],
      { protocol: OURS, table: 254 },
    );
    expect(plan.add.map((r) => r.priority)).toEqual([10]);
    expect(plan.del.map((r) => r.priority)).toEqual([20]); // table 100 is outside the reconciled table
  });

  it('normalises IPv6 (default metric 1024, canonical text) and ignores v6 scope', () => {
    const plan = planRouteChanges(
      [{ dst: 'FD00:0:0:2::', dstLen: 64, gateway: 'fd00::0:1', scope: 0 }],
      [kernel({ dst: 'fd00:0:0:2::', dstLen: 64, gateway: 'fd00::1', priority: 1024, oif: 2, scope: 0 })],
      { protocol: OURS },
    );
    expect(plan).toEqual({ add: [], replace: [], del: [], conflicts: [] });
  });

  it('removes a second route of ours under a wanted key', () => {
    const a = kernel({ dst: '10.10.0.0', dstLen: 24, gateway: '192.168.1.2' });
    const b = kernel({ dst: '10.10.0.0', dstLen: 24, gateway: '192.168.1.3' });
    const plan = planRouteChanges([{ dst: '10.10.0.0', dstLen: 24, gateway: '192.168.1.2' }], [a, b], { protocol: OURS });
    expect(plan.del).toEqual([b]);
    expect(plan.replace).toEqual([]);
  });

  it('refuses duplicate desired routes and routes outside the table', () => {
    expect(() =>
      planRouteChanges(
        [
          { dst: '10.0.0.0', dstLen: 8 },
          { dst: '10.0.0.0', dstLen: 8, gateway: '1.1.1.1' },
        ],
        [],
        { protocol: OURS },
      ),
    ).toThrow('desired routes list 10.0.0.0/8 (table 254, metric 0) twice');
    expect(() => planRouteChanges([{ dst: '10.0.0.0', dstLen: 8, table: 7 }], [], { protocol: OURS, table: 254 })).toThrow('outside the reconciled table 254');
  });

  it('keeps the normal form of a frozen route object, per protocol and table; a plain object is read afresh', () => {
    const frozen = Object.freeze({ dst: '10.2.0.0', dstLen: 24, gateway: '192.168.1.2' });
    const first = planRouteChanges([frozen], [], { protocol: OURS }).add[0];
    expect(planRouteChanges([frozen], [], { protocol: OURS }).add[0], 'normalised once').toBe(first);
    expect(planRouteChanges([frozen], [], { protocol: OURS + 1 }).add[0]).toMatchObject({ protocol: OURS + 1 });
    expect(planRouteChanges([frozen], [], { protocol: OURS, table: 254 }).add[0]).not.toBe(first);

    const plain: { dst: string; dstLen: number; gateway: string } = { dst: '10.2.0.0', dstLen: 24, gateway: '192.168.1.2' };
    expect(planRouteChanges([plain], [], { protocol: OURS }).add[0]?.gateway).toBe('192.168.1.2');
    plain.gateway = '192.168.1.9';
    expect(planRouteChanges([plain], [], { protocol: OURS }).add[0]?.gateway, 'a changed object is seen changed').toBe('192.168.1.9');
  });
});
