import { describe, expect, it } from 'vitest';
import type { NftRunner } from '@podnet/backend-bridge';
import { UnderlayFilter, filterScript } from './filter.js';

describe('filterScript', () => {
  it('is one transaction: create what is missing, flush, refill the sets, drop strangers on the port, clear the masquerade bit', () => {
    const s = filterScript(4789, { 4: ['192.168.1.2', '192.168.1.3'], 6: [] });
    expect(s).toContain('add element inet podnet-vxlan nodes4 { 192.168.1.2, 192.168.1.3 }\n');
    expect(s).not.toContain('add element inet podnet-vxlan nodes6');
    expect(s).toContain('add rule inet podnet-vxlan input udp dport 4789 ip saddr != @nodes4 counter name strangers drop\n');
    expect(s).toContain('add rule inet podnet-vxlan input udp dport 4789 ip6 saddr != @nodes6 counter name strangers drop\n');
    expect(s).toContain('meta mark set meta mark & 0xffffbfff');
    // The counter is only ever added (never flushed or recreated): it keeps counting across syncs.
    expect(s).not.toMatch(/delete|flush counter|reset/);
    expect(s.indexOf('flush set inet podnet-vxlan nodes4')).toBeLessThan(s.indexOf('add element'));
  });
});

describe('UnderlayFilter', () => {
  it('applies on a change and re-applies an unchanged set only after refreshMs', async () => {
    const applied: string[] = [];
    const nft: NftRunner = { apply: async (s) => void applied.push(s), listJson: async () => undefined };
    let now = 0;
    const f = new UnderlayFilter(nft, { refreshMs: 1000, now: () => now });
    const nodes = { 4: ['10.0.0.2'], 6: [] };
    expect(await f.sync(8472, nodes)).toBe(true);
    now = 500;
    expect(await f.sync(8472, nodes)).toBe(false);
    expect(await f.sync(8472, { 4: ['10.0.0.2', '10.0.0.3'], 6: [] })).toBe(true);
    now = 1600;
    expect(await f.sync(8472, { 4: ['10.0.0.2', '10.0.0.3'], 6: [] })).toBe(true);
    expect(applied).toHaveLength(3);
  });

  it('retries at the next sync after a failed transaction', async () => {
    let fail = true;
    const nft: NftRunner = {
      apply: async () => {
        if (fail) throw new Error('nft: boom');
      },
      listJson: async () => undefined,
    };
    const f = new UnderlayFilter(nft, { now: () => 0 });
    await expect(f.sync(8472, { 4: [], 6: [] })).rejects.toThrow('nft: boom');
    fail = false;
    expect(await f.sync(8472, { 4: [], 6: [] })).toBe(true);
  });
});
