// Prefix arithmetic on address bytes, for the on-link test and subnet checks of every peer on
// every reconcile: byte compares on core's codec, no objects per address, so 5,000 peers cost
// microseconds. Pure.
import { formatIp, parseIp, tryParseCidr } from '@podnet/core/netlink';
import type { IpFamily } from '@podnet/core/netlink';

export interface Prefix {
  family: IpFamily;
  /** The address as written (host bits kept: an interface address). */
  bytes: Uint8Array;
  length: number;
  /** The address's canonical text, host bits kept (`192.168.1.7`). */
  address: string;
  /** The network's canonical CIDR text (`192.168.1.0/24`). */
  text: string;
  /** Bits set past the length (`10.1.0.1/16`): the kernel refuses such a route destination. */
  hostBits: boolean;
}

/** `'10.1.0.0/16'` → Prefix, undefined for anything that is not a CIDR with an explicit length. */
export function parsePrefix(cidr: string): Prefix | undefined {
  if (!cidr.includes('/')) return undefined;
  const c = tryParseCidr(cidr);
  return c ? prefixOf(c.address, c.prefixLength) : undefined;
}

/** An address and prefix length (an interface address) → its prefix. */
export function prefixOf(address: string, length: number): Prefix {
  const bytes = parseIp(address);
  const network = networkBytes(bytes, length);
  return {
    family: bytes.length === 4 ? 4 : 6,
    bytes,
    length,
    address: formatIp(bytes),
    text: `${formatIp(network)}/${length}`,
    hostBits: !samePrefix(network, bytes, bytes.length * 8),
  };
}

/** Whether the first `length` bits of `a` and `b` (same family) agree. */
export function samePrefix(a: Uint8Array, b: Uint8Array, length: number): boolean {
  if (a.length !== b.length) return false;
  const whole = length >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = length & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((a[whole] ?? 0) & mask) === ((b[whole] ?? 0) & mask);
}

export function contains(p: Prefix, address: Uint8Array): boolean {
  return samePrefix(p.bytes, address, p.length);
}

/** Two prefixes share addresses: one contains the other. */
export function overlaps(a: Prefix, b: Prefix): boolean {
  return a.family === b.family && samePrefix(a.bytes, b.bytes, Math.min(a.length, b.length));
}

function networkBytes(bytes: Uint8Array, length: number): Uint8Array {
  const b = Uint8Array.from(bytes);
  for (let bit = length; bit < b.length * 8; bit++) b[bit >> 3] = (b[bit >> 3] ?? 0) & ~(0x80 >> (bit & 7));
  return b;
}
