// A second host on a lab node's underlay, for host-port tests: a "remote" namespace joined to the
// node by a veth, IPv4 and IPv6, and a TCP client that reports the source address a PeerEcho saw.
import { runOk, type Lab, type LabNode, type Netns } from '@podnet/lab';

export const NODE4 = '192.0.2.1';
export const NODE6 = '2001:db8:77::1';
export const REMOTE4 = '192.0.2.2';
export const REMOTE6 = '2001:db8:77::2';

/** Creates the remote namespace (owned by `lab`) and the link; forwarding on in the node. */
export async function addRemoteHost(lab: Lab, node: LabNode, name = 'remote'): Promise<Netns> {
  const remote = (await lab.addPod(node, name)).netns;
  const up = lab.linkName(`u${name.slice(0, 2)}`);
  const n = node.netns.name;
  await runOk('ip', ['-n', n, 'link', 'add', up, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', remote.name]);
  await runOk('ip', ['-n', n, 'addr', 'add', `${NODE4}/24`, 'dev', up]);
  await runOk('ip', ['-n', n, 'addr', 'add', `${NODE6}/64`, 'dev', up, 'nodad']);
  await runOk('ip', ['-n', n, 'link', 'set', up, 'up']);
  await runOk('ip', ['-n', remote.name, 'addr', 'add', `${REMOTE4}/24`, 'dev', 'eth0']);
  await runOk('ip', ['-n', remote.name, 'addr', 'add', `${REMOTE6}/64`, 'dev', 'eth0', 'nodad']);
  await runOk('ip', ['-n', remote.name, 'link', 'set', 'eth0', 'up']);
  await node.netns.execOk('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
  return remote;
}

const CLIENT = `
const c = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]) });
let seen = '';
c.on('data', (b) => (seen += b));
c.on('end', () => { process.stdout.write(seen); process.exit(0); });
c.on('error', (e) => { process.stdout.write('unreached: ' + e.code); process.exit(0); });
setTimeout(() => { process.stdout.write('unreached: timeout'); process.exit(0); }, 3000).unref();
`;

/**
 * TCP connect from `from` to host:port; a PeerEcho behind it answers with the source address it
 * saw. `unreached: <code>` when nothing answers (refused, unreachable, 3 s timeout).
 */
export async function connectSeen(from: Netns, host: string, port: number): Promise<string> {
  return (await from.execOk(process.execPath, ['-e', CLIENT, host, String(port)], { timeoutMs: 10_000 })).trim();
}
