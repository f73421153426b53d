// Addresses a call asks for: CNI_ARGS `IP=a,b`, `args.cni.ips` and `runtimeConfig.ips`.
// Each must fall inside exactly one range set (at most one per set) and be neither a gateway nor
// reserved; otherwise the whole request fails before anything is stored.
import { formatIp, parseCidr, parseIp } from './address.js';
import type { Family } from './address.js';
import type { Exclusions } from './allocator.js';
import { invalidConfig, show } from './errors.js';
import { isRecord, rangeOf } from './range.js';
import type { RangeSet } from './range.js';

export interface RequestedAddress {
  /** Index into the config's `rangeSets`. */
  readonly set: number;
  readonly family: Family;
  readonly value: bigint;
  /** Where it was asked for, e.g. `runtimeConfig.ips[0]`. */
  readonly source: string;
}

interface Raw {
  readonly text: string;
  readonly source: string;
}

function listAt(value: unknown, path: string): Raw[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidConfig(`invalid ${path}: expected a list of addresses`, `got ${show(value)}`);
  return value.map((item: unknown, i) => {
    if (typeof item !== 'string') throw invalidConfig(`invalid ${path}[${i}] ${show(item)}`, 'expected an address string such as "10.22.0.9"');
    return { text: item, source: `${path}[${i}]` };
  });
}

function collect(conf: { readonly runtimeConfig?: unknown; readonly args?: unknown }, cniArgs: Readonly<Record<string, string | undefined>>): Raw[] {
  const raws: Raw[] = [];
  const ipArg = cniArgs['IP'];
  if (ipArg !== undefined && ipArg.trim() !== '') {
    ipArg.split(',').forEach((text, i) => raws.push({ text, source: `CNI_ARGS IP[${i}]` }));
  }
  const args = isRecord(conf.args) ? conf.args : undefined;
  const cni = args !== undefined && isRecord(args['cni']) ? args['cni'] : undefined;
  if (cni !== undefined) raws.push(...listAt(cni['ips'], 'args.cni.ips'));
  const runtimeConfig = isRecord(conf.runtimeConfig) ? conf.runtimeConfig : undefined;
  if (runtimeConfig !== undefined) raws.push(...listAt(runtimeConfig['ips'], 'runtimeConfig.ips'));
  return raws;
}

export function parseRequested(
  conf: { readonly runtimeConfig?: unknown; readonly args?: unknown },
  cniArgs: Readonly<Record<string, string | undefined>>,
  sets: readonly RangeSet[],
  exclusions: Exclusions,
): RequestedAddress[] {
  const bySet = new Map<number, RequestedAddress>();
  for (const raw of collect(conf, cniArgs)) {
    const text = raw.text.trim();
    const expected = `expected an address inside one of the range sets: ${sets.map((s) => s.ranges.map((r) => `${formatIp(r.family, r.start)}-${formatIp(r.family, r.end)}`).join(' ')).join('; ')}`;
    // "10.22.0.9" or "10.22.0.9/16"; a prefix must match the range's subnet.
    const cidr = text.includes('/') ? parseCidr(text) : undefined;
    const ip = cidr ?? parseIp(text);
    if (ip === undefined) throw invalidConfig(`invalid requested address ${raw.source} ${show(raw.text)}`, expected);
    const setIndex = sets.findIndex((s) => rangeOf(s, ip.family, ip.value) !== undefined);
    const set = sets[setIndex];
    const range = set === undefined ? undefined : rangeOf(set, ip.family, ip.value);
    if (set === undefined || range === undefined) throw invalidConfig(`requested address ${raw.source} ${text} is outside every range`, expected);
    if (cidr !== undefined && cidr.prefix !== range.prefix) {
      throw invalidConfig(
        `requested address ${raw.source} ${text} has prefix /${cidr.prefix}`,
        `expected /${range.prefix}, the prefix of ${range.path}.subnet`,
      );
    }
    if (exclusions.has(ip.family, ip.value)) {
      const isGateway = sets.some((s) => s.ranges.some((r) => r.family === ip.family && r.gateway === ip.value));
      throw invalidConfig(
        `requested address ${raw.source} ${text} is ${isGateway ? 'a gateway' : 'reserved (ipam.reserved)'}`,
        'expected an address that may be handed out',
      );
    }
    const previous = bySet.get(setIndex);
    if (previous !== undefined && previous.value !== ip.value) {
      throw invalidConfig(
        `requested addresses ${previous.source} and ${raw.source} are both in ${set.path}`,
        'expected at most one requested address per range set (each set yields one address)',
      );
    }
    bySet.set(setIndex, { set: setIndex, family: ip.family, value: ip.value, source: raw.source });
  }
  return [...bySet.values()].sort((a, b) => a.set - b.set);
}
