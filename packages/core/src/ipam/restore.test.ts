// planRestore: the pure part of the repair (what to write after LevelDB's repair).
import { describe, expect, it } from 'vitest';
import { planRestore } from './restore.js';

const A = { containerId: 'pns-a', ifname: 'eth0' };
const B = { containerId: 'pns-b', ifname: 'eth0' };
const C = { containerId: 'pns-c', ifname: 'eth0' };
const T = '2026-01-01T00:00:00.000Z';
const NOW = '2026-12-01T00:00:00.000Z';

describe('planRestore', () => {
  it('writes nothing for a consistent store whose live pods it already covers', () => {
    const plan = planRestore(
      [{ address: '10.0.0.2', owner: A, time: T }],
      [{ owner: A, addresses: ['10.0.0.2'], time: T }],
      [{ owner: A, addresses: ['10.0.0.2'] }],
      NOW,
    );
    expect(plan.addresses.size + plan.owners.size).toBe(0);
    expect([...plan.relinked, ...plan.stale, ...plan.restored, ...plan.conflicts]).toEqual([]);
  });

  it('keeps the union of both halves: completes owner records and re-creates address keys', () => {
    const plan = planRestore([{ address: '10.0.0.2', owner: A, time: T }], [{ owner: B, addresses: ['10.0.0.3'], time: T }], [], NOW);
    expect(plan.owners.get('pns-a/eth0')).toEqual({ owner: A, addresses: ['10.0.0.2'], time: T });
    expect(plan.addresses.get('10.0.0.3')).toEqual({ address: '10.0.0.3', owner: B, time: T });
    expect(plan.relinked).toHaveLength(2);
  });

  it('the address key wins over a record listing it for another owner', () => {
    const plan = planRestore([{ address: '10.0.0.2', owner: A, time: T }], [{ owner: B, addresses: ['10.0.0.2', '10.0.0.9'], time: T }], [], NOW);
    expect(plan.stale).toEqual([{ address: '10.0.0.2', listedBy: B, heldBy: A }]);
    expect(plan.owners.get('pns-b/eth0')?.addresses).toEqual(['10.0.0.9']);
  });

  it('records lost live addresses, takes over those given to others (reported), and one per address', () => {
    const plan = planRestore(
      [{ address: '10.0.0.5', owner: B, time: T }],
      [{ owner: B, addresses: ['10.0.0.5'], time: T }],
      [
        { owner: A, addresses: ['10.0.0.4'] },
        { owner: C, addresses: ['10.0.0.5'] },
        { owner: A, addresses: ['10.0.0.5'] },
      ],
      NOW,
    );
    expect(plan.restored).toEqual([
      { address: '10.0.0.4', owner: A },
      { address: '10.0.0.5', owner: C, previous: B },
    ]);
    expect(plan.conflicts.map((c) => [c.address, c.live.containerId, c.other.containerId])).toEqual([
      ['10.0.0.5', 'pns-c', 'pns-b'],
      ['10.0.0.5', 'pns-a', 'pns-c'],
    ]);
    expect(plan.addresses.get('10.0.0.5')?.owner).toEqual(C);
    expect(plan.owners.get('pns-b/eth0')?.addresses).toEqual([]);
    expect(plan.owners.get('pns-a/eth0')).toEqual({ owner: A, addresses: ['10.0.0.4'], time: NOW });
  });

  it('releases placeholders no live pod uses any more, only when live pods were given', () => {
    const P = { containerId: '~0123abcd', ifname: 'unknown' };
    const stored = [{ address: '10.0.0.8', owner: P, time: T }];
    const records = [{ owner: P, addresses: ['10.0.0.8'], time: T }];
    expect(planRestore(stored, records, undefined, NOW).released).toEqual([]);
    const plan = planRestore(stored, records, [{ owner: A, addresses: ['10.0.0.2'] }], NOW);
    expect(plan.released).toEqual(stored);
    expect(plan.owners.get('~0123abcd/unknown')?.addresses).toEqual([]);
    expect(planRestore(stored, records, [{ owner: P, addresses: ['10.0.0.8'] }], NOW).released).toEqual([]);
  });
});
