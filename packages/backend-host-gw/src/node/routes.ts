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
 * Parsed addresses and subnets, and the route objects made from them, kept from one reconcile to
 * the next: peers rarely change, so a steady-state pass parses nothing and hands core's planner
 * the same frozen route objects (whose normal form it keeps). Each entry is stamped with the last
 * pass that used it; an entry the last pass used survives one more pass, anything older is dropped at the end of a pass
 * (bounded by the peers of two passes). One map lookup per text, no re-insertion per pass
 * (rebuilding two-generation maps each pass cost more than the parsing they saved, at 5,000 peers).
 */
export class ParseCache {
  #pass = 0;
  readonly #prefixes = new Map<string, { value: Prefix | undefined; pass: number }>();
  readonly #routes = new Map<string, { value: DesiredRoute; pass: number }>();
  /** Per frozen peer lease object (podnetd hands the same ones every pass): parsed once. */
  readonly #peers = new WeakMap<NodeLease, ParsedPeer>();

  /** A peer's node addresses and subnets parsed; kept by object when the lease is frozen. */
  peer(peer: NodeLease): ParsedPeer {
    const hit = this.#peers.get(peer);
    if (hit !== undefined) return hit;
    const parsed: ParsedPeer = {
      hops: peer.nodeIps.map((ip) => ({ ip, prefix: ip.includes('/') ? undefined : this.get(ip) })),
      subnets: peer.subnets.map((subnet) => ({ subnet, dst: subnet.includes('/') ? this.get(subnet) : undefined, context: undefined, verdict: undefined })),
    };
    if (Object.isFrozen(peer) && Object.isFrozen(peer.nodeIps) && Object.isFrozen(peer.subnets)) this.#peers.set(peer, parsed);
    return parsed;
  }

  /** A CIDR (`10.1.0.0/16`) or, without `/`, an address as a full-length prefix. */
  get(text: string): Prefix | undefined {
    const hit = this.#prefixes.get(text);
    if (hit !== undefined) {
      hit.pass = this.#pass;
      return hit.value;
    }
    const value = parsePrefix(text.includes('/') ? text : `${text}/${text.includes(':') ? 128 : 32}`);
    this.#prefixes.set(text, { value, pass: this.#pass });
    return value;
  }

  /** The route to `dst/dstLen` via `gateway` out of `oif`, frozen, the same object as last pass. */
  route(dst: string, dstLen: number, gateway: string, oif: number): DesiredRoute {
    const key = `${dst}/${dstLen}>${gateway}>${oif}`;
    const hit = this.#routes.get(key);
    if (hit !== undefined) {
      hit.pass = this.#pass;
      return hit.value;
    }
    const value: DesiredRoute = Object.freeze({ dst, dstLen, gateway, oif });
    this.#routes.set(key, { value, pass: this.#pass });
    return value;
  }

