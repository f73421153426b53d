// The node-wide host-port table, on the pattern of the bridge's masquerade table: constant rules,
// one element per (mapping, family), each commented with its owner; one `nft -f -` transaction
// per call.
//
//   table inet podnet_hostports {                                   comment "podnet host ports"
//     set claims4 { type ipv4_addr . inet_proto . inet_service }     hostIP (0.0.0.0 = any) . proto . port
//     set claims6 { type ipv6_addr . inet_proto . inet_service }     the node-wide reservation: `create
//                                                                    element` fails on a taken one
//     set owners4/6 { claim key . mark . mark }                      claim key . the owner's digest:
//                                                                    DEL deletes by key, and this
//                                                                    element makes the kernel check
//                                                                    the owner (ENOENT aborts)
//     set hairpin4/6 { flags interval; auto-merge }                  pod subnets (+ 127.0.0.0/8)
//     set hp_<digest(subnets)> { type mark }                         stamp: those subnets are in
//     per profile P (profile.ts):
//       map P_ip4  { ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service }  hostIP mappings
//       map P_any4 { inet_proto . inet_service : ipv4_addr . inet_service }              any-address
//       map P_ip6, P_any6                                                                 the same, IPv6
//       chain P_pre  { nat prerouting dstnat;  fib daddr type local jump P_dnat }
//       chain P_out  { nat output -100;        fib daddr type local jump P_dnat }
//       chain P_dnat {
//         [snat] meta nfproto ipv4 <conds> ip saddr @hairpin4 ip daddr . meta l4proto . th dport @P_ip4 meta mark set mark | M
//         [snat] meta nfproto ipv4 <conds> ip saddr @hairpin4 meta l4proto . th dport @P_any4 meta mark set mark | M
//         meta nfproto ipv4 <conds> dnat ip to ip daddr . meta l4proto . th dport map @P_ip4
//         meta nfproto ipv4 <conds> dnat ip to meta l4proto . th dport map @P_any4
//         … the same for ip6 }
//       chain P_post { nat postrouting srcnat; meta mark & M == M masquerade }          [snat]
//   }
//
// Why this shape:
// - `fib daddr type local` in front of every DNAT: a mapping only catches traffic addressed to
//   this node, so a hostIP of another machine (reference #1209: 1.1.1.1:53) is inert.
// - Claims make a host port exclusive on the node: the second pod's `create element` fails, and
//   ADD names the holder from the element's comment instead of last-write-wins.
// - Hairpin is the pod's whole subnet (as the reference's iptables flavour, not its nft one), and
//   127.0.0.0/8 (the node's own 127.0.0.1 with route_localnet on the pod-facing device only); only
//   connections that hit a host-port map get the mark, never other DNATs (kube-proxy's).
// - The steady-state ADD adds elements only (~ the nft process); declarations, interval-set
//   changes and chain refills, which make the kernel's commit wait, happen on the first ADD of a
//   profile or subnet, and the stamp set tells which case this is (masquerade.ts, same idea).
import { CniError, ErrorCode } from '@podnet/core/cni';
import type { NftRunner } from './nft.js';
import { describeHolder, parseComment } from './owner.js';
import type { Element, HostPortPlan } from './plan.js';
import type { Profile } from './profile.js';
import { fnv1a64 } from './owner.js';

export const HOSTPORT_TABLE = 'podnet_hostports';
const T = `inet ${HOSTPORT_TABLE}`;
const HAIRPIN_LAYOUT = 'podnet-hostports-hairpin-v1';

/** What `nft -j list table` shows of the table. */
export interface TableState {
  elements: Element[];
  /** Chain name → number of rules. */
  chains: Map<string, number>;
  /** Set and map names. */
  sets: Set<string>;
}

export function hairpinStamp(plan: Pick<HostPortPlan, 'hairpin4' | 'hairpin6'>): string | undefined {
  if (plan.hairpin4.length === 0 && plan.hairpin6.length === 0) return undefined;
  return `hp_${fnv1a64([HAIRPIN_LAYOUT, ...plan.hairpin4, ...plan.hairpin6].join('\n'))}`;
}

