// What both stores decide the same way: request checks, whether a lease still fits the config,
// which subnets a node gets, how two views of the leases differ. Pure; no I/O.
import { familyRanges } from '../config/network-config.js';
import type { FamilyRange, NetworkConfig } from '../config/network-config.js';
import { canonicalSubnet, fitsRange, pickSubnet } from '../subnet/pick.js';
import { ClusterError } from './types.js';
import type { AcquireRequest, Lease, LeaseEvent, LeaseSubnets } from './types.js';

const FAMILY_FIELD = { 4: 'ipv4', 6: 'ipv6' } as const;

/** Node names become store keys: keep them to what Kubernetes allows for node names (and "_"). */
const NODE_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;

/** The shortest lease: etcd's TTLs are whole seconds and the holder renews at a third. */
export const MIN_TTL_MS = 1_000;

export function checkNode(node: unknown): string {
  if (typeof node !== 'string' || !NODE_NAME.test(node)) {
    throw new ClusterError('conflict', `invalid node name ${JSON.stringify(node)}: expected letters, digits, ".", "-", "_" (at most 253)`);
  }
  return node;
}

export function checkRequest(request: AcquireRequest): void {
  checkNode(request.node);
  if (!Array.isArray(request.nodeIps) || request.nodeIps.some((ip) => typeof ip !== 'string' || ip === '')) {
    throw new ClusterError('conflict', `node ${request.node}: "nodeIps" must be a list of addresses`);
  }
  checkTtl(request.ttlMs, request.node);
  if (typeof request.backend?.type !== 'string' || request.backend.type === '') {
    throw new ClusterError('conflict', `node ${request.node}: "backend.type" must be a non-empty string`);
  }
}

export function checkTtl(ttlMs: unknown, node: string): void {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs < MIN_TTL_MS) {
    throw new ClusterError('conflict', `node ${node}: "ttlMs" must be at least ${MIN_TTL_MS}, got ${JSON.stringify(ttlMs)}`);
  }
}

/** The subnet of `range`'s family in `subnets`. */
export function subnetOf(subnets: LeaseSubnets, range: FamilyRange): string | undefined {
  return subnets[FAMILY_FIELD[range.family]];
}

/** True when `subnets` has exactly one fitting subnet per enabled family and none for the others. */
export function subnetsFit(config: NetworkConfig, subnets: LeaseSubnets): boolean {
  const ranges = familyRanges(config);
  if ((subnets.ipv4 !== undefined) !== config.EnableIPv4 || (subnets.ipv6 !== undefined) !== config.EnableIPv6) return false;
  return ranges.every((range) => fitsRange(range, subnetOf(subnets, range)));
}

/** The canonical subnets of every lease, as one set for `taken`. */
export function takenSubnets(leases: Iterable<Lease>): Set<string> {
  const taken = new Set<string>();
  for (const lease of leases) {
    if (lease.subnets.ipv4 !== undefined) taken.add(lease.subnets.ipv4);
    if (lease.subnets.ipv6 !== undefined) taken.add(lease.subnets.ipv6);
  }
  return taken;
}

/**
 * One subnet per enabled family, `preferred` first when free and fitting (each family on its
 * own: a node keeps its IPv4 subnet even when its IPv6 one was taken meanwhile).
 */
export function planSubnets(config: NetworkConfig, taken: ReadonlySet<string>, preferred: LeaseSubnets | undefined): LeaseSubnets {
  const subnets: LeaseSubnets = {};
  for (const range of familyRanges(config)) {
    const previous = preferred === undefined ? undefined : subnetOf(preferred, range);
    subnets[FAMILY_FIELD[range.family]] = pickSubnet(range, taken, { previous: previous === undefined ? undefined : canonicalSubnet(range, previous) });
  }
  return subnets;
}

export function sameSubnets(a: LeaseSubnets, b: LeaseSubnets): boolean {
  return a.ipv4 === b.ipv4 && a.ipv6 === b.ipv6;
}

/**
 * The events that turn view `known` into `live` (by node), for a resync. A lease counts as
 * changed when its revision differs.
 */
export function diffLeases(known: ReadonlyMap<string, Lease>, live: readonly Lease[]): LeaseEvent[] {
  const events: LeaseEvent[] = [];
  const seen = new Set<string>();
  for (const lease of live) {
    seen.add(lease.node);
    const previous = known.get(lease.node);
    if (previous === undefined) events.push({ type: 'added', lease });
    else if (previous.revision !== lease.revision) events.push({ type: 'changed', lease, previous });
  }
  for (const [node, lease] of known) if (!seen.has(node)) events.push({ type: 'removed', lease });
  return events;
}

/** Applies events to a view (by node). */
export function applyEvents(view: Map<string, Lease>, events: readonly LeaseEvent[]): void {
  for (const event of events) {
    if (event.type === 'removed') view.delete(event.lease.node);
    else view.set(event.lease.node, event.lease);
  }
}

/** ClusterError('lease-lost') for `lease`, saying why. */
export function leaseLost(lease: Lease, why: string): ClusterError {
  const subnets = [lease.subnets.ipv4, lease.subnets.ipv6].filter((s) => s !== undefined).join(', ');
  return new ClusterError('lease-lost', `node ${lease.node} lost its lease on ${subnets}: ${why}`);
}
