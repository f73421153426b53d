// Golden bytes: the request bodies (after nlmsghdr) iproute2 6.1 sends for the same operations,
// read with `strace -x -e trace=sendmsg` of `bridge vlan add dev pnt-v vid 42 pvid untagged`,
// `bridge vlan del dev pnt-v vid 1`, `ip link set dev pnt-v alias podnet:x` and
// `ip link set dev pnt-br type bridge vlan_filtering 1` (pnt-v ifindex 4, pnt-br ifindex 2).
import { describe, expect, it } from 'vitest';
import { bridgeVlanFilteringSet, decodeNameAndAlias, linkAliasSet, portVlanAdd, portVlanDel } from './rtnl-adapter.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ifinfo = (family: string, index: string) => `${family}00 0000 ${index} 00000000 00000000`;

describe('rtnl adapter requests', () => {
  it('bridge vlan add … pvid untagged', () => {
    const r = portVlanAdd(4, 42, true);
    expect(r.type).toBe(19); // RTM_SETLINK
    expect(Buffer.from(r.body)).toEqual(hex(`${ifinfo('07', '04000000')} 0c00 1a00 0800 0200 0600 2a00`));
  });

  it('bridge vlan del … vid 1', () => {
    const r = portVlanDel(4, 1);
    expect(r.type).toBe(17); // RTM_DELLINK
    expect(Buffer.from(r.body)).toEqual(hex(`${ifinfo('07', '04000000')} 0c00 1a00 0800 0200 0000 0100`));
  });

  it('ip link set … alias', () => {
    const r = linkAliasSet(4, 'podnet:x');
    expect(r.type).toBe(16); // RTM_NEWLINK
    expect(Buffer.from(r.body)).toEqual(hex(`${ifinfo('00', '04000000')} 0c00 1400 ${Buffer.from('podnet:x').toString('hex')}`));
  });

  it('alias by name carries IFLA_IFNAME', () => {
    const r = linkAliasSet('pnt-v', 'a');
    expect(Buffer.from(r.body)).toEqual(hex(`${ifinfo('00', '00000000')} 0a00 0300 706e742d7600 0000 0500 1400 61 000000`));
  });

  it('ip link set … type bridge vlan_filtering 1', () => {
    const r = bridgeVlanFilteringSet(2, true);
    expect(Buffer.from(r.body)).toEqual(
      hex(`${ifinfo('00', '02000000')} 1c00 1200 0a00 0100 627269646765 0000 0c00 0200 0500 0700 01 000000`),
    );
  });

  it('decodes name and alias from a link message', () => {
    const body = hex(`${ifinfo('00', '04000000')} 0a00 0300 706e742d7600 0000 0c00 1400 ${Buffer.from('podnet:x').toString('hex')}`);
    expect(decodeNameAndAlias({ type: 16, flags: 0, seq: 0, pid: 0, body })).toEqual({ name: 'pnt-v', alias: 'podnet:x' });
  });
});
