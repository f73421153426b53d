// The little prefix arithmetic the bridge needs (a result's CIDRs → subnet, gateway). Address
// text is parsed and formatted by core's codec (@podnet/core/netlink: parseIp, formatIp,
// tryParseCidr), which is pure: no node:net, whose loading costs milliseconds of a Bun-compiled
// plugin's start.
import { formatIp, ipFamily, isIp, parseIp } from '@podnet/core/netlink';
import type { Cidr } from '@podnet/core/netlink';

/** Canonical text of an address (IPv6 per RFC 5952), or undefined when it is not one. */
export function canonicalIp(address: string): string | undefined {
  return isIp(address) ? formatIp(parseIp(address)) : undefined;
}

/** The network of a CIDR, e.g. 10.22.0.5/24 → 10.22.0.0/24. */
export function networkOf(cidr: Cidr): string {
  return `${formatIp(networkBytes(cidr))}/${cidr.prefixLength}`;
}

/** The first address after the network address: the conventional gateway. */
export function firstHost(cidr: Cidr): string {
  const b = networkBytes(cidr);
  // + 1, carrying; the last address of the space wraps around to the first.
  for (let i = b.length - 1; i >= 0; i--) {
    b[i] = ((b[i] ?? 0) + 1) & 0xff;
    if (b[i] !== 0) break;
  }
  return formatIp(b);
}

/** Whether `address` lies inside `cidr`. */
export function contains(cidr: Cidr, address: string): boolean {
  if (!isIp(address) || ipFamily(address) !== cidr.family) return false;
  return networkOf({ address, prefixLength: cidr.prefixLength, family: cidr.family }) === networkOf(cidr);
}

/** The address's bytes with the host bits cleared. */
function networkBytes(cidr: Cidr): Uint8Array {
  const b = parseIp(cidr.address);
  for (let bit = cidr.prefixLength; bit < b.length * 8; bit++) b[bit >> 3] = (b[bit >> 3] ?? 0) & ~(0x80 >> (bit & 7));
  return b;
}
