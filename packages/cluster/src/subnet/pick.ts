// Which subnet a node gets: pure planning over one family's range, shared by every store.
// flannel's rule: reuse the node's previous subnet when it is free and still fits; else pick at
// random among free ones (random, so nodes acquiring at the same moment rarely collide and the
// losers of a store transaction retry with little waste). Ranges can be astronomically large
// (IPv6 /64s in a /32: 2^32), so nothing enumerates the range: a scan starts at a random index
// and stops after `taken + limit` steps, which is enough to find `limit` free subnets or prove
// that none is left.
import { randomBytes } from 'node:crypto';
import { describeRange } from '../config/network-config.js';
import type { FamilyRange } from '../config/network-config.js';
import { ClusterError } from '../lease/types.js';
import { formatCidr, parseCidr, sizeOf } from './cidr.js';

/** How many free candidates a pick chooses among (flannel collects up to 100). */
export const PICK_AMONG = 100;

/** The number of subnets in [min, max]. */
export function subnetCount(range: FamilyRange): bigint {
  return (range.max - range.min) / sizeOf(range.family, range.subnetLen) + 1n;
}

/** The subnet at `index` (0 = SubnetMin) as canonical CIDR text. */
export function subnetAt(range: FamilyRange, index: bigint): string {
  return formatCidr({ family: range.family, value: range.min + index * sizeOf(range.family, range.subnetLen), prefix: range.subnetLen });
}

/** True when `subnet` (CIDR text) is one of the range's subnets: right length, aligned, in [min, max]. */
export function fitsRange(range: FamilyRange, subnet: string | undefined): boolean {
  if (subnet === undefined) return false;
  const parsed = parseCidr(subnet, range.family);
  if (!parsed.ok || parsed.cidr.prefix !== range.subnetLen) return false;
  const value = parsed.cidr.value;
  return value >= range.min && value <= range.max && (value - range.min) % sizeOf(range.family, range.subnetLen) === 0n;
}

/** Canonical text of a subnet that fits the range (so "fd00:0::/64" and "fd00::/64" compare equal). */
export function canonicalSubnet(range: FamilyRange, subnet: string): string {
  const parsed = parseCidr(subnet, range.family);
  return parsed.ok ? formatCidr(parsed.cidr) : subnet;
}

function randomBelow(n: bigint): bigint {
  if (n <= 1n) return 0n;
  const bytes = Math.ceil(n.toString(16).length / 2) + 8; // 64 extra bits: negligible modulo bias
  return BigInt(`0x${randomBytes(bytes).toString('hex')}`) % n;
}

export interface PickOptions {
  /** The node's previous subnet (canonical or not); taken when free and fitting. */
  readonly previous?: string | undefined;
  readonly limit?: number;
  /** For tests: a deterministic source in [0, n). */
  readonly random?: (n: bigint) => bigint;
}

/**
 * One subnet of `range` not in `taken` (canonical CIDR texts). Throws ClusterError('exhausted')
 * naming the network and subnet length when every subnet is taken.
 */
export function pickSubnet(range: FamilyRange, taken: ReadonlySet<string>, options: PickOptions = {}): string {
  if (options.previous !== undefined && fitsRange(range, options.previous)) {
    const previous = canonicalSubnet(range, options.previous);
    if (!taken.has(previous)) return previous;
  }
  const count = subnetCount(range);
  const random = options.random ?? randomBelow;
  const limit = BigInt(options.limit ?? PICK_AMONG);
  const start = random(count);
  // Every taken subnet can be met at most once, so taken + limit steps find `limit` free ones
  // (or all there are).
  const steps = count < BigInt(taken.size) + limit ? count : BigInt(taken.size) + limit;
  const free: string[] = [];
  for (let i = 0n; i < steps && BigInt(free.length) < limit; i++) {
    const subnet = subnetAt(range, (start + i) % count);
    if (!taken.has(subnet)) free.push(subnet);
  }
  const chosen = free[Number(random(BigInt(free.length)))];
  if (free.length === 0 || chosen === undefined) {
    throw new ClusterError('exhausted', `out of subnets: ${describeRange(range)} has ${count} subnet${count === 1n ? '' : 's'}, all leased`);
  }
  return chosen;
}
