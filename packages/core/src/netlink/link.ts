// Links: ifinfomsg requests (create veth/bridge/vxlan/dummy, set, delete, get, dump), bridge
// options (the bridge's own, its ports', a port's VLANs) and decoding.
// Builders are pure and return an NlRequest; run them with NetlinkSocket.request or .batch.
import {
  IFLA_GROUP,
  AF_BRIDGE,
  AF_UNSPEC,
  BRIDGE_VLAN_INFO_PVID,
  BRIDGE_VLAN_INFO_UNTAGGED,
  IFF_PROMISC,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_AF_SPEC,
  IFLA_BRIDGE_VLAN_INFO,
  IFLA_BRPORT_ISOLATED,
  IFLA_BRPORT_LEARNING,
  IFLA_BRPORT_MODE,
  IFLA_BR_VLAN_FILTERING,
  IFLA_EXT_MASK,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_INFO_SLAVE_KIND,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_LINK_NETNSID,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_NET_NS_PID,
  IFLA_OPERSTATE,
  IFLA_PROMISCUITY,
  IFLA_PROTINFO,
  IFLA_TXQLEN,
  IFLA_VXLAN_GBP,
  IFLA_VXLAN_ID,
  IFLA_VXLAN_LEARNING,
  IFLA_VXLAN_LINK,
  IFLA_VXLAN_LOCAL,
  IFLA_VXLAN_LOCAL6,
  IFLA_VXLAN_PORT,
  IFLA_VXLAN_TTL,
  NLM_F_CREATE,
  NLM_F_EXCL,
  RTEXT_FILTER_SKIP_STATS,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
  RTM_SETLINK,
  VETH_INFO_PEER,
} from './constants.js';
import { formatIp, formatMac, parseIp, parseMac } from './ip.js';
import { Attrs, BodyWriter } from './message.js';
import type { NlMessage, NlRequest } from './message.js';
import type { NetlinkConn } from './socket.js';

/** A link by ifindex or by name. */
export type LinkRef = number | string;

/** Where a link goes: an open namespace (its fd is sent) or `{ pid }` (that process's netns). */
export type NetnsTarget = { readonly fd: number } | { readonly pid: number };

export interface Link {
  index: number;
  name: string;
  /** IFLA_IFALIAS: the free-text label `ip link set … alias` writes. */
  alias?: string;
  /** IFLA_INFO_KIND: `veth`, `bridge`, `vxlan`, `dummy`…; absent for physical devices and lo. */
  kind?: string;
  /** IFLA_INFO_SLAVE_KIND: `bridge` when the link is a bridge port. */
  portKind?: string;
  /** IFF_* flags. */
  flags: number;
  up: boolean;
  mtu: number;
  mac?: string;
  /** ifindex of the master (bridge). */
  master?: number;
  /** IFLA_LINK: the peer's ifindex for veth, the lower device for vlan/macvlan. */
  parent?: number;
  /** IFLA_LINK_NETNSID: set when `parent` lives in another namespace. */
  parentNetnsId?: number;
  /** RFC 2863 operstate (IF_OPER_UP = 6). */
  operstate?: number;
  promiscuity?: number;
  bridge?: { vlanFiltering: boolean };
  vxlan?: {
    vni: number;
    local?: string;
    port?: number;
    learning?: boolean;
    dev?: number;
    /** Present (true) when the device runs VXLAN-GBP. */
    gbp?: boolean;
  };
}

/** Options every created link accepts. */
export interface LinkCommon {
  name: string;
  /**
   * Ask for this ifindex (EEXIST if taken). Knowing the index up front lets one batch create a
   * link and address/route it, with no lookup in between.
   */
  index?: number;
  mtu?: number;
  mac?: string;
  up?: boolean;
  /** ifindex of a bridge to enslave to at creation. */
  master?: number;
  txqlen?: number;
  /** Create the link directly in another namespace. */
  netns?: NetnsTarget;
}

export interface VethOptions extends LinkCommon {
  peer: {
    name: string;
    /** Ask for this ifindex in the peer's namespace (EEXIST if taken). */
    index?: number;
    /** The peer is created directly inside this namespace (no create-then-move). */
    netns?: NetnsTarget;
    mtu?: number;
    mac?: string;
    // No `up`: the kernel configures the peer before the pair is joined, so bringing it up at
    // creation fails with ENOTCONN. Set it up afterwards (linkSet) from a socket in its netns.
  };
}

