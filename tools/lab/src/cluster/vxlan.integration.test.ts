// Lab e2e for issue 8: the VXLAN backend with one real podnetd per node, on nodes that are NOT on
// one L2 segment — every node on a segment of its own, the fabric routing between them
// (routed.ts), so host-gw could not work there. Then a mixed lab (n1, n2 on one segment, n3
// routed) with DirectRouting. Every name starts with `pnv-l`; labs are swept in afterAll whatever
// happened. Agents reconcile every second here.
// Issue 9: the routed lab runs again in thick mode (each podnetd serves its node's CNI calls,
// the executables are thin clients): the lab up, routes, the matrix, the pod MTU, an agent
// restart under pinging pods (a pod added while the daemon is down: in-process fallback) and a
// node leaving. Device/FDB repair and the stranger filter are the agent's alone: not repeated.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, runOk } from '../exec.js';
import { ClusterLab } from './lab.js';
import { pingSeries } from './traffic.js';
import { useLabStateRoot, waitFor } from './test-labs.js';
import type { LabCniMode, NodeRecord } from './state.js';

const PREFIX = 'pnv-l';
const DEV = 'vxlan.podnet';
const PORT = 8472;
const labs = useLabStateRoot(PREFIX, 'pnv-lab-state-');

const json = async (cmd: string, args: string[]): Promise<any[]> => {
  const out = await runOk(cmd, args);
  return out.trim() ? JSON.parse(out) : [];
};
/** Everything the tunnel needs on `node`, as sorted lines: permanent neighbours, FDB entries, routes. */
async function entries(node: NodeRecord): Promise<string[]> {
  if (!(await device(node))) return [];
  const neigh = (await json('ip', ['-n', node.netns, '-j', 'neigh', 'show', 'dev', DEV, 'nud', 'permanent'])).map((n) => `neigh ${n.dst} ${n.lladdr}`);
  const fdb = (await json('bridge', ['-n', node.netns, '-j', 'fdb', 'show', 'dev', DEV])).map((e) => `fdb ${e.mac} ${e.dst ?? '-'}`);
  const routes = (await json('ip', ['-n', node.netns, '-j', 'route', 'show', 'proto', '83'])).map((r) => `route ${r.dst} via ${r.gateway} dev ${r.dev}`);
  return [...neigh, ...fdb, ...routes].sort();
}
async function device(node: NodeRecord): Promise<any | undefined> {
  const r = await run('ip', ['-n', node.netns, '-d', '-s', '-j', 'link', 'show', DEV]);
  return r.code === 0 ? JSON.parse(r.stdout)[0] : undefined;
}
const txPackets = async (node: NodeRecord): Promise<number> => (await device(node))?.stats64?.tx?.packets ?? 0;
const network = (subnet: string): string => subnet.split('/')[0]!;

/** A packet counter in the fabric (the router) for UDP to the VXLAN port: proof the underlay carries the tunnel. */
async function countUnderlay(lab: ClusterLab): Promise<() => Promise<number>> {
  const table = `${lab.id}-udp`;
  await runOk('ip', ['netns', 'exec', lab.state.fabric.netns, 'nft', '-f', '-'], {
    input: `table ip ${table} {\n  chain seen { type filter hook forward priority 0; udp dport ${PORT} counter; }\n}\n`,
  });
  return async () => {
    const out = JSON.parse(await runOk('ip', ['netns', 'exec', lab.state.fabric.netns, 'nft', '-j', 'list', 'table', 'ip', table]));
    return out.nftables.find((o: any) => o.rule)?.rule.expr.find((e: any) => e.counter).counter.packets as number;
  };
}

/** Counters after SNAT on `node`: packets of SNAT'd flows, and of those, VXLAN ones. */
async function countSnat(node: NodeRecord): Promise<() => Promise<[number, number]>> {
  const table = 'pnv-snat';
  await runOk('ip', ['netns', 'exec', node.netns, 'nft', '-f', '-'], {
    input: `table inet ${table} {\n  chain seen { type filter hook postrouting priority srcnat + 10; ct status snat counter; udp dport ${PORT} ct status snat counter; }\n}\n`,
  });
  return async () => {
    const out = JSON.parse(await runOk('ip', ['netns', 'exec', node.netns, 'nft', '-j', 'list', 'table', 'inet', table]));
    const counts = out.nftables.filter((o: any) => o.rule).map((o: any) => o.rule.expr.find((e: any) => e.counter).counter.packets as number);
    return [counts[0], counts[1]];
  };
}

