// Masquerade (ipMasq) through nftables, one `nft -f -` transaction per call in the steady state.
//
// Layout, one table per network so networks never touch each other's state:
//
//   table inet podnet_masq_<sha256(network)[:12]> {        comment "podnet masquerade network <name>"
//     set pods4    { type ipv4_addr; }                        pod addresses, comment = owner
//     set pods6    { type ipv6_addr; }
//     set nomasq4  { type ipv4_addr; flags interval; auto-merge; }  pod subnets + cluster range
//     set nomasq6  { type ipv6_addr; flags interval; auto-merge; }
//     set exempt_<sha256(layout, nomasq CIDRs)[:16]> { type mark; elements = { 0 } }   the stamp
//     chain postrouting { type nat hook postrouting priority srcnat;
//       ip saddr @pods4 ip daddr != @nomasq4 ip daddr != 224.0.0.0/4 masquerade
//       ip6 saddr @pods6 ip6 daddr != @nomasq6 ip6 daddr != ff00::/8 masquerade } }
//
// The rules are constant: a pod is one set element whose comment names its owner
// (containerID/ifname). Why ADD has two transactions: the kernel makes a commit wait (~15 ms
// here, see tools/bench/src/cni/RESULTS.md) when it deletes an element, touches an interval set
// (even with an element it already covers), re-declares an existing base chain or flushes a chain;
// adding an element to a plain set costs only the nft process (~3.5 ms). So ADD first tries the
// fast transaction — `add element` to the stamp set, `create element` for the pod addresses —
// which fails as a whole, changing nothing, when:
//   - the table or the stamp set is missing: first ADD of the network, after GC dropped the table,
//     or a new exempt list / pod subnet (the stamp's name hashes them, so a new list names a stamp
//     that does not exist yet);
//   - a pod element exists already (`create` is EEXIST; `add` would keep the old comment): a
//     re-ADD of the same owner, or a leaked element of a reused address.
// Then the full transaction runs: declare everything idempotently (`add` of an existing object is
// a no-op; the chain is flushed and refilled in the same transaction, so concurrent ADDs
// converge), add the nomasq CIDRs and the stamp, and replace the pod's elements. Replace, not add:
// a leaked element for a reused address keeps its old comment otherwise, and DEL by owner would
// then miss it. Removal by address is `add element` + `delete element` in one transaction, which
// succeeds whether or not the element was there (nft 1.0.6 has no `destroy`).
// DEL and GC find elements by their owner comment, so they need neither the netns nor the IPAM.
// DEL keeps its `nft -j list` even when it knows the addresses (prevResult, IPAM): the kernel does
// not compare comments on delete, and an address released by a failed earlier DEL may have been
// given to another pod since; deleting by address alone would silently stop masquerading that pod.
import { CniError, ErrorCode } from '@podnet/core/cni';
import { tryParseCidr } from '@podnet/core/netlink';
import type { Cidr } from '@podnet/core/netlink';
import { networkOf } from './cidr.js';
import type { NftRunner } from './nft.js';
import { sha256Hex } from './sha256.js';

export interface MasqOwner {
  containerId: string;
  ifname: string;
}

export interface MasqEntry {
  /** The pod address, without prefix. */
  address: string;
  family: 4 | 6;
  /** The element comment: `ownerComment(owner)`. */
  comment: string | undefined;
}

export function masqTableName(network: string): string {
  return `podnet_masq_${sha256Hex(network).slice(0, 12)}`;
}

/** Part of the stamp's hash: a change of the table layout or rules above makes ADD re-declare. */
const LAYOUT = 'podnet-masq-v1';

const SAFE_COMMENT = /^[a-zA-Z0-9_.-]+\/[a-zA-Z0-9_.@+-]+$/;

/** The element comment for an owner; hashed when it would not fit (128) or needs quoting. */
export function ownerComment(owner: MasqOwner): string {
  const plain = `${owner.containerId}/${owner.ifname}`;
  if (plain.length <= 127 && SAFE_COMMENT.test(plain)) return plain;
  return `sha256:${sha256Hex(`${owner.containerId}\0${owner.ifname}`).slice(0, 32)}`;
}

/** Parse "addr/prefix"; nft gets only the canonical re-formatted text (no script injection). */
function cidrOf(text: string): Cidr {
  const cidr = tryParseCidr(text);
  if (!cidr) throw new CniError(ErrorCode.InvalidConfig, `invalid address "${text}" for masquerade`, 'expected an IPv4 or IPv6 CIDR');
  return cidr;
}

export class Masquerade {
  readonly table: string;

  constructor(
    readonly network: string,
    private readonly nft: NftRunner,
  ) {
    this.table = masqTableName(network);
  }

  /**
   * Masquerade the pod's addresses (CIDRs as IPAM gave them; their subnets join the exempt set)
   * except towards `exempt` (cluster CIDRs). One fast transaction in the steady state; the full
   * one when that fails (see the top of this file).
   */
  async add(owner: MasqOwner, addresses: readonly string[], exempt: readonly string[]): Promise<void> {
    const { fast, full } = this.addLines(owner, addresses, exempt);
    try {
      await this.nft.apply(fast.join('\n') + '\n');
      return;
    } catch {
      // Missing table or stamp, or an existing element: the full transaction below handles all.
    }
    await this.nft.apply(full.join('\n') + '\n');
  }