/** A bridge's own options: set at creation (bridgeAdd) or later (bridgeSet). */
export interface BridgeSettings {
  vlanFiltering?: boolean;
}

export interface BridgeOptions extends LinkCommon, BridgeSettings {}

export interface VxlanOptions extends LinkCommon {
  vni: number;
  /** Source address of the tunnel (VTEP). */
  local?: string;
  /** ifindex of the underlay device. */
  dev?: number;
  /** UDP destination port; default 4789 (IANA). The kernel's own default is Linux's legacy 8472. */
  port?: number;
  /** FDB learning from received packets; default off (peers are programmed explicitly). */
  learning?: boolean;
  ttl?: number;
  /** VXLAN-GBP: carry the Group Based Policy mark in the header (both ends must agree). */
  gbp?: boolean;
}

export interface LinkChanges {
  up?: boolean;
  mtu?: number;
  mac?: string;
  /** A bridge's ifindex, or 0 to leave the current master. */
  master?: number;
  promisc?: boolean;
  /** Rename (only with a numeric LinkRef). */
  name?: string;
  /** Move to another namespace. */
  netns?: NetnsTarget;
  txqlen?: number;
  /** IFLA_IFALIAS, a free-text label on the link (podnet marks a host veth's owner with it). */
  alias?: string;
  /** IFLA_GROUP, the link's group (0 by default); a whole group can be deleted at once. */
  group?: number;
}

export interface BridgePortOptions {
  /** IFLA_BRPORT_MODE: send frames back out of the port they came in on. */
  hairpin?: boolean;
  /** IFLA_BRPORT_ISOLATED: no forwarding between isolated ports. */
  isolated?: boolean;
  learning?: boolean;
}

/** One VLAN of a bridge port (struct bridge_vlan_info). */
export interface BridgeVlan {
  vid: number;
  /** BRIDGE_VLAN_INFO_PVID: untagged frames entering the port belong to this VLAN. */
  pvid?: boolean;
  /** BRIDGE_VLAN_INFO_UNTAGGED: frames of this VLAN leave the port untagged. */
  untagged?: boolean;
}

// ---- requests ---------------------------------------------------------------------------------

export function vethAdd(o: VethOptions): NlRequest {
  const peer = o.peer;
  const w = createHeader(o).nest(IFLA_LINKINFO, (li) => {
    li.chars(IFLA_INFO_KIND, 'veth').nest(IFLA_INFO_DATA, (d) =>
      d.nest(VETH_INFO_PEER, (p) => {
        // Attribute order as iproute2's, so requests compare byte for byte with its captures.
        p.raw(ifinfomsg(AF_UNSPEC, peer.index ?? 0, 0, 0));
        if (peer.mtu !== undefined) p.u32(IFLA_MTU, peer.mtu);
        if (peer.mac !== undefined) p.attr(IFLA_ADDRESS, parseMac(peer.mac));
        if (peer.netns) netnsAttr(p, peer.netns);
        p.str(IFLA_IFNAME, peer.name);
      }),
    );
  });
  return create(w, `veth "${o.name}" (peer "${peer.name}")`);
}

export function bridgeAdd(o: BridgeOptions): NlRequest {
  const w = createHeader(o).nest(IFLA_LINKINFO, (li) => bridgeInfo(li, o));
  return create(w, `bridge "${o.name}"`);
}

/** Changes an existing bridge's options, as `ip link set X type bridge vlan_filtering 1`. */
export function bridgeSet(index: number, o: BridgeSettings): NlRequest {
  const w = refHeader(index, 0, 0).nest(IFLA_LINKINFO, (li) => bridgeInfo(li, o));
  return { type: RTM_NEWLINK, flags: 0, body: w.finish(), what: `bridge #${index}` };
}

