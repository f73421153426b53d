import { describe, expect, it } from 'vitest';
import { familyRanges, parseNetworkConfig } from '../config/network-config.js';
import type { FamilyRange } from '../config/network-config.js';
import { ClusterError } from '../lease/types.js';
import { fitsRange, pickSubnet, subnetCount } from './pick.js';

function range(json: object, index = 0): FamilyRange {
  const r = familyRanges(parseNetworkConfig(json))[index];
  if (r === undefined) throw new Error('no range');
  return r;
}

describe('pickSubnet', () => {
  const r16 = range({ Network: '10.244.0.0/16' });

  it('counts and fits subnets between SubnetMin and SubnetMax', () => {
    expect(subnetCount(r16)).toBe(255n);
    expect(fitsRange(r16, '10.244.1.0/24')).toBe(true);
    expect(fitsRange(r16, '10.244.0.0/24')).toBe(false); // the skipped first subnet
    expect(fitsRange(r16, '10.244.1.0/25')).toBe(false);
    expect(fitsRange(r16, '10.245.1.0/24')).toBe(false);
  });

  it('reuses the previous subnet when it is free and fits, else picks a free one', () => {
    expect(pickSubnet(r16, new Set(), { previous: '10.244.7.0/24' })).toBe('10.244.7.0/24');
    const other = pickSubnet(r16, new Set(['10.244.7.0/24']), { previous: '10.244.7.0/24' });
    expect(other).not.toBe('10.244.7.0/24');
    expect(fitsRange(r16, other)).toBe(true);
    expect(pickSubnet(r16, new Set(), { previous: '10.9.7.0/24' })).toMatch(/^10\.244\./);
  });

  it('picks at random among free subnets, never a taken one', () => {
    const taken = new Set<string>();
    for (let i = 0; i < 255; i++) {
      const s = pickSubnet(r16, taken);
      expect(taken.has(s)).toBe(false);
      taken.add(s);
    }
    expect(taken.size).toBe(255);
    expect(() => pickSubnet(r16, taken)).toThrow(ClusterError);
  });

  it('spreads picks (not always the first free subnet)', () => {
    const picks = new Set(Array.from({ length: 20 }, () => pickSubnet(r16, new Set())));
    expect(picks.size).toBeGreaterThan(5);
  });

  it('says which network and subnet length ran out', () => {
    const tiny = range({ Network: '10.0.0.0/28' });
    const taken = new Set(['10.0.0.4/30', '10.0.0.8/30', '10.0.0.12/30']);
    try {
      pickSubnet(tiny, taken);
      expect.unreachable();
    } catch (error) {
      expect((error as ClusterError).kind).toBe('exhausted');
      expect((error as Error).message).toMatch(/Network 10\.0\.0\.0\/28 with SubnetLen 30.*3 subnets, all leased/);
    }
  });

  it('handles huge IPv6 ranges without enumerating them', () => {
    const huge = range({ EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fd00::/16', IPv6SubnetLen: 64 });
    expect(subnetCount(huge)).toBe((1n << 48n) - 1n);
    const s = pickSubnet(huge, new Set());
    expect(fitsRange(huge, s)).toBe(true);
    // A scan starting at the last index wraps around to the first.
    const last = pickSubnet(huge, new Set(['fd00:ffff:ffff:ffff::/64']), { random: (n) => (n > 1000n ? n - 1n : 0n) });
    expect(last).toBe('fd00:0:0:1::/64');
  });
});
