import { describe, expect, it } from 'vitest';
import { desiredTables, familyTable } from './masquerade.js';

describe('nftables tables', () => {
  it('IPv4: no NAT inside the cluster network, masquerade (fully random) to anywhere else, forward accept', () => {
    const t = familyTable(4, '10.244.0.0/16', { masquerade: true });
    expect(t.script).toContain('add table ip podnet\ndelete table ip podnet\ntable ip podnet {');
    expect(t.script).toContain('type nat hook postrouting priority srcnat; policy accept;');
    expect(t.script).toContain(`ip saddr 10.244.0.0/16 ip daddr 10.244.0.0/16 return comment "${t.comment}"`);
    expect(t.script).toContain('ip saddr 10.244.0.0/16 ip daddr 224.0.0.0/4 return');
    expect(t.script).toContain('ip saddr 10.244.0.0/16 masquerade fully-random');
    expect(t.script).toContain('type filter hook forward priority filter - 1; policy accept;');
    expect(t.script).toContain('ip daddr 10.244.0.0/16 accept');
    // Nothing NATs a source outside the cluster network (node → pod keeps its address).
    expect(t.script).not.toMatch(/saddr != /);
    expect(t.rules).toEqual({ postrouting: 4, forward: 2 });
  });

  it('IPv6 uses ip6 and ff00::/8; --no-masquerade leaves the forward chain only', () => {
    const t = familyTable(6, 'fd00:10:244::/56', { masquerade: true });
    expect(t.script).toContain('ip6 saddr fd00:10:244::/56 ip6 daddr ff00::/8 return');
    const off = desiredTables({ ipv4: '10.244.0.0/16' }, { masquerade: false });
    expect(off).toHaveLength(1);
    expect(off[0]?.script).not.toMatch(/masquerade fully-random|hook postrouting/);
    expect(off[0]?.rules).toEqual({ forward: 2 });
  });

  it('the comment hashes the rules, so a changed rule set is detected', () => {
    const a = familyTable(4, '10.244.0.0/16', { masquerade: true });
    const b = familyTable(4, '10.245.0.0/16', { masquerade: true });
    expect(a.comment).toMatch(/^podnetd [0-9a-f]{16}$/);
    expect(a.comment).not.toBe(b.comment);
  });

  it('refuses a network of the wrong family or not a CIDR', () => {
    expect(() => familyTable(4, 'fd00::/64', { masquerade: true })).toThrow(/not IPv4/);
    expect(() => familyTable(4, '10.0.0.0; flush ruleset', { masquerade: true })).toThrow();
  });
});
