// One range ({subnet, rangeStart, rangeEnd, gateway}) and one range set (a list of disjoint,
// single-family ranges that yields one address). Parsing fills host-local's defaults and checks
// every field, naming it by its path in the config (e.g. `ipam.ranges[1][0].rangeStart`).
import { familyBits, formatIp, lastOf, networkOf, parseCidr, parseIp } from './address.js';
import type { Family } from './address.js';
import { IpamError, IpamErrorCode, invalidConfig, show } from './errors.js';

export interface Range {
  readonly family: Family;
  /** Network address of the subnet. */
  readonly network: bigint;
  readonly prefix: number;
  /** First and last allocatable address (inclusive). */
  readonly start: bigint;
  readonly end: bigint;
  readonly gateway: bigint;
  /** Where this range came from, e.g. `ipam.ranges[0][1]`, for messages. */
  readonly path: string;
}

export interface RangeSet {
  readonly family: Family;
  readonly ranges: readonly Range[];
  /** Where this set came from, e.g. `ipam.ranges[0]`. */
  readonly path: string;
  /**
   * Identity of the set in the store (its ranges, canonical). Round-robin state is kept per set
   * under this key, so it follows the set when the config reorders sets.
   */
  readonly key: string;
}

const RANGE_KEYS = new Set(['subnet', 'rangeStart', 'rangeEnd', 'gateway']);

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function rejectUnknownKeys(object: Record<string, unknown>, known: ReadonlySet<string>, path: string): void {
  for (const key of Object.keys(object)) {
    if (!known.has(key)) {
      throw new IpamError(IpamErrorCode.UnsupportedField, `unsupported field ${path}.${key}`, `known fields: ${[...known].join(', ')}`);
    }
  }
}

export function formatCidr(family: Family, value: bigint, prefix: number): string {
  return `${formatIp(family, value)}/${prefix}`;
}

export function describeRange(range: Range): string {
  return `${formatIp(range.family, range.start)}-${formatIp(range.family, range.end)}`;
}

/** Last address that may be handed out in the subnet: IPv4 skips broadcast, IPv6 has none. */
function lastUsable(family: Family, network: bigint, prefix: number): bigint {
  const last = lastOf(family, network, prefix);
  return family === 4 ? last - 1n : last;
}

function parseAddressField(raw: Record<string, unknown>, key: string, path: string, family: Family, network: bigint, prefix: number): bigint | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  const field = `${path}.${key}`;
  if (typeof value !== 'string') throw invalidConfig(`invalid ${field}: expected a string`, `got ${show(value)}`);
  const ip = parseIp(value.trim());
  const subnetText = formatCidr(family, network, prefix);
  const first = network + 1n;
  const last = lastUsable(family, network, prefix);
  const expected = `expected an IPv${family} address from ${formatIp(family, first)} to ${formatIp(family, last)} (inside ${subnetText})`;
  if (ip === undefined) throw invalidConfig(`invalid ${field} ${show(value)}: not an IP address`, expected);
  if (ip.family !== family) throw invalidConfig(`invalid ${field} ${value}: not an IPv${family} address`, expected);
  if (ip.value === network) throw invalidConfig(`invalid ${field} ${value}: the network address of ${subnetText}`, expected);
  if (family === 4 && ip.value === last + 1n) {
    throw invalidConfig(`invalid ${field} ${value}: the broadcast address of ${subnetText}`, expected);
  }
  if (ip.value < first || ip.value > last) throw invalidConfig(`invalid ${field} ${value}: outside ${subnetText}`, expected);
  return ip.value;
}

