// Host ports on the compiled executables, with real traffic: podnet-bridge with the capability
// built in, podnet-portmap chained after the reference bridge + host-local and after
// podnet-bridge. A "remote" namespace on the node's underlay plays a second host.
//
//   remote (192.0.2.2, 2001:db8:77::2) ── veth ── node (192.0.2.1, 2001:db8:77::1) ── bridge ── pods
import { addresses, cniError, cniOk, executable, Lab, nftRuleset, PeerEcho, runOk, type LabNode, type LabPod } from '@podnet/lab';
import type { Netns } from '@podnet/lab';
import { statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cniPath, REFERENCE_BRIDGE } from './support/harness.ts';
import { expectValidResult, type WireResult } from './support/result-shape.ts';
import { addRemoteHost, connectSeen, NODE4, NODE6, REMOTE4, REMOTE6 } from './support/underlay.ts';

const SUBNET4 = '10.247.0.0/24';
const SUBNET6 = 'fd00:247::/64';

const RECORDS = '/run/podnet/hostports';
const portmapBin = (): string => executable('podnet-portmap');
const bridgeBin = (): string => executable('podnet-bridge');

let lab: Lab;
let node: LabNode;
let remote: Netns;
let dataDir: string;

beforeAll(async () => {
  lab = new Lab({ prefix: 'pnp-' });
  node = await lab.addNode('node');
  remote = await addRemoteHost(lab, node);
  dataDir = await lab.tempDir('ipam');
});
afterAll(async () => {
  // The executables keep host-port records under /run/podnet/hostports/netns-<node netns inode>:
  // drop the node's before its netns goes (a later netns could get the same inode).
  if (node) await rm(path.join(RECORDS, `netns-${statSync(node.netns.path).ino}`), { recursive: true, force: true });
  await lab?.destroy();
});

const UDP_SERVER = `
const s = require('node:dgram').createSocket({ type: 'udp6', ipv6Only: false });
s.on('message', (m, r) => s.send(r.address.replace(/^::ffff:/, '') + '\\n', r.port, r.address));
s.bind(Number(process.argv[1]), '::', () => process.stdout.write('ready\\n'));
`;
const UDP_CLIENT = `
const [host, port] = [process.argv[1], Number(process.argv[2])];
const s = require('node:dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4');
s.on('message', (m) => { process.stdout.write(String(m)); process.exit(0); });
const ping = () => s.send('who', port, host);
ping(); setInterval(ping, 300).unref();
setTimeout(() => { process.stderr.write('no answer in 4 s\\n'); process.exit(1); }, 4000);
`;

