// Make the kernel's routes of one owner match a desired list: dump, plan, apply as one batch.
import type { NetlinkError } from '../netlink/error.js';
import type { NlMessage } from '../netlink/message.js';
import { decodeRoutes, dumpRoutes, routeAdd, routeDel, routeReplace } from '../netlink/route.js';
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
 * What the last pass of one owner saw, so that a pass finding the kernel's routes byte for byte as
 * they were, for the same (frozen) desired route objects and options, skips decoding and planning:
 * its result is the last one's. Only a pass that asked for no change at all is kept (a change,
 * done or refused, is tried again by the next pass). At 5,000 routes this makes the periodic pass
 * one dump and a memcmp per route instead of 5,000 decoded routes and a plan.
 */
export class RouteReconcileMemo {
  #desired: readonly DesiredRoute[] = [];
  #options = '';
  #dump: readonly NlMessage[] | undefined;
  #result: RouteReconcileResult | undefined;

  /** The kept result when nothing differs from the kept pass. */
  lookup(desired: readonly DesiredRoute[], options: RoutePlanOptions, dump: readonly NlMessage[]): RouteReconcileResult | undefined {
    const last = this.#dump;
    if (last === undefined || this.#result === undefined) return undefined;
    if (optionsKey(options) !== this.#options || dump.length !== last.length || desired.length !== this.#desired.length) return undefined;
    for (let i = 0; i < desired.length; i++) if (desired[i] !== this.#desired[i]) return undefined;
    for (let i = 0; i < dump.length; i++) {
      const a = dump[i]!;
      const b = last[i]!;
      if (a.type !== b.type || !a.body.equals(b.body)) return undefined;
    }
    return this.#result;
  }

  keep(desired: readonly DesiredRoute[], options: RoutePlanOptions, dump: readonly NlMessage[], result: RouteReconcileResult): void {
    // A desired route the caller may still change cannot be compared by identity.
    if (!desired.every((d) => Object.isFrozen(d))) {
      this.forget();
      return;
    }
    this.#desired = [...desired];
    this.#options = optionsKey(options);
    this.#dump = dump;
    this.#result = result;
  }

  forget(): void {
    this.#desired = [];
    this.#dump = undefined;
    this.#result = undefined;
  }
}

const optionsKey = (o: RoutePlanOptions): string => `${o.protocol}|${o.table ?? ''}`;

/**
 * One reconcile pass: dumps the routes (of `table` if given), plans against `desired`, and sends
 * every change in one batch — replacements and additions first, so a destination is never
 * without a route, then deletions. Idempotent: a second pass with the same input changes nothing.
 */
export function reconcileRoutes(
  conn: NetlinkConn,
  desired: readonly DesiredRoute[],
  options: RoutePlanOptions,
  memo?: RouteReconcileMemo,
): RouteReconcileResult {
  const filter = options.table !== undefined ? { table: options.table } : {};
  let dump: NlMessage[];
  try {
    dump = dumpRoutes(conn, filter);
  } catch (err) {
    memo?.forget();
    throw err;
  }
  const kept = memo?.lookup(desired, options, dump);
  if (kept !== undefined) return kept;
  const current = decodeRoutes(dump, filter);
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
  if (memo !== undefined) {
    if (changes.length === 0) memo.keep(desired, options, dump, result);
    else memo.forget();
  }
  return result;
}
