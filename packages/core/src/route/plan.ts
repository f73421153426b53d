// Desired routes vs the kernel's → the smallest set of changes. Pure: no I/O.
import type { Route } from '../netlink/route.js';
import { normalise, routeKey, routeMatches } from './model.js';
import type { DesiredRoute, NormalRoute } from './model.js';

export interface RoutePlanOptions {
  /** Our rtm_protocol. Only routes carrying it are ours to replace or delete. */
  protocol: number;
  /** Table for desired routes that name none; also limits which kernel routes are considered. */
  table?: number;
}

export interface RoutePlan {
  /** Desired routes missing from the kernel. */
  add: NormalRoute[];
  /** Desired routes whose key (dst, metric, table) holds one of ours that says something else. */
  replace: Array<{ want: NormalRoute; have: Route }>;
  /** Our routes that are no longer desired. */
  del: Route[];
  /** Desired routes whose key is held by a route of another owner: left alone, reported. */
  conflicts: Array<{ want: NormalRoute; have: Route }>;
}

/**
 * Normal form and key of each desired route object, kept while the caller keeps the object: a
 * node half that hands the same (frozen) route objects pass after pass — host-gw does — has
 * them normalised once, not at every periodic pass. Desired routes are values: a caller must
 * not change one after handing it in (host-gw freezes its own).
 */
const normalCache = new WeakMap<DesiredRoute, { protocol: number; table: number | undefined; route: NormalRoute; key: string }>();

function normalised(d: DesiredRoute, protocol: number, table: number | undefined): { route: NormalRoute; key: string } {
  const hit = normalCache.get(d);
  if (hit !== undefined && hit.protocol === protocol && hit.table === table) return hit;
  const route = Object.freeze(normalise(d, protocol, table));
  const entry = { protocol, table, route, key: routeKey(route) };
  // Only frozen routes are kept: an object the caller may still change is normalised each time.
  if (Object.isFrozen(d)) normalCache.set(d, entry);
  return entry;
}

/**
 * Compares `desired` with `current` (a dump) for one owner. A route whose key matches but says
 * something else (gateway, device, metrics) is replaced in place; a route of another protocol is
 * never touched, even if it stands where we want ours (a conflict, reported).
 */
export function planRouteChanges(desired: readonly DesiredRoute[], current: readonly Route[], options: RoutePlanOptions): RoutePlan {
  const { protocol, table } = options;
  // Wanted key → its index in `wants`; per wanted route, the first of ours and the first
  // foreign route the kernel holds under its key. One pass over the dump, no map of the dump.
  const index = new Map<string, number>();
  const wants: NormalRoute[] = [];
  for (const d of desired) {
    const { route: n, key } = normalised(d, protocol, table);
    if (table !== undefined && n.table !== table) {
      throw new TypeError(`desired route ${n.dst}/${n.dstLen} is in table ${n.table}, outside the reconciled table ${table}`);
    }
    if (index.has(key)) throw new TypeError(`desired routes list ${n.dst}/${n.dstLen} (table ${n.table}, metric ${n.priority}) twice`);
    index.set(key, wants.length);
    wants.push(n);
  }
  const ours: Array<Route | undefined> = new Array(wants.length);
  const foreign: Array<Route | undefined> = new Array(wants.length);

  const plan: RoutePlan = { add: [], replace: [], del: [], conflicts: [] };
  for (const c of current) {
    if (table !== undefined && c.table !== table) continue;
    const i = index.get(routeKey(c));
    const mine = c.protocol === protocol;
    if (i === undefined) {
      // Ours but not wanted.
      if (mine) plan.del.push(c);
    } else if (mine) {
      // Under a wanted key the first of ours is kept (or replaced); any other of ours there
      // (left by an older version or by hand) goes.
      if (ours[i] === undefined) ours[i] = c;
      else plan.del.push(c);
    } else if (foreign[i] === undefined) {
      foreign[i] = c;
    }
  }
  for (let i = 0; i < wants.length; i++) {
    const w = wants[i]!;
    const here = ours[i];
    const other = foreign[i];
    if (here) {
      if (!routeMatches(w, here)) plan.replace.push({ want: w, have: here });
    } else if (other) {
      plan.conflicts.push({ want: w, have: other });
    } else {
      plan.add.push(w);
    }
  }
  return plan;
}