export function vxlanAdd(o: VxlanOptions): NlRequest {
  const w = createHeader(o).nest(IFLA_LINKINFO, (li) => {
    li.chars(IFLA_INFO_KIND, 'vxlan').nest(IFLA_INFO_DATA, (d) => {
      if (o.dev !== undefined) d.u32(IFLA_VXLAN_LINK, o.dev);
      d.u32(IFLA_VXLAN_ID, o.vni);
      if (o.local !== undefined) {
        const b = parseIp(o.local);
        d.attr(b.length === 4 ? IFLA_VXLAN_LOCAL : IFLA_VXLAN_LOCAL6, b);
      }
      if (o.ttl !== undefined) d.u8(IFLA_VXLAN_TTL, o.ttl);
      d.u8(IFLA_VXLAN_LEARNING, o.learning ? 1 : 0);
      d.u16be(IFLA_VXLAN_PORT, o.port ?? 4789);
      if (o.gbp) d.attr(IFLA_VXLAN_GBP, new Uint8Array(0));
    });
  });
  return create(w, `vxlan "${o.name}" (vni ${o.vni})`);
}

export function dummyAdd(o: LinkCommon): NlRequest {
  const w = createHeader(o).nest(IFLA_LINKINFO, (li) => li.chars(IFLA_INFO_KIND, 'dummy'));
  return create(w, `dummy "${o.name}"`);
}

/** Changes an existing link (RTM_NEWLINK without NLM_F_CREATE, as `ip link set` does). */
export function linkSet(ref: LinkRef, c: LinkChanges): NlRequest {
  let flags = 0;
  let change = 0;
  if (c.up !== undefined) {
    change |= IFF_UP;
    if (c.up) flags |= IFF_UP;
  }
  if (c.promisc !== undefined) {
    change |= IFF_PROMISC;
    if (c.promisc) flags |= IFF_PROMISC;
  }
  if (c.name !== undefined && typeof ref !== 'number') {
    throw new TypeError(`renaming link "${ref}" to "${c.name}" needs the link's ifindex, not its name`);
  }
  const w = refHeader(ref, flags, change);
  if (typeof ref === 'number' && c.name !== undefined) w.str(IFLA_IFNAME, c.name);
  if (c.mtu !== undefined) w.u32(IFLA_MTU, c.mtu);
  if (c.mac !== undefined) w.attr(IFLA_ADDRESS, parseMac(c.mac));
  if (c.master !== undefined) w.u32(IFLA_MASTER, c.master);
  if (c.txqlen !== undefined) w.u32(IFLA_TXQLEN, c.txqlen);
  if (c.netns) netnsAttr(w, c.netns);
  // Without a NUL, as iproute2 sends it (NLA_STRING); the kernel reports it back NUL-terminated.
  if (c.alias !== undefined) w.chars(IFLA_IFALIAS, c.alias);
  if (c.group !== undefined) w.u32(IFLA_GROUP, c.group);
  return { type: RTM_NEWLINK, flags: 0, body: w.finish(), what: linkWhat(ref) };
}

/** Bridge port options, as `bridge link set dev X hairpin on` (AF_BRIDGE RTM_SETLINK). */
export function bridgePortSet(index: number, o: BridgePortOptions): NlRequest {
  const w = new BodyWriter().raw(ifinfomsg(AF_BRIDGE, index, 0, 0)).nest(
    IFLA_PROTINFO,
    (p) => {
      if (o.hairpin !== undefined) p.u8(IFLA_BRPORT_MODE, o.hairpin ? 1 : 0);
      if (o.learning !== undefined) p.u8(IFLA_BRPORT_LEARNING, o.learning ? 1 : 0);
      if (o.isolated !== undefined) p.u8(IFLA_BRPORT_ISOLATED, o.isolated ? 1 : 0);
    },
    true, // the bridge reads a protinfo without NLA_F_NESTED as the legacy one-byte port state
  );
  return { type: RTM_SETLINK, flags: 0, body: w.finish(), what: `bridge port ${linkWhat(index)}` };
}

/** A VLAN on a bridge port, as `bridge vlan add dev X vid N [pvid] [untagged]` (AF_BRIDGE RTM_SETLINK). */
export function bridgeVlanAdd(index: number, v: BridgeVlan): NlRequest {
  const flags = (v.pvid ? BRIDGE_VLAN_INFO_PVID : 0) | (v.untagged ? BRIDGE_VLAN_INFO_UNTAGGED : 0);
  return { type: RTM_SETLINK, flags: 0, body: bridgeVlanBody(index, v.vid, flags), what: vlanWhat(index, v.vid) };
}

/** `bridge vlan del dev X vid N` (AF_BRIDGE RTM_DELLINK: the port stays, the VLAN goes). */
export function bridgeVlanDel(index: number, vid: number): NlRequest {
  return { type: RTM_DELLINK, flags: 0, body: bridgeVlanBody(index, vid, 0), what: vlanWhat(index, vid) };
}

