// "Which route for this lease": host-gw's whole data plane. One route per peer subnet, via the
// peer's node address of that family, out of the underlay link. Pure: the caller dumps the
// underlay's addresses and hands the routes to core's reconcileRoutes.
//
// A route is only useful when the next hop is a neighbour on the underlay (layer-2 adjacency):
// a peer whose node address is outside every prefix of the underlay link is skipped and
// reported, never routed through some other gateway. Also skipped, each with its reason: a subnet
// that is not a network CIDR, one that overlaps this node's own subnet (it would steal the
// node's pods), one already leased to another peer (the first node by name keeps it, so the
// choice does not flap with the order peers arrive in), and a next hop that is this node itself.
import type { NodeLease } from '@podnet/core/backend';
import type { DesiredRoute } from '@podnet/core/route';
import { contains, overlaps, parsePrefix, prefixOf } from './prefix.js';
import type { Prefix } from './prefix.js';

export interface Underlay {
  name: string;
  index: number;
  /** The link's addresses with their prefix lengths (its connected prefixes). */
  addresses: ReadonlyArray<{ address: string; prefixLength: number }>;
}

export interface Skipped {
  node: string;
  reason: string;
}

export interface PeerRoutes {
  routes: DesiredRoute[];
  skipped: Skipped[];
}

/**
 * Parsed addresses and subnets, kept from one reconcile to the next: peers rarely change, so a
 * steady-state pass parses nothing. Two generations: what the last pass used survives one more
 * pass, anything older is dropped (bounded by the peers of two passes).
 */
export class ParseCache {
  #current = new Map<string, Prefix | undefined>();
  #previous = new Map<string, Prefix | undefined>();

  /** A CIDR (`10.1.0.0/16`) or, without `/`, an address as a full-length prefix. */
  get(text: string): Prefix | undefined {
    if (this.#current.has(text)) return this.#current.get(text);
    const p = this.#previous.has(text)
      ? this.#previous.get(text)
      : parsePrefix(text.includes('/') ? text : `${text}/${text.includes(':') ? 128 : 32}`);
    this.#current.set(text, p);
    return p;
  }

  /** End of a pass. */
  rotate(): void {
    this.#previous = this.#current;
    this.#current = new Map();
  }
}

export function peerRoutes(local: NodeLease, peers: readonly NodeLease[], underlay: Underlay, cache = new ParseCache()): PeerRoutes {
  const connected = underlay.addresses.map((a) => prefixOf(a.address, a.prefixLength));
  const own = new Set(connected.map((p) => p.address));
  const localSubnets = local.subnets.map((s) => (s.includes('/') ? cache.get(s) : undefined)).filter((p): p is Prefix => p !== undefined);
  const routes: DesiredRoute[] = [];
  const skipped: Skipped[] = [];
  const claimedBy = new Map<string, string>();

  // By name: which of two peers claiming one subnet wins must not depend on arrival order.
  const sorted = [...peers].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  for (const peer of sorted) {
    if (peer.node === local.node) {
      skipped.push({ node: peer.node, reason: 'is this node (its own lease among the peers)' });
      continue;
    }
    const hops = peer.nodeIps.map((ip) => ({ ip, prefix: ip.includes('/') ? undefined : cache.get(ip) }));
    for (const subnet of peer.subnets) {
      const dst = subnet.includes('/') ? cache.get(subnet) : undefined;
      const skip = (reason: string): void => {
        skipped.push({ node: peer.node, reason: `subnet ${subnet}: ${reason}` });
      };
      if (!dst) {
        skip('not a CIDR');
        continue;
      }
      if (dst.hostBits) {
        skip(`not a network address (expected ${dst.text})`);
        continue;
      }
      const mine = localSubnets.find((l) => overlaps(l, dst));
      if (mine) {
        skip(`overlaps this node's subnet ${mine.text}`);
        continue;
      }
      const owner = claimedBy.get(dst.text);
      if (owner !== undefined) {
        skip(`also leased to node ${owner}, which keeps the route`);
        continue;
      }
      const family = hops.filter((h) => h.prefix?.family === dst.family);
      if (family.length === 0) {
        skip(`no IPv${dst.family} node address (node addresses: ${peer.nodeIps.join(', ') || 'none'})`);
        continue;
      }
      const onLink = family.find((h) => h.prefix && connected.some((c) => contains(c, h.prefix!.bytes)));
      if (!onLink) {
        const prefixes = connected.filter((c) => c.family === dst.family).map((c) => c.text);
        skip(
          `node address ${family.map((h) => h.ip).join(', ')} is not on-link on ${underlay.name} ` +
            `(its IPv${dst.family} prefixes: ${prefixes.join(', ') || 'none'}); host-gw needs the nodes on one L2 segment`,
        );
        continue;
      }
      if (own.has(onLink.prefix!.address)) {
        skip(`node address ${onLink.ip} is this node's own`);
        continue;
      }
      claimedBy.set(dst.text, peer.node);
      routes.push({ dst: dst.address, dstLen: dst.length, gateway: onLink.prefix!.address, oif: underlay.index });
    }
  }
  cache.rotate();
  return { routes, skipped };
}

