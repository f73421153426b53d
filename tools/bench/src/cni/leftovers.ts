// What must be gone from a node after every pod was DELeted: host veths, iptables chains the
// reference made (`CNI-*` in nat, and POSTROUTING jumps to them), nft elements or rules naming a
// pod address, and host-local's per-address files. The node netns itself (bridge, nft tables,
// iptables tables) is deleted at the end; these checks prove each plugin's DEL did its part.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { list, parseStoreLocation } from '@podnet/core/ipam';
import { mentionsAddress, nftRuleset, run, type LabNode } from '@podnet/lab';

/** Everything a DEL should have removed that is still there, one line each. */
export interface LeftoverScope {
  /** Every address the ADDs of this side handed out. */
  addresses: Iterable<string>;
  /** host-local: `<dataDir>/<network>`, one file per allocation. */
  hostLocalDir?: string;
  /** podnet-ipam: the store, read through `@podnet/core/ipam` (its public entry). */
  podnetStore?: { dataDir: string; network: string };
}

export async function leftovers(node: LabNode, opts: LeftoverScope): Promise<string[]> {
  const found: string[] = [];
  const veths = await node.netns.execOk('ip', ['-j', 'link', 'show', 'type', 'veth']);
  for (const l of JSON.parse(veths.trim() || '[]') as Array<{ ifname: string }>) found.push(`host veth ${l.ifname}`);

  // iptables-nft also shows in the nft ruleset; `iptables -S` is read too for its own view.
  const ipt = await node.netns.exec('iptables', ['-w', '-t', 'nat', '-S']);
  if (ipt.code !== 0) throw new Error(`iptables -t nat -S in ${node.netns.name} failed: ${ipt.stderr.trim()}`);
  for (const line of ipt.stdout.split('\n')) {
    if (/\bCNI-/.test(line)) found.push(`iptables nat: ${line.trim()}`);
  }
  const ruleset = await nftRuleset(node.netns);
  const addrs = [...opts.addresses].map((a) => a.split('/')[0] ?? a);
  for (const a of addrs) {
    if (mentionsAddress(ruleset, a)) found.push(`nft ruleset names pod address ${a}`);
  }

  if (opts.hostLocalDir) {
    let files: string[] = [];
    try {
      files = await readdir(opts.hostLocalDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // host-local keeps `lock` and `last_reserved_ip.<n>`; every other file is an allocation.
    for (const f of files) {
      if (f !== 'lock' && !f.startsWith('last_reserved_ip.')) found.push(`host-local allocation ${path.join(opts.hostLocalDir, f)}`);
    }
  }
  if (opts.podnetStore) {
    const { dataDir, network } = opts.podnetStore;
    const entries = await list(parseStoreLocation({ name: network, ipam: { type: 'podnet-ipam', dataDir } }));
    for (const e of entries) found.push(`podnet-ipam allocation ${e.address} (${e.owner.containerId.slice(0, 12)}/${e.owner.ifname})`);
  }
  return found;
}

/** The reference's nat chains (`CNI-…`) right now: to show what one ipMasq ADD made. */
export async function iptablesCniChains(node: LabNode): Promise<string[]> {
  const r = await run('ip', ['netns', 'exec', node.netns.name, 'iptables', '-w', '-t', 'nat', '-S']);
  return r.stdout.split('\n').filter((l) => l.startsWith('-N CNI-'));
}
