// Needs root. Everything happens inside two namespaces this file creates (a "node" and a "pod"),
// named pnt-k-*, and removed afterwards. State is checked with iproute2 (`ip -j`) where it matters.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { libc } from '../libc/index.js';
import { NetNS, createNamedNetns, deleteNamedNetns } from '../netns/index.js';
import {
  IFF_PROMISC,
  NetlinkBatchError,
  NetlinkError,
  NetlinkSocket,
  addressAdd,
  addressDel,
  bridgeAdd,
  bridgePortSet,
  fdbAdd,
  fdbAppend,
  fdbDel,
  getLink,
  linkDel,
  linkSet,
  listAddresses,
  listFdb,
  listLinks,
  listNeighbours,
  listRoutes,
  neighAdd,
  neighDel,
  neighReplace,
  routeAdd,
  routeDel,
  routeReplace,
  vethAdd,
  vxlanAdd,
} from './index.js';
import type { Link } from './index.js';

const NODE = `pnt-k-n${process.pid}`;
const POD = `pnt-k-p${process.pid}`;
const PROTO = 99;

const ipJson = (ns: string, ...args: string[]): unknown => JSON.parse(execFileSync('ip', ['-n', ns, '-N', '-j', ...args], { encoding: 'utf8' }) || '[]');

let nodeNs: NetNS;
let podNs: NetNS;
let node: NetlinkSocket;
let pod: NetlinkSocket;

beforeAll(() => {
  for (const n of [NODE, POD]) deleteNamedNetns(n);
  nodeNs = NetNS.open(createNamedNetns(NODE));
  podNs = NetNS.open(createNamedNetns(POD));
  node = NetlinkSocket.open({ netns: nodeNs });
  pod = NetlinkSocket.open({ netns: podNs });
});

afterAll(() => {
  for (const s of [node, pod]) s?.close();
  for (const h of [nodeNs, podNs]) h?.close();
  for (const n of [NODE, POD]) deleteNamedNetns(n);
});

const must = (l: Link | undefined, what: string): Link => {
  if (!l) throw new Error(`${what} not found`);
  return l;
};

