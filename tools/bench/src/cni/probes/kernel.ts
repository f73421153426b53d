// Compiled into a standalone Bun executable by probes.ts: only the kernel part of a bridge
// ADD or DEL, through core's netlink (no config parsing, no IPAM, no checks, no result). Its run
// time is the lowest a Bun-compiled CNI call doing this work can reach.
// Env: CNI_COMMAND (ADD|DEL), CNI_NETNS (pod netns, ADD), PNT_BN_VETH (host end name).
import { NetNS } from '@podnet/core/netns';
import { NetlinkSocket, addressAdd, linkDel, linkSet, routeAdd, vethAdd } from '@podnet/core/netlink';

const command = process.env['CNI_COMMAND'];
const hostName = process.env['PNT_BN_VETH'] ?? '';
const host = NetlinkSocket.open();
if (command === 'ADD') {
  const podNs = NetNS.open(process.env['CNI_NETNS'] ?? '');
  const pod = NetlinkSocket.open({ netns: podNs });
  // The pair in one request, the pod end born in the pod netns at a chosen ifindex; then one
  // batch in the pod: link up, address, default route.
  host.request(vethAdd({ name: hostName, up: true, peer: { name: 'eth0', index: 2, netns: { fd: podNs.fd } } }));
  pod.batch([
    linkSet(2, { up: true }),
    addressAdd({ index: 2, address: '10.245.1.2', prefixLength: 24 }),
    routeAdd({ dst: '0.0.0.0', dstLen: 0, gateway: '10.245.1.1' }),
  ]);
  pod.close();
  podNs.close();
  process.stdout.write('{}\n');
} else if (command === 'DEL') {
  host.request(linkDel(hostName));
} else {
  process.stderr.write(`CNI_COMMAND must be ADD or DEL, got ${command}\n`);
  process.exitCode = 4;
}
host.close();