describe.each(['embedded', 'thick'] as LabCniMode[])('vxlan lab, 3 nodes × 2 pods, each node on a segment of its own (routed), CNI %s', (mode) => {
  const thick = mode === 'thick';
  let lab: ClusterLab;
  const subnet = async (node: NodeRecord): Promise<string> => {
    const s = (await lab.leaseFile(node))?.subnets?.ipv4;
    if (!s) throw new Error(`${node.name} has no lease file`);
    return s;
  };
  const others = (node: NodeRecord): NodeRecord[] => lab.state.nodes.filter((n) => n !== node);
  const matrixOk = async (): Promise<boolean> => (await lab.matrix()).ok;

  beforeAll(async () => {
    lab = await ClusterLab.up({
      prefix: `${PREFIX}${thick ? 'k' : 'r'}`,
      stateRoot: labs.root,
      backend: 'vxlan',
      topology: 'routed',
      nodes: 3,
      pods: 2,
      cniMode: mode,
      reconcilePeriod: '1s',
    });
  }, 120_000);
  afterAll(async () => {
    await lab?.down();
  });

  it('puts the nodes on different segments (no node address on-link for another), routes each peer through the tunnel', async () => {
    const addresses = lab.state.nodes.map((n) => n.address);
    expect(new Set(addresses.map((a) => a.split('.').slice(0, 3).join('.'))).size).toBe(3);
    for (const node of lab.state.nodes) {
      const want = await Promise.all(others(node).map(async (p) => `${await subnet(p)} via ${network(await subnet(p))} dev ${DEV}`));
      expect(await lab.agentRoutes(node)).toEqual(want.sort());
      const lease = await lab.leaseFile(node);
      expect([lease?.backend, lease?.mtu]).toEqual(['vxlan', 1450]);
    }
    expect((await lab.status()).map((s) => s.cni?.present)).toEqual(Array(3).fill(thick ? true : undefined));
  });

  it('passes the full matrix, sources preserved, and the traffic really crosses the tunnel (device counters, UDP on the underlay); encapsulated packets are never masqueraded', async () => {
    const udp = await countUnderlay(lab);
    const snat = await countSnat(lab.node('n1'));
    const udpBefore = await udp();
    const txBefore = await Promise.all(lab.state.nodes.map(txPackets));
    const m = await lab.matrix();
    const count = (kind: string): number => m.cells.filter((c) => c.kind === kind && c.ok).length;
    expect(m.cells.filter((c) => !c.ok)).toEqual([]);
    expect([count('same-node'), count('cross-node'), count('node-local'), count('node-remote'), count('pod-outside')]).toEqual([6, 24, 6, 12, 6]);
    const txAfter = await Promise.all(lab.state.nodes.map(txPackets));
    txAfter.forEach((tx, i) => expect(tx).toBeGreaterThan(txBefore[i]!));
    expect((await udp()) - udpBefore).toBeGreaterThanOrEqual(24);
    // podnetd's masquerade (pod → outside) did happen on n1, and never to a VXLAN packet.
    const [any, vxlan] = await snat();
    expect(any).toBeGreaterThan(0);
    expect(vxlan).toBe(0);
  });

  it('gives pods the overlay MTU: a do-not-fragment packet of exactly the MTU reaches a pod on another node, one byte more is refused at the sender', async () => {
    const from = lab.podsOf('n1')[0]!;
    const to = lab.podsOf('n3')[0]!;
    const mtu = (await json('ip', ['-n', from.netns, '-j', 'link', 'show', 'eth0']))[0].mtu;
    expect(mtu).toBe(1450);
    const ping = (size: number) => run('ip', ['netns', 'exec', from.netns, 'ping', '-c', '1', '-W', '2', '-M', 'do', '-s', String(size), to.ip!]);
    const fits = await ping(mtu - 28);
    expect(fits.code, fits.stdout + fits.stderr).toBe(0);
    const over = await ping(mtu - 28 + 1);
    expect(over.code).not.toBe(0);
    expect(over.stdout + over.stderr).toMatch(/message too long|mtu = 1450/i);
  });

  if (!thick)
    it('recreates a deleted VXLAN device and the full matrix passes again within one reconcile period', async () => {
      const n1 = lab.node('n1');
      const before = await entries(n1);
      await runOk('ip', ['-n', n1.netns, 'link', 'del', DEV]);
      const ms = await waitFor('the device and all its entries back on n1', async () => JSON.stringify(await entries(n1)) === JSON.stringify(before), 5_000);
      // One reconcile period is 1 s here; the pass itself takes milliseconds.
      expect(ms).toBeLessThan(1_500);
      expect(await matrixOk()).toBe(true);
    });

  if (!thick)
    it('restores an FDB entry and a neighbour deleted by hand, and removes a foreign permanent FDB entry', async () => {
      const n1 = lab.node('n1');
      const before = await entries(n1);
      const peer = lab.node('n2');
      const peerMac = (await device(peer)).address as string;
      await runOk('bridge', ['-n', n1.netns, 'fdb', 'del', peerMac, 'dev', DEV, 'dst', peer.address]);
      await runOk('ip', ['-n', n1.netns, 'neigh', 'del', network(await subnet(peer)), 'dev', DEV]);
      await runOk('bridge', ['-n', n1.netns, 'fdb', 'append', '00:00:00:00:00:00', 'dev', DEV, 'dst', '192.168.250.1']);
      expect(await entries(n1)).not.toEqual(before);
      await waitFor('n1 entries restored', async () => JSON.stringify(await entries(n1)) === JSON.stringify(before), 5_000);
    });

  it('keeps the VTEP MAC across an agent restart, nothing changes on the peers, and a ping through the tunnel meanwhile loses nothing', async () => {
    const n2 = lab.node('n2');
    const mac = (await device(n2)).address;
    const dump = async (): Promise<string[][]> => Promise.all(lab.state.nodes.map(entries));
    const before = await dump();
    const ping = pingSeries(lab.podsOf('n1')[0]!.netns, lab.podsOf('n2')[0]!.ip!, 30, 0.2);
    await sleep(500);
    await lab.stopAgent(n2.name, 'SIGTERM');
    // Thick: no daemon now, so the executable attaches the pod in-process (from the lease file).
    const late = thick ? (await lab.addPods(n2.name, 1))[0] : undefined;
    await lab.startAgent(n2.name);
    await sleep(2_500); // a few reconciles on every node
    expect((await device(n2)).address).toBe(mac);
    expect(await dump()).toEqual(before);
    const result = await ping;
    expect(result.received, result.output).toBe(result.transmitted);
    if (late) expect((await pingSeries(lab.podsOf('n1')[0]!.netns, late.ip!, 3, 0.2)).received).toBe(3);
  }, 60_000);

  if (!thick)
    it('drops VXLAN from an underlay address that is no node, and counts it', async () => {
      const n1 = lab.node('n1');
      const counter = async (): Promise<number> => {
        const out = JSON.parse(await runOk('ip', ['netns', 'exec', n1.netns, 'nft', '-j', 'list', 'counter', 'inet', 'podnet-vxlan', 'strangers']));
        return out.nftables.find((o: any) => o.counter).counter.packets as number;
      };
      const before = await counter();
      // The fabric (the router) sends from its own addresses: no lease names them.
      for (let i = 0; i < 5; i++) await runOk('ip', ['netns', 'exec', lab.state.fabric.netns, 'bash', '-c', `echo x > /dev/udp/${n1.address}/${PORT}`]);
      await waitFor('5 strangers counted', async () => (await counter()) - before === 5, 3_000);
      // Tunnel traffic from real nodes is not counted.
      expect(await matrixOk()).toBe(true);
      expect((await counter()) - before).toBe(5);
    });

  it('removes all three entries of a node that leaves, on every other node', async () => {
    const n3 = lab.node('n3');
    const gone = network(await subnet(n3));
    await lab.stopAgent(n3.name, 'SIGTERM');
    const r = await lab.podnetd(n3.name, ['teardown', '--release', ...lab.agentStoreArgs(n3)]);
    expect(r.code, r.stderr).toBe(0);
    for (const node of others(n3)) {
      await waitFor(`n3's entries gone from ${node.name}`, async () => !(await entries(node)).some((e) => e.includes(gone) || e.includes(n3.address)), 30_000);
      expect(await entries(node)).toHaveLength(3); // the one remaining peer: neighbour, FDB, route
    }
    expect(await device(n3)).toBeUndefined();
  }, 60_000);
});

