// Pods the way a runtime makes them: a fresh namespace, then the node's CNI executable run inside
// the node namespace with CNI_NETNS pointing at it (../cni.ts), and DEL before the namespace goes.
import { randomBytes } from 'node:crypto';
import { cniOk, invokeCni, type CniCommand } from '../cni.js';
import { createNetns, Netns } from '../netns.js';
import type { LabState, NodeRecord, PodRecord } from './state.js';
import { BACKENDS } from './backends.js';

interface AddResult {
  ips?: Array<{ address: string; gateway?: string }>;
}

export const POD_IFNAME = 'eth0';

/** One CNI call for `pod`, run inside its node's namespace; `config` defaults to the node's conflist. */
export function podCall(
  state: LabState,
  node: NodeRecord,
  pod: PodRecord,
  command: CniCommand,
  binary: string,
  cniPath: string[],
  config?: Record<string, unknown>,
) {
  return invokeCni(
    binary,
    {
      command,
      containerId: pod.containerId,
      netns: `/run/netns/${pod.netns}`,
      ifname: pod.ifname,
      path: cniPath,
      config: config ?? BACKENDS[state.backend].conflist(state, node),
    },
    new Netns(node.netns),
  );
}

/** Creates pod `name` on `node`; the record is returned (and must be saved) even before ADD, so a failed ADD is still cleaned up. */
export async function createPod(
  state: LabState,
  node: NodeRecord,
  name: string,
  binary: string,
  cniPath: string[],
  record: (pod: PodRecord) => Promise<void>,
): Promise<PodRecord> {
  const pod: PodRecord = {
    name,
    node: node.name,
    netns: `${node.netns}-${name}`,
    containerId: randomBytes(32).toString('hex'),
    ifname: POD_IFNAME,
  };
  await createNetns(pod.netns);
  await record(pod);
  const result = cniOk<AddResult>(await podCall(state, node, pod, 'ADD', binary, cniPath), `CNI ADD of ${node.name}/${name}`);
  const v4 = result.ips?.map((i) => i.address.split('/')[0]!).find((a) => a.includes('.'));
  if (!v4) throw new Error(`CNI ADD of ${node.name}/${name} returned no IPv4 address: ${JSON.stringify(result)}`);
  pod.ip = v4;
  await record(pod);
  return pod;
}
