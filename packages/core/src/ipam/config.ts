// The `ipam` section (type "podnet-ipam"), host-local compatible, plus what the runtime adds per
// call (`runtimeConfig.ipRanges`, `runtimeConfig.ips`, `args.cni.ips`, CNI_ARGS `IP`).
// Every problem is an IpamError naming the field; unknown keys are code 2, the rest code 7.
import { isAbsolute, join } from 'node:path';
import { formatIp, parseCidr, parseIp, lastOf, networkOf } from './address.js';
import { Exclusions } from './allocator.js';
import type { Interval } from './allocator.js';
import { invalidConfig, show } from './errors.js';
import { assertDisjoint, isRecord, makeRangeSet, parseRange, parseRangeSet, rejectUnknownKeys } from './range.js';
import type { Range, RangeSet } from './range.js';
import { parseRequested } from './request.js';
import type { RequestedAddress } from './request.js';

export const DEFAULT_DATA_DIR = '/var/lib/cni/podnet';
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

/** What the IPAM reads from a plugin config; a `NetConf` fits as is. */
export interface IpamConfigInput {
  /** The network name: the store lives in `<dataDir>/<name>`. */
  readonly name: unknown;
  readonly ipam?: unknown;
  readonly runtimeConfig?: unknown;
  readonly args?: unknown;
}

/** A route as the `routes` key gives it; returned in results unchanged. */
export interface IpamRoute {
  readonly dst: string;
  readonly gw?: string;
  readonly mtu?: number;
  readonly advmss?: number;
  readonly priority?: number;
  readonly table?: number;
  readonly scope?: number;
}

/** Where the store lives and how long to wait for it: all that DEL, CHECK, GC and list need. */
export interface StoreLocation {
  readonly name: string;
  readonly dataDir: string;
  /** `<dataDir>/<name>`. */
  readonly path: string;
  /** Total wait for the store's lock before failing with code 11. */
  readonly lockTimeoutMs: number;
}

export interface IpamConfig extends StoreLocation {
  /** One address per set, in this order: legacy top-level range, runtimeConfig.ipRanges, ranges. */
  readonly rangeSets: readonly RangeSet[];
  /** Gateways and `reserved` entries: never allocated. */
  readonly exclusions: Exclusions;
  readonly routes: readonly IpamRoute[];
  /** A resolv.conf whose settings become the result's `dns`. */
  readonly resolvConf?: string;
  /** Addresses asked for by this call, each matched to its set. */
  readonly requested: readonly RequestedAddress[];
}

const IPAM_KEYS = new Set(['type', 'subnet', 'rangeStart', 'rangeEnd', 'gateway', 'ranges', 'routes', 'dataDir', 'resolvConf', 'reserved', 'lockTimeoutMs']);
const ROUTE_KEYS = new Set(['dst', 'gw', 'mtu', 'advmss', 'priority', 'table', 'scope']);
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function ipamSection(conf: IpamConfigInput): Record<string, unknown> {
  if (!isRecord(conf.ipam)) throw invalidConfig('missing ipam section', 'expected an object such as {"type": "podnet-ipam", "ranges": [...]}');
  return conf.ipam;
}

/** Reads only the store's location (name, dataDir, lockTimeoutMs), so DEL and GC work even when the ranges no longer parse. */
export function parseStoreLocation(conf: IpamConfigInput): StoreLocation {
  const name = conf.name;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw invalidConfig(`invalid name ${show(name)}`, 'expected a network name matching ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$');
  }
  const ipam = ipamSection(conf);
  const dataDir = ipam['dataDir'] ?? DEFAULT_DATA_DIR;
  if (typeof dataDir !== 'string' || !isAbsolute(dataDir)) {
    throw invalidConfig(`invalid ipam.dataDir ${show(dataDir)}`, 'expected an absolute directory path');
  }
  const lockTimeoutMs = ipam['lockTimeoutMs'] ?? DEFAULT_LOCK_TIMEOUT_MS;
  if (typeof lockTimeoutMs !== 'number' || !Number.isInteger(lockTimeoutMs) || lockTimeoutMs < 0 || lockTimeoutMs > 600_000) {
    throw invalidConfig(`invalid ipam.lockTimeoutMs ${show(lockTimeoutMs)}`, 'expected an integer number of milliseconds from 0 to 600000');
  }
  return { name, dataDir, path: join(dataDir, name), lockTimeoutMs };
}

function parseRoutes(raw: unknown): IpamRoute[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw invalidConfig('invalid ipam.routes: expected a list of routes', `got ${show(raw)}`);
  return raw.map((route: unknown, i) => {
    const path = `ipam.routes[${i}]`;
    if (!isRecord(route)) throw invalidConfig(`invalid ${path}: expected an object with "dst"`, `got ${show(route)}`);
    rejectUnknownKeys(route, ROUTE_KEYS, path);
    const dst = route['dst'];
    const cidr = typeof dst === 'string' ? parseCidr(dst) : undefined;
    if (cidr === undefined) throw invalidConfig(`invalid ${path}.dst ${show(dst)}`, 'expected a CIDR such as "0.0.0.0/0"');
    if (networkOf(cidr.family, cidr.value, cidr.prefix) !== cidr.value) {
      throw invalidConfig(
        `invalid ${path}.dst ${String(dst)}: host bits set`,
        `expected ${formatIp(cidr.family, networkOf(cidr.family, cidr.value, cidr.prefix))}/${cidr.prefix}`,
      );
    }
    const gw = route['gw'];
    if (gw !== undefined) {
      const ip = typeof gw === 'string' ? parseIp(gw) : undefined;
      if (ip === undefined || ip.family !== cidr.family) {
        throw invalidConfig(`invalid ${path}.gw ${show(gw)}`, `expected an IPv${cidr.family} address (the family of dst)`);
      }
    }
    for (const key of ['mtu', 'advmss', 'priority', 'table', 'scope']) {
      const value = route[key];
      if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 0)) {
        throw invalidConfig(`invalid ${path}.${key} ${show(value)}`, 'expected a non-negative integer');
      }
    }
    return route as unknown as IpamRoute;
  });
}

