// Addresses: ifaddrmsg requests (add, replace, delete, dump) and decoding. Text in, text out.
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_FLAGS,
  IFA_F_DADFAILED,
  IFA_F_NODAD,
  IFA_F_NOPREFIXROUTE,
  IFA_F_TENTATIVE,
  IFA_LABEL,
  IFA_LOCAL,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
  RT_SCOPE_UNIVERSE,
} from './constants.js';
import { formatIp, parseIp } from './ip.js';
import type { IpFamily } from './ip.js';
import { Attrs, BodyWriter } from './message.js';
import type { NlMessage, NlRequest } from './message.js';
import type { NetlinkConn } from './socket.js';

export interface Address {
  index: number;
  family: IpFamily;
  address: string;
  prefixLength: number;
  /** RT_SCOPE_*: 0 universe, 253 link, 254 host. */
  scope: number;
  /** IFA_F_* flags. */
  flags: number;
  /** IPv6 duplicate address detection still running. */
  tentative: boolean;
  dadFailed: boolean;
  /** Point-to-point peer (IFA_ADDRESS when it differs from IFA_LOCAL). */
  peer?: string;
  broadcast?: string;
  label?: string;
}

export interface AddressOptions {
  index: number;
  address: string;
  prefixLength: number;
  /** IFA_F_NODAD: an IPv6 address usable at once, without duplicate address detection. */
  noDad?: boolean;
  /** IFA_F_NOPREFIXROUTE: no connected route for the prefix. */
  noPrefixRoute?: boolean;
  /** IPv4 broadcast; by default the prefix's last address for prefixes up to /30, none with false. */
  broadcast?: string | false;
  scope?: number;
  label?: string;
}

export function addressAdd(o: AddressOptions): NlRequest {
  return newAddr(o, NLM_F_CREATE | NLM_F_EXCL);
}

/** Adds, or updates the flags/lifetimes of an address already there. */
export function addressReplace(o: AddressOptions): NlRequest {
  return newAddr(o, NLM_F_CREATE | NLM_F_REPLACE);
}

export function addressDel(o: Pick<AddressOptions, 'index' | 'address' | 'prefixLength'>): NlRequest {
  const addr = parseIp(o.address);
  const w = new BodyWriter().raw(ifaddrmsg(addr.length === 4 ? AF_INET : AF_INET6, o.prefixLength, 0, 0, o.index)).attr(IFA_LOCAL, addr);
  return { type: RTM_DELADDR, flags: 0, body: w.finish(), what: addrWhat(o) };
}

export interface AddressFilter {
  family?: IpFamily;
  /** Only addresses of this link (filtered by the kernel). */
  index?: number;
}

export function addressDump(f: AddressFilter = {}): NlRequest {
  const family = f.family === 4 ? AF_INET : f.family === 6 ? AF_INET6 : AF_UNSPEC;
  const w = new BodyWriter().raw(ifaddrmsg(family, 0, 0, 0, f.index ?? 0));
  return { type: RTM_GETADDR, flags: 0, body: w.finish(), what: 'addresses' };
}

export function listAddresses(conn: NetlinkConn, f: AddressFilter = {}): Address[] {
  return conn
    .dump(addressDump(f))
    .filter((m) => m.type === RTM_NEWADDR)
    .map(decodeAddress)
    .filter((a) => (f.index === undefined || a.index === f.index) && (f.family === undefined || a.family === f.family));
}

export function decodeAddress(m: NlMessage): Address {
  const b = m.body;
  const family: IpFamily = b.readUInt8(0) === AF_INET ? 4 : 6;
  const a = new Attrs(b, 8);
  const flags = a.u32(IFA_FLAGS) ?? b.readUInt8(2);
  const local = a.get(IFA_LOCAL);
  const address = a.get(IFA_ADDRESS);
  const main = local ?? address;
  const out: Address = {
    index: b.readUInt32LE(4),
    family,
    address: main ? formatIp(main) : '',
    prefixLength: b.readUInt8(1),
    scope: b.readUInt8(3),
    flags,
    tentative: (flags & IFA_F_TENTATIVE) !== 0,
    dadFailed: (flags & IFA_F_DADFAILED) !== 0,
  };
  if (local && address && !local.equals(address)) out.peer = formatIp(address);
  const brd = a.get(IFA_BROADCAST);
  if (brd) out.broadcast = formatIp(brd);
  const label = a.str(IFA_LABEL);
  if (label !== undefined) out.label = label;
  return out;
}

/** The IPv4 broadcast address of `addr/prefixLength`. */
export function broadcastOf(addr: Uint8Array, prefixLength: number): Uint8Array {
  const out = Uint8Array.from(addr);
  for (let bit = prefixLength; bit < 32; bit++) out[bit >> 3] = (out[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
  return out;
}

function newAddr(o: AddressOptions, flags: number): NlRequest {
  const addr = parseIp(o.address);
  const v4 = addr.length === 4;
  const max = v4 ? 32 : 128;
  if (!Number.isInteger(o.prefixLength) || o.prefixLength < 0 || o.prefixLength > max) {
    throw new TypeError(`invalid prefix length ${o.prefixLength} for ${o.address}: expected 0..${max}`);
  }
  let ifaFlags = 0;
  if (o.noDad) ifaFlags |= IFA_F_NODAD;
  if (o.noPrefixRoute) ifaFlags |= IFA_F_NOPREFIXROUTE;
  // As iproute2: flags that fit go in the header byte, wider ones in IFA_FLAGS.
  const w = new BodyWriter().raw(ifaddrmsg(v4 ? AF_INET : AF_INET6, o.prefixLength, ifaFlags <= 0xff ? ifaFlags : 0, o.scope ?? RT_SCOPE_UNIVERSE, o.index));
  w.attr(IFA_LOCAL, addr).attr(IFA_ADDRESS, addr);
  if (ifaFlags > 0xff) w.u32(IFA_FLAGS, ifaFlags);
  if (v4 && o.broadcast !== false) {
    if (o.broadcast !== undefined) w.attr(IFA_BROADCAST, parseIp(o.broadcast));
    else if (o.prefixLength <= 30) w.attr(IFA_BROADCAST, broadcastOf(addr, o.prefixLength));
  }
  if (o.label !== undefined) w.str(IFA_LABEL, o.label);
  return { type: RTM_NEWADDR, flags, body: w.finish(), what: addrWhat(o) };
}

/** struct ifaddrmsg: family, prefixlen, flags, scope, index (8 bytes). */
function ifaddrmsg(family: number, prefixLength: number, flags: number, scope: number, index: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(family, 0);
  b.writeUInt8(prefixLength, 1);
  b.writeUInt8(flags, 2);
  b.writeUInt8(scope, 3);
  b.writeUInt32LE(index, 4);
  return b;
}

function addrWhat(o: Pick<AddressOptions, 'index' | 'address' | 'prefixLength'>): string {
  return `address ${o.address}/${o.prefixLength} on link #${o.index}`;
}
