// Forward accept in iptables' FORWARD chain, for hosts whose FORWARD policy is DROP (Docker sets
// that). Why not only nftables: an `accept` in one nftables base chain ends that chain only; the
// packet still walks every later base chain on the forward hook, and iptables' FORWARD (a base
// chain of table `ip filter`, whether iptables-nft or legacy) then drops it by policy. A DROP
// policy can only be passed by a rule in that same chain, so podnetd appends two rules there
// (source / destination in the cluster network, with a comment naming podnet), as flannel does —
// and only when the policy is DROP, so a host without such a policy keeps a pristine FORWARD chain.
// Found through the `iptables` / `ip6tables` binaries (whichever backend the host uses).
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { runProcess } from '@podnet/core/process';
import { parseCidr } from '@podnet/core/netlink';
import type { ClusterNetworks } from './masquerade.js';

export const FORWARD_COMMENT = 'podnet: forward the cluster network';

const DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin', '/usr/local/sbin'];

function findBinary(name: string): string | undefined {
  for (const dir of DIRS) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // next
    }
  }
  return undefined;
}

interface Tool {
  binary: string;
  network: string;
}

function tools(networks: ClusterNetworks): Tool[] {
  const out: Tool[] = [];
  const v4 = findBinary('iptables');
  const v6 = findBinary('ip6tables');
  if (networks.ipv4 !== undefined && v4) out.push({ binary: v4, network: canonical(networks.ipv4) });
  if (networks.ipv6 !== undefined && v6) out.push({ binary: v6, network: canonical(networks.ipv6) });
  return out;
}

function canonical(cidr: string): string {
  const c = parseCidr(cidr);
  return `${c.address}/${c.prefixLength}`;
}

const ruleArgs = (network: string): string[][] => [
  ['-s', network, '-m', 'comment', '--comment', FORWARD_COMMENT, '-j', 'ACCEPT'],
  ['-d', network, '-m', 'comment', '--comment', FORWARD_COMMENT, '-j', 'ACCEPT'],
];

async function iptables(binary: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runProcess(binary, { args: ['-w', '5', ...args] });
}

/** Our rules as `iptables -S` prints them (the comment quoted). */
function printed(network: string): string[] {
  return ruleArgs(network).map((a) => `-A FORWARD ${a.map((x) => (x === FORWARD_COMMENT ? `"${x}"` : x)).join(' ')}`);
}

/**
 * Make sure the FORWARD chain passes the cluster network when its policy is DROP. Returns the
 * binaries it added rules with. A host without iptables (or without a filter table) is left alone.
 */
export async function ensureForwardAccept(networks: ClusterNetworks): Promise<string[]> {
  const changed: string[] = [];
  for (const { binary, network } of tools(networks)) {
    const list = await iptables(binary, ['-S', 'FORWARD']);
    if (list.code !== 0) continue; // no filter table / no FORWARD chain: nothing drops by policy
    const lines = list.stdout.split('\n').map((l) => l.trim());
    if (!lines.includes('-P FORWARD DROP')) continue;
    const want = printed(network);
    for (const [i, args] of ruleArgs(network).entries()) {
      if (lines.includes(want[i] as string)) continue;
      const r = await iptables(binary, ['-A', 'FORWARD', ...args]);
      if (r.code !== 0) throw new Error(`${binary} -A FORWARD ${args.join(' ')}: ${r.stderr.trim()}`);
      changed.push(binary);
    }
  }
  return changed;
}

/** Split an `iptables -S` line into arguments (double quotes group, as iptables prints them). */
function splitRule(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? (m[2] as string));
}

/** Teardown: delete every FORWARD rule carrying our comment, whatever network it names. */
export async function removeForwardAccept(): Promise<number> {
  let removed = 0;
  for (const name of ['iptables', 'ip6tables']) {
    const binary = findBinary(name);
    if (!binary) continue;
    const list = await iptables(binary, ['-S', 'FORWARD']);
    if (list.code !== 0) continue;
    for (const line of list.stdout.split('\n')) {
      if (!line.startsWith('-A FORWARD ') || !line.includes(FORWARD_COMMENT)) continue;
      const args = splitRule(line);
      args[0] = '-D';
      const r = await iptables(binary, args);
      if (r.code !== 0) throw new Error(`${binary} ${args.join(' ')}: ${r.stderr.trim()}`);
      removed++;
    }
  }
  return removed;
}