function parseReserved(raw: unknown): Interval[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw invalidConfig('invalid ipam.reserved: expected a list of addresses or CIDRs', `got ${show(raw)}`);
  return raw.map((entry: unknown, i) => {
    const path = `ipam.reserved[${i}]`;
    const expected = 'expected an address ("10.22.0.9") or a CIDR without host bits ("10.22.0.16/28")';
    if (typeof entry !== 'string') throw invalidConfig(`invalid ${path} ${show(entry)}`, expected);
    const text = entry.trim();
    if (text.includes('/')) {
      const cidr = parseCidr(text);
      if (cidr === undefined) throw invalidConfig(`invalid ${path} ${show(entry)}`, expected);
      const first = networkOf(cidr.family, cidr.value, cidr.prefix);
      if (first !== cidr.value) throw invalidConfig(`invalid ${path} ${entry}: host bits set`, expected);
      return { family: cidr.family, first, last: lastOf(cidr.family, first, cidr.prefix) };
    }
    const ip = parseIp(text);
    if (ip === undefined) throw invalidConfig(`invalid ${path} ${show(entry)}`, expected);
    return { family: ip.family, first: ip.value, last: ip.value };
  });
}

function hasLegacyRange(ipam: Record<string, unknown>): boolean {
  return ['subnet', 'rangeStart', 'rangeEnd', 'gateway'].some((k) => ipam[k] !== undefined);
}

function parseRangeSetList(raw: unknown, path: string): RangeSet[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw invalidConfig(`invalid ${path}: expected a list of range sets (a list of lists of ranges)`, `got ${show(raw)}`);
  return raw.map((set: unknown, i) => parseRangeSet(set, `${path}[${i}]`));
}

/**
 * Parses and validates the IPAM part of a plugin config for ADD (or anything needing the ranges).
 * `cniArgs` is CNI_ARGS as key → value; only `IP` is read.
 */
export function parseIpamConfig(conf: IpamConfigInput, cniArgs: Readonly<Record<string, string | undefined>> = {}): IpamConfig {
  const location = parseStoreLocation(conf);
  const ipam = ipamSection(conf);
  rejectUnknownKeys(ipam, IPAM_KEYS, 'ipam');
  if (ipam['type'] !== undefined && typeof ipam['type'] !== 'string') {
    throw invalidConfig(`invalid ipam.type ${show(ipam['type'])}`, 'expected a string such as "podnet-ipam"');
  }
  const runtimeConfig = isRecord(conf.runtimeConfig) ? conf.runtimeConfig : {};

  const sets: RangeSet[] = [];
  if (hasLegacyRange(ipam)) {
    // The legacy top-level keys form one range at path "ipam" (fields ipam.subnet, ...).
    const legacy: Record<string, unknown> = {};
    for (const key of ['subnet', 'rangeStart', 'rangeEnd', 'gateway']) if (ipam[key] !== undefined) legacy[key] = ipam[key];
    sets.push(makeRangeSet([parseRange(legacy, 'ipam')], 'ipam'));
  }
  sets.push(...parseRangeSetList(runtimeConfig['ipRanges'], 'runtimeConfig.ipRanges'));
  sets.push(...parseRangeSetList(ipam['ranges'], 'ipam.ranges'));
  if (sets.length === 0) {
    throw invalidConfig('missing ipam.ranges', 'expected at least one range set, e.g. "ranges": [[{"subnet": "10.22.0.0/16"}]] (or the legacy ipam.subnet)');
  }
  const allRanges: Range[] = sets.flatMap((s) => s.ranges);
  assertDisjoint(allRanges);

  const gateways: Interval[] = allRanges.map((r) => ({ family: r.family, first: r.gateway, last: r.gateway }));
  const reserved = parseReserved(ipam['reserved']);
  const exclusions = new Exclusions([...gateways, ...reserved]);

  const resolvConf = ipam['resolvConf'];
  if (resolvConf !== undefined && (typeof resolvConf !== 'string' || resolvConf === '')) {
    throw invalidConfig(`invalid ipam.resolvConf ${show(resolvConf)}`, 'expected a file path such as "/etc/resolv.conf"');
  }
  const requested = parseRequested(conf, cniArgs, sets, exclusions);
  return {
    ...location,
    rangeSets: sets,
    exclusions,
    routes: parseRoutes(ipam['routes']),
    ...(resolvConf !== undefined ? { resolvConf } : {}),
    requested,
  };
}

/**
 * True when `address` ("10.22.0.5" or "10.22.0.5/16") lies in the subnet of one of the config's
 * ranges: it is this IPAM's to manage (e.g. to pick our addresses out of a chain's prevResult).
 */
export function managesAddress(config: Pick<IpamConfig, 'rangeSets'>, address: string): boolean {
  const ip = parseIp((address.split('/')[0] ?? '').trim());
  if (ip === undefined) return false;
  return config.rangeSets.some((set) => set.ranges.some((r) => r.family === ip.family && networkOf(ip.family, ip.value, r.prefix) === r.network));
}