export function elementText(e: Element): string {
  const comment = e.comment !== undefined ? ` comment "${e.comment}"` : '';
  return e.value !== undefined ? `${e.key}${comment} : ${e.value}` : `${e.key}${comment}`;
}

/** The rules of a profile's chains, in order. */
export function profileRules(name: string, p: Profile): Map<string, string[]> {
  const mark = `0x${((1 << p.markBit) >>> 0).toString(16).padStart(8, '0')}`;
  const dnat: string[] = [];
  for (const f of [4, 6] as const) {
    const ip = f === 4 ? 'ip' : 'ip6';
    const head = [`meta nfproto ipv${f}`, ...(f === 4 ? p.conditionsV4 : p.conditionsV6)].join(' ');
    if (p.snat) {
      const src = p.masqAll ? '' : ` ${ip} saddr @hairpin${f}`;
      dnat.push(`${head}${src} ${ip} daddr . meta l4proto . th dport @${name}_ip${f} meta mark set meta mark | ${mark}`);
      dnat.push(`${head}${src} meta l4proto . th dport @${name}_any${f} meta mark set meta mark | ${mark}`);
    }
    dnat.push(`${head} dnat ${ip} to ${ip} daddr . meta l4proto . th dport map @${name}_ip${f}`);
    dnat.push(`${head} dnat ${ip} to meta l4proto . th dport map @${name}_any${f}`);
  }
  // The jump target first: a script declares in this order.
  const chains = new Map<string, string[]>([
    [`${name}_dnat`, dnat],
    [`${name}_pre`, [`fib daddr type local jump ${name}_dnat`]],
    [`${name}_out`, [`fib daddr type local jump ${name}_dnat`]],
  ]);
  if (p.snat) chains.set(`${name}_post`, [`meta mark & ${mark} == ${mark} masquerade`]);
  return chains;
}

const HOOKS: Record<string, string> = {
  pre: 'type nat hook prerouting priority dstnat; policy accept;',
  out: 'type nat hook output priority -100; policy accept;',
  post: 'type nat hook postrouting priority srcnat; policy accept;',
};

/** Declare the table, the shared sets, and the profile (its chains flushed and refilled). Idempotent. */
export function declareLines(profiles: ReadonlyMap<string, Profile>): string[] {
  const lines = [
    `add table ${T} { comment "podnet host ports"; }`,
    `add set ${T} claims4 { type ipv4_addr . inet_proto . inet_service; }`,
    `add set ${T} claims6 { type ipv6_addr . inet_proto . inet_service; }`,
    `add set ${T} owners4 { type ipv4_addr . inet_proto . inet_service . mark . mark; }`,
    `add set ${T} owners6 { type ipv6_addr . inet_proto . inet_service . mark . mark; }`,
    `add set ${T} hairpin4 { type ipv4_addr; flags interval; auto-merge; }`,
    `add set ${T} hairpin6 { type ipv6_addr; flags interval; auto-merge; }`,
  ];
  for (const [name, p] of profiles) {
    for (const f of [4, 6] as const) {
      const addr = f === 4 ? 'ipv4_addr' : 'ipv6_addr';
      lines.push(
        `add map ${T} ${name}_ip${f} { type ${addr} . inet_proto . inet_service : ${addr} . inet_service; }`,
        `add map ${T} ${name}_any${f} { type inet_proto . inet_service : ${addr} . inet_service; }`,
      );
    }
    for (const [chain, rules] of profileRules(name, p)) {
      const hook = HOOKS[chain.slice(name.length + 1)];
      lines.push(hook ? `add chain ${T} ${chain} { ${hook} }` : `add chain ${T} ${chain}`, `flush chain ${T} ${chain}`);
      for (const rule of rules) lines.push(`add rule ${T} ${chain} ${rule}`);
    }
  }
  return lines;
}

