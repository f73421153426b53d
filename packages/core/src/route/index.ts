// Routes owned by one protocol: a model, a pure planner, and a reconcile pass over netlink.
export { normalise, routeKey, routeMatches } from './model.js';
export type { DesiredRoute, NormalRoute } from './model.js';
export { planRouteChanges } from './plan.js';
export type { RoutePlan, RoutePlanOptions } from './plan.js';
export { RouteReconcileMemo, reconcileRoutes } from './reconcile.js';
export type { RouteReconcileResult } from './reconcile.js';
export type { Route, RouteSpec } from '../netlink/route.js';
