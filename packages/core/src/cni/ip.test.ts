import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ipFamily } from './ip.js';

// node:net's isIP is the reference these checks must agree with.
const samples = [
  '0.0.0.0', '10.22.0.5', '255.255.255.255', '256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.4 ', '',
  '::', '::1', '1::', 'fd00:22::5', '2001:db8:0:0:0:0:0:1', '2001:db8::0:0:0:0:0:1', '2001:db8:0:0:0:0:0:0:1',
  '::ffff:10.0.0.1', '64:ff9b::192.0.2.33', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', '::1.2.3.4:5',
  ':::', '1:::2', ':1::', '1::2::3', 'fe80::1%eth0', 'g::1', '12345::', 'fd00::/64', '1.2.3.4/24',
];

describe('ipFamily', () => {
  for (const s of samples) {
    it(`${JSON.stringify(s)} → ${isIP(s)}`, () => {
      expect(ipFamily(s)).toBe(s.includes('%') ? 0 : isIP(s));
    });
  }
});