/** The hairpin subnets and their stamp (interval-set changes: the full path only). */
export function hairpinLines(plan: Pick<HostPortPlan, 'hairpin4' | 'hairpin6'>): string[] {
  const stamp = hairpinStamp(plan);
  if (!stamp) return [];
  const lines = [`add element ${T} hairpin4 { 127.0.0.0/8 }`];
  for (const c of plan.hairpin4) lines.push(`add element ${T} hairpin4 { ${c} }`);
  for (const c of plan.hairpin6) lines.push(`add element ${T} hairpin6 { ${c} }`);
  lines.push(`add set ${T} ${stamp} { type mark; }`, `add element ${T} ${stamp} { 0 }`);
  return lines;
}

/**
 * The steady-state ADD: fails as a whole, changing nothing, when the table, the profile or the
 * hairpin stamp is missing, or when a claim or map key exists (taken, or a re-ADD).
 */
export function fastLines(plan: HostPortPlan): string[] {
  const stamp = hairpinStamp(plan);
  // Touching the profile's maps fails when the profile (or the table) does not exist.
  const lines = stamp ? [`add element ${T} ${stamp} { 0 }`] : [];
  for (const e of plan.elements) lines.push(`create element ${T} ${e.set} { ${elementText(e)} }`);
  return lines;
}

/** Idempotent removal of listed elements: `add` (no-op when present) then `delete`. */
export function removeLines(elements: readonly Element[]): string[] {
  const lines: string[] = [];
  for (const e of elements) {
    lines.push(
      `add element ${T} ${e.set} { ${elementText({ set: e.set, key: e.key, ...(e.value !== undefined ? { value: e.value } : {}) })} }`,
      `delete element ${T} ${e.set} { ${e.key} }`,
    );
  }
  return lines;
}

/**
 * DEL from the attachment's record, without listing: plain `delete element`s, so the transaction
 * fails as a whole (ENOENT) when any element is gone — and the owner set's element (claim key .
 * owner digest) exists only while this attachment holds the claim, so a key another pod holds
 * now is never deleted. The caller falls back to listing by comment when it fails.
 */
export function recordRemovalLines(elements: readonly Element[]): string[] {
  return elements.map((e) => `delete element ${T} ${e.set} { ${e.key} }`);
}

/** `delete table` that succeeds when the table is gone. */
export function dropTableLines(): string[] {
  return [`add table ${T}`, `delete table ${T}`];
}

export class HostPortTable {
  constructor(readonly nft: NftRunner) {}

  async list(): Promise<TableState | undefined> {
    const json = await this.nft.listJson(`list table ${T}`);
    return json === undefined ? undefined : parseTable(json);
  }

  /**
   * The full ADD transaction: declarations, hairpin subnets, then for each element either
   * replace ours or `create` a free one. A claim held by another attachment is code 7 naming it.
   * `state` is a fresh listing (undefined: the table does not exist).
   */
  fullLines(plan: HostPortPlan, state: TableState | undefined): string[] {
    const ours = (e: Element): boolean => parseComment(e.comment)?.attachment === parseComment(plan.comment)?.attachment;
    if (state) assertFree(plan, state);
    const lines = [...declareLines(new Map([[plan.profileName, plan.profile]])), ...hairpinLines(plan)];
    // Everything this attachment held before (a re-ADD, maybe with other mappings or a renamed
    // network) goes in the same transaction.
    if (state) lines.push(...removeLines(state.elements.filter(ours)));
    for (const e of plan.elements) lines.push(`create element ${T} ${e.set} { ${elementText(e)} }`);
    return lines;
  }

  /** Standalone ADD (no masquerade transaction to share): fast, else full. */
  async add(plan: HostPortPlan): Promise<void> {
    if (plan.elements.length === 0) return;
    await applyAdd(this, plan, [], async () => []);
  }

  /** The elements of one attachment (any network: DEL after a rename), from a listing. */
  async ownedBy(attachment: string): Promise<Element[]> {
    const state = await this.list();
    return state ? state.elements.filter((e) => parseComment(e.comment)?.attachment === attachment) : [];
  }
}

/**
 * ADD with elements only when possible: `fast` (caller's lines, e.g. masquerade) + our fast lines;
 * when that fails, `full()` + our full lines, with a fresh listing for conflicts. A race lost to
 * another ADD between listing and commit is reported as the conflict it is.
 */
