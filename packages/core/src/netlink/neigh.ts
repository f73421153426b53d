// Neighbours (ARP/NDP entries) and bridge/VXLAN FDB entries: ndmsg requests and decoding.
import {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  NDA_DST,
  NDA_IFINDEX,
  NDA_LLADDR,
  NDA_MASTER,
  NDA_PORT,
  NDA_VLAN,
  NDA_VNI,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NTF_MASTER,
  NTF_SELF,
  NUD_NOARP,
  NUD_PERMANENT,
  RTM_DELNEIGH,
  RTM_GETNEIGH,
  RTM_NEWNEIGH,
} from './constants.js';
import { formatIp, formatMac, parseIp, parseMac } from './ip.js';
import type { IpFamily } from './ip.js';
import { Attrs, BodyWriter } from './message.js';
import type { NlMessage, NlRequest } from './message.js';
import type { NetlinkConn } from './socket.js';

export interface Neighbour {
  index: number;
  family: IpFamily;
  address: string;
  mac?: string;
  /** NUD_* state (0x80 permanent, 0x02 reachable…). */
  state: number;
  /** NTF_* flags. */
  flags: number;
}

export interface NeighbourSpec {
  index: number;
  /** The IP address. */
  address: string;
  mac: string;
  /** Default NUD_PERMANENT. */
  state?: number;
}

export function neighAdd(n: NeighbourSpec): NlRequest {
  return newNeigh(n, NLM_F_CREATE | NLM_F_EXCL);
}

export function neighReplace(n: NeighbourSpec): NlRequest {
  return newNeigh(n, NLM_F_CREATE | NLM_F_REPLACE);
}

export function neighDel(n: Pick<NeighbourSpec, 'index' | 'address'>): NlRequest {
  const ip = parseIp(n.address);
  const w = new BodyWriter().raw(ndmsg(ip.length === 4 ? AF_INET : AF_INET6, n.index, 0, 0)).attr(NDA_DST, ip);
  return { type: RTM_DELNEIGH, flags: 0, body: w.finish(), what: neighWhat(n) };
}

export interface NeighbourFilter {
  family?: IpFamily;
  /** Only entries on this link (filtered by the kernel). */
  index?: number;
}

export function neighDump(f: NeighbourFilter = {}): NlRequest {
  const family = f.family === 4 ? AF_INET : f.family === 6 ? AF_INET6 : AF_UNSPEC;
  const w = new BodyWriter().raw(ndmsg(family, 0, 0, 0));
  if (f.index !== undefined) w.u32(NDA_IFINDEX, f.index);
  return { type: RTM_GETNEIGH, flags: 0, body: w.finish(), what: 'neighbours' };
}

export function listNeighbours(conn: NetlinkConn, f: NeighbourFilter = {}): Neighbour[] {
  return conn
    .dump(neighDump(f))
    .filter((m) => m.type === RTM_NEWNEIGH && m.body.readUInt8(0) !== AF_BRIDGE)
    .map(decodeNeighbour)
    .filter((n) => (f.index === undefined || n.index === f.index) && (f.family === undefined || n.family === f.family));
}

export function decodeNeighbour(m: NlMessage): Neighbour {
  const b = m.body;
  const a = new Attrs(b, 12);
  const dst = a.get(NDA_DST);
  const ll = a.get(NDA_LLADDR);
  return {
    index: b.readInt32LE(4),
    family: b.readUInt8(0) === AF_INET ? 4 : 6,
    address: dst ? formatIp(dst) : '',
    ...(ll && ll.length > 0 ? { mac: formatMac(ll) } : {}),
    state: b.readUInt16LE(8),
    flags: b.readUInt8(10),
  };
}

// ---- FDB (AF_BRIDGE) ----------------------------------------------------------------------------

export interface FdbEntry {
  /** The device the entry is on: a VXLAN device, or a bridge port. */
  index: number;
  mac: string;
  /** VXLAN remote (VTEP) address. */
  dst?: string;
  vni?: number;
  port?: number;
  vlan?: number;
  /** The bridge, for entries in a bridge's table. */
  master?: number;
  state: number;
  flags: number;
}

export interface FdbSpec {
  index: number;
  mac: string;
  /** VXLAN: the remote VTEP address frames for `mac` are sent to. */
  dst?: string;
  vni?: number;
  port?: number;
  vlan?: number;
  /** In the bridge's table (NTF_MASTER) instead of the device's own (NTF_SELF, the default). */
  master?: boolean;
  /** Default NUD_PERMANENT | NUD_NOARP, as `bridge fdb add … permanent`. */
  state?: number;
}

