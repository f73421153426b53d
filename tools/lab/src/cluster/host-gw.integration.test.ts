// Lab e2e for issue 7: 3 nodes × 2 pods, host-gw, one real podnetd per node, on the embedded
// `local` store and on a real etcd (Debian's etcd-server inside the lab's fabric namespace).
// One lab per store is shared by the scenarios below, in order; every name starts with `pnl-h`
// and the lab is swept in afterAll whatever happened. Agents reconcile every second here.
// Issue 9: a third run in thick mode (each podnetd serves its node's CNI calls, the executables
// are thin clients) covers what the CNI mode can change — the lab up, the matrix, agent restarts
// under running pods (with pods added while the daemon is down: the in-process fallback), a node
// joining and leaving — plus a proof that the calls go through the daemon; the agent-only
// scenarios (route drift, etcd) are not repeated there: the CNI mode does not touch them.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, runOk } from '../exec.js';
import { listNetns } from '../netns.js';
import { httpGetIn } from './http.js';
import { existsSync } from 'node:fs';
import { cniError } from '../cni.js';
import { ClusterLab, type NodeStatus } from './lab.js';
import { alive } from './process.js';
import { monitorRoutes, pingSeries } from './traffic.js';
import { useLabStateRoot, waitFor } from './test-labs.js';
import type { LabCniMode, LabStoreKind, NodeRecord } from './state.js';

const PREFIX = 'pnl-h';
const labs = useLabStateRoot(PREFIX, 'pnl-state-');

/** When the agent of `node` last reconciled, from its own /status. */
async function lastReconcile(node: NodeRecord): Promise<string | undefined> {
  const r = await httpGetIn(node.netns, `http://${node.agent!.listen}/status`);
  try {
    return (JSON.parse(r.body) as { lastReconcile?: { at?: string } }).lastReconcile?.at;
  } catch {
    return undefined;
  }
}

/** Resolves once the agent of `node` has completed a reconcile that started after this call. */
async function nextReconcile(node: NodeRecord): Promise<void> {
  const first = await lastReconcile(node);
  await waitFor(`a reconcile on ${node.name}`, async () => (await lastReconcile(node)) !== first);
  // The one just seen may have started before the call: wait for one more.
  const second = await lastReconcile(node);
  await waitFor(`another reconcile on ${node.name}`, async () => (await lastReconcile(node)) !== second);
}

/** `podnetd_store_errors_total` of `node`'s agent (failed store calls and watch errors). */
async function storeErrors(node: NodeRecord): Promise<number> {
  const r = await httpGetIn(node.netns, `http://${node.agent!.listen}/metrics`);
  const line = r.body.split('\n').find((l) => l.startsWith('podnetd_store_errors_total '));
  if (!line) throw new Error(`${node.name}: no podnetd_store_errors_total in /metrics (${r.status})`);
  return Number(line.split(' ')[1]);
}

const RUNS: Array<[LabStoreKind, LabCniMode]> = [
  ['local', 'embedded'],
  ['etcd', 'embedded'],
  ['local', 'thick'],
];

