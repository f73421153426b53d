// The node's NAT and forward rules, as flannel sets them, in nftables: one table per family
// (`ip podnet`, `ip6 podnet`), each replaced whole in one `nft -f -` transaction.
//
//   table ip podnet {                                       every rule: comment "podnetd <hash>"
//     chain postrouting { type nat hook postrouting priority srcnat; policy accept;
//       meta mark & 0x4000 == 0x4000 return                  kube-proxy marked it: it masquerades
//       ip saddr <cluster> ip daddr <cluster> return           pod ↔ pod: never NAT
//       ip saddr <cluster> ip daddr 224.0.0.0/4 return         multicast stays as it is
//       ip saddr <cluster> masquerade fully-random }           pod → outside the cluster
//     chain forward { type filter hook forward priority filter - 1; policy accept;
//       ip saddr <cluster> accept
//       ip daddr <cluster> accept } }
//
// Node → pod is never NAT'd: its source is outside the cluster network, so no rule matches.
// (flannel also masquerades non-cluster sources towards remote pods; host-gw and VXLAN route
// node addresses back, so podnet keeps the node's own address, as the lab matrix checks.)
// The forward chain only accepts; a DROP policy in another base chain of the forward hook
// (iptables' FORWARD) still applies after it — forward-accept.ts handles that one.
// Every rule's comment carries a hash of the rule set, so the periodic check (one `nft -j list`)
// sees a missing table, a changed rule set or a flushed chain and re-applies.
import { createHash } from 'node:crypto';
import { parseCidr } from '@podnet/core/netlink';
import type { NftRunner } from '@podnet/backend-bridge';

export const NFT_TABLE = 'podnet';

export interface ClusterNetworks {
  ipv4?: string;
  ipv6?: string;
}

export interface NatRulesOptions {
  /** Masquerade pod → outside (default true); false leaves only the forward chain. */
  masquerade: boolean;
}

interface FamilyTable {
  family: 'ip' | 'ip6';
  script: string;
  comment: string;
  /** Rules per chain, what the periodic check compares. */
  rules: Record<string, number>;
}

function canonical(cidr: string, family: 4 | 6): string {
  const c = parseCidr(cidr);
  if (c.family !== family) throw new Error(`cluster network ${cidr} is not IPv${family}`);
  return `${c.address}/${c.prefixLength}`;
}

/** The table of one family (pure: the text nft gets). */
export function familyTable(family: 4 | 6, network: string, options: NatRulesOptions): FamilyTable {
  const nf = family === 4 ? 'ip' : 'ip6';
  const net = canonical(network, family);
  const multicast = family === 4 ? '224.0.0.0/4' : 'ff00::/8';
  const chains: Array<{ name: string; head: string; rules: string[] }> = [];
  if (options.masquerade) {
    chains.push({
      name: 'postrouting',
      head: 'type nat hook postrouting priority srcnat; policy accept;',
      rules: [
        'meta mark & 0x00004000 == 0x00004000 return',
        `${nf} saddr ${net} ${nf} daddr ${net} return`,
        `${nf} saddr ${net} ${nf} daddr ${multicast} return`,
        `${nf} saddr ${net} masquerade fully-random`,
      ],
    });
  }
  chains.push({
    name: 'forward',
    head: 'type filter hook forward priority filter - 1; policy accept;',
    rules: [`${nf} saddr ${net} accept`, `${nf} daddr ${net} accept`],
  });
  const rules = Object.fromEntries(chains.map((c) => [c.name, c.rules.length]));
  // Every rule carries the hash of the whole rule set (nft's JSON listing shows rule comments,
  // not table comments in 1.0.6), so one listing tells a changed or partly deleted set apart.
  const comment = `podnetd ${createHash('sha256')
    .update(JSON.stringify([nf, chains]))
    .digest('hex')
    .slice(0, 16)}`;
  const body = chains.map((c) => `  chain ${c.name} {\n    ${c.head}\n${c.rules.map((r) => `    ${r} comment "${comment}"\n`).join('')}  }`).join('\n');
  // `add` + `delete` + the full table: one transaction that replaces whatever was there.
  const script = `add table ${nf} ${NFT_TABLE}\ndelete table ${nf} ${NFT_TABLE}\ntable ${nf} ${NFT_TABLE} {\n  comment "podnetd: masquerade and forward rules for the cluster network"\n${body}\n}\n`;
  return { family: nf, script, comment, rules };
}

export function desiredTables(networks: ClusterNetworks, options: NatRulesOptions): FamilyTable[] {
  const out: FamilyTable[] = [];
  if (networks.ipv4 !== undefined) out.push(familyTable(4, networks.ipv4, options));
  if (networks.ipv6 !== undefined) out.push(familyTable(6, networks.ipv6, options));
  return out;
}

/** Does the kernel's table match (comment and rule counts)? */
async function matches(nft: NftRunner, t: FamilyTable): Promise<boolean> {
  const json = await nft.listJson(`list table ${t.family} ${NFT_TABLE}`);
  if (json === undefined) return false;
  const items = (json as { nftables?: unknown[] }).nftables ?? [];
  const counts: Record<string, number> = {};
  const chains = new Set<string>();
  for (const item of items) {
    const o = item as { chain?: { name?: string }; rule?: { chain?: string; comment?: unknown } };
    if (o.chain?.name) chains.add(o.chain.name);
    if (o.rule?.chain) {
      if (o.rule.comment !== t.comment) return false;
      counts[o.rule.chain] = (counts[o.rule.chain] ?? 0) + 1;
    }
  }
  if (chains.size !== Object.keys(t.rules).length) return false;
  return Object.entries(t.rules).every(([chain, n]) => counts[chain] === n);
}

export class NatRules {
  constructor(
    private readonly nft: NftRunner,
    private readonly options: NatRulesOptions,
  ) {}

  /** Replace each family's table (one transaction per family); drops a family no longer used. */
  async apply(networks: ClusterNetworks): Promise<void> {
    const tables = desiredTables(networks, this.options);
    for (const t of tables) await this.nft.apply(t.script);
    const used = new Set(tables.map((t) => t.family));
    for (const family of ['ip', 'ip6'] as const) if (!used.has(family)) await removeTable(this.nft, family);
  }

  /** Re-apply the tables that drifted; returns the families repaired. */
  async repair(networks: ClusterNetworks): Promise<string[]> {
    const repaired: string[] = [];
    for (const t of desiredTables(networks, this.options)) {
      if (await matches(this.nft, t)) continue;
      await this.nft.apply(t.script);
      repaired.push(t.family);
    }
    return repaired;
  }
}

async function removeTable(nft: NftRunner, family: 'ip' | 'ip6'): Promise<void> {
  await nft.apply(`add table ${family} ${NFT_TABLE}\ndelete table ${family} ${NFT_TABLE}\n`);
}

/** Teardown: both families' tables; succeeds when they do not exist. */
export async function removeNatRules(nft: NftRunner): Promise<void> {
  await removeTable(nft, 'ip');
  await removeTable(nft, 'ip6');
}