  /**
   * The two transactions of `add` as lines, for a caller that adds its own lines to the same
   * transaction (the host ports of the same pod): `fast` first, `full` when that fails.
   */
  addLines(owner: MasqOwner, addresses: readonly string[], exempt: readonly string[]): { fast: string[]; full: string[] } {
    const t = `inet ${this.table}`;
    const comment = ownerComment(owner);
    const pods = addresses.map(cidrOf);
    const nomasq = [...new Set([...pods, ...exempt.map(cidrOf)].map((c) => `${c.family} ${networkOf(c)}`))].sort();
    const stamp = `exempt_${sha256Hex(`${LAYOUT}\n${nomasq.join('\n')}`).slice(0, 16)}`;

    const fast = [`add element ${t} ${stamp} { 0 }`];
    for (const { address, family } of pods) fast.push(`create element ${t} pods${family} { ${address} comment "${comment}" }`);

    const lines = [
      `add table ${t} { comment "podnet masquerade network ${this.network}"; }`,
      `add set ${t} pods4 { type ipv4_addr; }`,
      `add set ${t} pods6 { type ipv6_addr; }`,
      `add set ${t} nomasq4 { type ipv4_addr; flags interval; auto-merge; }`,
      `add set ${t} nomasq6 { type ipv6_addr; flags interval; auto-merge; }`,
      `add chain ${t} postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
      `flush chain ${t} postrouting`,
      `add rule ${t} postrouting ip saddr @pods4 ip daddr != @nomasq4 ip daddr != 224.0.0.0/4 masquerade`,
      `add rule ${t} postrouting ip6 saddr @pods6 ip6 daddr != @nomasq6 ip6 daddr != ff00::/8 masquerade`,
    ];
    for (const entry of nomasq) {
      const [family, cidr] = entry.split(' ') as [string, string];
      lines.push(`add element ${t} nomasq${family} { ${cidr} }`);
    }
    lines.push(`add set ${t} ${stamp} { type mark; }`, `add element ${t} ${stamp} { 0 }`);
    for (const { address, family } of pods) {
      lines.push(
        `add element ${t} pods${family} { ${address} }`,
        `delete element ${t} pods${family} { ${address} }`,
        `add element ${t} pods${family} { ${address} comment "${comment}" }`,
      );
    }
    return { fast, full: lines };
  }

  /** Remove these addresses' elements; succeeds when they (or the table) are gone. One transaction. */
  async removeAddresses(addresses: readonly string[]): Promise<void> {
    const lines = this.removalLines(addresses);
    if (lines.length > 0) await this.nft.apply(lines.join('\n') + '\n');
  }

  /** The lines of `removeAddresses`, for a shared transaction; none for no addresses. */
  removalLines(addresses: readonly string[]): string[] {
    if (addresses.length === 0) return [];
    const t = `inet ${this.table}`;
    const lines = [`add table ${t}`, `add set ${t} pods4 { type ipv4_addr; }`, `add set ${t} pods6 { type ipv6_addr; }`];
    for (const cidr of addresses) {
      const { address, family } = cidrOf(cidr);
      lines.push(`add element ${t} pods${family} { ${address} }`, `delete element ${t} pods${family} { ${address} }`);
    }
    return lines;
  }

  /** The pod elements of this network; empty when the table does not exist. */
  async list(): Promise<MasqEntry[]> {
    const json = await this.nft.listJson(`list table inet ${this.table}`);
    if (json === undefined) return [];
    const out: MasqEntry[] = [];
    const items = (json as { nftables?: unknown[] }).nftables ?? [];
    for (const item of items) {
      const set = (item as { set?: { name?: string; elem?: unknown[] } }).set;
      if (!set || (set.name !== 'pods4' && set.name !== 'pods6')) continue;
      for (const e of set.elem ?? []) {
        // An element with a comment is `{elem: {val, comment}}`; without one, the bare value.
        const wrapped = (e as { elem?: { val?: unknown; comment?: unknown } }).elem;
        const val = wrapped ? wrapped.val : e;
        if (typeof val !== 'string') continue;
        out.push({
          address: val,
          family: set.name === 'pods4' ? 4 : 6,
          comment: typeof wrapped?.comment === 'string' ? wrapped.comment : undefined,
        });
      }
    }
    return out;
  }

  /** DEL: remove the owner's elements, found by comment. Needs no netns, no IPAM, no prevResult. */
  async removeOwner(owner: MasqOwner): Promise<void> {
    await this.removeAddresses(await this.ownerAddresses(owner));
  }

  /** The addresses whose element comment is this owner's (one `nft -j list`). */
  async ownerAddresses(owner: MasqOwner): Promise<string[]> {
    const comment = ownerComment(owner);
    return (await this.list()).filter((e) => e.comment === comment).map((e) => e.address);
  }

  /**
   * GC: remove the elements of owners not in `valid`; drop the whole table when no pod is left
   * (GC is exclusive of ADD and DEL, so nothing races with that). Returns the removed entries.
   */
  async gc(valid: readonly MasqOwner[]): Promise<MasqEntry[]> {
    const keep = new Set(valid.map(ownerComment));
    const entries = await this.list();
    const stale = entries.filter((e) => e.comment === undefined || !keep.has(e.comment));
    if (stale.length === entries.length) {
      await this.removeTable();
    } else {
      await this.removeAddresses(stale.map((e) => e.address));
    }
    return stale;
  }

  /** Delete the table; succeeds when it does not exist. */
  async removeTable(): Promise<void> {
    await this.nft.apply(`add table inet ${this.table}\ndelete table inet ${this.table}\n`);
  }
}
