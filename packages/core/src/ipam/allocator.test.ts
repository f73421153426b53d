import { describe, expect, it } from 'vitest';
import { formatIp, parseIp } from './address.js';
import type { Family } from './address.js';
import { Exclusions, firstFree, pickAddress, roundRobinSegments } from './allocator.js';
import type { Interval, Occupancy } from './allocator.js';
import { parseIpamConfig } from './config.js';
import type { IpamConfig } from './config.js';

/** Held addresses in a sorted array; counts how many it yields, to show the search stays local. */
class MemoryOccupancy {
  readonly held = new Map<Family, bigint[]>();
  yielded = 0;

  add(text: string): void {
    const ip = parseIp(text)!;
    const list = this.held.get(ip.family) ?? [];
    list.push(ip.value);
    list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    this.held.set(ip.family, list);
  }

  /** Batches of three, so batch boundaries are exercised. */
  async *iterate(family: Family, from: bigint, to: bigint): AsyncIterable<readonly bigint[]> {
    const inRange = (this.held.get(family) ?? []).filter((v) => v >= from && v <= to);
    for (let i = 0; i < inRange.length; i += 3) {
      const batch = inRange.slice(i, i + 3);
      this.yielded += batch.length;
      yield batch;
    }
  }
}

function occupancy(...held: string[]): MemoryOccupancy {
  const memory = new MemoryOccupancy();
  for (const text of held) memory.add(text);
  return memory;
}

function config(ranges: unknown, extra: Record<string, unknown> = {}): IpamConfig {
  return parseIpamConfig({ name: 'n', ipam: { ranges, ...extra } });
}

async function pick(cfg: IpamConfig, last: string | undefined, held: MemoryOccupancy, set = 0): Promise<string | undefined> {
  const rangeSet = cfg.rangeSets[set]!;
  const occ: Occupancy = { held: (f, a, b) => held.iterate(f, a, b) };
  const value = await pickAddress(rangeSet, last === undefined ? undefined : parseIp(last)!.value, cfg.exclusions, occ);
  return value === undefined ? undefined : formatIp(rangeSet.family, value);
}

describe('Exclusions', () => {
  it('merges overlapping and adjacent intervals and jumps past them', () => {
    const iv = (first: bigint, last: bigint): Interval => ({ family: 4, first, last });
    const ex = new Exclusions([iv(10n, 12n), iv(13n, 13n), iv(11n, 20n), iv(30n, 30n), { family: 6, first: 10n, last: 10n }]);
    expect(ex.skip(4, 9n)).toBe(9n);
    expect(ex.skip(4, 10n)).toBe(21n);
    expect(ex.skip(4, 15n)).toBe(21n);
    expect(ex.skip(4, 30n)).toBe(31n);
    expect(ex.has(4, 13n)).toBe(true);
    expect(ex.has(4, 21n)).toBe(false);
    expect(ex.skip(6, 10n)).toBe(11n);
    expect(ex.skip(6, 12n)).toBe(12n);
  });
});

describe('roundRobinSegments (the range iterator)', () => {
  const cfg = config([
    [
      { subnet: '10.0.0.0/24', rangeStart: '10.0.0.10', rangeEnd: '10.0.0.19' },
      { subnet: '10.0.1.0/24', rangeStart: '10.0.1.10', rangeEnd: '10.0.1.19' },
    ],
  ]);
  const set = cfg.rangeSets[0]!;
  const show = (last?: string): string[] =>
    roundRobinSegments(set, last === undefined ? undefined : parseIp(last)!.value).map((s) => `${formatIp(4, s.from)}-${formatIp(4, s.to)}`);

  it('loops from the start when nothing was handed out or last is outside the set', () => {
    expect(show()).toEqual(['10.0.0.10-10.0.0.19', '10.0.1.10-10.0.1.19']);
    expect(show('10.0.5.5')).toEqual(['10.0.0.10-10.0.0.19', '10.0.1.10-10.0.1.19']);
  });
  it('loops from the middle, covering every address once, ending at last itself', () => {
    expect(show('10.0.0.14')).toEqual(['10.0.0.15-10.0.0.19', '10.0.1.10-10.0.1.19', '10.0.0.10-10.0.0.14']);
  });
  it('loops from the end of a range into the next', () => {
    expect(show('10.0.0.19')).toEqual(['10.0.1.10-10.0.1.19', '10.0.0.10-10.0.0.19']);
    expect(show('10.0.1.19')).toEqual(['10.0.0.10-10.0.0.19', '10.0.1.10-10.0.1.19']);
  });
});