describe.each(RUNS)('host-gw lab, 3 nodes × 2 pods, store %s, CNI %s', (store, mode) => {
  const thick = mode === 'thick';
  let lab: ClusterLab;
  const subnet = async (node: NodeRecord): Promise<string> => {
    const s = (await lab.leaseFile(node))?.subnets?.ipv4;
    if (!s) throw new Error(`${node.name} has no lease file`);
    return s;
  };
  /** The route every other node must have towards `node`. */
  const routeTo = async (node: NodeRecord): Promise<string> => `${await subnet(node)} via ${node.address} dev eth0`;
  const others = (node: NodeRecord): NodeRecord[] => lab.state.nodes.filter((n) => n !== node);

  beforeAll(async () => {
    lab = await ClusterLab.up({
      prefix: `${PREFIX}${thick ? 'k' : store[0]}`,
      stateRoot: labs.root,
      nodes: 3,
      pods: 2,
      store,
      cniMode: mode,
      reconcilePeriod: '1s',
    });
  }, 120_000);
  afterAll(async () => {
    await lab?.down();
  });

  it('gives every node a distinct subnet, and routes each peer subnet via that peer only (protocol 83)', async () => {
    const subnets = await Promise.all(lab.state.nodes.map(subnet));
    expect(new Set(subnets).size).toBe(3);
    for (const node of lab.state.nodes) {
      const want = await Promise.all(others(node).map(routeTo));
      expect(await lab.agentRoutes(node)).toEqual(want.sort());
    }
    const status: NodeStatus[] = await lab.status();
    expect(status.map((s) => [s.agent?.alive, s.agent?.healthz, s.agent?.readyz])).toEqual(Array(3).fill([true, 200, 200]));
    // Thick: every node serves its own socket (they share this machine's filesystem), and the
    // pods' config names it; embedded: the config turns the daemon off.
    expect(status.map((s) => s.cni?.present)).toEqual(Array(3).fill(thick ? true : undefined));
    expect(new Set(status.map((s) => s.cni?.socket)).size).toBe(thick ? 3 : 1);
    expect(lab.podConfig('n1').daemon).toEqual(thick ? { socket: lab.node('n1').cniSocket, timeoutMs: 30_000 } : false);
  });

  it('passes the full matrix: pod ↔ pod on one node and across nodes, node → local and remote pod, no NAT; pod → outside masqueraded', async () => {
    const m = await lab.matrix();
    const count = (kind: string): number => m.cells.filter((c) => c.kind === kind && c.ok).length;
    expect(m.cells.filter((c) => !c.ok)).toEqual([]);
    expect([count('same-node'), count('cross-node'), count('node-local'), count('node-remote'), count('pod-outside')]).toEqual([6, 24, 6, 12, 6]);
    // A node reaching a remote pod is seen from its own underlay address.
    expect(m.cells.filter((c) => c.kind === 'node-remote').every((c) => lab.state.nodes.some((n) => n.address === c.expected))).toBe(true);
  });

  if (thick) {
    it("goes through the daemon: with the node's podnetd frozen, an ADD gives up with code 11 naming its socket (in-process it would succeed)", async () => {
      const { outcome, waitedMs, rolledBack } = await lab.frozenCniCall('n1', 1_000);
      // Thawed, the agent's log names that very call (its container id) as rolled back.
      expect(rolledBack).toBe(true);
      const e = cniError(outcome);
      expect(e.code, outcome.stdout + outcome.stderr).toBe(11);
      expect(`${e.msg} ${e.details ?? ''}`).toContain(lab.node('n1').cniSocket);
      expect(waitedMs).toBeGreaterThanOrEqual(1_000);
      expect(waitedMs).toBeLessThan(10_000);
      // Thawed, the agent is well and its pods still talk.
      expect((await lab.status())[0]?.agent?.readyz).toBe(200);
      expect((await pingSeries(lab.podsOf('n1')[0]!.netns, lab.podsOf('n2')[0]!.ip!, 3, 0.2)).received).toBe(3);
    }, 30_000);
  }

  if (!thick)
    it('removes a stale route of its protocol at the next reconcile, and leaves routes of another protocol alone — also one on a peer subnet', async () => {
      const [n1, n2, n3] = lab.state.nodes as [NodeRecord, NodeRecord, NodeRecord];
      const peer = await subnet(n2);
      await runOk('ip', ['-n', n1.netns, 'route', 'add', '10.244.250.0/24', 'via', n3.address, 'proto', '83']);
      await runOk('ip', ['-n', n1.netns, 'route', 'add', '10.244.251.0/24', 'via', n3.address, 'proto', 'static']);
      // An operator's route where the agent wants its own (same destination): the agent's is
      // replaced by hand with a `proto static` one, which the agent must leave there.
      await runOk('ip', ['-n', n1.netns, 'route', 'replace', peer, 'via', n2.address, 'proto', 'static']);
      try {
        await waitFor('the stale protocol-83 route to be removed', async () => !(await lab.routes(n1, 83)).some((r) => r.dst === '10.244.250.0/24'));
        // One more full reconcile after that one (the agent's /status says when it ran), so the
        // agent had its chance to touch the others.
        await nextReconcile(n1);
        expect((await lab.routes(n1, 'static')).map((r) => `${r.dst} via ${r.gateway}`).sort()).toEqual(
          [`${peer} via ${n2.address}`, `10.244.251.0/24 via ${n3.address}`].sort(),
        );
        expect(await lab.agentRoutes(n1)).toEqual([await routeTo(n3)]);
      } finally {
        await run('ip', ['-n', n1.netns, 'route', 'del', '10.244.251.0/24']);
        await run('ip', ['-n', n1.netns, 'route', 'del', '10.244.250.0/24']);
        await run('ip', ['-n', n1.netns, 'route', 'del', peer, 'proto', 'static']);
      }
      // The operator's route gone, the agent programs its own again.
      await waitFor(`${await routeTo(n2)} back on ${n1.name}`, async () => (await lab.agentRoutes(n1)).includes(await routeTo(n2)));
    });

  if (!thick)
    it('restores a route deleted by hand', async () => {
      const [n1, n2] = lab.state.nodes as [NodeRecord, NodeRecord];
      const route = await routeTo(n2);
      await runOk('ip', ['-n', n1.netns, 'route', 'del', await subnet(n2)]);
      expect(await lab.agentRoutes(n1)).not.toContain(route);
      await waitFor(`${route} back on ${n1.name}`, async () => (await lab.agentRoutes(n1)).includes(route));
    });

  it.each(['SIGTERM', 'SIGKILL'] as const)(
    'keeps the subnet across an agent restart (%s), and a ping across nodes meanwhile loses nothing',
    async (signal) => {
      const [n1, n2] = lab.state.nodes as [NodeRecord, NodeRecord];
      const from = lab.podsOf(n1.name)[0]!;
      const to = lab.podsOf(n2.name)[0]!;
      const before = await subnet(n2);
      const routesBefore = await Promise.all(lab.state.nodes.map((n) => lab.agentRoutes(n)));
      const ping = pingSeries(from.netns, to.ip!, 40, 0.2);
      await sleep(1_000);
      await lab.stopAgent(n2.name, signal);
      // Stopped: the data plane stays (its routes are still there).
      expect(await lab.agentRoutes(n2)).toEqual(routesBefore[1]);
      let late: string | undefined;
      if (thick) {
        // No daemon: a SIGTERM removed the socket (ENOENT), a SIGKILL left it with no listener
        // (ECONNREFUSED); either way the executable does the call in-process, from the lease file.
        expect(existsSync(n2.cniSocket!)).toBe(signal === 'SIGKILL');
        late = (await lab.addPods(n2.name, 1))[0]!.ip;
      }
      await lab.startAgent(n2.name);
      const result = await ping;
      expect(result.received, result.output).toBe(result.transmitted);
      expect(result.transmitted).toBe(40);
      if (late) {
        // Restarted, the daemon serves again (same store): the pod made in-process is reachable
        // and the next pod comes from the daemon with another address.
        expect((await pingSeries(from.netns, late, 3, 0.2)).received).toBe(3);
        const [next] = await lab.addPods(n2.name, 1);
        expect(next!.ip).not.toBe(late);
        expect((await pingSeries(from.netns, next!.ip!, 3, 0.2)).received).toBe(3);
      }
      expect(await subnet(n2)).toBe(before);
      expect(await Promise.all(lab.state.nodes.map((n) => lab.agentRoutes(n)))).toEqual(routesBefore);
    },
    60_000,
  );

  if (store === 'etcd') {
    it('survives an etcd restart under running agents: they reconnect with no route churn', async () => {
      const routesBefore = await Promise.all(lab.state.nodes.map((n) => lab.agentRoutes(n)));
      const errorsBefore = await Promise.all(lab.state.nodes.map((n) => storeErrors(n)));
      const monitors = await Promise.all(lab.state.nodes.map((n) => monitorRoutes(n.netns)));
      await lab.stopEtcd('SIGTERM');
      // Several periodic reconciles run while the store is away (period 1 s).
      await sleep(3_000);
      // Every agent did notice the outage (its watch and calls failed): the test cut them off.
      const errorsDuring = await Promise.all(lab.state.nodes.map((n) => storeErrors(n)));
      errorsDuring.forEach((e, i) => expect(e).toBeGreaterThan(errorsBefore[i]!));
      await lab.startEtcd();
      await sleep(3_000);
      const events = await Promise.all(monitors.map((m) => m.stop()));
      expect(events).toEqual([[], [], []]);
      expect(await Promise.all(lab.state.nodes.map((n) => lab.agentRoutes(n)))).toEqual(routesBefore);
      expect((await lab.status()).map((s) => s.agent?.readyz)).toEqual([200, 200, 200]);
    }, 60_000);
  }

  it(store === 'etcd'
    ? 'resumes watches after a compaction: a node that joins while an agent is frozen, then history compacted and etcd restarted, is still programmed everywhere'
    : 'programs a node that joins on every node, and the new node routes to every peer', async () => {
    const n1 = lab.state.nodes[0]!;
    if (store === 'etcd') process.kill(n1.agent!.pid, 'SIGSTOP');
    let n4: NodeRecord;
    try {
      n4 = await lab.addNode({ reconcilePeriod: '1s' });
      if (store === 'etcd') {
        // n1's watch is behind n4's lease; compaction removes that history, the restart cuts
        // n1's stream, so on resume it must re-list (a resync) instead of replaying.
        await lab.compactEtcd();
        await lab.stopEtcd('SIGTERM');
        await lab.startEtcd();
      }
    } finally {
      if (store === 'etcd') process.kill(n1.agent!.pid, 'SIGCONT');
    }
    const route = await routeTo(n4);
    for (const node of others(n4)) {
      await waitFor(`${route} on ${node.name}`, async () => (await lab.agentRoutes(node)).includes(route), 30_000);
    }
    expect(await lab.agentRoutes(n4)).toEqual((await Promise.all(others(n4).map(routeTo))).sort());
    const [pod] = await lab.addPods(n4.name, 1);
    const r = await pingSeries(lab.podsOf('n1')[0]!.netns, pod!.ip!, 3, 0.2);
    expect(r.received).toBe(3);
  }, 90_000);

  it('removes the routes of a node that leaves (agent stopped, lease released) from every other node', async () => {
    const n4 = lab.node('n4');
    const route = await routeTo(n4);
    await lab.stopAgent(n4.name, 'SIGTERM');
    const r = await lab.podnetd(n4.name, ['teardown', '--release', ...lab.agentStoreArgs(n4)]);
    expect(r.code, r.stderr).toBe(0);
    for (const node of others(n4)) {
      await waitFor(`${route} gone from ${node.name}`, async () => !(await lab.agentRoutes(node)).includes(route), 30_000);
    }
    // The leaver's own routes are gone too (teardown removes what the agent installed).
    expect(await lab.agentRoutes(n4)).toEqual([]);
  }, 60_000);

  it('down removes every namespace, process and directory of the lab', async () => {
    const pids = [...lab.state.nodes.flatMap((n) => (n.agent ? [n.agent.pid] : [])), ...(lab.state.etcd ? [lab.state.etcd.pid] : [])];
    expect(pids).toHaveLength(store === 'etcd' ? 5 : 4);
    await lab.down();
    expect((await listNetns()).filter((n) => n.startsWith(lab.id))).toEqual([]);
    for (const pid of pids) expect(await alive(pid)).toBe(false);
    await expect(import('node:fs/promises').then((fs) => fs.stat(lab.state.dir))).rejects.toThrow();
  });
});

// Agents only: the CNI mode plays no part, so embedded only.
describe.each(['local', 'etcd'] as const)('16 agents starting at once, store %s', (store) => {
  it('get 16 distinct subnets, and every node routes the 15 others via their nodes', async () => {
    const lab = await ClusterLab.up({ prefix: `${PREFIX}${store[0]}16`, stateRoot: labs.root, nodes: 16, pods: 0, store });
    try {
      const leases = await Promise.all(lab.state.nodes.map((n) => lab.leaseFile(n)));
      const subnets = leases.map((l) => l?.subnets?.ipv4);
      expect(subnets.every((s) => s !== undefined)).toBe(true);
      expect(new Set(subnets).size).toBe(16);
      for (const [i, node] of lab.state.nodes.entries()) {
        const want = lab.state.nodes.flatMap((peer, j) => (j === i ? [] : [`${subnets[j]} via ${peer.address} dev eth0`])).sort();
        await waitFor(`${node.name} routing all 15 peers`, async () => JSON.stringify(await lab.agentRoutes(node)) === JSON.stringify(want));
      }
    } finally {
      await lab.down();
    }
  }, 120_000);
});