describe('vxlan lab with DirectRouting: n1 and n2 share a segment, n3 is routed', () => {
  let lab: ClusterLab;
  beforeAll(async () => {
    lab = await ClusterLab.up({
      prefix: `${PREFIX}d`,
      stateRoot: labs.root,
      backend: 'vxlan',
      topology: 'mixed',
      backendOptions: { DirectRouting: true },
      nodes: 3,
      pods: 2,
      reconcilePeriod: '1s',
    });
  }, 120_000);
  afterAll(async () => {
    await lab?.down();
  });

  it('gives the pair host-gw routes and the third node the tunnel, and the matrix passes', async () => {
    const [n1, n2, n3] = lab.state.nodes as [NodeRecord, NodeRecord, NodeRecord];
    const s = async (n: NodeRecord): Promise<string> => (await lab.leaseFile(n))!.subnets!.ipv4!;
    expect(await lab.agentRoutes(n1)).toEqual([`${await s(n2)} via ${n2.address} dev eth0`, `${await s(n3)} via ${network(await s(n3))} dev ${DEV}`].sort());
    expect(await lab.agentRoutes(n2)).toEqual([`${await s(n1)} via ${n1.address} dev eth0`, `${await s(n3)} via ${network(await s(n3))} dev ${DEV}`].sort());
    expect(await lab.agentRoutes(n3)).toEqual(
      [`${await s(n1)} via ${network(await s(n1))} dev ${DEV}`, `${await s(n2)} via ${network(await s(n2))} dev ${DEV}`].sort(),
    );
    const m = await lab.matrix();
    expect(m.cells.filter((c) => !c.ok)).toEqual([]);
  });
});

