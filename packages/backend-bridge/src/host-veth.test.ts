import { describe, expect, it } from 'vitest';
import { hostVethName, ownerAlias, parseOwnerAlias } from './host-veth.js';

describe('hostVethName', () => {
  it('is veth + 11 hex digits, 15 characters', () => {
    const name = hostVethName('pnt-net', 'c1', 'eth0');
    expect(name).toMatch(/^veth[0-9a-f]{11}$/);
    expect(name).toHaveLength(15);
  });

  it('is deterministic', () => {
    expect(hostVethName('n', 'c1', 'eth0')).toBe(hostVethName('n', 'c1', 'eth0'));
  });

  it('differs by network, container and ifname, without concatenation clashes', () => {
    const names = new Set([
      hostVethName('n', 'c1', 'eth0'),
      hostVethName('n2', 'c1', 'eth0'),
      hostVethName('n', 'c2', 'eth0'),
      hostVethName('n', 'c1', 'eth1'),
      hostVethName('n', 'c1e', 'th0'),
      hostVethName('nc', '1', 'eth0'),
    ]);
    expect(names.size).toBe(6);
  });
});

describe('owner alias', () => {
  const owner = { network: 'pnt-net', containerId: 'abc123', ifname: 'eth0' };

  it('round-trips', () => {
    const alias = ownerAlias(owner);
    expect(alias).toBe('podnet:pnt-net:abc123:eth0');
    expect(parseOwnerAlias(hostVethName('pnt-net', 'abc123', 'eth0'), alias)).toEqual(owner);
  });

  it('rejects a link whose name is not the owner hash', () => {
    expect(parseOwnerAlias('veth00000000000', ownerAlias(owner))).toBeUndefined();
  });

  it.each([undefined, '', 'something else', 'podnet:a:b', 'podnet:a:b:c:d', 'podnet::b:c'])('ignores alias %j', (alias) => {
    expect(parseOwnerAlias(hostVethName('a', 'b', 'c'), alias)).toBeUndefined();
  });
});
