// Make the kernel's routes of one owner match a desired list: dump, plan, apply as one batch.
import type { NetlinkError } from '../netlink/error.js';
import { listRoutes, routeAdd, routeDel, routeReplace } from '../netlink/route.js';
import type { Route } from '../netlink/route.js';
import type { NetlinkConn } from '../netlink/socket.js';
import { deleteSpec } from './model.js';
import type { DesiredRoute, NormalRoute } from './model.js';
import { planRouteChanges } from './plan.js';
import type { RoutePlan, RoutePlanOptions } from './plan.js';

export interface RouteReconcileResult {
  added: NormalRoute[];
  replaced: NormalRoute[];
  deleted: Route[];
  /** Desired routes blocked by another owner's route; nothing was done for them. */
  conflicts: RoutePlan['conflicts'];
  /** Changes the kernel refused (the rest of the batch was still applied). */
  failed: Array<{ route: NormalRoute | Route; error: NetlinkError }>;
}

/**
 * One reconcile pass: dumps the routes (of `table` if given), plans against `desired`, and sends
 * every change in one batch — replacements and additions first, so a destination is never
 * without a route, then deletions. Idempotent: a second pass with the same input changes nothing.
 */
export function reconcileRoutes(conn: NetlinkConn, desired: readonly DesiredRoute[], options: RoutePlanOptions): RouteReconcileResult {
  const current = listRoutes(conn, options.table !== undefined ? { table: options.table } : {});
  const plan = planRouteChanges(desired, current, options);
  const changes: Array<{ route: NormalRoute | Route; kind: 'added' | 'replaced' | 'deleted' }> = [
    ...plan.replace.map((r) => ({ route: r.want, kind: 'replaced' as const })),
    ...plan.add.map((r) => ({ route: r, kind: 'added' as const })),
    ...plan.del.map((r) => ({ route: r, kind: 'deleted' as const })),
  ];
  const requests = changes.map((c) =>
    c.kind === 'deleted' ? routeDel(deleteSpec(c.route as Route)) : c.kind === 'replaced' ? routeReplace(c.route) : routeAdd(c.route),
  );
  const errors = requests.length > 0 ? conn.batchSettled(requests) : [];
  const result: RouteReconcileResult = { added: [], replaced: [], deleted: [], conflicts: plan.conflicts, failed: [] };
  changes.forEach((c, i) => {
    const error = errors[i];
    if (error) result.failed.push({ route: c.route, error });
    else if (c.kind === 'deleted') result.deleted.push(c.route as Route);
    else result[c.kind].push(c.route as NormalRoute);
  });
  return result;
}