export function linkDel(ref: LinkRef): NlRequest {
  return { type: RTM_DELLINK, flags: 0, body: refHeader(ref, 0, 0).finish(), what: linkWhat(ref) };
}

/**
 * Delete every link of `group` in the socket's netns in one request: the kernel unregisters them
 * together and waits for the network stack to let go of them once, not once per link.
 */
export function linkDelGroup(group: number): NlRequest {
  const w = new BodyWriter().raw(ifinfomsg(AF_UNSPEC, 0, 0, 0)).u32(IFLA_GROUP, group);
  return { type: RTM_DELLINK, flags: 0, body: w.finish(), what: `link group ${group}` };
}

export function linkGet(ref: LinkRef): NlRequest {
  const w = refHeader(ref, 0, 0).u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  return { type: RTM_GETLINK, flags: 0, body: w.finish(), what: linkWhat(ref) };
}

export interface LinkFilter {
  /** Only ports of this master (filtered by the kernel). */
  master?: number;
  /** Only links of this kind (filtered by the kernel). */
  kind?: string;
}

export function linkDump(f: LinkFilter = {}): NlRequest {
  const w = new BodyWriter().raw(ifinfomsg(AF_UNSPEC, 0, 0, 0)).u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  if (f.master !== undefined) w.u32(IFLA_MASTER, f.master);
  if (f.kind !== undefined) {
    const kind = f.kind;
    w.nest(IFLA_LINKINFO, (li) => li.chars(IFLA_INFO_KIND, kind));
  }
  return { type: RTM_GETLINK, flags: 0, body: w.finish(), what: 'links' };
}

// ---- operations that read --------------------------------------------------------------------

/** The link, or undefined when it does not exist (ENODEV). */
export function getLink(conn: NetlinkConn, ref: LinkRef): Link | undefined {
  try {
    const [m] = conn.request(linkGet(ref));
    return m ? decodeLink(m) : undefined;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENODEV') return undefined;
    throw err;
  }
}

export function listLinks(conn: NetlinkConn, f: LinkFilter = {}): Link[] {
  const links = conn
    .dump(linkDump(f))
    .filter((m) => m.type === RTM_NEWLINK)
    .map(decodeLink);
  // The kernel filters too (strict dumps); filtering here keeps the contract on older kernels.
  return links.filter((l) => (f.master === undefined || l.master === f.master) && (f.kind === undefined || l.kind === f.kind));
}

// ---- decoding ---------------------------------------------------------------------------------

export function decodeLink(m: NlMessage): Link {
  const b = m.body;
  const index = b.readInt32LE(4);
  const flags = b.readUInt32LE(8);
  const a = new Attrs(b, 16);
  const link: Link = { index, name: a.str(IFLA_IFNAME) ?? '', flags, up: (flags & IFF_UP) !== 0, mtu: a.u32(IFLA_MTU) ?? 0 };
  const alias = a.str(IFLA_IFALIAS);
  if (alias !== undefined) link.alias = alias;
  const mac = a.get(IFLA_ADDRESS);
  if (mac && mac.length > 0) link.mac = formatMac(mac);
  const master = a.u32(IFLA_MASTER);
  if (master !== undefined) link.master = master;
  const parent = a.u32(IFLA_LINK);
  const nsid = a.i32(IFLA_LINK_NETNSID);
  // Devices without a lower link report their own index; a peer in another netns may share it.
  if (parent !== undefined && (parent !== index || nsid !== undefined)) link.parent = parent;
  if (nsid !== undefined) link.parentNetnsId = nsid;
  const oper = a.u8(IFLA_OPERSTATE);
  if (oper !== undefined) link.operstate = oper;
  const promiscuity = a.u32(IFLA_PROMISCUITY);
  if (promiscuity !== undefined) link.promiscuity = promiscuity;
  const info = a.nested(IFLA_LINKINFO);
  if (info) {
    const kind = info.str(IFLA_INFO_KIND);
    if (kind !== undefined) link.kind = kind;
    const portKind = info.str(IFLA_INFO_SLAVE_KIND);
    if (portKind !== undefined) link.portKind = portKind;
    const data = info.nested(IFLA_INFO_DATA);
    if (data && kind === 'bridge') link.bridge = { vlanFiltering: data.u8(IFLA_BR_VLAN_FILTERING) === 1 };
    if (data && kind === 'vxlan') {
      const local = data.get(IFLA_VXLAN_LOCAL) ?? data.get(IFLA_VXLAN_LOCAL6);
      const port = data.u16be(IFLA_VXLAN_PORT);
      const learning = data.u8(IFLA_VXLAN_LEARNING);
      const dev = data.u32(IFLA_VXLAN_LINK);
      link.vxlan = {
        vni: data.u32(IFLA_VXLAN_ID) ?? 0,
        ...(local ? { local: formatIp(local) } : {}),
        ...(port !== undefined ? { port } : {}),
        ...(learning !== undefined ? { learning: learning === 1 } : {}),
        ...(dev !== undefined ? { dev } : {}),
        ...(data.get(IFLA_VXLAN_GBP) !== undefined ? { gbp: true } : {}),
      };
    }
  }
  return link;
}