  /** End of a pass. */
  rotate(): void {
    // Used in this pass: kept through the next one.
    for (const map of [this.#prefixes, this.#routes] as const) {
      for (const [key, entry] of map) if (entry.pass < this.#pass) map.delete(key);
    }
    this.#pass++;
  }
}

/**
 * One peer lease, parsed. Per subnet, `verdict` is what the checks that depend only on this
 * node (its subnets, the underlay's index and prefixes) said the last time, under `context`:
 * a pass in the same context reuses it, so a steady-state pass at 5,000 peers only runs the
 * one check that depends on the other peers (a subnet leased twice).
 */
interface ParsedPeer {
  hops: Array<{ ip: string; prefix: Prefix | undefined }>;
  subnets: Array<{ subnet: string; dst: Prefix | undefined; context: string | undefined; verdict: Verdict | undefined }>;
}

/** `before`: skipped ahead of the duplicate check; `after`: skipped after it; else the route. */
type Verdict = { before: string } | { after: string } | { route: DesiredRoute };

interface Context {
  key: string;
  underlay: Underlay;
  connected: Prefix[];
  own: Set<string>;
  localSubnets: Prefix[];
}

function judge(ctx: Context, hops: ParsedPeer['hops'], dst: Prefix | undefined, cache: ParseCache, nodeIps: readonly string[]): Verdict {
  if (!dst) return { before: 'not a CIDR' };
  if (dst.hostBits) return { before: `not a network address (expected ${dst.text})` };
  const mine = ctx.localSubnets.find((l) => overlaps(l, dst));
  if (mine) return { before: `overlaps this node's subnet ${mine.text}` };
  const family = hops.filter((h) => h.prefix?.family === dst.family);
  if (family.length === 0) return { after: `no IPv${dst.family} node address (node addresses: ${nodeIps.join(', ') || 'none'})` };
  const onLink = family.find((h) => h.prefix && ctx.connected.some((c) => contains(c, h.prefix!.bytes)));
  if (!onLink) {
    const prefixes = ctx.connected.filter((c) => c.family === dst.family).map((c) => c.text);
    return {
      after:
        `node address ${family.map((h) => h.ip).join(', ')} is not on-link on ${ctx.underlay.name} ` +
        `(its IPv${dst.family} prefixes: ${prefixes.join(', ') || 'none'}); host-gw needs the nodes on one L2 segment`,
    };
  }
  if (ctx.own.has(onLink.prefix!.address)) return { after: `node address ${onLink.ip} is this node's own` };
  return { route: cache.route(dst.address, dst.length, onLink.prefix!.address, ctx.underlay.index) };
}

export function peerRoutes(local: NodeLease, peers: readonly NodeLease[], underlay: Underlay, cache = new ParseCache()): PeerRoutes {
  const connected = underlay.addresses.map((a) => prefixOf(a.address, a.prefixLength));
  const localSubnets = local.subnets.map((s) => (s.includes('/') ? cache.get(s) : undefined)).filter((p): p is Prefix => p !== undefined);
  const ctx: Context = {
    key: `${underlay.name}|${underlay.index}|${connected.map((c) => c.text).join(',')}|${localSubnets.map((l) => l.text).join(',')}`,
    underlay,
    connected,
    own: new Set(connected.map((p) => p.address)),
    localSubnets,
  };
  const routes: DesiredRoute[] = [];
  const skipped: Skipped[] = [];
  const claimedBy = new Map<string, string>();

  // By name: which of two peers claiming one subnet wins must not depend on arrival order
  // (podnetd's peers come sorted: checked in one pass, then not copied and sorted again).
  const sorted = isSortedByNode(peers) ? peers : [...peers].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  for (const peer of sorted) {
    if (peer.node === local.node) {
      skipped.push({ node: peer.node, reason: 'is this node (its own lease among the peers)' });
      continue;
    }
    const parsed = cache.peer(peer);
    for (const entry of parsed.subnets) {
      if (entry.context !== ctx.key || entry.verdict === undefined) {
        entry.verdict = judge(ctx, parsed.hops, entry.dst, cache, peer.nodeIps);
        entry.context = ctx.key;
      }
      const v = entry.verdict;
      if ('before' in v) {
        skipped.push({ node: peer.node, reason: `subnet ${entry.subnet}: ${v.before}` });
        continue;
      }
      // A verdict past `before` means the subnet parsed: `dst` is set.
      const claim = entry.dst!.text;
      const owner = claimedBy.get(claim);
      if (owner !== undefined) {
        skipped.push({ node: peer.node, reason: `subnet ${entry.subnet}: also leased to node ${owner}, which keeps the route` });
        continue;
      }
      if ('after' in v) {
        skipped.push({ node: peer.node, reason: `subnet ${entry.subnet}: ${v.after}` });
        continue;
      }
      claimedBy.set(claim, peer.node);
      routes.push(v.route);
    }
  }
  cache.rotate();
  return { routes, skipped };
}

function isSortedByNode(peers: readonly NodeLease[]): boolean {
  for (let i = 1; i < peers.length; i++) if (peers[i - 1]!.node > peers[i]!.node) return false;
  return true;
}
