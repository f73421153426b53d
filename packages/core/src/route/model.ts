// The route model shared by the planner and the reconciler: a desired route is a netlink
// RouteSpec owned by one protocol; identity and equality follow what the kernel keys routes by.
import { RTN_UNICAST, RT_TABLE_MAIN } from '../netlink/constants.js';
import { canonicalIp } from '../netlink/ip.js';
import type { IpFamily } from '../netlink/ip.js';
import type { Route, RouteSpec } from '../netlink/route.js';

/** A route we want, without `protocol`: the reconciler stamps its owner's protocol on it. */
export type DesiredRoute = Omit<RouteSpec, 'protocol'>;

/** A desired route with every default filled in, as the kernel will report it back. */
export interface NormalRoute extends RouteSpec {
  family: IpFamily;
  protocol: number;
  table: number;
  type: number;
  priority: number;
  onlink: boolean;
}

/** IPv6 routes added without a metric get 1024; IPv4 ones 0 (reported as no RTA_PRIORITY). */
const DEFAULT_METRIC: Record<IpFamily, number> = { 4: 0, 6: 1024 };

export function normalise(r: DesiredRoute, protocol: number, table?: number): NormalRoute {
  const dst = canonicalIp(r.dst);
  const family: IpFamily = dst.includes(':') ? 6 : 4;
  // Built field by field in one order (not spread): every normal route gets the same object
  // shape, which keeps the planner's comparisons on the fast path at 5,000 routes.
  const out: NormalRoute = {
    dst,
    dstLen: r.dstLen,
    family,
    protocol,
    table: r.table ?? table ?? RT_TABLE_MAIN,
    type: r.type ?? RTN_UNICAST,
    priority: r.priority ?? DEFAULT_METRIC[family],
    onlink: r.onlink ?? false,
  };
  if (r.gateway !== undefined) out.gateway = canonicalIp(r.gateway);
  if (r.oif !== undefined) out.oif = r.oif;
  if (r.scope !== undefined) out.scope = r.scope;
  if (r.prefsrc !== undefined) out.prefsrc = canonicalIp(r.prefsrc);
  if (r.mtu !== undefined) out.mtu = r.mtu;
  if (r.advmss !== undefined) out.advmss = r.advmss;
  return out;
}

/**
 * What the kernel keys a route by: two routes with the same key cannot coexist, and
 * NLM_F_REPLACE swaps one for the other (family, table, destination prefix, metric).
 */
export function routeKey(r: { family: IpFamily; table: number; dst: string; dstLen: number; priority?: number }): string {
  return `${r.family}|${r.table}|${r.dst}/${r.dstLen}|${r.priority ?? DEFAULT_METRIC[r.family]}`;
}

/**
 * Does the kernel's route already say what we want? Fields the desired route leaves open
 * (output device, scope, preferred source) are not compared — the kernel fills them in; the
 * gateway, the type, onlink and the metrics are, absent on one side meaning absent on the other.
 */
export function routeMatches(want: NormalRoute, have: Route): boolean {
  if (want.gateway !== have.gateway) return false;
  if (want.type !== have.type || want.onlink !== have.onlink) return false;
  if (want.mtu !== have.mtu || want.advmss !== have.advmss) return false;
  if (want.oif !== undefined && want.oif !== have.oif) return false;
  if (want.prefsrc !== undefined && want.prefsrc !== have.prefsrc) return false;
  if (want.scope !== undefined && want.family === 4 && want.scope !== have.scope) return false;
  return true;
}

/** The fields that pin down one kernel route for RTM_DELROUTE. */
export function deleteSpec(r: Route): RouteSpec {
  return {
    dst: r.dst,
    dstLen: r.dstLen,
    table: r.table,
    protocol: r.protocol,
    priority: r.priority ?? DEFAULT_METRIC[r.family],
    ...(r.gateway !== undefined ? { gateway: r.gateway } : {}),
    ...(r.oif !== undefined ? { oif: r.oif } : {}),
  };
}