// ---- helpers ----------------------------------------------------------------------------------

/** struct ifinfomsg: family, pad, type, index, flags, change (16 bytes). */
function ifinfomsg(family: number, index: number, flags: number, change: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(family, 0);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags >>> 0, 8);
  b.writeUInt32LE(change >>> 0, 12);
  return b;
}

/** The header of a request about an existing link: its ifindex, or index 0 and IFLA_IFNAME. */
function refHeader(ref: LinkRef, flags: number, change: number): BodyWriter {
  const w = new BodyWriter().raw(ifinfomsg(AF_UNSPEC, typeof ref === 'number' ? ref : 0, flags, change));
  if (typeof ref === 'string') w.str(IFLA_IFNAME, ref);
  return w;
}

function createHeader(o: LinkCommon): BodyWriter {
  const w = new BodyWriter().raw(ifinfomsg(AF_UNSPEC, o.index ?? 0, o.up ? IFF_UP : 0, o.up === undefined ? 0 : IFF_UP)).str(IFLA_IFNAME, o.name);
  if (o.mtu !== undefined) w.u32(IFLA_MTU, o.mtu);
  if (o.mac !== undefined) w.attr(IFLA_ADDRESS, parseMac(o.mac));
  if (o.txqlen !== undefined) w.u32(IFLA_TXQLEN, o.txqlen);
  if (o.master !== undefined) w.u32(IFLA_MASTER, o.master);
  if (o.netns) netnsAttr(w, o.netns);
  return w;
}

function create(w: BodyWriter, what: string): NlRequest {
  return { type: RTM_NEWLINK, flags: NLM_F_CREATE | NLM_F_EXCL, body: w.finish(), what };
}

/** IFLA_LINKINFO of a bridge: its kind, and its options when any is given. */
function bridgeInfo(li: BodyWriter, o: BridgeSettings): void {
  li.chars(IFLA_INFO_KIND, 'bridge');
  if (o.vlanFiltering !== undefined) li.nest(IFLA_INFO_DATA, (d) => d.u8(IFLA_BR_VLAN_FILTERING, o.vlanFiltering ? 1 : 0));
}

/**
 * ifinfomsg(AF_BRIDGE) + IFLA_AF_SPEC { IFLA_BRIDGE_VLAN_INFO: u16 flags, u16 vid }. The nest
 * goes without NLA_F_NESTED, as iproute2 sends it; the bridge parses it either way.
 */
function bridgeVlanBody(index: number, vid: number, flags: number): Buffer {
  const info = Buffer.alloc(4);
  info.writeUInt16LE(flags, 0);
  info.writeUInt16LE(vid, 2);
  return new BodyWriter()
    .raw(ifinfomsg(AF_BRIDGE, index, 0, 0))
    .nest(IFLA_AF_SPEC, (s) => s.attr(IFLA_BRIDGE_VLAN_INFO, info))
    .finish();
}

function vlanWhat(index: number, vid: number): string {
  return `vlan ${vid} on bridge port #${index}`;
}

function netnsAttr(w: BodyWriter, t: NetnsTarget): void {
  if ('fd' in t) w.u32(IFLA_NET_NS_FD, t.fd);
  else w.u32(IFLA_NET_NS_PID, t.pid);
}

function linkWhat(ref: LinkRef): string {
  return typeof ref === 'number' ? `link #${ref}` : `link "${ref}"`;
}