describe('pickAddress: round-robin (host-local allocator table and more)', () => {
  const one = config([[{ subnet: '10.0.0.0/24' }]]);
  const two = config([[{ subnet: '10.0.0.0/24' }, { subnet: '10.0.1.0/24' }]]);

  it.each([
    ['fresh start gives .2 (gateway .1 skipped)', one, undefined, [], '10.0.0.2'],
    ['last .5 gives .6', one, '10.0.0.5', [], '10.0.0.6'],
    ['skips held addresses', one, '10.0.0.5', ['10.0.0.6', '10.0.0.7'], '10.0.0.8'],
    ['wraps around past the end', one, '10.0.0.254', [], '10.0.0.2'],
    ['wraps around skipping held', one, '10.0.0.253', ['10.0.0.254', '10.0.0.2'], '10.0.0.3'],
    ['a last address outside the set is ignored', one, '10.1.0.5', [], '10.0.0.2'],
    ['a last address of the other family is ignored', one, undefined, ['fd00::2'], '10.0.0.2'],
    [
      'a full set except last reuses last',
      one,
      '10.0.0.7',
      Array.from({ length: 253 }, (_, i) => `10.0.0.${i + 2}`).filter((a) => a !== '10.0.0.7'),
      '10.0.0.7',
    ],
    ['multiple subnets: first subnet first', two, undefined, [], '10.0.0.2'],
    ['advances to the next subnet at the end of one', two, '10.0.0.254', [], '10.0.1.2'],
    ['advances to the next subnet when the rest of one is held', two, '10.0.0.252', ['10.0.0.253', '10.0.0.254'], '10.0.1.2'],
    ['rolls back to the first subnet after the last', two, '10.0.1.254', [], '10.0.0.2'],
    ['skips the gateway of the second subnet', two, '10.0.0.254', [], '10.0.1.2'],
  ] as const)('%s', async (_name, cfg, last, held, expected) => {
    expect(await pick(cfg, last, occupancy(...held))).toBe(expected);
  });

  it('a /29 hands out .2-.6 (no network, gateway or broadcast), then nothing', async () => {
    const cfg = config([[{ subnet: '10.0.0.0/29' }]]);
    const held = occupancy();
    const got: string[] = [];
    let last: string | undefined;
    for (;;) {
      const next = await pick(cfg, last, held);
      if (next === undefined) break;
      got.push(next);
      held.add(next);
      last = next;
    }
    expect(got).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
  });

  it('never hands out reserved addresses or CIDRs', async () => {
    const cfg = config([[{ subnet: '10.0.0.0/24' }]], { reserved: ['10.0.0.2', '10.0.0.3', '10.0.0.8/29', '10.0.0.0/30'] });
    expect(await pick(cfg, undefined, occupancy())).toBe('10.0.0.4');
    expect(await pick(cfg, '10.0.0.7', occupancy())).toBe('10.0.0.16');
  });

  it('range transitions at the last reserved address, with explicit start/end', async () => {
    const cfg = config([
      [
        { subnet: '10.0.0.0/24', rangeStart: '10.0.0.100', rangeEnd: '10.0.0.101' },
        { subnet: '10.0.0.0/24', rangeStart: '10.0.0.200', rangeEnd: '10.0.0.201' },
      ],
    ]);
    expect(await pick(cfg, '10.0.0.100', occupancy())).toBe('10.0.0.101');
    expect(await pick(cfg, '10.0.0.101', occupancy())).toBe('10.0.0.200');
    expect(await pick(cfg, '10.0.0.201', occupancy())).toBe('10.0.0.100');
    expect(await pick(cfg, '10.0.0.201', occupancy('10.0.0.100', '10.0.0.101', '10.0.0.200'))).toBe('10.0.0.201');
    expect(await pick(cfg, '10.0.0.201', occupancy('10.0.0.100', '10.0.0.101', '10.0.0.200', '10.0.0.201'))).toBeUndefined();
  });

  it('IPv6: starts at ::2, and the all-ones address is allocatable', async () => {
    const cfg = config([[{ subnet: 'fd00:1::/64' }]]);
    expect(await pick(cfg, undefined, occupancy())).toBe('fd00:1::2');
    expect(await pick(cfg, 'fd00:1::fffe:ffff:ffff:fffe', occupancy())).toBe('fd00:1::fffe:ffff:ffff:ffff');
    expect(await pick(cfg, 'fd00:1::ffff:ffff:ffff:fffe', occupancy())).toBe('fd00:1::ffff:ffff:ffff:ffff');
    expect(await pick(cfg, 'fd00:1::ffff:ffff:ffff:ffff', occupancy())).toBe('fd00:1::2');
  });

  it('walks only the held addresses in its way, never the whole range', async () => {
    const cfg = config([[{ subnet: '10.0.0.0/16' }]]);
    // In a /16, 10.0.1.0 is an ordinary address.
    const held = occupancy(...Array.from({ length: 50 }, (_, i) => `10.0.1.${i}`));
    expect(await pick(cfg, '10.0.0.255', held)).toBe('10.0.1.50');
    // 50 held in the way, read in batches of three: 51 at most.
    expect(held.yielded).toBeLessThanOrEqual(51);
    const v6 = config([[{ subnet: 'fd00::/64' }]]);
    const none = occupancy();
    expect(await pick(v6, 'fd00::ffff:ffff:ffff:ffff', none)).toBe('fd00::2');
  });
});

describe('firstFree', () => {
  it('returns undefined when [from, to] is all excluded or held', async () => {
    const ex = new Exclusions([{ family: 4, first: 5n, last: 6n }]);
    const held = occupancy('0.0.0.7');
    const occ: Occupancy = { held: (f, a, b) => held.iterate(f, a, b) };
    expect(await firstFree(4, 5n, 7n, ex, occ)).toBeUndefined();
    expect(await firstFree(4, 5n, 8n, ex, occ)).toBe(8n);
  });
});
