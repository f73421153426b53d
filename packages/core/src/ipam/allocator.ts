// Choosing a free address in a range set, round-robin from the last one handed out.
// Pure: the store is behind `Occupancy` (held addresses in ascending order), so the search is tested
// without disk. It never enumerates a range: it walks only the held addresses that sit in its way,
// and jumps over excluded intervals (gateways, reserved addresses) by binary search.
import type { Family } from './address.js';
import type { RangeSet } from './range.js';

/** Inclusive interval of addresses of one family. */
export interface Interval {
  readonly family: Family;
  readonly first: bigint;
  readonly last: bigint;
}

/** Addresses never handed out: gateways and the config's `reserved` entries. */
export class Exclusions {
  readonly #byFamily = new Map<Family, Interval[]>();

  constructor(intervals: Iterable<Interval>) {
    const sorted = [...intervals].sort((a, b) => a.family - b.family || (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    for (const interval of sorted) {
      const list = this.#byFamily.get(interval.family) ?? [];
      const previous = list[list.length - 1];
      // Merge overlapping and adjacent intervals so one jump always lands on an allowed address.
      if (previous !== undefined && interval.first <= previous.last + 1n) {
        if (interval.last > previous.last) list[list.length - 1] = { ...previous, last: interval.last };
      } else {
        list.push(interval);
      }
      this.#byFamily.set(interval.family, list);
    }
  }

  #find(family: Family, value: bigint): Interval | undefined {
    const list = this.#byFamily.get(family);
    if (list === undefined) return undefined;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const interval = list[mid];
      if (interval === undefined) return undefined;
      if (value < interval.first) hi = mid - 1;
      else if (value > interval.last) lo = mid + 1;
      else return interval;
    }
    return undefined;
  }

  has(family: Family, value: bigint): boolean {
    return this.#find(family, value) !== undefined;
  }

  /** The smallest address >= `value` that is not excluded. */
  skip(family: Family, value: bigint): bigint {
    const interval = this.#find(family, value);
    return interval === undefined ? value : interval.last + 1n;
  }
}

export interface Occupancy {
  /**
   * The held addresses of `family` within [from, to], ascending, in batches (one await per batch,
   * not per address). The consumer may stop early; implementations should read lazily, in small
   * batches first, growing.
   */
  held(family: Family, from: bigint, to: bigint): AsyncIterable<readonly bigint[]>;
}

/** First address in [from, to] that is neither excluded nor held; undefined if none. */
export async function firstFree(family: Family, from: bigint, to: bigint, exclusions: Exclusions, occupancy: Occupancy): Promise<bigint | undefined> {
  let candidate = exclusions.skip(family, from);
  if (candidate > to) return undefined;
  for await (const batch of occupancy.held(family, candidate, to)) {
    for (const held of batch) {
      if (held < candidate) continue; // inside an interval we already jumped over
      if (held > candidate) return candidate;
      candidate = exclusions.skip(family, candidate + 1n);
      if (candidate > to) return undefined;
    }
  }
  return candidate;
}

/** The search order of round-robin: one segment per range, starting right after `last`. */
export function roundRobinSegments(set: RangeSet, last: bigint | undefined): Array<{ from: bigint; to: bigint }> {
  const ranges = set.ranges;
  const at = last === undefined ? -1 : ranges.findIndex((r) => last >= r.start && last <= r.end);
  if (at < 0 || last === undefined) return ranges.map((r) => ({ from: r.start, to: r.end }));
  const current = ranges[at];
  if (current === undefined) return [];
  const segments: Array<{ from: bigint; to: bigint }> = [];
  if (last < current.end) segments.push({ from: last + 1n, to: current.end });
  for (let i = 1; i < ranges.length; i++) {
    const range = ranges[(at + i) % ranges.length];
    if (range !== undefined) segments.push({ from: range.start, to: range.end });
  }
  // Finally wrap to the start of the range we began in, up to and including `last` itself.
  segments.push({ from: current.start, to: last });
  return segments;
}

/**
 * Round-robin pick: the first free address after `last` (the set's last handed-out address),
 * across the set's ranges in order, wrapping around. A `last` outside the set starts at the first
 * range's start. Undefined when the set is exhausted.
 */
export async function pickAddress(set: RangeSet, last: bigint | undefined, exclusions: Exclusions, occupancy: Occupancy): Promise<bigint | undefined> {
  for (const segment of roundRobinSegments(set, last)) {
    const found = await firstFree(set.family, segment.from, segment.to, exclusions, occupancy);
    if (found !== undefined) return found;
  }
  return undefined;
}