describe('netlink in namespaces (Node, koffi)', () => {
  it('runs on koffi under Node', () => {
    expect(libc().runtime).toBe('node');
  });

  it('creates a veth whose peer is born inside the pod netns', () => {
    node.request(vethAdd({ name: 'pnt-k-h1', mtu: 1400, peer: { name: 'eth0', netns: podNs, mtu: 1400, mac: '02:00:00:00:01:01' } }));
    const host = must(getLink(node, 'pnt-k-h1'), 'host veth');
    const eth0 = must(getLink(pod, 'eth0'), 'pod eth0');
    expect(host).toMatchObject({ kind: 'veth', mtu: 1400, up: false });
    expect(eth0).toMatchObject({ kind: 'veth', mtu: 1400, mac: '02:00:00:00:01:01', parent: host.index });
    expect(getLink(node, 'eth0')).toBeUndefined();
    expect(getLink(pod, eth0.index)?.name).toBe('eth0');
  });

  it('names the object when the kernel refuses (EEXIST)', () => {
    let err: unknown;
    try {
      node.request(vethAdd({ name: 'pnt-k-h1', peer: { name: 'eth0', netns: podNs } }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toMatchObject({ code: 'EEXIST', errno: 17, op: 'RTM_NEWLINK' });
    expect((err as Error).message).toBe(`RTM_NEWLINK veth "pnt-k-h1" (peer "eth0") in netns "/run/netns/${NODE}": EEXIST (File exists)`);
    expect(() => node.request(linkDel('pnt-k-none'))).toThrow(/RTM_DELLINK link "pnt-k-none".*ENODEV \(No such device\)/);
  });

  it('puts the host end on a bridge with hairpin, isolation, promisc and an alias', () => {
    node.request(bridgeAdd({ name: 'pnt-k-br0', up: true }));
    const br = must(getLink(node, 'pnt-k-br0'), 'bridge');
    expect(br).toMatchObject({ kind: 'bridge', up: true, bridge: { vlanFiltering: false } });
    const host = must(getLink(node, 'pnt-k-h1'), 'host veth');
    node.batch([
      linkSet(host.index, { master: br.index, up: true, mac: '02:00:00:00:02:02', alias: 'pnt-k owner: h1' }),
      bridgePortSet(host.index, { hairpin: true, isolated: true }),
      linkSet('pnt-k-br0', { promisc: true }),
    ]);
    expect(listLinks(node, { master: br.index }).map((l) => l.name)).toEqual(['pnt-k-h1']);
    expect(must(getLink(node, host.index), 'host veth')).toMatchObject({
      up: true,
      master: br.index,
      portKind: 'bridge',
      mac: '02:00:00:00:02:02',
      alias: 'pnt-k owner: h1',
    });
    expect((must(getLink(node, br.index), 'bridge').flags & IFF_PROMISC) !== 0).toBe(true);
    const [detail] = ipJson(NODE, '-d', 'link', 'show', 'dev', 'pnt-k-h1') as Array<{ linkinfo: { info_slave_data: { hairpin: boolean; isolated: boolean } } }>;
    expect(detail?.linkinfo.info_slave_data).toMatchObject({ hairpin: true, isolated: true });
    node.request(linkSet(host.index, { master: 0 }));
    expect(getLink(node, host.index)?.master).toBeUndefined();
  });

  it('configures the pod side in one batch: up, addresses, routes with a protocol', () => {
    const eth0 = must(getLink(pod, 'eth0'), 'eth0');
    pod.batch([
      linkSet(eth0.index, { up: true }),
      addressAdd({ index: eth0.index, address: '10.77.0.2', prefixLength: 24 }),
      addressAdd({ index: eth0.index, address: 'fd77::2', prefixLength: 64, noDad: true }),
      routeAdd({ dst: '0.0.0.0', dstLen: 0, gateway: '10.77.0.1', protocol: PROTO }),
      routeAdd({ dst: '10.78.0.0', dstLen: 16, gateway: '10.77.0.1', oif: eth0.index, protocol: PROTO, priority: 10, mtu: 1300, advmss: 1260 }),
      routeAdd({ dst: '::', dstLen: 0, gateway: 'fd77::1', protocol: PROTO }),
    ]);
    const addrs = listAddresses(pod, { index: eth0.index });
    expect(addrs.find((a) => a.address === '10.77.0.2')).toMatchObject({ family: 4, prefixLength: 24, broadcast: '10.77.0.255' });
    expect(addrs.find((a) => a.address === 'fd77::2')).toMatchObject({ family: 6, prefixLength: 64, tentative: false });
    const ours = listRoutes(pod, { protocol: PROTO, table: 254 });
    expect(ours.map((r) => `${r.dst}/${r.dstLen}`).sort()).toEqual(['0.0.0.0/0', '10.78.0.0/16', '::/0']);
    expect(ours.find((r) => r.dst === '10.78.0.0')).toMatchObject({ gateway: '10.77.0.1', oif: eth0.index, priority: 10, mtu: 1300, advmss: 1260 });
    const shown = ipJson(POD, 'route', 'show', 'proto', String(PROTO)) as Array<{ dst: string; gateway?: string }>;
    expect(shown.map((r) => r.dst).sort()).toEqual(['10.78.0.0/16', 'default']);

    pod.request(routeReplace({ dst: '10.78.0.0', dstLen: 16, oif: eth0.index, protocol: PROTO, priority: 10 }));
    expect(listRoutes(pod, { protocol: PROTO, family: 4 }).find((r) => r.dst === '10.78.0.0')).toMatchObject({ scope: 253 });
    expect((listRoutes(pod, { protocol: PROTO, family: 4 }).find((r) => r.dst === '10.78.0.0') ?? {}).gateway).toBeUndefined();
    pod.request(routeDel({ dst: '10.78.0.0', dstLen: 16, protocol: PROTO }));
    pod.request(addressDel({ index: eth0.index, address: 'fd77::2', prefixLength: 64 }));
    expect(listRoutes(pod, { protocol: PROTO, family: 4 }).map((r) => r.dst)).toEqual(['0.0.0.0']);
    expect(listAddresses(pod, { family: 6, index: eth0.index }).map((a) => a.address)).not.toContain('fd77::2');
  });

  it('reports which request of a batch failed, and still applies the others', () => {
    const eth0 = must(getLink(pod, 'eth0'), 'eth0');
    let err: unknown;
    try {
      pod.batch([
        routeAdd({ dst: '10.79.0.0', dstLen: 24, oif: eth0.index, protocol: PROTO }),
        routeAdd({ dst: '10.80.0.1', dstLen: 24, oif: eth0.index, protocol: PROTO }),
        routeAdd({ dst: '10.81.0.0', dstLen: 24, oif: eth0.index, protocol: PROTO }),
      ]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetlinkBatchError);
    const b = err as NetlinkBatchError;
    expect(b.firstIndex).toBe(1);
    expect(b.code).toBe('EINVAL');
    expect(b.message).toBe(
      `batch request 2 of 3 failed: RTM_NEWROUTE route 10.80.0.1/24 dev #${eth0.index} proto 99 in netns "/run/netns/${POD}": EINVAL (Invalid argument): Invalid prefix for given prefix length`,
    );
    expect(b.results.map((r) => r?.code)).toEqual([undefined, 'EINVAL', undefined]);
    expect(
      listRoutes(pod, { protocol: PROTO, family: 4 })
        .map((r) => r.dst)
        .sort(),
    ).toEqual(['0.0.0.0', '10.79.0.0', '10.81.0.0']);
    const settled = pod.batchSettled([routeDel({ dst: '10.79.0.0', dstLen: 24 }), routeDel({ dst: '10.79.0.0', dstLen: 24 })]);
    expect(settled.map((r) => r?.code)).toEqual([undefined, 'ESRCH']);
  });

  it('adds, replaces, lists and deletes permanent neighbours', () => {
    const eth0 = must(getLink(pod, 'eth0'), 'eth0');
    pod.request(neighAdd({ index: eth0.index, address: '10.77.0.9', mac: '02:00:00:00:00:09' }));
    pod.request(neighReplace({ index: eth0.index, address: '10.77.0.9', mac: '02:00:00:00:00:0a' }));
    expect(listNeighbours(pod, { family: 4, index: eth0.index }).find((n) => n.address === '10.77.0.9')).toMatchObject({
      mac: '02:00:00:00:00:0a',
      state: 0x80,
    });
    expect(() => pod.request(neighAdd({ index: eth0.index, address: '10.77.0.9', mac: '02:00:00:00:00:0b' }))).toThrow(/EEXIST/);
    pod.request(neighDel({ index: eth0.index, address: '10.77.0.9' }));
    expect(listNeighbours(pod, { index: eth0.index }).map((n) => n.address)).not.toContain('10.77.0.9');
  });

  it('programs vxlan fdb entries', () => {
    node.request(vxlanAdd({ name: 'pnt-k-vx0', vni: 4242, local: '10.77.0.1', port: 4789, learning: false, mtu: 1450 }));
    const vx = must(getLink(node, 'pnt-k-vx0'), 'vxlan');
    expect(vx).toMatchObject({ kind: 'vxlan', mtu: 1450, vxlan: { vni: 4242, local: '10.77.0.1', port: 4789, learning: false } });
    node.batch([
      fdbAppend({ index: vx.index, mac: '00:00:00:00:00:00', dst: '10.77.0.3' }),
      fdbAppend({ index: vx.index, mac: '00:00:00:00:00:00', dst: '10.77.0.4' }),
      fdbAdd({ index: vx.index, mac: '0a:00:00:00:00:05', dst: '10.77.0.5' }),
    ]);
    const fdb = listFdb(node, { index: vx.index }).filter((e) => e.dst !== undefined);
    expect(fdb.map((e) => `${e.mac} ${e.dst}`).sort()).toEqual(['00:00:00:00:00:00 10.77.0.3', '00:00:00:00:00:00 10.77.0.4', '0a:00:00:00:00:05 10.77.0.5']);
    const shown = JSON.parse(execFileSync('ip', ['netns', 'exec', NODE, 'bridge', '-j', 'fdb', 'show', 'dev', 'pnt-k-vx0'], { encoding: 'utf8' })) as Array<{
      mac: string;
      dst?: string;
    }>;
    expect(shown.filter((e) => e.dst).length).toBe(3);
    node.request(fdbDel({ index: vx.index, mac: '0a:00:00:00:00:05', dst: '10.77.0.5' }));
    expect(listFdb(node, { index: vx.index }).some((e) => e.mac === '0a:00:00:00:00:05')).toBe(false);
  });

  it('creates, addresses and routes a pod link in one batch by choosing its ifindex', () => {
    pod.batch([
      vethAdd({ name: 'eth1', index: 40, up: true, peer: { name: 'pnt-k-h2', netns: nodeNs } }),
      addressAdd({ index: 40, address: '10.90.0.2', prefixLength: 24 }),
      routeAdd({ dst: '10.91.0.0', dstLen: 16, gateway: '10.90.0.1', protocol: PROTO }),
    ]);
    expect(getLink(pod, 40)).toMatchObject({ name: 'eth1', up: true });
    expect(getLink(node, 'pnt-k-h2')?.kind).toBe('veth');
    expect(listRoutes(pod, { protocol: PROTO, family: 4 }).find((r) => r.dst === '10.91.0.0')).toMatchObject({ gateway: '10.90.0.1', oif: 40 });
    expect(() => pod.request(vethAdd({ name: 'eth2', index: 40, peer: { name: 'pnt-k-h3', netns: nodeNs } }))).toThrow(/EEXIST/);
    node.request(linkDel('pnt-k-h2'));
  });

  it('lists by kind, moves a link between namespaces, deletes', () => {
    node.request(vethAdd({ name: 'pnt-k-m0', peer: { name: 'pnt-k-m1' } }));
    expect(
      listLinks(node, { kind: 'veth' })
        .map((l) => l.name)
        .sort(),
    ).toEqual(['pnt-k-h1', 'pnt-k-m0', 'pnt-k-m1']);
    expect(listLinks(node, { kind: 'vxlan' }).map((l) => l.name)).toEqual(['pnt-k-vx0']);
    node.request(linkSet('pnt-k-m1', { netns: podNs }));
    expect(getLink(node, 'pnt-k-m1')).toBeUndefined();
    expect(getLink(pod, 'pnt-k-m1')?.kind).toBe('veth');
    node.request(linkDel('pnt-k-m0'));
    expect(getLink(pod, 'pnt-k-m1')).toBeUndefined(); // deleting one end removes the pair
  });
});