describe('vxlan lab, dual-stack: the IPv6 overlay beside the IPv4 one, routed underlay', () => {
  let lab: ClusterLab;
  beforeAll(async () => {
    lab = await ClusterLab.up({
      prefix: `${PREFIX}6`,
      stateRoot: labs.root,
      backend: 'vxlan',
      topology: 'routed',
      ipv6: true,
      nodes: 3,
      pods: 2,
      reconcilePeriod: '1s',
    });
  }, 120_000);
  afterAll(async () => {
    await lab?.down();
  });

  const pod6 = async (netns: string): Promise<string> => {
    const addrs = (await json('ip', ['-n', netns, '-j', '-6', 'address', 'show', 'dev', 'eth0', 'scope', 'global']))[0]?.addr_info ?? [];
    const a = addrs[0]?.local as string | undefined;
    if (!a) throw new Error(`pod ${netns} has no global IPv6 address`);
    return a;
  };

  it('routes every peer IPv6 subnet through vxlan6.podnet, and every pod reaches every pod on other nodes over IPv6', async () => {
    for (const node of lab.state.nodes) {
      const lease = await lab.leaseFile(node);
      expect(lease?.subnets?.ipv6).toMatch(/^fd00:10:244:/);
      const routes6 = (await json('ip', ['-n', node.netns, '-6', '-j', 'route', 'show', 'proto', '83'])).map((r) => `${r.dst} dev ${r.dev}`);
      const want = await Promise.all(
        lab.state.nodes.filter((n) => n !== node).map(async (n) => `${(await lab.leaseFile(n))!.subnets!.ipv6} dev vxlan6.podnet`),
      );
      expect(routes6.sort()).toEqual(want.sort());
    }
    const tx = async (n: NodeRecord): Promise<number> =>
      JSON.parse(await runOk('ip', ['-n', n.netns, '-s', '-j', 'link', 'show', 'vxlan6.podnet']))[0].stats64.tx.packets;
    const before = await Promise.all(lab.state.nodes.map(tx));
    const failed: string[] = [];
    for (const from of lab.state.pods) {
      for (const to of lab.state.pods.filter((p) => p.node !== from.node)) {
        const dst = await pod6(to.netns);
        // One echo, answered within a second: the first packet of a fresh pod pair is not held
        // up on the way (it was, ~1 s per bridge, while the bridges ran DAD on their link-local
        // addresses and the nodes could not solicit the pods' MACs for forwarded IPv6).
        const r = await run('ip', ['netns', 'exec', from.netns, 'ping', '-6', '-c', '1', '-W', '1', dst]);
        if (r.code !== 0) failed.push(`${from.node}/${from.name} → ${to.node}/${to.name} ${dst}`);
      }
    }
    expect(failed).toEqual([]);
    const after = await Promise.all(lab.state.nodes.map(tx));
    after.forEach((t, i) => expect(t).toBeGreaterThan(before[i]!));
    // The IPv4 overlay still carries the full matrix.
    expect((await lab.matrix()).cells.filter((c) => !c.ok)).toEqual([]);
  });
});
