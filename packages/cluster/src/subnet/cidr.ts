// CIDR arithmetic on (family, BigInt) for subnet planning. Parsing and printing go through
// ip-address (a dependency-free, well-kept library); podnetd is long-lived, so its import cost
// does not matter here (core's IPAM hand-writes this for the CNI per-call path; this does not).
import { Address4, Address6 } from 'ip-address';

export type Family = 4 | 6;

export interface Cidr {
  readonly family: Family;
  /** The network address (host bits zero). */
  readonly value: bigint;
  readonly prefix: number;
}

export function familyBits(family: Family): number {
  return family === 4 ? 32 : 128;
}

/** A plain address (no prefix), or undefined when `text` is none of this family. */
export function parseAddress(text: string, family: Family): bigint | undefined {
  if (typeof text !== 'string' || text.includes('/')) return undefined;
  if (family === 4) {
    // ip-address accepts some odd forms (e.g. fewer octets); insist on a dotted quad.
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(text) || !Address4.isValid(text)) return undefined;
    return new Address4(text).bigInt();
  }
  if (!text.includes(':') || !Address6.isValid(text)) return undefined;
  return new Address6(text).bigInt();
}

export function formatAddress(family: Family, value: bigint): string {
  return family === 4 ? Address4.fromBigInt(value).correctForm() : Address6.fromBigInt(value).correctForm();
}

export function formatCidr(cidr: Cidr): string {
  return `${formatAddress(cidr.family, cidr.value)}/${cidr.prefix}`;
}

export type CidrParse = { ok: true; cidr: Cidr } | { ok: false; reason: string };

/** Parses "a.b.c.d/n" or "x::/n" of `family`; host bits must be zero. */
export function parseCidr(text: unknown, family: Family): CidrParse {
  if (typeof text !== 'string') return { ok: false, reason: 'expected a CIDR string' };
  const slash = text.indexOf('/');
  if (slash < 0) return { ok: false, reason: `${JSON.stringify(text)} has no prefix length` };
  const value = parseAddress(text.slice(0, slash), family);
  const prefixText = text.slice(slash + 1);
  if (value === undefined) return { ok: false, reason: `${JSON.stringify(text)} is not an IPv${family} CIDR` };
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > familyBits(family)) {
    return { ok: false, reason: `${JSON.stringify(text)} has an invalid prefix length` };
  }
  const prefix = Number(prefixText);
  const network = value & maskOf(family, prefix);
  if (network !== value) {
    return { ok: false, reason: `${JSON.stringify(text)} has host bits set (did you mean ${formatCidr({ family, value: network, prefix })}?)` };
  }
  return { ok: true, cidr: { family, value, prefix } };
}

/** The netmask of `prefix` as a number. */
export function maskOf(family: Family, prefix: number): bigint {
  const bits = BigInt(familyBits(family));
  const all = (1n << bits) - 1n;
  return all ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/** The number of addresses a /prefix covers. */
export function sizeOf(family: Family, prefix: number): bigint {
  return 1n << BigInt(familyBits(family) - prefix);
}
