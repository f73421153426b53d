// A routed underlay for backends that must work across L3 hops (VXLAN): the fabric namespace is
// then also a router. A routed node gets a segment of its own, 192.168.<100+k>.0/24: a veth whose
// fabric end carries .254 (not a port of the fabric bridge) and whose node end carries .1, with a
// default route via .254. Nodes on the fabric bridge (the flat segment) get a default route via
// the fabric's address, so flat and routed nodes reach each other only through the router —
// host-gw's routes cannot work between them, VXLAN's tunnel must.
//
//   topology 'flat'    every node on the bridge (the lab's default; host-gw works)
//   topology 'routed'  every node on a segment of its own
//   topology 'mixed'   nodes 1 and 2 on the bridge, the others routed (VXLAN DirectRouting)
// A routed lab can be dual-stack (`ipv6`): each segment also gets fd00:77:<100+k>::/64.
import { runOk } from '../exec.js';
import { createNetns, Netns } from '../netns.js';
import { FABRIC_ADDRESS, NODE_UNDERLAY } from './topology.js';

export type LabTopology = 'flat' | 'routed' | 'mixed';

/** How many nodes of a mixed lab share the flat segment. */
export const MIXED_FLAT_NODES = 2;

export function parseTopology(value: string): LabTopology {
  if (value === 'flat' || value === 'routed' || value === 'mixed') return value;
  throw new Error(`--topology: "${value}" is not one of flat, routed, mixed`);
}

/** Is node `index` (1-based) on a routed segment of its own in this topology? */
export function isRouted(topology: LabTopology, index: number): boolean {
  return topology === 'routed' || (topology === 'mixed' && index > MIXED_FLAT_NODES);
}

/** Node `index`'s own segment (and its IPv6 prefix, used when the lab is dual-stack). */
export function routedSegment(index: number): { subnet: string; node: string; gateway: string; length: number; node6: string; gateway6: string } {
  if (index < 1 || index > 150) throw new Error(`routed node index ${index} outside 1..150`);
  const prefix = `192.168.${100 + index}`;
  const prefix6 = `fd00:77:${100 + index}::`;
  return { subnet: `${prefix}.0/24`, node: `${prefix}.1`, gateway: `${prefix}.254`, length: 24, node6: `${prefix6}1`, gateway6: `${prefix6}fe` };
}

const forwarding = (ipv6: boolean): string => `echo 1 > /proc/sys/net/ipv4/ip_forward${ipv6 ? ' && echo 1 > /proc/sys/net/ipv6/conf/all/forwarding' : ''}`;

/** Turns the fabric into a router (IPv4, and with `ipv6` IPv6, forwarding in its namespace). */
export async function enableFabricRouting(fabric: string, ipv6 = false): Promise<void> {
  await new Netns(fabric).execOk('sh', ['-c', forwarding(ipv6)]);
}

/** A flat node of a routed or mixed lab reaches the routed segments through the fabric. */
export async function routeViaFabric(node: string): Promise<void> {
  await runOk('ip', ['-n', node, 'route', 'replace', 'default', 'via', FABRIC_ADDRESS]);
}

/**
 * Creates node namespace `name` on a segment of its own: `eth0` in the node, `<port>` in the
 * fabric with the segment's gateway address, forwarding on in the node (it routes pod traffic).
 */
export async function createRoutedNode(name: string, fabric: string, port: string, index: number, ipv6 = false): Promise<{ ns: Netns; address: string }> {
  const seg = routedSegment(index);
  const ns = await createNetns(name);
  await runOk('ip', ['link', 'add', NODE_UNDERLAY, 'netns', name, 'type', 'veth', 'peer', 'name', port, 'netns', fabric]);
  if (ipv6) {
    // No DAD on either end, before they come up: while a link-local address is tentative the
    // kernel sends no neighbour solicitation for forwarded IPv6, so the fabric would hold the
    // first packet towards each node ~1 s (a real underlay settled long ago).
    await new Netns(fabric).execOk('sh', ['-c', `echo 0 > /proc/sys/net/ipv6/conf/${port}/accept_dad`]);
    await ns.execOk('sh', ['-c', `echo 0 > /proc/sys/net/ipv6/conf/${NODE_UNDERLAY}/accept_dad`]);
  }
  await runOk('ip', ['-n', fabric, 'address', 'add', `${seg.gateway}/${seg.length}`, 'dev', port]);
  await runOk('ip', ['-n', fabric, 'link', 'set', port, 'up']);
  await runOk('ip', ['-n', name, 'address', 'add', `${seg.node}/${seg.length}`, 'dev', NODE_UNDERLAY]);
  await runOk('ip', ['-n', name, 'link', 'set', NODE_UNDERLAY, 'up']);
  await runOk('ip', ['-n', name, 'route', 'add', 'default', 'via', seg.gateway]);
  if (ipv6) {
    // nodad: usable at once (the agent reads the underlay's addresses at start).
    await runOk('ip', ['-n', fabric, 'address', 'add', `${seg.gateway6}/64`, 'dev', port, 'nodad']);
    await runOk('ip', ['-n', name, 'address', 'add', `${seg.node6}/64`, 'dev', NODE_UNDERLAY, 'nodad']);
    await runOk('ip', ['-n', name, '-6', 'route', 'add', 'default', 'via', seg.gateway6]);
  }
  await ns.execOk('sh', ['-c', forwarding(ipv6)]);
  return { ns, address: seg.node };
}
