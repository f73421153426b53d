// Host-port benchmark (issue 10): ADD and DEL of a pod with two port mappings (tcp + udp), side
// by side in one run, as a runtime sees it:
//   - built in:  podnet-bridge (portMappings capability, one process)  vs  the reference chain
//     bridge + host-local + portmap (Go 1.1.1; the chain's time = the sum of its calls, DEL in
//     reverse order as libcni runs it). Target ≤ 0.5×.
//   - chained:   podnet-portmap alone  vs  the reference portmap alone, each after the reference
//     bridge + host-local (only the portmap call is timed). Target ≤ 0.5×.
// Each side has its own node netns (pnp-bh-…); the calls are spawned by a runner already inside
// it (../cni/runner.ts), so no nsenter is timed. Prints medians, p90 and ratios.
//
//   cd tools/bench && bun --conditions=@podnet/source run src/hostport/main.ts [--pods N] [--ip-masq]
import { statSync } from 'node:fs';
import { chmod, copyFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { executable, Lab, sweepNetns, type LabNode, type LabPod } from '@podnet/lab';
import { Runner } from '../cni/runner-client.js';
import type { CallTiming } from '../cni/protocol.js';
import { summarize } from '../cni/stats.js';
import { formatTable, verdicts, type Row } from '../cni/table.js';

const PREFIX = 'pnp-bh-';
const REF = '/usr/lib/cni';
const SUBNET = '10.244.0.0/16';

interface Side {
  node: LabNode;
  runner: Runner;
  pods: LabPod[];
  dataDir: string;
  /** podnet-bridge built in / reference bridge + reference portmap / reference bridge + podnet-portmap. */
  kind: 'builtin' | 'reference' | 'podnet-portmap';
}

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} needs a positive integer`);
  return v;
}

/** Unique per side: the host-port records are per attachment on the machine, not per node. */
const containerId = (side: Side, i: number, round: number): string =>
  `${['builtin', 'reference', 'podnet-portmap'].indexOf(side.kind)}${round.toString(16).padStart(3, '0')}${i.toString(16).padStart(4, '0')}`.padEnd(64, 'b');

const mappings = (i: number) => [
  { hostPort: 20000 + 2 * i, containerPort: 80, protocol: 'tcp', hostIP: '' },
  { hostPort: 20001 + 2 * i, containerPort: 53, protocol: 'udp', hostIP: '' },
];

async function main(): Promise<void> {
  const pods = arg('pods', 40);
  // With --ip-masq both bridges masquerade (the usual Kubernetes conflist): podnet's host ports
  // then share the masquerade's nft transaction, the reference bridge adds its iptables chain.
  const ipMasq = process.argv.includes('--ip-masq');
  await sweepNetns(PREFIX);
  const lab = new Lab({ prefix: PREFIX });
  const recordDirs: string[] = [];
  const stop = (): void => void lab.destroy().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  try {
    // Private copies: a build elsewhere must not swap the executables mid-run.
    const bin = await lab.tempDir('bin');
    for (const name of ['podnet-bridge', 'podnet-portmap']) {
      await copyFile(executable(name), path.join(bin, name));
      await chmod(path.join(bin, name), 0o755);
    }
    const network = `${lab.id}-net`;
    const bridge = lab.linkName('br');
    const sides: Side[] = [];
    const track = (node: LabNode): void => void recordDirs.push(`/run/podnet/hostports/netns-${statSync(node.netns.path).ino}`);
    for (const kind of ['builtin', 'reference', 'podnet-portmap'] as const) {
      const node = await lab.addNode(`${kind.slice(0, 2)}-node`);
      track(node);
      const list: LabPod[] = [];
      for (let i = 0; i < pods; i++) list.push(await lab.addPod(node, `${kind.slice(0, 2)}${i}`));
      sides.push({ node, runner: await Runner.start(node.netns.path), pods: list, dataDir: await lab.tempDir(`${kind}-ipam`), kind });
    }

    const env = (side: Side, pod: LabPod, command: string, containerId: string): Record<string, string> => ({
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      CNI_CONTAINERID: containerId,
      CNI_NETNS: pod.netns.path,
      CNI_IFNAME: 'eth0',
      CNI_PATH: side.kind === 'builtin' ? bin : `${bin}:${REF}`,
    });
    const bridgeConf = (side: Side, i: number): Record<string, unknown> =>
      side.kind === 'builtin'
        ? {
            cniVersion: '1.0.0',
            name: network,
            type: 'podnet-bridge',
            bridge,
            isGateway: true,
            isDefaultGateway: true,
            ipMasq,
            capabilities: { portMappings: true },
            runtimeConfig: { portMappings: mappings(i) },
            ipam: { type: 'podnet-ipam', ranges: [[{ subnet: SUBNET }]], dataDir: side.dataDir },
          }
        : {
            cniVersion: '1.0.0',
            name: network,
            type: 'bridge',
            bridge,
            isGateway: true,
            isDefaultGateway: true,
            hairpinMode: true,
            ipMasq,
            ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET }]], dataDir: side.dataDir },
          };
    const portmapConf = (side: Side, i: number, prevResult: unknown): Record<string, unknown> => ({
      cniVersion: '1.0.0',
      name: network,
      type: side.kind === 'reference' ? 'portmap' : 'podnet-portmap',
      snat: true,
      capabilities: { portMappings: true },
      runtimeConfig: { portMappings: mappings(i) },
      ...(prevResult ? { prevResult } : {}),
    });
    const call = async (side: Side, file: string, e: Record<string, string>, stdin: unknown): Promise<CallTiming> => {
      const reply = await side.runner.run([{ file, env: e, stdin: JSON.stringify(stdin) }]);
      const t = reply.results[0]!;
      if (t.code !== 0) throw new Error(`${side.kind} ${e['CNI_COMMAND']} ${path.basename(file)} failed (${t.code}): ${t.stdout}${t.stderr}`);
      return t;
    };
    const portmapFile = (side: Side): string => (side.kind === 'reference' ? path.join(REF, 'portmap') : path.join(bin, 'podnet-portmap'));
    const bridgeFile = (side: Side): string => (side.kind === 'builtin' ? path.join(bin, 'podnet-bridge') : path.join(REF, 'bridge'));

    const samples = new Map<string, number[]>();
    const push = (key: string, v: number): void => void samples.set(key, [...(samples.get(key) ?? []), v]);
    const results = new Map<string, unknown>();

    const addPod = async (side: Side, i: number, round: number, timed: boolean): Promise<void> => {
      const pod = side.pods[i]!;
      const id = containerId(side, i, round);
      const b = await call(side, bridgeFile(side), env(side, pod, 'ADD', id), bridgeConf(side, i));
      let total = b.ms;
      if (side.kind !== 'builtin') {
        const prev = JSON.parse(b.stdout) as unknown;
        results.set(`${side.kind}/${i}`, prev);
        const p = await call(side, portmapFile(side), env(side, pod, 'ADD', id), portmapConf(side, i, prev));
        total += p.ms;
        if (timed) push(`${side.kind} portmap ADD`, p.ms);
      }
      if (timed) push(`${side.kind} ADD`, total);
    };
    const delPod = async (side: Side, i: number, round: number, timed: boolean): Promise<void> => {
      const pod = side.pods[i]!;
      const id = containerId(side, i, round);
      let total = 0;
      if (side.kind !== 'builtin') {
        const prev = results.get(`${side.kind}/${i}`);
        const p = await call(side, portmapFile(side), env(side, pod, 'DEL', id), portmapConf(side, i, prev));
        total += p.ms;
        if (timed) push(`${side.kind} portmap DEL`, p.ms);
      }
      const b = await call(side, bridgeFile(side), env(side, pod, 'DEL', id), bridgeConf(side, i));
      total += b.ms;
      if (timed) push(`${side.kind} DEL`, total);
    };

    // Warm-up (bridge creation, tables, page cache), then the timed rounds; the order of the
    // sides rotates per pod.
    for (const side of sides) {
      await addPod(side, 0, 0, false);
      await delPod(side, 0, 0, false);
    }
    for (let i = 0; i < pods; i++) {
      const order = [...sides.slice(i % 3), ...sides.slice(0, i % 3)];
      for (const side of order) await addPod(side, i, 1, true);
    }
    for (let i = 0; i < pods; i++) {
      const order = [...sides.slice(i % 3), ...sides.slice(0, i % 3)];
      for (const side of order) await delPod(side, i, 1, true);
    }

    // Leftovers: no host-port element of podnet, no portmap chain of the reference.
    const left: string[] = [];
    for (const side of sides) {
      const nft = await side.node.netns.execOk('nft', ['list', 'ruleset']);
      if (/comment "[^"]*\|/.test(nft)) left.push(`${side.kind}: podnet host-port elements left`);
      if (/CNI-DN-|cni_hostport[\s\S]*dnat to/.test(nft)) left.push(`${side.kind}: reference portmap rules left`);
    }

    const s = (key: string) => summarize(samples.get(key) ?? []);
    const rows: Row[] = [
      { label: 'ADD, 2 mappings: podnet-bridge built in vs bridge+host-local+portmap', podnet: s('builtin ADD'), reference: s('reference ADD'), target: 0.5 },
      { label: 'DEL, 2 mappings: podnet-bridge built in vs portmap+bridge+host-local', podnet: s('builtin DEL'), reference: s('reference DEL'), target: 0.5 },
      {
        label: 'ADD: podnet-portmap vs portmap (after the reference bridge)',
        podnet: s('podnet-portmap portmap ADD'),
        reference: s('reference portmap ADD'),
        target: 0.5,
      },
      { label: 'DEL: podnet-portmap vs portmap', podnet: s('podnet-portmap portmap DEL'), reference: s('reference portmap DEL'), target: 0.5 },
      { label: 'chain ADD: bridge+host-local+podnet-portmap vs +portmap', podnet: s('podnet-portmap ADD'), reference: s('reference ADD') },
    ];
    console.log(`host ports, ${pods} pods per side, sequential, ipMasq ${ipMasq} (reference: Debian containernetworking-plugins 1.1.1, portmap on iptables)\n`);
    console.log(formatTable(rows));
    console.log('');
    for (const v of verdicts(rows)) console.log(`${v.met ? 'met   ' : 'MISSED'} ${v.label}: ${v.ratio.toFixed(2)}× (target ≤ ${v.target}×)`);
    for (const l of left) console.log(`LEFT BEHIND ${l}`);
    for (const side of sides) await side.runner.stop();
    process.exitCode = left.length > 0 ? 1 : 0;
  } finally {
    // Host-port records of the nodes' netns (/run/podnet/hostports/netns-<inode>), before they go.
    for (const dir of recordDirs) await rm(dir, { recursive: true, force: true });
    await lab.destroy();
  }
}

await main();
