// The lab's underlay: a fabric namespace holding one bridge (the "switch"), and one veth per node
// from the node's namespace into it. Every address lives inside namespaces the lab created, so
// nothing here ever reaches the machine's own network.
import { runOk } from '../exec.js';
import { createNetns, type Netns } from '../netns.js';

/** The underlay subnet inside every lab (labs are isolated from each other by their namespaces). */
export const UNDERLAY = { prefix: '192.168.77', length: 24 } as const;
/** The fabric's own address on its bridge: where the lab's etcd listens. */
export const FABRIC_ADDRESS = `${UNDERLAY.prefix}.254`;
export const FABRIC_BRIDGE = 'br0';
/** The underlay link inside each node namespace. */
export const NODE_UNDERLAY = 'eth0';

export function nodeAddress(index: number): string {
  if (index < 1 || index > 250) throw new Error(`node index ${index} outside 1..250`);
  return `${UNDERLAY.prefix}.${index}`;
}

/** Creates the fabric namespace with its bridge up and the fabric's own address on it. */
export async function createFabric(name: string): Promise<Netns> {
  const ns = await createNetns(name);
  await runOk('ip', ['-n', name, 'link', 'add', FABRIC_BRIDGE, 'type', 'bridge']);
  await runOk('ip', ['-n', name, 'addr', 'add', `${FABRIC_ADDRESS}/${UNDERLAY.length}`, 'dev', FABRIC_BRIDGE]);
  await runOk('ip', ['-n', name, 'link', 'set', FABRIC_BRIDGE, 'up']);
  return ns;
}

/**
 * Creates a node namespace wired to the fabric: `eth0` in the node with its underlay address,
 * the peer `<port>` enslaved to the fabric bridge, and IPv4 forwarding on (a node routes pod
 * traffic). The veth is created directly with both ends in their namespaces: nothing appears in
 * the caller's namespace even for a moment.
 */
export async function createNode(name: string, fabric: string, port: string, address: string): Promise<Netns> {
  const ns = await createNetns(name);
  await runOk('ip', ['link', 'add', NODE_UNDERLAY, 'netns', name, 'type', 'veth', 'peer', 'name', port, 'netns', fabric]);
  await runOk('ip', ['-n', fabric, 'link', 'set', port, 'master', FABRIC_BRIDGE, 'up']);
  await runOk('ip', ['-n', name, 'addr', 'add', `${address}/${UNDERLAY.length}`, 'dev', NODE_UNDERLAY]);
  await runOk('ip', ['-n', name, 'link', 'set', NODE_UNDERLAY, 'up']);
  // Through /proc/sys after entering: `ip netns exec` gives the right view (see DESIGN.md).
  await ns.execOk('sh', ['-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
  return ns;
}