async function startUdpEcho(ns: Netns, port: number): Promise<void> {
  const child = lab.spawnIn(ns, process.execPath, ['-e', UDP_SERVER, String(port)]);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('udp echo did not start')), 10_000);
    child.stdout?.on('data', (b: Buffer) => {
      if (b.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

async function udpSeenFrom(from: Netns, host: string, port: number): Promise<string> {
  return (await from.execOk(process.execPath, ['-e', UDP_CLIENT, host, String(port)], { timeoutMs: 10_000 })).trim();
}

function bridgeConfig(bridge: string, mappings: unknown[] | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: `${lab.id}-net`,
    type: 'podnet-bridge',
    bridge,
    isDefaultGateway: true,
    ipMasq: true,
    capabilities: { portMappings: true },
    ipam: { type: 'podnet-ipam', ranges: [[{ subnet: SUBNET4 }], [{ subnet: SUBNET6 }]], dataDir },
    ...(mappings ? { runtimeConfig: { portMappings: mappings } } : {}),
    ...extra,
  };
}

const call = (pod: LabPod, command: 'ADD' | 'DEL' | 'CHECK', config: unknown, binary = bridgeBin()) =>
  node.cni(binary, pod.invocation(command, config, { path: cniPath() }));

const ipOf = (r: WireResult, family: 4 | 6): string => r.ips!.map((i) => i.address.split('/')[0]!).find((a) => a.includes(':') === (family === 6))!;

async function hostPortElements(): Promise<string> {
  const r = await node.netns.exec('nft', ['list', 'table', 'inet', 'podnet_hostports']);
  return r.code === 0 ? r.stdout : '';
}

describe('podnet-bridge with the portMappings capability built in', () => {
  let a: LabPod;
  let b: LabPod;
  let ra: WireResult;
  let rb: WireResult;
  let bridge: string;
  const mappingsA = [
    { hostPort: 18080, containerPort: 8080, protocol: 'tcp', hostIP: '' },
    { HostPort: 18053, ContainerPort: 8053, Protocol: 'udp', HostIP: '' }, // containerd's casing
    { hostPort: 18081, containerPort: 8080, protocol: 'tcp', hostIP: NODE4 },
    { hostPort: 18082, containerPort: 8080, protocol: 'tcp', hostIP: '127.0.0.1' },
    { hostPort: 18099, containerPort: 8080, protocol: 'tcp', hostIP: '198.51.100.7' }, // not this node's
    { hostPort: 18083, containerPort: 8080, protocol: 'tcp', hostIP: NODE6 },
  ];
  const mappingsB = [{ hostPort: 18090, containerPort: 8080, protocol: 'tcp' }];

  beforeAll(async () => {
    bridge = lab.linkName('br');
    a = await lab.addPod(node, 'a');
    b = await lab.addPod(node, 'b');
    ra = expectValidResult(cniOk(await call(a, 'ADD', bridgeConfig(bridge, mappingsA)), 'ADD a'), '1.0.0');
    rb = expectValidResult(cniOk(await call(b, 'ADD', bridgeConfig(bridge, mappingsB)), 'ADD b'), '1.0.0');
    await PeerEcho.start(lab, a.netns, 8080);
    await PeerEcho.start(lab, b.netns, 8080);
    await startUdpEcho(a.netns, 8053);
  });

  it('reaches the pod from another host with the client address kept (TCP and UDP, IPv4 and IPv6)', async () => {
    expect(await connectSeen(remote, NODE4, 18080)).toBe(REMOTE4);
    expect(await connectSeen(remote, NODE6, 18080)).toBe(REMOTE6);
    expect(await udpSeenFrom(remote, NODE4, 18053)).toBe(REMOTE4);
    expect(await udpSeenFrom(remote, NODE6, 18053)).toBe(REMOTE6);
    // B's own port goes to B.
    expect(await connectSeen(remote, NODE4, 18090)).toBe(REMOTE4);
  });

  it('reaches it from the node: its address and 127.0.0.1 (route_localnet on the bridge only)', async () => {
    expect(await connectSeen(node.netns, NODE4, 18080)).toBe(NODE4);
    const gw4 = ra.ips!.find((i) => !i.address.includes(':'))!.gateway!;
    expect(await connectSeen(node.netns, '127.0.0.1', 18080)).toBe(gw4);
    expect(await connectSeen(node.netns, '127.0.0.1', 18082)).toBe(gw4);
    const sysctl = async (dev: string): Promise<string> => (await node.netns.execOk('cat', [`/proc/sys/net/ipv4/conf/${dev}/route_localnet`])).trim();
    expect(await sysctl(bridge)).toBe('1');
    expect(await sysctl('all')).toBe('0');
  });

  it('hairpin: the pod to its own host port, and another pod of the node to it', async () => {
    const gw4 = ra.ips!.find((i) => !i.address.includes(':'))!.gateway!;
    expect(await connectSeen(a.netns, NODE4, 18080)).toBe(gw4);
    expect(await connectSeen(b.netns, NODE4, 18080)).toBe(gw4);
    const gw6 = ra.ips!.find((i) => i.address.includes(':'))!.gateway!;
    expect(await connectSeen(b.netns, NODE6, 18080)).toBe(gw6);
  });

  it('a hostIP mapping catches only traffic addressed to this node (reference portmap #1209)', async () => {
    expect(await connectSeen(remote, NODE4, 18081)).toBe(REMOTE4);
    expect(await connectSeen(remote, NODE6, 18081)).toMatch(/^unreached/);
    // An IPv6 hostIP: that address only.
    expect(await connectSeen(remote, NODE6, 18083)).toBe(REMOTE6);
    expect(await connectSeen(remote, NODE4, 18083)).toMatch(/^unreached/);
    // 127.0.0.1-only and another machine's address: not reachable from the remote host.
    expect(await connectSeen(remote, NODE4, 18082)).toMatch(/^unreached/);
    await runOk('ip', ['-n', remote.name, 'route', 'add', '198.51.100.0/24', 'via', NODE4]);
    expect(await connectSeen(remote, '198.51.100.7', 18099)).toMatch(/^unreached/);
    expect(await connectSeen(b.netns, '198.51.100.7', 18099)).toMatch(/^unreached/);
  });

  it('refuses a second pod on a taken host port, naming the holder, and leaves nothing of it', async () => {
    const c = await lab.addPod(node, 'c');
    const before = await hostPortElements();
    const err = cniError(await call(c, 'ADD', bridgeConfig(bridge, [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }])));
    expect(err.code).toBe(7);
    expect(err.msg).toContain(`tcp/18080 on every IPv4 address is already taken by container ${a.containerId}, ifname eth0`);
    expect((await addresses(c.netns)).get('eth0')).toBeUndefined();
    expect(await hostPortElements()).toBe(before);
    expect(await connectSeen(remote, NODE4, 18080)).toBe(REMOTE4);
  });

  it('bad mappings are code 7 naming the entry', async () => {
    const c = await lab.addPod(node, 'bad');
    for (const [m, field] of [
      [{ hostPort: 0, containerPort: 80 }, 'runtimeConfig.portMappings[0].hostPort'],
      [{ hostPort: 70000, containerPort: 80 }, 'runtimeConfig.portMappings[0].hostPort'],
      [{ hostPort: 80, containerPort: 80, protocol: 'icmp' }, 'runtimeConfig.portMappings[0].protocol'],
      [{ hostPort: 80, containerPort: 80, hostIP: 'localhost' }, 'runtimeConfig.portMappings[0].hostIP'],
      [{ hostPort: 80, containerPort: 80, hostIP: '::1' }, 'runtimeConfig.portMappings[0].hostIP'],
    ] as const) {
      const err = cniError(await call(c, 'ADD', bridgeConfig(bridge, [m])));
      expect(err.code, JSON.stringify(m)).toBe(7);
      expect(err.msg).toContain(field);
    }
  });

  it('CHECK passes, and reports a missing element', async () => {
    const cfg = { ...bridgeConfig(bridge, mappingsA), prevResult: ra };
    const ok = await call(a, 'CHECK', cfg);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const table = await hostPortElements();
    const map = /map (p[0-9a-f]{12}_any4)/.exec(table)![1]!;
    await node.netns.execOk('nft', ['delete', 'element', 'inet', 'podnet_hostports', map, '{ tcp . 18080 }']);
    const bad = cniError(await call(a, 'CHECK', cfg));
    expect(bad.msg).toContain(`${map} { tcp . 18080 : ${ipOf(ra, 4)} . 8080 }`);
    expect(bad.msg).toContain('is missing');
    // Back as it was.
    const comment = `${lab.id}-net|${a.containerId}/eth0`;
    await node.netns.execOk('nft', ['add', 'element', 'inet', 'podnet_hostports', map, `{ tcp . 18080 comment "${comment}" : ${ipOf(ra, 4)} . 8080 }`]);
    expect((await call(a, 'CHECK', cfg)).code).toBe(0);
  });

  it('DEL without the mappings removes everything of the pod, and only of that pod', async () => {
    const del = await call(a, 'DEL', bridgeConfig(bridge, undefined));
    expect(del.code, del.stdout + del.stderr).toBe(0);
    const table = await hostPortElements();
    expect(table).not.toContain(a.containerId);
    expect(table).toContain(b.containerId);
    expect(await connectSeen(remote, NODE4, 18080)).toMatch(/^unreached/);
    expect(await connectSeen(remote, NODE4, 18090)).toBe(REMOTE4);
    expect((await call(a, 'DEL', bridgeConfig(bridge, undefined))).code).toBe(0);
  });

  it('GC removes the host ports of attachments not in the valid list', async () => {
    const gc = await node.cni(bridgeBin(), {
      command: 'GC',
      path: cniPath(),
      config: { ...bridgeConfig(bridge, undefined), cniVersion: '1.1.0', 'cni.dev/valid-attachments': [] },
    });
    expect(gc.code, gc.stdout + gc.stderr).toBe(0);
    expect(await hostPortElements()).not.toContain(b.containerId);
    expect(await connectSeen(remote, NODE4, 18090)).toMatch(/^unreached/);
    void rb;
  });
});

describe('podnet-portmap chained', () => {
  const mappings = [
    { hostPort: 18100, containerPort: 8080, protocol: 'tcp', hostIP: '' },
    { hostPort: 18101, containerPort: 8053, protocol: 'udp', hostIP: '' },
  ];
  const portmapConfig = (name: string, prevResult: WireResult | undefined, withMappings = true): Record<string, unknown> => ({
    cniVersion: '1.0.0',
    name,
    type: 'podnet-portmap',
    snat: true,
    capabilities: { portMappings: true },
    ...(withMappings ? { runtimeConfig: { portMappings: mappings } } : {}),
    ...(prevResult ? { prevResult } : {}),
  });

  it('after the reference bridge + host-local: reached from another host, hairpin, CHECK, DEL', async () => {
    const name = `${lab.id}-ref`;
    const hostLocalDir = await lab.tempDir('hl');
    const bridgeConf = {
      cniVersion: '1.0.0',
      name,
      type: 'bridge',
      bridge: lab.linkName('rb'),
      isGateway: true,
      isDefaultGateway: true,
      // As Kubernetes configures it: with br_netfilter, a pod reaching its own host port needs it.
      hairpinMode: true,
      ipMasq: false,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.248.0.0/24' }]], dataDir: hostLocalDir },
    };
    const d = await lab.addPod(node, 'd');
    const e = await lab.addPod(node, 'e');
    const rd = expectValidResult(cniOk(await call(d, 'ADD', bridgeConf, REFERENCE_BRIDGE), 'bridge ADD d'), '1.0.0');
    const re = expectValidResult(cniOk(await call(e, 'ADD', bridgeConf, REFERENCE_BRIDGE), 'bridge ADD e'), '1.0.0');
    const out = expectValidResult(cniOk(await call(d, 'ADD', portmapConfig(name, rd), portmapBin()), 'portmap ADD'), '1.0.0');
    expect(out.ips).toEqual(rd.ips); // prevResult passed on
    await PeerEcho.start(lab, d.netns, 8080);
    await startUdpEcho(d.netns, 8053);
    expect(await connectSeen(remote, NODE4, 18100)).toBe(REMOTE4);
    expect(await udpSeenFrom(remote, NODE4, 18101)).toBe(REMOTE4);
    expect(await connectSeen(node.netns, '127.0.0.1', 18100)).toBe('10.248.0.1');
    expect(await connectSeen(e.netns, NODE4, 18100)).toBe('10.248.0.1');
    expect(await connectSeen(d.netns, NODE4, 18100)).toBe('10.248.0.1');
    const check = await call(d, 'CHECK', portmapConfig(name, rd), portmapBin());
    expect(check.code, check.stdout + check.stderr).toBe(0);

    // The runtime omits the mappings on DEL, and the network was renamed meanwhile (#752, #683).
    const del = await call(d, 'DEL', portmapConfig(`${name}-renamed`, undefined, false), portmapBin());
    expect(del.code, del.stdout + del.stderr).toBe(0);
    expect(await hostPortElements()).not.toContain(d.containerId);
    expect(await connectSeen(remote, NODE4, 18100)).toMatch(/^unreached/);
    for (const [pod, r] of [
      [d, rd],
      [e, re],
    ] as const)
      cniOk(await call(pod, 'DEL', { ...bridgeConf, prevResult: r }, REFERENCE_BRIDGE), 'bridge DEL');
  });

  it('after podnet-bridge (no built-in mappings): the same host ports, GC by network', async () => {
    const bridge = lab.linkName('pb');
    const f = await lab.addPod(node, 'f');
    // Its own network and subnet: the first suite's bridge still holds 10.247.0.1/24.
    const conf: Record<string, unknown> = {
      ...bridgeConfig(bridge, undefined),
      name: `${lab.id}-pb`,
      capabilities: {},
      ipam: { type: 'podnet-ipam', ranges: [[{ subnet: '10.246.0.0/24' }], [{ subnet: 'fd00:246::/64' }]], dataDir },
    };
    const rf = expectValidResult(cniOk(await call(f, 'ADD', conf), 'podnet-bridge ADD f'), '1.0.0');
    const name = String(conf['name']);
    cniOk(await call(f, 'ADD', portmapConfig(name, rf), portmapBin()), 'portmap ADD f');
    await PeerEcho.start(lab, f.netns, 8080);
    expect(await connectSeen(remote, NODE4, 18100)).toBe(REMOTE4);
    expect(await connectSeen(remote, NODE6, 18100)).toBe(REMOTE6);
    // GC of another network leaves f alone; GC of f's network without f removes it.
    const gc = (network: string) =>
      node.cni(portmapBin(), {
        command: 'GC',
        path: cniPath(),
        config: { ...portmapConfig(network, undefined, false), cniVersion: '1.1.0', 'cni.dev/valid-attachments': [] },
      });
    expect((await gc(`${name}-other`)).code).toBe(0);
    expect(await hostPortElements()).toContain(f.containerId);
    expect((await gc(name)).code).toBe(0);
    expect(await hostPortElements()).not.toContain(f.containerId);
    cniOk(await call(f, 'DEL', conf), 'podnet-bridge DEL f');
  });

  it('refuses the iptables-only keys with code 2', async () => {
    const g = await lab.addPod(node, 'g');
    const prev = { cniVersion: '1.0.0', ips: [{ address: '10.249.0.5/24' }] };
    const err = cniError(await call(g, 'ADD', { ...portmapConfig('x', prev as WireResult), externalSetMarkChain: 'KUBE-MARK-MASQ' }, portmapBin()));
    expect(err.code).toBe(2);
    expect(err.msg + (err.details ?? '')).toContain('nftables only');
  });
});

afterAll(async () => {
  // Nothing of this file's attachments is left in the node's host-port table.
  const table = await hostPortElements().catch(() => '');
  expect(table).not.toMatch(/comment "pnp-/);
  void nftRuleset;
});