/** Parses one range object found at `path` (e.g. `ipam.ranges[0][1]`), filling the defaults. */
export function parseRange(raw: unknown, path: string, known: ReadonlySet<string> = RANGE_KEYS): Range {
  if (!isRecord(raw)) throw invalidConfig(`invalid ${path}: expected an object with a "subnet"`, `got ${show(raw)}`);
  rejectUnknownKeys(raw, known, path);
  const subnetRaw = raw['subnet'];
  if (typeof subnetRaw !== 'string') {
    throw invalidConfig(`${subnetRaw === undefined ? 'missing' : 'invalid'} ${path}.subnet`, 'expected a CIDR string such as "10.22.0.0/16" or "fd00:22::/64"');
  }
  const cidr = parseCidr(subnetRaw.trim());
  if (cidr === undefined) {
    throw invalidConfig(`invalid ${path}.subnet ${show(subnetRaw)}: not a CIDR`, 'expected e.g. "10.22.0.0/16" or "fd00:22::/64"');
  }
  const { family, prefix } = cidr;
  const network = networkOf(family, cidr.value, prefix);
  if (network !== cidr.value) {
    throw invalidConfig(`invalid ${path}.subnet ${subnetRaw}: host bits set`, `expected the network address ${formatCidr(family, network, prefix)}`);
  }
  if (prefix > familyBits(family) - 2) {
    throw invalidConfig(
      `invalid ${path}.subnet ${subnetRaw}: too small`,
      `expected a prefix of at most /${familyBits(family) - 2}: a /${familyBits(family) - 1} or /${familyBits(family)} leaves no address besides the gateway`,
    );
  }
  const gateway = parseAddressField(raw, 'gateway', path, family, network, prefix) ?? network + 1n;
  const start = parseAddressField(raw, 'rangeStart', path, family, network, prefix) ?? network + 1n;
  const end = parseAddressField(raw, 'rangeEnd', path, family, network, prefix) ?? lastUsable(family, network, prefix);
  if (start > end) {
    throw invalidConfig(`invalid ${path}: rangeStart ${formatIp(family, start)} is after rangeEnd ${formatIp(family, end)}`, 'expected rangeStart <= rangeEnd');
  }
  return { family, network, prefix, start, end, gateway, path };
}

/** Parses a range set (non-empty list of ranges of one family) found at `path`. */
export function parseRangeSet(raw: unknown, path: string): RangeSet {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw invalidConfig(`invalid ${path}: expected a non-empty list of ranges`, `got ${show(raw)}`);
  }
  const ranges = raw.map((item, i) => parseRange(item, `${path}[${i}]`));
  return makeRangeSet(ranges, path);
}

/** Builds a set from parsed ranges: one family, no overlaps. */
export function makeRangeSet(ranges: readonly Range[], path: string): RangeSet {
  const first = ranges[0];
  if (first === undefined) throw invalidConfig(`invalid ${path}: expected at least one range`);
  for (const range of ranges) {
    if (range.family !== first.family) {
      throw invalidConfig(
        `invalid ${path}: mixes IPv${first.family} (${first.path}) and IPv${range.family} (${range.path})`,
        'expected one family per range set; put IPv4 and IPv6 in separate sets for dual-stack',
      );
    }
  }
  assertDisjoint(ranges);
  const key = ranges.map((r) => `${formatCidr(r.family, r.network, r.prefix)}:${describeRange(r)}`).join(',');
  return { family: first.family, ranges, path, key };
}

/** Throws naming both ranges when two of `ranges` share an address. */
export function assertDisjoint(ranges: readonly Range[]): void {
  const sorted = [...ranges].sort((a, b) => a.family - b.family || (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1];
    const b = sorted[i];
    if (a === undefined || b === undefined || a.family !== b.family) continue;
    if (b.start <= a.end) {
      throw invalidConfig(
        `invalid ${b.path}: ${describeRange(b)} overlaps ${a.path} (${describeRange(a)})`,
        'expected ranges that share no address, within and across range sets',
      );
    }
  }
}

/** The range of the set whose subnet contains `value` (for the prefix and gateway of a result). */
export function rangeOf(set: RangeSet, family: Family, value: bigint): Range | undefined {
  if (family !== set.family) return undefined;
  return set.ranges.find((r) => value >= r.start && value <= r.end);
}
