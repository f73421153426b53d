// Routes: rtmsg requests (add, replace, delete, dump) and decoding.
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  NLA_HDRLEN,
  NLA_TYPE_MASK,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RTAX_ADVMSS,
  RTAX_MTU,
  RTA_DST,
  RTA_GATEWAY,
  RTA_METRICS,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
  RTM_DELROUTE,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  RTNH_F_ONLINK,
  RTN_UNICAST,
  RTPROT_BOOT,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RT_TABLE_UNSPEC,
} from './constants.js';
import { formatIp, parseIp } from './ip.js';
import type { IpFamily } from './ip.js';
import { Attrs, BodyWriter, align4 } from './message.js';
import type { NlMessage, NlRequest } from './message.js';
import type { NetlinkConn } from './socket.js';

/** A route as the kernel reports it. */
export interface Route {
  family: IpFamily;
  /** Destination network address; `0.0.0.0` / `::` with dstLen 0 for a default route. */
  dst: string;
  dstLen: number;
  gateway?: string;
  /** Output interface index. */
  oif?: number;
  /** rtm_protocol: who installed it (2 kernel, 3 boot, 4 static, or an owner's own number). */
  protocol: number;
  table: number;
  scope: number;
  /** RTN_*: 1 unicast, 2 local, 6 blackhole… */
  type: number;
  onlink: boolean;
  /** The metric (RTA_PRIORITY). */
  priority?: number;
  prefsrc?: string;
  mtu?: number;
  advmss?: number;
}

/** What to install. Omitted fields take iproute2's defaults. */
export interface RouteSpec {
  dst: string;
  dstLen: number;
  gateway?: string;
  oif?: number;
  /** Default RTPROT_BOOT (3), as `ip route add`. Owners tag their routes with their own number. */
  protocol?: number;
  /** Default main (254). */
  table?: number;
  /** Default: universe with a gateway, link without. */
  scope?: number;
  /** Default unicast. */
  type?: number;
  /** The gateway is reachable on `oif` even without a matching connected route. */
  onlink?: boolean;
  priority?: number;
  prefsrc?: string;
  mtu?: number;
  advmss?: number;
}

export function routeAdd(r: RouteSpec): NlRequest {
  return routeRequest(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, r, false);
}

/** Adds, or replaces the route with the same destination (and metric, table). */
export function routeReplace(r: RouteSpec): NlRequest {
  return routeRequest(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r, false);
}

/** Deletes the route matching the fields given (unset fields match anything). */
export function routeDel(r: RouteSpec): NlRequest {
  return routeRequest(RTM_DELROUTE, 0, r, true);
}

/** `what` is only read when a request fails: written out then, not for each of 5,000 adds. */
function routeRequest(type: number, flags: number, r: RouteSpec, forDelete: boolean): NlRequest {
  const body = encodeRoute(r, forDelete);
  return {
    type,
    flags,
    body,
    get what(): string {
      return routeWhat(r);
    },
  };
}

export interface RouteFilter {
  family?: IpFamily;
  /** Only this table (the kernel filters). Default: every table. */
  table?: number;
  /** Only this rtm_protocol (the kernel filters). */
  protocol?: number;
  /** Only routes out of this interface (the kernel filters). */
  oif?: number;
}

export function routeDump(f: RouteFilter = {}): NlRequest {
  const family = f.family === 4 ? AF_INET : f.family === 6 ? AF_INET6 : AF_UNSPEC;
  const table = f.table ?? 0;
  // Strict dump header: dst_len, src_len, tos and scope must be zero; table/protocol filter.
  const w = new BodyWriter().raw(rtmsg(family, 0, table < 256 ? table : RT_TABLE_UNSPEC, f.protocol ?? 0, 0, 0, 0));
  if (table >= 256) w.u32(RTA_TABLE, table);
  if (f.oif !== undefined) w.u32(RTA_OIF, f.oif);
  return { type: RTM_GETROUTE, flags: 0, body: w.finish(), what: 'routes' };
}

