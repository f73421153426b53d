// "Which entries for these leases": VXLAN's whole data plane, pure. Per peer subnet either three
// kernel entries on the overlay device of its family —
//   neighbour  peer VTEP address → peer VTEP MAC (permanent: the kernel never has to ARP)
//   FDB        peer VTEP MAC → peer underlay address
//   route      peer subnet via peer VTEP address, onlink
// — or, with DirectRouting and the peer on this node's L2 segment, host-gw's route.
//
// Which peers and subnets are usable at all (a CIDR, a network address, no overlap with this
// node's subnet, first node by name keeps a doubly leased subnet, an underlay address of the
// family) is host-gw's peerRoutes, asked with an underlay on which every address is on-link: the
// tunnel reaches any node address. DirectRouting asks it again with the real underlay: the
// subnets it routes on-link get its route, the rest the tunnel. No copy of host-gw's rules.
// The VTEP address of a node is its subnet's network address (flannel's choice: 10.244.3.0), so
// no address is taken from the pods' range and a peer's VTEP follows from its lease alone.
import { ParseCache, peerRoutes } from '@podnet/backend-host-gw';
import type { Skipped, Underlay } from '@podnet/backend-host-gw';
import type { NodeLease } from '@podnet/core/backend';
import { tryParseCidr } from '@podnet/core/netlink';
import type { FdbSpec, NeighbourSpec } from '@podnet/core/netlink';
import type { DesiredRoute } from '@podnet/core/route';
import { LEASE_KEYS, leaseMac } from '../vtep/mac.js';

/** An overlay device of this node, as the plan needs it. */
export interface PlanDevice {
  index: number;
}

export interface PlanInput {
  vni: number;
  /** The overlay devices by overlay family (absent: no overlay of that family on this node). */
  devices: Partial<Record<4 | 6, PlanDevice>>;
  /** DirectRouting: the underlay link with its connected prefixes. */
  direct?: Underlay;
}

export interface Plan {
  /** Tunnel routes and direct routes, for one reconcileRoutes of our protocol. */
  routes: DesiredRoute[];
  neighbours: NeighbourSpec[];
  fdb: FdbSpec[];
  /** Peer subnets over the tunnel, and routed directly. */
  tunneled: number;
  direct: number;
  skipped: Skipped[];
}

/** Every address on-link: what the tunnel reaches (its routes are rewritten onto the device below). */
const EVERYWHERE: Underlay = {
  name: 'the VXLAN tunnel',
  index: 1,
  addresses: [
    { address: '0.0.0.0', prefixLength: 0 },
    { address: '::', prefixLength: 0 },
  ],
};

/** Parse caches kept across reconciles (peers rarely change). */
export class PlanCaches {
  readonly tunnel = new ParseCache();
  readonly direct = new ParseCache();
}

const key = (dst: string, len: number): string => `${dst}/${len}`;

export function planPeers(local: NodeLease, peers: readonly NodeLease[], input: PlanInput, caches = new PlanCaches()): Plan {
  const skipped: Skipped[] = [];
  // A peer on another VNI cannot be reached through our device (its VTEP drops our frames).
  const usable = peers.filter((p) => {
    const vni = p.backendData?.[LEASE_KEYS.vni];
    if (typeof vni === 'number' && vni !== input.vni) {
      skipped.push({ node: p.node, reason: `publishes VNI ${vni}, this node runs VNI ${input.vni} (Backend.VNI must be the same on every node)` });
      return false;
    }
    return true;
  });

  const tunnel = peerRoutes(local, usable, EVERYWHERE, caches.tunnel);
  skipped.push(...tunnel.skipped);
  const onLink = new Map<string, DesiredRoute>();
  if (input.direct) {
    for (const r of peerRoutes(local, usable, input.direct, caches.direct).routes) onLink.set(key(r.dst, r.dstLen), r);
  }

  // Subnet → the peer holding it; the first by name, as peerRoutes decides.
  const holder = new Map<string, NodeLease>();
  for (const p of [...usable].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))) {
    for (const s of p.subnets) {
      const c = tryParseCidr(s);
      if (c && !holder.has(key(c.address, c.prefixLength))) holder.set(key(c.address, c.prefixLength), p);
    }
  }

  const own = new Set(local.nodeIps.map((ip) => tryParseCidr(ip)?.address));
  const plan: Plan = { routes: [], neighbours: [], fdb: [], tunneled: 0, direct: 0, skipped };
  for (const r of tunnel.routes) {
    const k = key(r.dst, r.dstLen);
    const peer = holder.get(k);
    if (!peer) continue; // cannot happen: peerRoutes routes only subnets of the peers given
    const direct = onLink.get(k);
    if (direct) {
      plan.routes.push(direct);
      plan.direct++;
      continue;
    }
    const family: 4 | 6 = r.dst.includes(':') ? 6 : 4;
    const device = input.devices[family];
    if (!device) {
      skipped.push({
        node: peer.node,
        reason: `subnet ${k}: this node has no IPv${family} overlay (no IPv${family} subnet or no IPv${family} underlay address of its own)`,
      });
      continue;
    }
    if (own.has(r.gateway)) {
      skipped.push({ node: peer.node, reason: `subnet ${k}: its underlay address ${r.gateway} is this node's own` });
      continue;
    }
    const mac = leaseMac(peer.node, peer.backendData, family);
    // r.gateway is the peer's underlay address of the family; r.dst the subnet's network address.
    plan.neighbours.push({ index: device.index, address: r.dst, mac });
    plan.fdb.push({ index: device.index, mac, dst: r.gateway! });
    plan.routes.push({ dst: r.dst, dstLen: r.dstLen, gateway: r.dst, oif: device.index, onlink: true });
    plan.tunneled++;
  }
  return plan;
}

/** Every underlay address a peer lease names: the sources VXLAN is accepted from. */
export function knownNodeAddresses(peers: readonly NodeLease[]): { 4: string[]; 6: string[] } {
  const out = { 4: new Set<string>(), 6: new Set<string>() };
  for (const p of peers) {
    for (const ip of p.nodeIps) {
      const c = tryParseCidr(ip);
      if (c) out[c.family].add(c.address);
    }
  }
  return { 4: [...out[4]].sort(), 6: [...out[6]].sort() };
}
