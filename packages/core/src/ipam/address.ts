// IP addresses as (family, BigInt): parsing, canonical text and sortable store keys.
// Written here rather than taken from ip-cidr because the ADD path parses and prints a handful of
// addresses per call and ip-cidr (with ip-address, jsbn, sprintf-js) costs ~20 ms to import under
// Node; the tests check this module against ip-cidr on random addresses.

export type Family = 4 | 6;

export interface Ip {
  readonly family: Family;
  readonly value: bigint;
}

export interface Cidr {
  readonly family: Family;
  /** The address as written (host bits possibly set). */
  readonly value: bigint;
  readonly prefix: number;
}

export function familyBits(family: Family): number {
  return family === 4 ? 32 : 128;
}

const V4_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const V6_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    // Leading zeros are refused: "010" is octal to some parsers and decimal to others.
    if (!V4_OCTET.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return BigInt(value);
}

function parseGroups(text: string): bigint[] | undefined {
  if (text === '') return [];
  const groups: bigint[] = [];
  for (const group of text.split(':')) {
    if (!V6_GROUP.test(group)) return undefined;
    groups.push(BigInt(parseInt(group, 16)));
  }
  return groups;
}

function parseV6(text: string): bigint | undefined {
  let body = text;
  let tail: bigint[] = [];
  // A trailing dotted quad stands for the last two groups (e.g. ::ffff:192.0.2.1).
  const lastColon = body.lastIndexOf(':');
  if (lastColon >= 0 && body.includes('.', lastColon)) {
    const v4 = parseV4(body.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [v4 >> 16n, v4 & 0xffffn];
    body = body.slice(0, lastColon + 1);
    // "::1.2.3.4" leaves "::", "a::1.2.3.4" leaves "a::", "a:b:...:1.2.3.4" leaves "...:"
    if (body.endsWith(':') && !body.endsWith('::')) body = body.slice(0, -1);
  }
  const halves = body.split('::');
  let groups: bigint[];
  if (halves.length === 1) {
    const all = parseGroups(body);
    if (all === undefined) return undefined;
    groups = [...all, ...tail];
    if (groups.length !== 8) return undefined;
  } else if (halves.length === 2) {
    const head = parseGroups(halves[0] ?? '');
    const rest = parseGroups(halves[1] ?? '');
    if (head === undefined || rest === undefined) return undefined;
    const known = head.length + rest.length + tail.length;
    // "::" stands for at least one zero group.
    if (known > 7) return undefined;
    groups = [...head, ...Array<bigint>(8 - known).fill(0n), ...rest, ...tail];
  } else {
    return undefined;
  }
  let value = 0n;
  for (const group of groups) value = (value << 16n) | group;
  return value;
}

/** Parses a bare IPv4 or IPv6 address; undefined when `text` is not one (zones are refused). */
export function parseIp(text: string): Ip | undefined {
  if (text.includes(':')) {
    const value = parseV6(text);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseV4(text);
  return value === undefined ? undefined : { family: 4, value };
}

/** Parses `address/prefix`; undefined when malformed or the prefix is out of range. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (ip === undefined || !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > familyBits(ip.family)) return undefined;
  return { family: ip.family, value: ip.value, prefix };
}

/** Canonical text: dotted quad, or RFC 5952 (lowercase, longest zero run of 2+ groups as "::"). */
export function formatIp(family: Family, value: bigint): string {
  if (family === 4) {
    const n = Number(value);
    return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** The first address of the prefix (host bits cleared). */
export function networkOf(family: Family, value: bigint, prefix: number): bigint {
  const hostBits = BigInt(familyBits(family) - prefix);
  return (value >> hostBits) << hostBits;
}

/** The last address of the prefix (host bits set). */
export function lastOf(family: Family, value: bigint, prefix: number): bigint {
  const hostBits = BigInt(familyBits(family) - prefix);
  return networkOf(family, value, prefix) | ((1n << hostBits) - 1n);
}

/**
 * A store key part that sorts like the address: "4" + 8 hex digits or "6" + 32 hex digits.
 * LevelDB orders keys bytewise, so a range of addresses is a range of keys.
 */
export function addressKey(family: Family, value: bigint): string {
  return family === 4 ? `4${value.toString(16).padStart(8, '0')}` : `6${value.toString(16).padStart(32, '0')}`;
}

/** Inverse of `addressKey`; undefined for anything else. */
export function parseAddressKey(key: string): Ip | undefined {
  const family = key[0] === '4' ? 4 : key[0] === '6' ? 6 : undefined;
  if (family === undefined || key.length !== (family === 4 ? 9 : 33)) return undefined;
  const hex = key.slice(1);
  if (!/^[0-9a-f]+$/.test(hex)) return undefined;
  return { family, value: BigInt(`0x${hex}`) };
}
