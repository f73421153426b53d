// The cluster's network config, with flannel's JSON keys, meaning, defaults and validation
// (flannel pkg/subnet/config.go), so an operator's net-conf.json reads the same here.
//
// One decision where flannel is inconsistent: a missing Backend means `host-gw` here. flannel's
// code falls back to `udp` (a backend podnet does not have) while its docs say `vxlan`; host-gw is
// the backend podnet ships first and the one needing no options.
import { ClusterError } from '../lease/types.js';
import { formatAddress, formatCidr, parseAddress, parseCidr, sizeOf } from '../subnet/cidr.js';
import type { Cidr, Family } from '../subnet/cidr.js';

export interface NetworkConfig {
  /** IPv4 cluster network, e.g. "10.244.0.0/16" (required when EnableIPv4). */
  Network?: string;
  SubnetLen: number;
  /** First IPv4 subnet handed out (plain network address of a /SubnetLen). */
  SubnetMin: string;
  /** Last IPv4 subnet handed out. */
  SubnetMax: string;
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPv6Network?: string;
  IPv6SubnetLen: number;
  IPv6SubnetMin: string;
  IPv6SubnetMax: string;
  Backend: { Type: string; [option: string]: unknown };
}

export const DEFAULT_BACKEND = 'host-gw';

const KEYS = new Set([
  'Network',
  'SubnetLen',
  'SubnetMin',
  'SubnetMax',
  'EnableIPv4',
  'EnableIPv6',
  'IPv6Network',
  'IPv6SubnetLen',
  'IPv6SubnetMin',
  'IPv6SubnetMax',
  'Backend',
]);

function invalid(message: string): ClusterError {
  return new ClusterError('config-invalid', `network config: ${message}`);
}

/** The keys of one family (IPv4 uses flannel's unprefixed names). */
interface FamilyKeys {
  network: 'Network' | 'IPv6Network';
  len: 'SubnetLen' | 'IPv6SubnetLen';
  min: 'SubnetMin' | 'IPv6SubnetMin';
  max: 'SubnetMax' | 'IPv6SubnetMax';
  /** Longest subnet prefix allowed: flannel's "/30 at most" (and /126 for IPv6). */
  longest: number;
  /** Subnet length when the network is at least this big: /24 (IPv4) or /64 (IPv6). */
  usual: number;
}

const FAMILY_KEYS: Record<Family, FamilyKeys> = {
  4: { network: 'Network', len: 'SubnetLen', min: 'SubnetMin', max: 'SubnetMax', longest: 30, usual: 24 },
  6: { network: 'IPv6Network', len: 'IPv6SubnetLen', min: 'IPv6SubnetMin', max: 'IPv6SubnetMax', longest: 126, usual: 64 },
};

/** One family's planned range: subnets of `/subnetLen` from `min` to `max` inside `network`. */
export interface FamilyRange {
  readonly family: Family;
  readonly network: Cidr;
  readonly subnetLen: number;
  readonly min: bigint;
  readonly max: bigint;
}

interface ParsedFamily {
  network: string;
  len: number;
  min: string;
  max: string;
}

function parseFamily(o: Record<string, unknown>, family: Family): ParsedFamily {
  const k = FAMILY_KEYS[family];
  const rawNetwork = o[k.network];
  if (rawNetwork === undefined) throw invalid(`"${k.network}" is required when ${family === 4 ? 'EnableIPv4' : 'EnableIPv6'} is true`);
  const parsed = parseCidr(rawNetwork, family);
  if (!parsed.ok) throw invalid(`"${k.network}": ${parsed.reason}`);
  const network = parsed.cidr;

  let len: number;
  const rawLen = o[k.len];
  if (rawLen === undefined || rawLen === 0) {
    // flannel: the usual size when the network has room for 4 of them, else a quarter of it.
    len = network.prefix <= k.usual - 2 ? k.usual : network.prefix + 2;
  } else {
    if (typeof rawLen !== 'number' || !Number.isInteger(rawLen)) throw invalid(`"${k.len}" must be an integer, got ${JSON.stringify(rawLen)}`);
    len = rawLen;
  }
  if (len > k.longest) throw invalid(`"${k.len}" ${len} is too long: at most /${k.longest}`);
  if (len < network.prefix + 2) {
    throw invalid(`"${k.len}" ${len}: ${k.network} ${formatCidr(network)} must hold at least four subnets (${k.len} ${network.prefix + 2} or more)`);
  }
  const size = sizeOf(family, len);
  const last = network.value + sizeOf(family, network.prefix) - size;
  const min = parseBound(o, family, k.min, network, size, len, network.value + size);
  const max = parseBound(o, family, k.max, network, size, len, last);
  if (min > max) throw invalid(`"${k.min}" ${formatAddress(family, min)} is after "${k.max}" ${formatAddress(family, max)}`);
  return { network: formatCidr(network), len, min: formatAddress(family, min), max: formatAddress(family, max) };
}

