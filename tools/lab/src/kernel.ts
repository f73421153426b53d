// Kernel state of a namespace as iproute2 and nft report it (`-j` JSON). Independent of the
// code under test on purpose: the lab checks podnet's netlink work with the standard tools.
import type { Netns } from './netns.js';
import { runOk } from './exec.js';

/** The fields of `ip -d -j link show` the lab uses. */
export interface KernelLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate: string;
  link_type: string;
  address?: string;
  master?: string;
  /** The peer's name for a veth whose peer is in the same namespace. */
  link?: string;
  /** Set when the peer lives in another namespace. */
  link_netnsid?: number;
  promiscuity?: number;
  linkinfo?: {
    info_kind?: string;
    info_slave_kind?: string;
    info_data?: Record<string, unknown>;
    info_slave_data?: Record<string, unknown>;
  };
}

export interface KernelAddress {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  scope: string;
  /** IPv6: duplicate address detection still running; the address cannot be used yet. */
  tentative?: boolean;
}

export interface KernelRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  table?: string;
  type?: string;
  prefsrc?: string;
  metric?: number;
  flags?: string[];
}

function ipJson<T>(ns: Netns, args: readonly string[]): Promise<T> {
  return runOk('ip', ['-j', '-n', ns.name, ...args]).then((out) => (out.trim() ? (JSON.parse(out) as T) : ([] as T)));
}

export function links(ns: Netns): Promise<KernelLink[]> {
  return ipJson(ns, ['-d', 'link', 'show']);
}

export async function link(ns: Netns, name: string): Promise<KernelLink | undefined> {
  return (await links(ns)).find((l) => l.ifname === name);
}

/** Addresses by link name (links without addresses are left out). */
export async function addresses(ns: Netns): Promise<Map<string, KernelAddress[]>> {
  const rows = await ipJson<Array<{ ifname: string; addr_info?: KernelAddress[] }>>(ns, ['addr', 'show']);
  return new Map(rows.filter((r) => r.addr_info?.length).map((r) => [r.ifname, r.addr_info ?? []]));
}

/** Routes of one family in the main table (what a pod's default route and subnet route live in). */
export function routes(ns: Netns, family: 4 | 6 = 4): Promise<KernelRoute[]> {
  return ipJson(ns, [`-${family}`, 'route', 'show']);
}

/** The nftables tables of the namespace, e.g. `[{ family: 'inet', name: 'podnet' }]`. */
export async function nftTables(ns: Netns): Promise<Array<{ family: string; name: string }>> {
  const out = await ns.execOk('nft', ['-j', 'list', 'tables']);
  const doc = JSON.parse(out) as { nftables: Array<{ table?: { family: string; name: string } }> };
  return doc.nftables.flatMap((e) => (e.table ? [{ family: e.table.family, name: e.table.name }] : []));
}

/** The whole ruleset as text (`nft list ruleset`), for diagnostics and "nothing left" checks. */
export function nftRuleset(ns: Netns): Promise<string> {
  return ns.execOk('nft', ['list', 'ruleset']);
}

/** Reads a sysctl inside the namespace through /proc (never /sys/class/net: see DESIGN.md). */
export async function sysctl(ns: Netns, key: string): Promise<string> {
  return (await ns.execOk('cat', [`/proc/sys/${key.replaceAll('.', '/')}`])).trim();
}

/** True when `text` (e.g. an nft ruleset) names `ip` as a whole address (10.0.0.5 is not in 10.0.0.50). */
export function mentionsAddress(text: string, ip: string): boolean {
  const escaped = ip.replace(/[.]/g, '\\.');
  return new RegExp(`(^|[^0-9a-f:.])${escaped}($|[^0-9a-f:.])`, 'i').test(text);
}