export async function applyAdd(
  table: HostPortTable,
  plan: HostPortPlan,
  fast: readonly string[],
  full: () => Promise<readonly string[]>,
  /** The attachment may hold elements already (a re-ADD): only the full path replaces them. */
  maybeHeld = false,
): Promise<void> {
  if (!maybeHeld) {
    try {
      await table.nft.apply([...fast, ...fastLines(plan)].join('\n') + '\n');
      return;
    } catch {
      // Missing table, profile or stamp, or a taken key: the full transaction sorts it out.
    }
  }
  const state = await table.list();
  const script = [...(await full()), ...table.fullLines(plan, state)].join('\n') + '\n';
  try {
    await table.nft.apply(script);
  } catch (err) {
    const now = await table.list().catch(() => undefined);
    if (now) assertFree(plan, now);
    throw err;
  }
}

/** Code 7 naming the holder when another attachment holds one of the plan's claims. */
export function assertFree(plan: HostPortPlan, state: TableState): void {
  const mine = parseComment(plan.comment)?.attachment;
  const held = new Map(state.elements.filter((e) => e.set.startsWith('claims')).map((e) => [`${e.set} ${e.key}`, e]));
  for (const e of plan.elements) {
    if (!e.set.startsWith('claims')) continue;
    const holder = held.get(`${e.set} ${e.key}`);
    if (!holder || parseComment(holder.comment)?.attachment === mine) continue;
    const [addr, proto, port] = e.key.split(' . ') as [string, string, string];
    const where = addr === '0.0.0.0' || addr === '::' ? `every IPv${e.set.endsWith('4') ? 4 : 6} address` : addr;
    throw new CniError(
      ErrorCode.InvalidConfig,
      `host port ${proto}/${port} on ${where} is already taken by ${describeHolder(holder.comment)}`,
      'a host port (host IP, protocol, port) forwards to one pod per node; remove that pod (or its leftover: CNI DEL/GC) or choose another hostPort',
    );
  }
}

// ---- JSON listing → elements ------------------------------------------------------------------

function textOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (v && typeof v === 'object') {
    const concat = (v as { concat?: unknown[] }).concat;
    if (Array.isArray(concat)) {
      const parts = concat.map(textOf);
      return parts.every((p) => p !== undefined) ? parts.join(' . ') : undefined;
    }
    const prefix = (v as { prefix?: { addr?: unknown; len?: unknown } }).prefix;
    if (prefix) return `${textOf(prefix.addr)}/${textOf(prefix.len)}`;
  }
  return undefined;
}

export function parseTable(json: unknown): TableState {
  const state: TableState = { elements: [], chains: new Map(), sets: new Set() };
  for (const item of (json as { nftables?: unknown[] }).nftables ?? []) {
    const obj = item as { set?: NftSet; map?: NftSet; chain?: { name?: string }; rule?: { chain?: string } };
    if (obj.chain?.name) state.chains.set(obj.chain.name, state.chains.get(obj.chain.name) ?? 0);
    if (obj.rule?.chain) state.chains.set(obj.rule.chain, (state.chains.get(obj.rule.chain) ?? 0) + 1);
    const set = obj.set ?? obj.map;
    if (!set?.name) continue;
    state.sets.add(set.name);
    if (!set.name.startsWith('claims') && !set.name.startsWith('owners') && !obj.map) continue;
    for (const raw of set.elem ?? []) {
      // Set element: value or {elem: {val, comment}}; map element: [that, data].
      const [keyPart, data] = obj.map && Array.isArray(raw) ? [raw[0], raw[1]] : [raw, undefined];
      const wrapped = (keyPart as { elem?: { val?: unknown; comment?: unknown } } | undefined)?.elem;
      const key = textOf(wrapped ? wrapped.val : keyPart);
      if (key === undefined) continue;
      const value = data === undefined ? undefined : textOf(data);
      const comment = typeof wrapped?.comment === 'string' ? wrapped.comment : undefined;
      state.elements.push({ set: set.name, key, ...(value !== undefined ? { value } : {}), ...(comment !== undefined ? { comment } : {}) });
    }
  }
  return state;
}

interface NftSet {
  name?: string;
  elem?: unknown[];
}