export function listRoutes(conn: NetlinkConn, f: RouteFilter = {}): Route[] {
  return decodeRoutes(dumpRoutes(conn, f), f);
}

/** The raw messages of a route dump (what listRoutes decodes); a missing table has none. */
export function dumpRoutes(conn: NetlinkConn, f: RouteFilter = {}): NlMessage[] {
  try {
    return conn.dump(routeDump(f));
  } catch (err) {
    // IPv4 answers a dump of a table that does not exist yet with ENOENT: no routes.
    if (f.table !== undefined && (err as { code?: unknown }).code === 'ENOENT') return [];
    throw err;
  }
}

/** The routes of a dump that pass `f` (the kernel filters too; this keeps older kernels right). */
export function decodeRoutes(msgs: readonly NlMessage[], f: RouteFilter = {}): Route[] {
  return msgs
    .filter((m) => m.type === RTM_NEWROUTE)
    .map(decodeRoute)
    .filter(
      (r) =>
        (f.family === undefined || r.family === f.family) &&
        (f.table === undefined || r.table === f.table) &&
        (f.protocol === undefined || r.protocol === f.protocol) &&
        (f.oif === undefined || r.oif === f.oif),
    );
}

export function decodeRoute(m: NlMessage): Route {
  const b = m.body;
  const family: IpFamily = b.readUInt8(0) === AF_INET ? 4 : 6;
  // One loop over the attributes, reading values in place: a dump of 5,000 routes is decoded
  // at every periodic reconcile, and a Map plus a Buffer view per attribute (the generic Attrs)
  // was most of its cost. As Attrs: the first occurrence of a type wins; a bad length stops.
  let dst: string | undefined;
  let gateway: string | undefined;
  let prefsrc: string | undefined;
  let table: number | undefined;
  let oif: number | undefined;
  let priority: number | undefined;
  let mtu: number | undefined;
  let advmss: number | undefined;
  const end = b.length;
  let off = 12;
  while (off + NLA_HDRLEN <= end) {
    const len = b.readUInt16LE(off);
    if (len < NLA_HDRLEN || off + len > end) break;
    const type = b.readUInt16LE(off + 2) & NLA_TYPE_MASK;
    const at = off + NLA_HDRLEN;
    const size = len - NLA_HDRLEN;
    switch (type) {
      case RTA_DST:
        dst ??= ipAt(b, at, size);
        break;
      case RTA_GATEWAY:
        gateway ??= ipAt(b, at, size);
        break;
      case RTA_PREFSRC:
        prefsrc ??= ipAt(b, at, size);
        break;
      case RTA_TABLE:
        if (size >= 4) table ??= b.readUInt32LE(at);
        break;
      case RTA_OIF:
        if (size >= 4) oif ??= b.readUInt32LE(at);
        break;
      case RTA_PRIORITY:
        if (size >= 4) priority ??= b.readUInt32LE(at);
        break;
      case RTA_METRICS:
        if (mtu === undefined && advmss === undefined) {
          const metrics = new Attrs(b, at, off + len);
          mtu = metrics.u32(RTAX_MTU);
          advmss = metrics.u32(RTAX_ADVMSS);
        }
        break;
    }
    off += align4(len);
  }
  const r: Route = {
    family,
    dst: dst ?? (family === 4 ? '0.0.0.0' : '::'),
    dstLen: b.readUInt8(1),
    protocol: b.readUInt8(5),
    table: table ?? b.readUInt8(4),
    scope: b.readUInt8(6),
    type: b.readUInt8(7),
    onlink: (b.readUInt32LE(8) & RTNH_F_ONLINK) !== 0,
  };
  if (gateway !== undefined) r.gateway = gateway;
  if (oif !== undefined) r.oif = oif;
  if (priority !== undefined) r.priority = priority;
  if (prefsrc !== undefined) r.prefsrc = prefsrc;
  if (mtu !== undefined) r.mtu = mtu;
  if (advmss !== undefined) r.advmss = advmss;
  return r;
}

