// A node half's environment for a node netns the benchmarks made (underlay eth0, its IPv4
// addresses, podnet's route protocol, logs dropped).
import { PODNET_ROUTE_PROTOCOL } from '@podnet/core/backend';
import type { NodeEnvironment } from '@podnet/core/backend';
import { ip } from './shell.js';

export function nodeEnv(ns: string, node: string, backend: Record<string, unknown>): NodeEnvironment {
  const l = JSON.parse(ip(ns, '-j', 'link', 'show', 'eth0'))[0];
  const addresses = JSON.parse(ip(ns, '-j', '-4', 'address', 'show', 'dev', 'eth0'))[0].addr_info.map((a: { local: string }) => a.local);
  return {
    node,
    backend,
    underlay: { name: 'eth0', index: l.ifindex, mtu: l.mtu, addresses },
    netns: `/run/netns/${ns}`,
    routeProtocol: PODNET_ROUTE_PROTOCOL,
    log: () => {},
  };
}