function parseBound(o: Record<string, unknown>, family: Family, key: string, network: Cidr, size: bigint, len: number, fallback: bigint): bigint {
  const raw = o[key];
  if (raw === undefined || raw === '') return fallback;
  if (typeof raw !== 'string') throw invalid(`"${key}" must be an address string, got ${JSON.stringify(raw)}`);
  const value = parseAddress(raw, family);
  if (value === undefined) throw invalid(`"${key}" ${JSON.stringify(raw)} is not an IPv${family} address`);
  const end = network.value + sizeOf(family, network.prefix);
  if (value < network.value || value >= end) throw invalid(`"${key}" ${raw} is outside ${FAMILY_KEYS[family].network} ${formatCidr(network)}`);
  if ((value - network.value) % size !== 0n) throw invalid(`"${key}" ${raw} is not the start of a /${len} subnet`);
  return value;
}

function parseBool(o: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const raw = o[key];
  if (raw === undefined) return fallback;
  if (typeof raw !== 'boolean') throw invalid(`"${key}" must be true or false, got ${JSON.stringify(raw)}`);
  return raw;
}

/**
 * Validates a network config (net-conf.json's object, or what a store holds) and fills in every
 * default. Throws ClusterError('config-invalid') naming the field.
 */
export function parseNetworkConfig(json: unknown): NetworkConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('expected a JSON object');
  const o = json as Record<string, unknown>;
  const unknown = Object.keys(o).filter((key) => !KEYS.has(key));
  if (unknown.length > 0)
    throw invalid(`unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => `"${key}"`).join(', ')} (known: ${[...KEYS].join(', ')})`);

  const enable4 = parseBool(o, 'EnableIPv4', true);
  const enable6 = parseBool(o, 'EnableIPv6', false);
  if (!enable4 && !enable6) throw invalid('"EnableIPv4" and "EnableIPv6" are both false: enable at least one family');

  const rawBackend = o['Backend'] ?? { Type: DEFAULT_BACKEND };
  if (typeof rawBackend !== 'object' || rawBackend === null || Array.isArray(rawBackend)) throw invalid('"Backend" must be an object like {"Type": "host-gw"}');
  const backend = { ...(rawBackend as Record<string, unknown>) };
  const type = backend['Type'] ?? DEFAULT_BACKEND;
  if (typeof type !== 'string' || type === '') throw invalid(`"Backend.Type" must be a non-empty string, got ${JSON.stringify(type)}`);

  const v4 = enable4 ? parseFamily(o, 4) : undefined;
  const v6 = enable6 ? parseFamily(o, 6) : undefined;
  // A disabled family's keys are still checked when given, so a typo does not hide.
  if (!enable4 && o['Network'] !== undefined) parseFamily(o, 4);
  if (!enable6 && o['IPv6Network'] !== undefined) parseFamily(o, 6);

  const config: NetworkConfig = {
    SubnetLen: v4?.len ?? numberOr(o['SubnetLen'], 0),
    SubnetMin: v4?.min ?? '',
    SubnetMax: v4?.max ?? '',
    EnableIPv4: enable4,
    EnableIPv6: enable6,
    IPv6SubnetLen: v6?.len ?? numberOr(o['IPv6SubnetLen'], 0),
    IPv6SubnetMin: v6?.min ?? '',
    IPv6SubnetMax: v6?.max ?? '',
    Backend: { ...backend, Type: type },
  };
  if (v4 !== undefined) config.Network = v4.network;
  else if (typeof o['Network'] === 'string') config.Network = o['Network'];
  if (v6 !== undefined) config.IPv6Network = v6.network;
  else if (typeof o['IPv6Network'] === 'string') config.IPv6Network = o['IPv6Network'];
  return config;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}

/** The enabled families' ranges of a parsed config, IPv4 first. */
export function familyRanges(config: NetworkConfig): FamilyRange[] {
  const ranges: FamilyRange[] = [];
  for (const family of [4, 6] as const) {
    if (family === 4 ? !config.EnableIPv4 : !config.EnableIPv6) continue;
    const k = FAMILY_KEYS[family];
    const parsed = parseCidr(config[k.network], family);
    const min = parseAddress(config[k.min], family);
    const max = parseAddress(config[k.max], family);
    if (!parsed.ok || min === undefined || max === undefined) throw invalid(`"${k.network}" is not set up: parse the config with parseNetworkConfig first`);
    ranges.push({ family, network: parsed.cidr, subnetLen: config[k.len], min, max });
  }
  return ranges;
}

/** "Network 10.0.0.0/16 with SubnetLen 24" — how errors name a family's range. */
export function describeRange(range: FamilyRange): string {
  const k = FAMILY_KEYS[range.family];
  return `${k.network} ${formatCidr(range.network)} with ${k.len} ${range.subnetLen} (${k.min} ${formatAddress(range.family, range.min)}, ${k.max} ${formatAddress(range.family, range.max)})`;
}
