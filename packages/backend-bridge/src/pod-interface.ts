// The pod's interface: a veth whose pod end is created directly inside the pod netns (no
// create-then-move), then its sysctls, addresses, link state and routes, all through one netlink
// socket opened in the pod netns, as one batch.
import { CniError, ErrorCode } from '@podnet/core/cni';
import { addressAdd, getLink, linkSet, listAddresses, listRoutes, parseCidr, routeAdd, tryParseCidr, vethAdd } from '@podnet/core/netlink';
import type { Link, NlRequest } from '@podnet/core/netlink';
import { writeSysctl } from '@podnet/core/netns';
import type { Addressing } from './addressing.js';
import { canonicalIp, networkOf } from './cidr.js';
import type { HostSide } from './host.js';
import { deleteHostVeth } from './host-port.js';
import type { PodSide } from './pod-netns.js';

export interface VethSpec {
  hostName: string;
  ifname: string;
  /** The owner alias written on the host end (GC finds the network's veths by it). */
  alias: string;
  mtu: number;
  /** The pod end's MAC; default the kernel's random one. */
  mac?: string;
  /** The bridge the host end joins, up, at creation. */
  master: number;
}

export interface PodVeth {
  host: Link & { mac: string };
  pod: Link & { mac: string };
}

/**
 * ADD: an interface of that name in the pod is an error (spec). Checked before IPAM, so that a
 * repeated ADD fails without its rollback releasing the existing attachment's addresses.
 */
export function ensureIfnameFree(pod: PodSide, ifname: string): void {
  if (getLink(pod.nl, ifname)) throw ifnameTaken(pod, ifname);
}

function ifnameTaken(pod: PodSide, ifname: string): CniError {
  return new CniError(
    ErrorCode.InvalidEnvironment,
    `CNI_IFNAME: interface "${ifname}" already exists in netns "${pod.path}"`,
    'choose another interface name, or DEL the existing attachment first',
  );
}

/**
 * Create the veth: host end `hostName` enslaved to the bridge and up, pod end `ifname` inside the
 * pod netns, then the owner alias on the host end. The caller has checked that neither name is
 * taken (ensureIfnameFree, hostVethConflict); if the alias cannot be written, the pair is deleted
 * again before the error goes up, so nothing unowned is ever left behind.
 */
export function createPodVeth(host: HostSide, pod: PodSide, spec: VethSpec): PodVeth {
  const create = vethAdd({
    name: spec.hostName,
    mtu: spec.mtu,
    master: spec.master,
    up: true,
    peer: { name: spec.ifname, netns: pod.netns, mtu: spec.mtu, ...(spec.mac !== undefined ? { mac: spec.mac } : {}) },
  });
  // Two requests, not one batch: after a failed create, the alias must not land on whatever
  // link already has that name.
  try {
    host.nl.request(create);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'EEXIST' && getLink(pod.nl, spec.ifname)) throw ifnameTaken(pod, spec.ifname);
    throw err;
  }
  try {
    host.nl.request(linkSet(spec.hostName, { alias: spec.alias }));
  } catch (err) {
    deleteHostVeth(host, spec.hostName);
    throw err;
  }
  const hostLink = getLink(host.nl, spec.hostName);
  const podLink = getLink(pod.nl, spec.ifname);
  if (!hostLink?.mac || !podLink?.mac) {
    throw new CniError(ErrorCode.IoFailure, `veth "${spec.hostName}"/"${spec.ifname}" vanished right after it was created`);
  }
  return { host: hostLink as PodVeth['host'], pod: podLink as PodVeth['pod'] };
}

/**
 * Inside the pod: arp_notify (a gratuitous ARP when the link comes up, so a reused address is
 * learned at once), for IPv6 keep_addr_on_down and no DAD (the address is ours by IPAM; DAD
 * would hold it tentative for ~2 s), then addresses, link up and routes in one batch.
 */
