// Finding the underlay link: the interface peers reach this node on, whose address goes into
// the lease (the next hop for host-gw, the VTEP for VXLAN) and whose MTU sizes the pods'.
// In order: a name given (`--underlay`); the link of the route towards an address given
// (`--underlay-address`, longest prefix match in the main table); the link of the default route
// (IPv4, then IPv6); the only non-loopback link that is up.
import type { NodeEnvironment } from '@podnet/core/backend';
import { RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, getLink, listAddresses, listLinks, listRoutes, parseIp } from '@podnet/core/netlink';
import type { Link, NetlinkConn, Route } from '@podnet/core/netlink';
import type { AgentOptions } from './options.js';

/** IFF_LOOPBACK (linux/if.h). */
const IFF_LOOPBACK = 0x8;

export type Underlay = NodeEnvironment['underlay'] & {
  /** The family of the node's first address (what the pod MTU is sized for). */
  family: 4 | 6;
  /** How it was found, for the start-up log. */
  foundBy: 'name' | 'address' | 'default-route' | 'only-link';
};

export interface UnderlayQuery {
  name?: string;
  reach?: string;
}

/** The query the flags ask for (`--underlay`, `--underlay-address`). */
export function underlayQuery(o: Pick<AgentOptions, 'underlay' | 'underlayAddress'>): UnderlayQuery {
  return { ...(o.underlay !== undefined ? { name: o.underlay } : {}), ...(o.underlayAddress !== undefined ? { reach: o.underlayAddress } : {}) };
}

export class UnderlayError extends Error {
  override readonly name = 'UnderlayError';
}

function contains(route: Route, addr: Uint8Array): boolean {
  const dst = parseIp(route.dst);
  if (dst.length !== addr.length) return false;
  let bits = route.dstLen;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((dst[i] as number) & mask) !== ((addr[i] as number) & mask)) return false;
  }
  return true;
}

function bestRoute(routes: Route[], addr: Uint8Array): Route | undefined {
  let best: Route | undefined;
  for (const r of routes) {
    if (r.oif === undefined || r.type !== 1 || !contains(r, addr)) continue;
    if (!best || r.dstLen > best.dstLen || (r.dstLen === best.dstLen && (r.priority ?? 0) < (best.priority ?? 0))) best = r;
  }
  return best;
}

function findLink(conn: NetlinkConn, q: UnderlayQuery): { link: Link; foundBy: Underlay['foundBy'] } {
  if (q.name !== undefined) {
    const link = getLink(conn, q.name);
    if (!link) throw new UnderlayError(`--underlay: no link named "${q.name}" in this network namespace`);
    return { link, foundBy: 'name' };
  }
  if (q.reach !== undefined) {
    let addr: Uint8Array;
    try {
      addr = parseIp(q.reach);
    } catch {
      throw new UnderlayError(`--underlay-address: "${q.reach}" is not an IP address`);
    }
    const route = bestRoute(listRoutes(conn, { table: RT_TABLE_MAIN, family: addr.length === 4 ? 4 : 6 }), addr);
    const link = route?.oif !== undefined ? getLink(conn, route.oif) : undefined;
    if (!link) throw new UnderlayError(`--underlay-address: no route towards ${q.reach} in the main table`);
    return { link, foundBy: 'address' };
  }
  for (const family of [4, 6] as const) {
    const defaults = listRoutes(conn, { table: RT_TABLE_MAIN, family }).filter((r) => r.dstLen === 0 && r.oif !== undefined && r.type === 1);
    defaults.sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0));
    const oif = defaults[0]?.oif;
    const link = oif !== undefined ? getLink(conn, oif) : undefined;
    if (link) return { link, foundBy: 'default-route' };
  }
  const up = listLinks(conn).filter((l) => l.up && (l.flags & IFF_LOOPBACK) === 0);
  if (up.length === 1) return { link: up[0] as Link, foundBy: 'only-link' };
  throw new UnderlayError(
    up.length === 0
      ? 'no underlay: no default route and no link up besides loopback (give --underlay <ifname> or --underlay-address <ip>)'
      : `no underlay: no default route and several links up (${up.map((l) => l.name).join(', ')}); give --underlay <ifname> or --underlay-address <ip>`,
  );
}

/** The underlay link with its global addresses (IPv4 first), its MTU and index. */
export function findUnderlay(conn: NetlinkConn, q: UnderlayQuery): Underlay {
  const { link, foundBy } = findLink(conn, q);
  return underlayOf(conn, link, foundBy);
}

function underlayOf(conn: NetlinkConn, link: Link, foundBy: Underlay['foundBy']): Underlay {
  if (!link.up) throw new UnderlayError(`underlay link "${link.name}" is down`);
  const addresses = listAddresses(conn, { index: link.index })
    .filter((a) => a.scope === RT_SCOPE_UNIVERSE && !a.dadFailed)
    .sort((a, b) => a.family - b.family)
    .map((a) => a.address);
  const first = addresses[0];
  if (first === undefined) throw new UnderlayError(`underlay link "${link.name}" has no global address for peers to reach this node on`);
  return { name: link.name, index: link.index, mtu: link.mtu, addresses, family: first.includes(':') ? 6 : 4, foundBy };
}

/** The node addresses a lease carries: the underlay's first address of each family. */
export function leaseNodeIps(underlay: Underlay): string[] {
  const v4 = underlay.addresses.find((a) => !a.includes(':'));
  const v6 = underlay.addresses.find((a) => a.includes(':'));
  return [v4, v6].filter((a): a is string => a !== undefined);
}

/**
 * The underlay again, for the periodic check. While a link of the current name exists it is the
 * one (a flap that drops the default route for a moment must not move podnetd to another link;
 * a link recreated under the same name is found with its new index); when it is gone, the
 * underlay is found as at start.
 */
export function refindUnderlay(conn: NetlinkConn, q: UnderlayQuery, current: Underlay): Underlay {
  const link = q.name === undefined ? getLink(conn, current.name) : undefined;
  return link ? underlayOf(conn, link, current.foundBy) : findUnderlay(conn, q);
}

/** What differs between two readings of the underlay, as far as peers, routes and pods care. */
export function underlayChanges(before: Underlay, after: Underlay): Array<'link' | 'node addresses' | 'mtu'> {
  const changes: Array<'link' | 'node addresses' | 'mtu'> = [];
  if (before.name !== after.name || before.index !== after.index) changes.push('link');
  if (leaseNodeIps(before).join(' ') !== leaseNodeIps(after).join(' ')) changes.push('node addresses');
  if (before.mtu !== after.mtu) changes.push('mtu');
  return changes;
}
