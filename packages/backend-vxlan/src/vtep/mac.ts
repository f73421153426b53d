// A node's VTEP MAC never changes (flannel #1795, #1474, #1788: a device recreated with a new
// random MAC leaves peers with stale neighbours). It is published in the lease's backend data and
// used from there; when there is nothing stored it is derived from the node's name, so a lost
// lease, a wiped store or a reinstalled agent all come back to the same MAC — and a peer whose
// lease carries no MAC can still be reached (its MAC is the same derivation of its name).
import { createHash } from 'node:crypto';
import { formatMac, parseMac } from '@podnet/core/netlink';

/** The lease's backend data keys (flannel's `VtepMAC`; the IPv6 overlay has its own device). */
export const LEASE_KEYS = { mac: { 4: 'VtepMAC', 6: 'VtepMAC6' }, vni: 'VNI' } as const;

/** A locally administered unicast MAC from the node's name and the overlay's family. */
export function deriveVtepMac(node: string, family: 4 | 6): string {
  const digest = createHash('sha256').update(`podnet-vxlan\0${family}\0${node}`).digest();
  const bytes = Uint8Array.from(digest.subarray(0, 6));
  // Bit 0 of the first octet clear: unicast; bit 1 set: locally administered (never a vendor's).
  bytes[0] = (bytes[0]! & 0xfc) | 0x02;
  return formatMac(bytes);
}

/** A usable unicast MAC in lowercase, or undefined for anything else (absent, malformed, multicast, zero). */
export function validMac(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  let bytes: Uint8Array;
  try {
    bytes = parseMac(value);
  } catch {
    return undefined;
  }
  if ((bytes[0]! & 0x01) !== 0 || bytes.every((b) => b === 0)) return undefined;
  return formatMac(bytes);
}

/** The VTEP MAC a lease stands for: its backend data's, else the derivation from its node name. */
export function leaseMac(node: string, data: Readonly<Record<string, unknown>> | undefined, family: 4 | 6): string {
  return validMac(data?.[LEASE_KEYS.mac[family]]) ?? deriveVtepMac(node, family);
}
