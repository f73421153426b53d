import IPCIDR from 'ip-cidr';
import { describe, expect, it } from 'vitest';
import { addressKey, formatIp, lastOf, networkOf, parseAddressKey, parseCidr, parseIp } from './address.js';

// A fixed-seed generator: the random cases are the same on every run.
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function randomV6(next: () => number): bigint {
  let value = 0n;
  for (let i = 0; i < 8; i++) {
    // Plenty of zero groups, so "::" compression is exercised.
    const group = next() < 0.4 ? 0 : Math.floor(next() * 0x10000);
    value = (value << 16n) | BigInt(group);
  }
  return value;
}

describe('parseIp / formatIp', () => {
  it.each([
    ['10.1.2.3', 4, 0x0a010203n],
    ['0.0.0.0', 4, 0n],
    ['255.255.255.255', 4, 0xffffffffn],
    ['::', 6, 0n],
    ['::1', 6, 1n],
    ['2001:db8::1', 6, 0x20010db8000000000000000000000001n],
    ['2001:DB8:0:0:0:0:0:1', 6, 0x20010db8000000000000000000000001n],
    ['::ffff:192.0.2.1', 6, 0xffffc0000201n],
    ['64:ff9b::10.0.0.1', 6, 0x0064ff9b00000000000000000a000001n],
    ['1:2:3:4:5:6:1.2.3.4', 6, 0x00010002000300040005000601020304n],
  ])('parses %s', (text, family, value) => {
    expect(parseIp(text)).toEqual({ family, value });
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3.-4',
    ' 1.2.3.4',
    '1::2::3',
    ':::',
    '1:2:3:4:5:6:7:8:9',
    '1::2:3:4:5:6:7:8',
    '12345::',
    'fe80::1%eth0',
    'g::1',
    ':1::',
    '1:2:3:4:5:6:7',
    '::1.2.3',
    '1.2.3.4::',
  ])('refuses %j', (text) => {
    expect(parseIp(text)).toBeUndefined();
  });

  it('formats RFC 5952: longest zero run, leftmost on ties, never a single group', () => {
    expect(formatIp(6, parseIp('2001:db8:0:0:1:0:0:1')!.value)).toBe('2001:db8::1:0:0:1');
    expect(formatIp(6, parseIp('2001:db8:0:1:1:1:1:1')!.value)).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatIp(6, parseIp('2001:0:0:1:0:0:0:1')!.value)).toBe('2001:0:0:1::1');
    expect(formatIp(6, 0n)).toBe('::');
    expect(formatIp(6, 1n << 112n)).toBe('1::');
    expect(formatIp(4, 0x0a000001n)).toBe('10.0.0.1');
  });

  it('agrees with ip-cidr on 2,000 random addresses', () => {
    const next = random(42);
    for (let i = 0; i < 1000; i++) {
      const v4 = BigInt(Math.floor(next() * 2 ** 32));
      const text4 = formatIp(4, v4);
      expect(BigInt(IPCIDR.createAddress(text4).bigInteger().toString())).toBe(v4);
      expect(parseIp(text4)).toEqual({ family: 4, value: v4 });

      const v6 = randomV6(next);
      const text6 = formatIp(6, v6);
      const oracle = IPCIDR.createAddress(text6);
      expect(BigInt(oracle.bigInteger().toString())).toBe(v6);
      expect(text6).toBe(oracle.correctForm());
      expect(parseIp(text6)).toEqual({ family: 6, value: v6 });
      // The fully expanded form parses to the same value.
      expect(parseIp((oracle as { canonicalForm(): string }).canonicalForm())).toEqual({ family: 6, value: v6 });
    }
  });
});

describe('parseCidr, networkOf, lastOf', () => {
  it('parses prefixes within the family', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ family: 4, value: 0x0a000000n, prefix: 8 });
    expect(parseCidr('fd00::/128')).toEqual({ family: 6, value: 0xfd00n << 112n, prefix: 128 });
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0.0/', '10.0.0.0/08', 'fd00::/129', '/24', '10.0.0.0/-1']) {
      expect(parseCidr(bad)).toBeUndefined();
    }
  });

  it('computes network and last address like ip-cidr', () => {
    for (const text of ['10.1.2.3/24', '10.1.2.3/31', '0.0.0.0/0', '2001:db8::1234/64', '2001:db8::1/127', '::/0']) {
      const cidr = parseCidr(text)!;
      const oracle = new IPCIDR(text);
      expect(networkOf(cidr.family, cidr.value, cidr.prefix)).toBe(BigInt(oracle.start<string>({ type: 'bigInteger' }).toString()));
      expect(lastOf(cidr.family, cidr.value, cidr.prefix)).toBe(BigInt(oracle.end<string>({ type: 'bigInteger' }).toString()));
    }
  });
});

describe('addressKey', () => {
  it('sorts like the addresses and round-trips', () => {
    const next = random(7);
    const ips = Array.from({ length: 200 }, (_, i) =>
      i % 2 === 0 ? { family: 4 as const, value: BigInt(Math.floor(next() * 2 ** 32)) } : { family: 6 as const, value: randomV6(next) },
    );
    const byKey = [...ips].sort((a, b) => (addressKey(a.family, a.value) < addressKey(b.family, b.value) ? -1 : 1));
    const byValue = [...ips].sort((a, b) => a.family - b.family || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    expect(byKey).toEqual(byValue);
    for (const ip of ips) expect(parseAddressKey(addressKey(ip.family, ip.value))).toEqual(ip);
    expect(parseAddressKey('4zz')).toBeUndefined();
    expect(parseAddressKey('5000000000')).toBeUndefined();
  });
});
