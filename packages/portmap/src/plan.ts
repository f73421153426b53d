// An attachment's mappings → the nft elements that implement them (pure: no kernel, no process).
import { formatIp, parseIp, tryParseCidr } from '@podnet/core/netlink';
import type { Cidr } from '@podnet/core/netlink';
import { CniError, ErrorCode } from '@podnet/core/cni';
import type { PortMapping } from './mapping.js';
import { attachmentPart, fnv1a64, ownerComment } from './owner.js';
import type { Attachment } from './owner.js';
import { profileName } from './profile.js';
import type { Profile } from './profile.js';

/** One element of a set or map, as nft text (`key`, and `value` for a map). */
export interface Element {
  set: string;
  key: string;
  value?: string;
  comment?: string;
}

export interface HostPortRequest {
  owner: Attachment;
  mappings: readonly PortMapping[];
  /** The pod's addresses as CIDRs (IPAM's prefix: its subnet is masqueraded on hairpin). */
  podAddresses: readonly string[];
  profile: Profile;
}

export interface HostPortPlan {
  comment: string;
  profile: Profile;
  profileName: string;
  /** Claims first, then the DNAT map elements. */
  elements: Element[];
  /** Subnets whose traffic to a host port is masqueraded (hairpin), per family, canonical CIDRs. */
  hairpin4: string[];
  hairpin6: string[];
  /** UDP host ports whose conntrack entries ADD flushes. */
  udpPorts: number[];
  /** Mappings that apply to no address family of the pod (e.g. an IPv6 hostIP on an IPv4 pod). */
  skipped: PortMapping[];
  /** The pod's IPv4 address when a mapping uses it (route_localnet, conntrack). */
  podV4?: string;
  podV6?: string;
}

export function planHostPorts(req: HostPortRequest): HostPortPlan {
  const comment = ownerComment(req.owner);
  const name = profileName(req.profile);
  const pods: Cidr[] = [];
  for (const text of req.podAddresses) {
    const cidr = tryParseCidr(text);
    if (!cidr) throw new CniError(ErrorCode.InvalidConfig, `invalid pod address "${text}" for host ports`, 'expected an IPv4 or IPv6 CIDR');
    pods.push(cidr);
  }
  const pod4 = pods.find((c) => c.family === 4);
  const pod6 = pods.find((c) => c.family === 6);
  const claims: Element[] = [];
  // The owner set's key suffix: the attachment's digest as two 32-bit marks (table.ts, DEL).
  const digest = fnv1a64(`owner\0${attachmentPart(req.owner)}`);
  // Decimal: how `nft -j` lists marks, so listed keys compare equal to planned ones.
  const ownerTag = `${Number.parseInt(digest.slice(0, 8), 16)} . ${Number.parseInt(digest.slice(8), 16)}`;
  const maps: Element[] = [];
  const skipped: PortMapping[] = [];
  const udp = new Set<number>();
  let used4 = false;
  let used6 = false;
  for (const m of req.mappings) {
    const families: Array<4 | 6> = m.host.kind === 'any' ? [4, 6] : [m.host.family];
    let applied = false;
    for (const family of families) {
      const pod = family === 4 ? pod4 : pod6;
      if (!pod) continue;
      applied = true;
      if (family === 4) used4 = true;
      else used6 = true;
      const target = `${pod.address} . ${m.containerPort}`;
      const service = `${m.protocol} . ${m.hostPort}`;
      if (m.host.kind === 'address') {
        claims.push({ set: `claims${family}`, key: `${m.host.address} . ${service}`, comment });
        maps.push({ set: `${name}_ip${family}`, key: `${m.host.address} . ${service}`, value: target, comment });
      } else {
        claims.push({ set: `claims${family}`, key: `${family === 4 ? '0.0.0.0' : '::'} . ${service}`, comment });
        maps.push({ set: `${name}_any${family}`, key: service, value: target, comment });
      }
    }
    if (!applied) skipped.push(m);
    else if (m.protocol === 'udp') udp.add(m.hostPort);
  }
  const subnets = (family: 4 | 6): string[] =>
    req.profile.snat && !req.profile.masqAll ? [...new Set(pods.filter((c) => c.family === family).map(networkCidr))].sort() : [];
  return {
    comment,
    profile: req.profile,
    profileName: name,
    elements: [...claims, ...claims.map((c) => ({ set: c.set.replace('claims', 'owners'), key: `${c.key} . ${ownerTag}`, comment })), ...maps],
    hairpin4: used4 ? subnets(4) : [],
    hairpin6: used6 ? subnets(6) : [],
    udpPorts: [...udp].sort((a, b) => a - b),
    skipped,
    ...(used4 && pod4 ? { podV4: pod4.address } : {}),
    ...(used6 && pod6 ? { podV6: pod6.address } : {}),
  };
}

/** `10.1.2.3/24` → `10.1.2.0/24` (the hairpin source range: the pod's whole subnet). */
export function networkCidr(c: Cidr): string {
  const bytes = parseIp(c.address);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, c.prefixLength - i * 8));
    bytes[i] = (bytes[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  return `${formatIp(bytes)}/${c.prefixLength}`;
}