export function configurePod(pod: PodSide, link: Link, plan: Addressing): void {
  const hasV6 = plan.addresses.some((a) => a.parsed.family === 6);
  pod.netns.run(() => {
    writeSysctl(['net', 'ipv4', 'conf', link.name, 'arp_notify'], 1);
    if (hasV6) {
      writeSysctl(['net', 'ipv6', 'conf', link.name, 'disable_ipv6'], 0);
      writeSysctl(['net', 'ipv6', 'conf', link.name, 'keep_addr_on_down'], 1);
      writeSysctl(['net', 'ipv6', 'conf', link.name, 'accept_dad'], 0);
    }
  });
  const reqs: NlRequest[] = plan.addresses.map((a) =>
    addressAdd({ index: link.index, address: a.parsed.address, prefixLength: a.parsed.prefixLength, ...(a.parsed.family === 6 ? { noDad: true } : {}) }),
  );
  reqs.push(linkSet(link.index, { up: true }));
  for (const r of plan.routes) {
    reqs.push(
      routeAdd({
        dst: parseCidr(networkOf(r.dst)).address,
        dstLen: r.dst.prefixLength,
        oif: link.index,
        ...(r.gw !== undefined ? { gateway: r.gw } : {}),
        ...(r.entry.mtu !== undefined ? { mtu: r.entry.mtu } : {}),
        ...(r.entry.advmss !== undefined ? { advmss: r.entry.advmss } : {}),
        ...(r.entry.priority !== undefined ? { priority: r.entry.priority } : {}),
        ...(r.entry.table !== undefined ? { table: r.entry.table } : {}),
        ...(r.entry.scope !== undefined ? { scope: r.entry.scope } : {}),
      }),
    );
  }
  pod.nl.batch(reqs);
}

export interface PodExpectation {
  mac?: string;
  /** CIDRs as prevResult lists them. */
  addresses: readonly string[];
  routes: ReadonlyArray<{ dst: string; gw?: string }>;
}

/** CHECK inside the pod: the interface, its MAC, its addresses and routes. */
export function checkPodInterface(pod: PodSide, ifname: string, want: PodExpectation): Link {
  const link = getLink(pod.nl, ifname);
  if (!link) throw new CniError(ErrorCode.Internal, `interface "${ifname}" not found in netns "${pod.path}"`);
  if (link.kind !== 'veth') throw new CniError(ErrorCode.Internal, `interface "${ifname}" in netns "${pod.path}" is a ${link.kind ?? 'device'}, not a veth`);
  if (want.mac && link.mac?.toLowerCase() !== want.mac.toLowerCase()) {
    throw new CniError(ErrorCode.Internal, `interface "${ifname}" has MAC ${link.mac}, prevResult says ${want.mac}`);
  }
  const have = new Set(listAddresses(pod.nl, { index: link.index }).map((a) => `${a.address}/${a.prefixLength}`));
  for (const cidr of want.addresses) {
    const c = tryParseCidr(cidr);
    if (!c || !have.has(`${c.address}/${c.prefixLength}`)) {
      throw new CniError(ErrorCode.Internal, `interface "${ifname}" lacks address ${cidr} from prevResult`, `it has ${[...have].join(', ') || 'none'}`);
    }
  }
  if (want.routes.length > 0) {
    const routes = listRoutes(pod.nl, {});
    for (const r of want.routes) {
      const dst = tryParseCidr(r.dst);
      const gw = r.gw !== undefined ? canonicalIp(r.gw) : undefined;
      const net = dst ? parseCidr(networkOf(dst)) : undefined;
      const found = net && routes.some((k) => k.dst === net.address && k.dstLen === net.prefixLength && (gw === undefined || k.gateway === gw));
      if (!found) throw new CniError(ErrorCode.Internal, `route ${r.dst}${r.gw ? ` via ${r.gw}` : ''} from prevResult missing in netns "${pod.path}"`);
    }
  }
  return link;
}
