// What single nftables transactions cost on this kernel, to explain the ipMasq numbers: one
// `nft -f -` process per transaction (as podnet runs it), in a fresh node netns, each kind of
// change timed alone. A table shaped like podnet's masquerade table (hash set of pod addresses,
// interval set of exempt ranges, a nat base chain) is declared first; it is this benchmark's own
// script, not podnet's code. Some commits wait for the kernel (an RCU grace period) before they
// return; those show up as wall time far above the nft process's few milliseconds of CPU.
import type { Lab } from '@podnet/lab';
import { summarize } from './stats.js';
import { Runner } from './runner-client.js';

const T = 'inet pnt_bn_costs';
const SETUP = [
  `add table ${T}`,
  `add set ${T} pods4 { type ipv4_addr; }`,
  `add set ${T} nomasq4 { type ipv4_addr; flags interval; auto-merge; }`,
  `add chain ${T} postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
  `add rule ${T} postrouting ip saddr @pods4 ip daddr != @nomasq4 masquerade`,
  `add element ${T} nomasq4 { 10.99.0.0/16 }`,
].join('\n');

/** Each kind of transaction as a function of the iteration (fresh addresses where it matters). */
const KINDS: ReadonlyArray<[label: string, script: (i: number) => string]> = [
  ['add table (exists: no-op)', () => `add table ${T}`],
  ['add element to a hash set', (i) => `add element ${T} pods4 { 10.99.1.${i + 1} comment "c${i}/eth0" }`],
  ['delete that element', (i) => `delete element ${T} pods4 { 10.99.1.${i + 1} }`],
  ['add element to the interval set (already covered)', () => `add element ${T} nomasq4 { 10.99.0.0/16 }`],
  ['re-declare the nat base chain (exists)', () => `add chain ${T} postrouting { type nat hook postrouting priority srcnat; policy accept; }`],
  ['flush the chain + add its rule again', () => `flush chain ${T} postrouting\nadd rule ${T} postrouting ip saddr @pods4 ip daddr != @nomasq4 masquerade`],
];

const ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

export async function nftCosts(lab: Lab, rounds: number): Promise<string[]> {
  const node = await lab.addNode('nft-node');
  const runner = await Runner.start(node.netns.path);
  try {
    const apply = async (script: string): Promise<number> => {
      const t = (await runner.run([{ file: 'nft', args: ['-f', '-'], env: ENV, stdin: `${script}\n` }])).results[0];
      if (!t || t.code !== 0) throw new Error(`nft -f failed: ${t?.stderr.trim()}\nscript:\n${script}`);
      return t.ms;
    };
    await apply(SETUP);
    const samples = new Map<string, number[]>(KINDS.map(([label]) => [label, []]));
    // Interleaved, so a slow moment of the machine spreads over every kind.
    for (let i = 0; i < rounds; i++) {
      for (const [label, script] of KINDS) samples.get(label)?.push(await apply(script(i)));
    }
    const list = [];
    for (let i = 0; i < rounds; i++) {
      const t = (await runner.run([{ file: 'nft', args: ['-j', 'list', 'table', ...T.split(' ')], env: ENV, stdin: '' }])).results[0];
      if (t) list.push(t.ms);
    }
    const lines = [`nft transaction costs, one \`nft -f -\` process each, in an empty node netns (median / p90 of ${rounds}):`];
    for (const [label] of KINDS) {
      const s = summarize(samples.get(label) ?? []);
      lines.push(`  ${label.padEnd(52)} ${s.median.toFixed(1).padStart(5)} / ${s.p90.toFixed(1).padStart(5)} ms`);
    }
    const l = summarize(list);
    lines.push(`  ${'nft -j list table'.padEnd(52)} ${l.median.toFixed(1).padStart(5)} / ${l.p90.toFixed(1).padStart(5)} ms`);
    return lines;
  } finally {
    await runner.stop();
  }
}
