// The bridge walk-through (`pnpm --filter @podnet/lab run demo:bridge`): one node, three pods,
// the compiled podnet-bridge run exactly as a runtime runs it. Shows each pod's address, pod → pod
// and node → pod traffic with the source address kept (no NAT), then deletes the pods and shows
// that nothing is left. Builds nothing: it uses
// dist/bin/podnet-bridge from `pnpm build`.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { cniOk, executable, Lab, links, mentionsAddress, nftRuleset, PeerEcho, ping, sweepNetns, type LabPod } from '../index.js';
import { ipamAllocations } from './allocations.js';

interface AddResult {
  interfaces?: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips?: Array<{ address: string; gateway?: string; interface?: number }>;
}

const PREFIX = 'pnt-demo';
const SUBNET = '10.244.77.0/24';
const PORT = 7777;

const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s = ''): void => void process.stdout.write(`${s}\n`);
const step = (s: string): void => say(`\n${bold(`▸ ${s}`)}`);

function check(ok: boolean, what: string): void {
  say(`  ${ok ? '✓' : '✗'} ${what}`);
  if (!ok) throw new Error(`demo check failed: ${what}`);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the demo creates network namespaces: run it as root');
  const bridgeBin = executable('podnet-bridge');
  const cniPath = [path.dirname(bridgeBin)];
  // Leftovers of an interrupted earlier demo (its names all start with the demo prefix).
  await sweepNetns(PREFIX);

  const lab = new Lab({ prefix: PREFIX });
  const cleanup = (): void => {
    void lab.destroy().finally(() => process.exit(130));
  };
  process.once('SIGINT', cleanup);
  process.once('SIGTERM', cleanup);
  try {
    const dataDir = await lab.tempDir('ipam');
    const network = `${lab.id}-net`;
    const bridge = lab.linkName('br');
    const config = {
      cniVersion: '1.0.0',
      name: network,
      type: 'podnet-bridge',
      bridge,
      isDefaultGateway: true,
      ipMasq: true,
      ipam: { type: 'podnet-ipam', ranges: [[{ subnet: SUBNET }]], dataDir },
    };

    step(`lab ${lab.id}: one node and three pods, each a network namespace`);
    const node = await lab.addNode('node');
    const pods: LabPod[] = [];
    for (const name of ['pod1', 'pod2', 'pod3']) pods.push(await lab.addPod(node, name));
    say(`  node ${node.netns.path}`);
    for (const pod of pods) say(`  ${pod.name} ${pod.netns.path}`);
    say(`  network "${network}", bridge ${bridge}, subnet ${SUBNET}, ipMasq on`);

    step(`ADD: ${bridgeBin} inside the node's namespace, CNI_NETNS = the pod's namespace`);
    const ips = new Map<LabPod, string>();
    let gateway = '';
    for (const pod of pods) {
      const started = performance.now();
      const outcome = await node.cni(bridgeBin, pod.invocation('ADD', config, { path: cniPath }));
      const ms = performance.now() - started;
      const result = cniOk<AddResult>(outcome, `ADD ${pod.name}`);
      const ip = result.ips?.[0];
      if (!ip) throw new Error(`ADD ${pod.name} returned no IP: ${outcome.stdout}`);
      ips.set(pod, ip.address.split('/')[0]!);
      gateway = ip.gateway ?? gateway;
      const host = result.interfaces?.find((i) => !i.sandbox && i.name !== bridge)?.name ?? '?';
      say(`  ${pod.name}: eth0 ${ip.address} via ${ip.gateway ?? '-'}   host end ${host}   (${ms.toFixed(0)} ms, whole process)`);
    }
    const ipOf = (pod: LabPod): string => ips.get(pod)!;
    say(`  IPAM store ${dataDir}/${network}: ${(await ipamAllocations(dataDir, network)).join(', ')}`);

    step('ping');
    const [a, b, c] = pods as [LabPod, LabPod, LabPod];
    check(await ping(a.netns, ipOf(b)), `${a.name} → ${b.name} (${ipOf(b)})`);
    check(await ping(c.netns, ipOf(a)), `${c.name} → ${a.name} (${ipOf(a)})`);
    check(await ping(node.netns, ipOf(c)), `node → ${c.name} (${ipOf(c)})`);

    step(`TCP: ${b.name} runs a service that answers with the source address it sees`);
    const echo = await PeerEcho.start(lab, b.netns, PORT);
    const fromA = await echo.peerSeenFrom(a.netns, ipOf(b));
    check(fromA === ipOf(a), `${a.name} → ${b.name}:${PORT} seen from ${fromA} = ${a.name}'s own address: no NAT between pods, even with ipMasq`);
    const fromNode = await echo.peerSeenFrom(node.netns, ipOf(b));
    check(fromNode === gateway, `node → ${b.name}:${PORT} seen from ${fromNode} = the node's address on the bridge`);

    step('DEL every pod (twice: DEL is idempotent), then look for leftovers');
    for (const pod of pods) {
      cniOk(await node.cni(bridgeBin, pod.invocation('DEL', config, { path: cniPath })), `DEL ${pod.name}`);
      cniOk(await node.cni(bridgeBin, pod.invocation('DEL', config, { path: cniPath })), `second DEL ${pod.name}`);
    }
    const nodeLinks = (await links(node.netns)).map((l) => l.ifname).filter((n) => n !== 'lo');
    check(
      nodeLinks.every((n) => n === bridge),
      `node links: ${nodeLinks.join(', ') || 'none'} (the bridge stays, like the reference bridge's)`,
    );
    for (const pod of pods) {
      const podLinks = (await links(pod.netns)).map((l) => l.ifname).filter((n) => n !== 'lo');
      check(podLinks.length === 0, `${pod.name}: no interface left besides lo`);
    }
    const held = await ipamAllocations(dataDir, network);
    check(held.length === 0, `IPAM: ${held.length} addresses allocated in ${network}`);
    const ruleset = await nftRuleset(node.netns);
    const named = [...ips.values()].filter((ip) => mentionsAddress(ruleset, ip));
    check(named.length === 0, `nftables: no rule or set element names a pod address (${named.join(', ') || 'none'})`);
  } finally {
    step('cleanup: deleting the namespaces and the IPAM directory');
    await lab.destroy();
    say('  done');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`\ndemo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
