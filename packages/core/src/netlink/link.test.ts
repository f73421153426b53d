// Link requests compared byte for byte with iproute2's, and kernel replies decoded.
// Fixtures: testdata/*.hex, each file says which command produced it and how it was captured.
import { describe, expect, it } from 'vitest';
import { fixture, expectSameAsIproute2 } from './testing/golden.js';
import {
  bridgeAdd,
  bridgePortSet,
  bridgeSet,
  bridgeVlanAdd,
  bridgeVlanDel,
  decodeLink,
  dummyAdd,
  linkDel,
  linkGet,
  linkSet,
  vethAdd,
  vxlanAdd,
} from './link.js';
import { decodeMessages, encodeMessage } from './message.js';

/** The request must frame to exactly iproute2's bytes (same seq, flags REQUEST|ACK). */

describe('link requests', () => {
  it('veth with the peer created directly in another netns', () => {
    expectSameAsIproute2(vethAdd({ name: 'pnt-k-v2', peer: { name: 'pnt-k-v3', netns: { fd: 4 } } }), 'req-veth-add');
  });

  it('bridge with vlan_filtering', () => {
    expectSameAsIproute2(bridgeAdd({ name: 'pnt-k-b1', vlanFiltering: true }), 'req-bridge-add');
  });

  it('vxlan: vni, local, dev, port, learning off', () => {
    expectSameAsIproute2(vxlanAdd({ name: 'pnt-k-x1', vni: 43, local: '10.1.2.3', dev: 4, port: 4789, learning: false }), 'req-vxlan-add');
  });

  it('set: up, mtu, master', () => {
    expectSameAsIproute2(linkSet(4, { up: true, mtu: 1400, master: 2 }), 'req-link-set');
  });

  it('bridge port: hairpin and isolated', () => {
    expectSameAsIproute2(bridgePortSet(4, { hairpin: true, isolated: true }), 'req-bridge-port-set');
  });

  it('set alias', () => {
    expectSameAsIproute2(linkSet(4, { alias: 'podnet:x' }), 'req-link-set-alias');
  });

  it('set alias by name: IFLA_IFNAME, then the alias without a NUL', () => {
    const r = linkSet('pnt-v', { alias: 'a' });
    expect(r.type).toBe(16); // RTM_NEWLINK
    expect(Buffer.from(r.body).toString('hex')).toBe(
      `${'00'.repeat(16)}0a000300${Buffer.from('pnt-v\0').toString('hex')}0000 05001400 61000000`.replace(/\s+/g, ''),
    );
  });

  it('vlan_filtering on an existing bridge', () => {
    expectSameAsIproute2(bridgeSet(2, { vlanFiltering: true }), 'req-bridge-set');
  });

  it('bridge port vlan: add as pvid untagged, delete', () => {
    expectSameAsIproute2(bridgeVlanAdd(4, { vid: 42, pvid: true, untagged: true }), 'req-bridge-vlan-add');
    expectSameAsIproute2(bridgeVlanDel(4, 1), 'req-bridge-vlan-del');
    expect(bridgeVlanAdd(4, { vid: 42 }).what).toBe('vlan 42 on bridge port #4');
  });

  it('delete by index', () => {
    expectSameAsIproute2(linkDel(6), 'req-link-del');
  });

  it('encodes names, macs, promisc and netns moves', () => {
    const byName = linkSet('eth0', { promisc: true, mac: '02:00:00:00:00:01', netns: { pid: 42 } });
    const m = decodeMessages(encodeMessage(byName, 1))[0];
    expect(m?.body.readUInt32LE(8)).toBe(0x100); // IFF_PROMISC set…
    expect(m?.body.readUInt32LE(12)).toBe(0x100); // …and only it changes
    expect(byName.what).toBe('link "eth0"');
    expect(() => linkSet('eth0', { name: 'eth1' })).toThrow('renaming link "eth0" to "eth1" needs the link\'s ifindex');
    expect(dummyAdd({ name: 'pnt-k-d0', up: true }).what).toBe('dummy "pnt-k-d0"');
    expect(linkGet('eth0').what).toBe('link "eth0"');
    expect(vethAdd({ name: 'a', peer: { name: 'b' } }).what).toBe('veth "a" (peer "b")');
  });
});

describe('link replies', () => {
  it('decodes a vxlan link', () => {
    const [m] = decodeMessages(fixture('msg-link-vxlan'));
    expect(decodeLink(m!)).toMatchObject({
      index: 5,
      name: 'pnt-k-x0',
      kind: 'vxlan',
      up: false,
      mtu: 1500,
      vxlan: { vni: 42, local: '10.1.2.3', port: 4789, learning: false },
    });
  });

  it('decodes a veth that is an up bridge port', () => {
    const [m] = decodeMessages(fixture('msg-link-veth-port'));
    const link = decodeLink(m!);
    expect(link).toMatchObject({ index: 4, name: 'pnt-k-v0', kind: 'veth', portKind: 'bridge', up: true, mtu: 1400, master: 2, parent: 3 });
    expect(link.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(link.alias).toBeUndefined();
  });

  it('decodes the alias (the kernel sends it NUL-terminated)', () => {
    const [m] = decodeMessages(fixture('msg-link-alias'));
    expect(decodeLink(m!)).toMatchObject({ index: 4, name: 'pnt-r-v0', kind: 'veth', alias: 'podnet:x', master: 2 });
  });

  it('decodes name and alias from a minimal message (alias without a NUL)', () => {
    const body = Buffer.from(
      `${'00'.repeat(4)}04000000${'00'.repeat(8)}0a000300${Buffer.from('pnt-v\0').toString('hex')}0000 0c001400${Buffer.from('podnet:x').toString('hex')}`.replace(
        /\s+/g,
        '',
      ),
      'hex',
    );
    expect(decodeLink({ type: 16, flags: 0, seq: 0, pid: 0, body })).toMatchObject({ index: 4, name: 'pnt-v', alias: 'podnet:x' });
  });
});
