// VXLAN is accepted only from the underlay addresses of known nodes: without this, anyone who
// can send UDP to a node's VXLAN port injects frames straight into the pod network (any inner
// source address, past every policy keyed on pod addresses). One nft table, `inet podnet-vxlan`:
//
//   set nodes4 / nodes6                    every peer lease's node addresses
//   chain input (filter - 10)              udp dport <Port> from outside the set → counted, dropped
//   chain postrouting (srcnat - 10)        encapsulated packets leave with kube-proxy's masquerade
//                                          bit (0x4000) cleared, so no later SNAT rule re-NATs them
//
// The last one is kubernetes #92035 / the 63 s delay: the skb mark of a pod packet marked for
// masquerading survives encapsulation, and the outer packet got masqueraded a second time.
//
// Each sync is one `nft -f -` transaction that creates what is missing (`add` of an existing
// table, set, chain or counter is a no-op: the drop counter keeps counting across syncs), then
// flushes and refills the chains and the sets. The kernel swaps it in atomically: no packet sees
// an empty set halfway through.
import type { NftRunner } from '@podnet/backend-bridge';

export const FILTER_TABLE = 'podnet-vxlan';
/** The named counter of packets dropped for coming from a stranger. */
export const STRANGERS_COUNTER = 'strangers';
/** kube-proxy's (and kubelet's) masquerade mark bit. */
export const MASQUERADE_MARK = 0x4000;

export interface KnownNodes {
  4: readonly string[];
  6: readonly string[];
}

/** The transaction that makes the table say (port, nodes). Pure. */
export function filterScript(port: number, nodes: KnownNodes): string {
  const t = `inet ${FILTER_TABLE}`;
  const keep = (~MASQUERADE_MARK >>> 0).toString(16).padStart(8, '0');
  const lines = [
    `add table ${t}`,
    `add counter ${t} ${STRANGERS_COUNTER}`,
    `add set ${t} nodes4 { type ipv4_addr; }`,
    `add set ${t} nodes6 { type ipv6_addr; }`,
    `add chain ${t} input { type filter hook input priority filter - 10; policy accept; }`,
    `add chain ${t} postrouting { type filter hook postrouting priority srcnat - 10; policy accept; }`,
    `flush chain ${t} input`,
    `flush chain ${t} postrouting`,
    `flush set ${t} nodes4`,
    `flush set ${t} nodes6`,
  ];
  if (nodes[4].length > 0) lines.push(`add element ${t} nodes4 { ${nodes[4].join(', ')} }`);
  if (nodes[6].length > 0) lines.push(`add element ${t} nodes6 { ${nodes[6].join(', ')} }`);
  lines.push(
    `add rule ${t} input udp dport ${port} ip saddr != @nodes4 counter name ${STRANGERS_COUNTER} drop`,
    `add rule ${t} input udp dport ${port} ip6 saddr != @nodes6 counter name ${STRANGERS_COUNTER} drop`,
    `add rule ${t} postrouting udp dport ${port} meta mark & 0x${MASQUERADE_MARK.toString(16).padStart(8, '0')} != 0 meta mark set meta mark & 0x${keep}`,
  );
  return `${lines.join('\n')}\n`;
}

export interface UnderlayFilterOptions {
  /**
   * Re-apply an unchanged rule set at most this often (default 5 s): the periodic reconcile
   * heals a deleted or flushed table without one nft process per reconcile.
   */
  refreshMs?: number;
  now?: () => number;
}

export class UnderlayFilter {
  readonly #nft: NftRunner;
  readonly #refreshMs: number;
  readonly #now: () => number;
  #applied: { script: string; at: number } | undefined;

  constructor(nft: NftRunner, options: UnderlayFilterOptions = {}) {
    this.#nft = nft;
    this.#refreshMs = options.refreshMs ?? 5000;
    this.#now = options.now ?? Date.now;
  }

  /** Brings the table to (port, nodes); true when a transaction ran. */
  async sync(port: number, nodes: KnownNodes): Promise<boolean> {
    const script = filterScript(port, nodes);
    const now = this.#now();
    if (this.#applied && this.#applied.script === script && now - this.#applied.at < this.#refreshMs) return false;
    try {
      await this.#nft.apply(script);
    } catch (err) {
      this.#applied = undefined;
      throw err;
    }
    this.#applied = { script, at: now };
    return true;
  }

  /** Packets dropped for coming from an address that is no node's (undefined: no table). */
  async strangersDropped(): Promise<number | undefined> {
    const json = (await this.#nft.listJson(`list counter inet ${FILTER_TABLE} ${STRANGERS_COUNTER}`)) as
      | { nftables?: Array<{ counter?: { packets?: number } }> }
      | undefined;
    return json?.nftables?.find((o) => o.counter)?.counter?.packets;
  }

  async remove(): Promise<void> {
    this.#applied = undefined;
    await this.#nft.apply(`add table inet ${FILTER_TABLE}\ndelete table inet ${FILTER_TABLE}\n`);
  }
}