/** The address of `size` bytes at `at`, formatted (IPv4 without a copy); empty → undefined. */
function ipAt(b: Buffer, at: number, size: number): string | undefined {
  if (size === 4) return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
  return size > 0 ? formatIp(b.subarray(at, at + size)) : undefined;
}

/** `10.0.0.0/24 via 10.1.0.1 dev #3 proto 99 table 254` — how errors name a route. */
export function routeWhat(r: RouteSpec): string {
  const parts = [`route ${r.dstLen === 0 ? 'default' : `${r.dst}/${r.dstLen}`}`];
  if (r.gateway !== undefined) parts.push(`via ${r.gateway}`);
  if (r.oif !== undefined) parts.push(`dev #${r.oif}`);
  if (r.protocol !== undefined) parts.push(`proto ${r.protocol}`);
  if (r.table !== undefined && r.table !== RT_TABLE_MAIN) parts.push(`table ${r.table}`);
  if (r.priority !== undefined) parts.push(`metric ${r.priority}`);
  return parts.join(' ');
}

function encodeRoute(r: RouteSpec, forDelete: boolean): Buffer {
  const dst = parseIp(r.dst);
  const v4 = dst.length === 4;
  const max = v4 ? 32 : 128;
  if (!Number.isInteger(r.dstLen) || r.dstLen < 0 || r.dstLen > max) {
    throw new TypeError(`invalid prefix length ${r.dstLen} for route to ${r.dst}: expected 0..${max}`);
  }
  const gw = r.gateway !== undefined ? parseIp(r.gateway) : undefined;
  if (gw && gw.length !== dst.length) throw new TypeError(`route to ${r.dst}/${r.dstLen}: gateway ${r.gateway} is of the other IP family`);
  const table = r.table ?? RT_TABLE_MAIN;
  // As iproute2: a delete without scope, protocol or type matches any (RT_SCOPE_NOWHERE, 0, 0);
  // an add without gateway is a link-scope route.
  const scope = r.scope ?? (forDelete ? 255 : gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
  const protocol = r.protocol ?? (forDelete ? 0 : RTPROT_BOOT);
  const type = r.type ?? (forDelete ? 0 : RTN_UNICAST);
  const w = new BodyWriter().raw(
    rtmsg(v4 ? AF_INET : AF_INET6, r.dstLen, table < 256 ? table : RT_TABLE_UNSPEC, protocol, scope, type, r.onlink ? RTNH_F_ONLINK : 0),
  );
  if (table >= 256) w.u32(RTA_TABLE, table);
  // Attribute order as iproute2's, so requests compare byte for byte with its captures.
  if (r.dstLen > 0) w.attr(RTA_DST, dst);
  if (r.prefsrc !== undefined) w.attr(RTA_PREFSRC, parseIp(r.prefsrc));
  if (gw) w.attr(RTA_GATEWAY, gw);
  if (r.priority !== undefined) w.u32(RTA_PRIORITY, r.priority);
  if (r.oif !== undefined) w.u32(RTA_OIF, r.oif);
  if (r.mtu !== undefined || r.advmss !== undefined) {
    w.nest(RTA_METRICS, (m) => {
      if (r.mtu !== undefined) m.u32(RTAX_MTU, r.mtu);
      if (r.advmss !== undefined) m.u32(RTAX_ADVMSS, r.advmss);
    });
  }
  return w.finish();
}

/** struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags (12 bytes). */
function rtmsg(family: number, dstLen: number, table: number, protocol: number, scope: number, type: number, flags: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(family, 0);
  b.writeUInt8(dstLen, 1);
  b.writeUInt8(table, 4);
  b.writeUInt8(protocol, 5);
  b.writeUInt8(scope, 6);
  b.writeUInt8(type, 7);
  b.writeUInt32LE(flags, 8);
  return b;
}
