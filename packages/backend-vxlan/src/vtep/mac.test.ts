import { describe, expect, it } from 'vitest';
import { deriveVtepMac, leaseMac, validMac } from './mac.js';

describe('VTEP MAC', () => {
  it('derives a stable, locally administered unicast MAC per node and family', () => {
    const a = deriveVtepMac('node-a', 4);
    expect(a).toBe(deriveVtepMac('node-a', 4));
    expect(a).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    expect(parseInt(a.slice(0, 2), 16) & 0x03).toBe(0x02);
    expect(deriveVtepMac('node-a', 6)).not.toBe(a);
    expect(deriveVtepMac('node-b', 4)).not.toBe(a);
    // Pinned: changing the derivation would change every node's MAC on upgrade.
    expect(deriveVtepMac('node-a', 4)).toMatchInlineSnapshot(`"2a:1c:7b:35:91:1d"`);
  });

  it("uses the lease's MAC when it is a valid unicast one, else the derivation", () => {
    expect(leaseMac('node-a', { VtepMAC: '0A:58:0A:F4:01:00' }, 4)).toBe('0a:58:0a:f4:01:00');
    expect(leaseMac('node-a', { VtepMAC6: '02:00:00:00:00:06' }, 6)).toBe('02:00:00:00:00:06');
    for (const bad of [undefined, 42, 'zz', '01:00:5e:00:00:01', '00:00:00:00:00:00']) {
      expect(leaseMac('node-a', { VtepMAC: bad }, 4)).toBe(deriveVtepMac('node-a', 4));
    }
    expect(leaseMac('node-a', undefined, 4)).toBe(deriveVtepMac('node-a', 4));
    expect(validMac('ff:ff:ff:ff:ff:ff')).toBeUndefined();
  });
});
