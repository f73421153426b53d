// rtnetlink requests @podnet/core/netlink does not build (yet): the link alias (IFLA_IFALIAS),
// bridge VLAN filtering on an existing bridge, and a port's VLANs (AF_BRIDGE IFLA_AF_SPEC). Kept
// minimal and local on purpose; they belong in core's link.ts and are listed in the report.
// Layouts: linux/rtnetlink.h (ifinfomsg), linux/if_link.h, linux/if_bridge.h.
import type { NlMessage, NlRequest } from '@podnet/core/netlink';

const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_SETLINK = 19;
const AF_UNSPEC = 0;
const AF_BRIDGE = 7;
const IFLA_IFNAME = 3;
const IFLA_LINKINFO = 18;
const IFLA_IFALIAS = 20;
const IFLA_AF_SPEC = 26;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const IFLA_BR_VLAN_FILTERING = 7;
const IFLA_BRIDGE_VLAN_INFO = 2;
const BRIDGE_VLAN_INFO_PVID = 1 << 1;
const BRIDGE_VLAN_INFO_UNTAGGED = 1 << 2;
const NLA_F_NESTED = 1 << 15;

function attr(type: number, data: Buffer): Buffer {
  const len = 4 + data.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  data.copy(out, 4);
  return out;
}

// As iproute2 sends them (the golden bytes in rtnl-adapter.test.ts): nests without NLA_F_NESTED
// (the kernel parses these attributes either way), the alias and kind without a NUL, names with one.
const nested = (type: number, ...children: Buffer[]): Buffer => attr(type, Buffer.concat(children));
const cstr = (s: string): Buffer => Buffer.from(`${s}\0`);
const str = (s: string): Buffer => Buffer.from(s);

function ifinfomsg(family: number, index: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(family, 0);
  b.writeInt32LE(index, 4);
  return b;
}

/** `ip link set dev <link> alias <alias>`; the link by ifindex or by name. */
export function linkAliasSet(link: number | string, alias: string): NlRequest {
  const byName = typeof link === 'string';
  return {
    type: RTM_NEWLINK,
    flags: 0,
    body: Buffer.concat([
      ifinfomsg(AF_UNSPEC, byName ? 0 : link),
      ...(byName ? [attr(IFLA_IFNAME, cstr(link))] : []),
      attr(IFLA_IFALIAS, str(alias)),
    ]),
    what: byName ? `alias of link "${link}"` : `alias of link #${link}`,
  };
}

/** `ip link set <bridge> type bridge vlan_filtering 1` on an existing bridge. */
export function bridgeVlanFilteringSet(index: number, on: boolean): NlRequest {
  const data = nested(IFLA_INFO_DATA, attr(IFLA_BR_VLAN_FILTERING, Buffer.from([on ? 1 : 0])));
  return {
    type: RTM_NEWLINK,
    flags: 0,
    body: Buffer.concat([ifinfomsg(AF_UNSPEC, index), nested(IFLA_LINKINFO, attr(IFLA_INFO_KIND, str('bridge')), data)]),
    what: `vlan_filtering of bridge #${index}`,
  };
}

function vlanInfo(vid: number, flags: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16LE(flags, 0);
  b.writeUInt16LE(vid, 2);
  return attr(IFLA_BRIDGE_VLAN_INFO, b);
}

/** `bridge vlan add dev <port> vid <vid> pvid untagged` (the pod port's access VLAN). */
export function portVlanAdd(index: number, vid: number, access: boolean): NlRequest {
  const flags = access ? BRIDGE_VLAN_INFO_PVID | BRIDGE_VLAN_INFO_UNTAGGED : 0;
  return {
    type: RTM_SETLINK,
    flags: 0,
    body: Buffer.concat([ifinfomsg(AF_BRIDGE, index), nested(IFLA_AF_SPEC, vlanInfo(vid, flags))]),
    what: `vlan ${vid} on bridge port #${index}`,
  };
}

/** `bridge vlan del dev <port> vid <vid>`. */
export function portVlanDel(index: number, vid: number): NlRequest {
  return {
    type: RTM_DELLINK,
    flags: 0,
    body: Buffer.concat([ifinfomsg(AF_BRIDGE, index), nested(IFLA_AF_SPEC, vlanInfo(vid, 0))]),
    what: `vlan ${vid} on bridge port #${index}`,
  };
}

/** IFLA_IFNAME and IFLA_IFALIAS of an RTM_NEWLINK message (core's decodeLink skips the alias). */
export function decodeNameAndAlias(m: NlMessage): { name: string | undefined; alias: string | undefined } {
  const b = m.body;
  let name: string | undefined;
  let alias: string | undefined;
  for (let off = 16; off + 4 <= b.length; ) {
    const len = b.readUInt16LE(off);
    if (len < 4 || off + len > b.length) break;
    const type = b.readUInt16LE(off + 2) & ~NLA_F_NESTED;
    if (type === IFLA_IFNAME || type === IFLA_IFALIAS) {
      const s = b.toString('utf8', off + 4, off + len).replace(/\0+$/, '');
      if (type === IFLA_IFNAME) name = s;
      else alias = s;
    }
    off += (len + 3) & ~3;
  }
  return { name, alias };
}
