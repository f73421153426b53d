// A lower bound for podnet under Bun: `probes/kernel.ts` compiled the way apps/cni compiles the
// plugins (probes.ts), run like a plugin (fresh process inside a node netns, env only) for N ADDs
// and DELs on pods of its own. What podnet-bridge spends above this is config, IPAM, checks and results.
import type { Lab, LabPod } from '@podnet/lab';
import { Runner } from './runner-client.js';
import { summarize, type Summary } from './stats.js';

export interface KernelFloor {
  add: Summary;
  del: Summary;
}

export async function kernelFloor(lab: Lab, binary: string, calls: number): Promise<KernelFloor> {
  const node = await lab.addNode('kf-node');
  const pods: LabPod[] = [];
  for (let i = 0; i < calls; i++) pods.push(await lab.addPod(node, `kf-pod${i}`));
  const runner = await Runner.start(node.netns.path);
  const add: number[] = [];
  const del: number[] = [];
  try {
    const env = (command: string, pod: LabPod, i: number) => ({
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      CNI_NETNS: pod.netns.path,
      PNT_BN_VETH: `pnt-bn-kf${i}`,
    });
    for (const [command, out] of [
      ['ADD', add],
      ['DEL', del],
    ] as const) {
      for (let i = 0; i < calls; i++) {
        const t = (await runner.run([{ file: binary, env: env(command, pods[i] as LabPod, i), stdin: '' }])).results[0];
        if (!t || t.code !== 0) throw new Error(`kernel floor ${command} failed: ${t?.stdout} ${t?.stderr}`);
        out.push(t.ms);
      }
    }
  } finally {
    await runner.stop();
  }
  return { add: summarize(add), del: summarize(del) };
}