export function fdbAdd(e: FdbSpec): NlRequest {
  return newFdb(e, NLM_F_CREATE | NLM_F_EXCL);
}

/** Adds another remote for the same MAC (VXLAN flooding to several VTEPs via 00:00:00:00:00:00). */
export function fdbAppend(e: FdbSpec): NlRequest {
  return newFdb(e, NLM_F_CREATE | NLM_F_APPEND);
}

export function fdbReplace(e: FdbSpec): NlRequest {
  return newFdb(e, NLM_F_CREATE | NLM_F_REPLACE);
}

export function fdbDel(e: FdbSpec): NlRequest {
  return { type: RTM_DELNEIGH, flags: 0, body: fdbBody(e), what: fdbWhat(e) };
}

export function fdbDump(f: { index?: number } = {}): NlRequest {
  // Strict FDB dumps take the port filter in ndm_ifindex.
  const w = new BodyWriter().raw(ndmsg(AF_BRIDGE, f.index ?? 0, 0, 0));
  return { type: RTM_GETNEIGH, flags: 0, body: w.finish(), what: 'fdb' };
}

export function listFdb(conn: NetlinkConn, f: { index?: number } = {}): FdbEntry[] {
  return conn
    .dump(fdbDump(f))
    .filter((m) => m.type === RTM_NEWNEIGH)
    .map(decodeFdb)
    .filter((e) => f.index === undefined || e.index === f.index);
}

export function decodeFdb(m: NlMessage): FdbEntry {
  const b = m.body;
  const a = new Attrs(b, 12);
  const dst = a.get(NDA_DST);
  const ll = a.get(NDA_LLADDR);
  const vni = a.u32(NDA_VNI);
  const port = a.u16be(NDA_PORT);
  const vlan = a.u16(NDA_VLAN);
  const master = a.u32(NDA_MASTER);
  return {
    index: b.readInt32LE(4),
    mac: ll ? formatMac(ll) : '',
    ...(dst ? { dst: formatIp(dst) } : {}),
    ...(vni !== undefined ? { vni } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(vlan !== undefined ? { vlan } : {}),
    ...(master !== undefined ? { master } : {}),
    state: b.readUInt16LE(8),
    flags: b.readUInt8(10),
  };
}

function newNeigh(n: NeighbourSpec, flags: number): NlRequest {
  const ip = parseIp(n.address);
  const w = new BodyWriter()
    .raw(ndmsg(ip.length === 4 ? AF_INET : AF_INET6, n.index, n.state ?? NUD_PERMANENT, 0))
    .attr(NDA_DST, ip)
    .attr(NDA_LLADDR, parseMac(n.mac));
  return { type: RTM_NEWNEIGH, flags, body: w.finish(), what: neighWhat(n) };
}

function newFdb(e: FdbSpec, flags: number): NlRequest {
  return { type: RTM_NEWNEIGH, flags, body: fdbBody(e), what: fdbWhat(e) };
}

function fdbBody(e: FdbSpec): Buffer {
  const w = new BodyWriter()
    .raw(ndmsg(AF_BRIDGE, e.index, e.state ?? NUD_PERMANENT | NUD_NOARP, e.master ? NTF_MASTER : NTF_SELF))
    .attr(NDA_LLADDR, parseMac(e.mac));
  if (e.dst !== undefined) w.attr(NDA_DST, parseIp(e.dst));
  if (e.vlan !== undefined) w.u16(NDA_VLAN, e.vlan);
  if (e.port !== undefined) w.u16be(NDA_PORT, e.port);
  if (e.vni !== undefined) w.u32(NDA_VNI, e.vni);
  return w.finish();
}

/** struct ndmsg: family, pad1, pad2, ifindex, state, flags, type (12 bytes). */
function ndmsg(family: number, index: number, state: number, flags: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(family, 0);
  b.writeInt32LE(index, 4);
  b.writeUInt16LE(state, 8);
  b.writeUInt8(flags, 10);
  return b;
}

function neighWhat(n: Pick<NeighbourSpec, 'index' | 'address'> & { mac?: string }): string {
  return `neighbour ${n.address}${n.mac ? ` lladdr ${n.mac}` : ''} on link #${n.index}`;
}

function fdbWhat(e: FdbSpec): string {
  return `fdb ${e.mac}${e.dst ? ` dst ${e.dst}` : ''} on link #${e.index}`;
}
