// The lab machinery without an agent: the single-node bridge lab (its pods, its matrix), option
// checks that fail before anything is made, and `down` after a crash (no record, an orphaned
// process in a node namespace) — everything found by its prefix.
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listNetns } from '../netns.js';
import { ClusterLab } from './lab.js';
import { cniError } from '../cni.js';
import { renderMatrix } from './matrix.js';
import { renderStatus } from './render.js';
import { alive, spawnDetached } from './process.js';
import { stateFile } from './state.js';
import { sweepLab } from './sweep.js';
import { useLabStateRoot } from './test-labs.js';

const PREFIX = 'pnl-b';
const labs = useLabStateRoot(PREFIX, 'pnl-bstate-');

const ours = async (prefix: string): Promise<string[]> => (await listNetns()).filter((n) => n.startsWith(prefix));

describe('bridge lab (one node, no agent)', () => {
  it('refuses impossible options before creating anything', async () => {
    await expect(ClusterLab.up({ prefix: `${PREFIX}x`, stateRoot: labs.root, backend: 'bridge', nodes: 2 })).rejects.toThrow(
      /--nodes: 2 is not in 1\.\.1 for the bridge backend/,
    );
    await expect(ClusterLab.up({ prefix: `${PREFIX}x`, stateRoot: labs.root, backend: 'bridge', store: 'etcd' })).rejects.toThrow(/--store/);
    await expect(ClusterLab.up({ prefix: `${PREFIX}x`, stateRoot: labs.root, pods: -1, backend: 'bridge' })).rejects.toThrow(/--pods/);
    await expect(ClusterLab.up({ prefix: `${PREFIX}x`, stateRoot: labs.root, backend: 'bridge', cniMode: 'thin' as never })).rejects.toThrow(
      /--cni-mode: "thin"/,
    );
    await expect(ClusterLab.up({ prefix: `${PREFIX}x`, stateRoot: `/tmp/${'d'.repeat(90)}`, backend: 'bridge', cniMode: 'thick' })).rejects.toThrow(
      /--state-dir: .*107 bytes/,
    );
    expect(await ours(`${PREFIX}x`)).toEqual([]);
  });

  it('creates the pods through the CNI executable and passes the same-node matrix with source addresses kept', async () => {
    const lab = await ClusterLab.up({ prefix: PREFIX, stateRoot: labs.root, backend: 'bridge', pods: 3 });
    try {
      expect(lab.state.pods.map((p) => p.ip)).toEqual(['10.244.1.2', '10.244.1.3', '10.244.1.4']);
      const reopened = await ClusterLab.open(lab.state.dir);
      const m = await reopened.matrix();
      expect(m.cells.filter((c) => !c.ok)).toEqual([]);
      expect(m.cells.map((c) => c.kind).sort()).toEqual([...Array(3).fill('node-local'), ...Array(3).fill('pod-outside'), ...Array(6).fill('same-node')]);
      // ipMasq: a pod reaching the underlay host outside the pod subnet is seen from the node.
      expect(new Set(m.cells.filter((c) => c.kind === 'pod-outside').map((c) => c.seen))).toEqual(new Set(['192.168.77.1']));
      // The node reaches its pods from its address on the pods' bridge.
      expect(new Set(m.cells.filter((c) => c.kind === 'node-local').map((c) => c.expected))).toEqual(new Set(['10.244.1.1']));
      const table = renderMatrix(m);
      expect(table).toContain('n1/p1');
      expect(table).toContain('all 12 cells passed');
    } finally {
      await lab.down();
    }
    expect(await ours(lab.id)).toEqual([]);
  });

  it('thick: podnetd serve-cni in the node serves the pods (a frozen daemon makes ADD give up with 11), its absence falls back in-process, the matrix passes, down stops it', async () => {
    const lab = await ClusterLab.up({ prefix: `${PREFIX}k`, stateRoot: labs.root, backend: 'bridge', cniMode: 'thick', pods: 2 });
    try {
      const node = lab.state.nodes[0]!;
      const daemon = node.cniDaemon!;
      expect(lab.podConfig('n1').daemon).toEqual({ socket: node.cniSocket, timeoutMs: 30_000 });
      const [status] = await lab.status();
      expect(status?.cni).toEqual({ socket: node.cniSocket, present: true, daemonAlive: true });
      expect(renderStatus(lab, [status!])).toContain(`cni podnetd serve-cni pid ${daemon.pid}, socket ${node.cniSocket}`);

      const { outcome, rolledBack } = await lab.frozenCniCall('n1', 1_000);
      expect(rolledBack).toBe(true);
      expect(cniError(outcome).code, outcome.stdout + outcome.stderr).toBe(11);
      expect(cniError(outcome).msg).toContain(node.cniSocket);

      // No daemon (stopped cleanly: no socket): the executable does the call itself, same store.
      await lab.stopCniDaemon('n1');
      expect((await lab.status())[0]?.cni).toEqual({ socket: node.cniSocket, present: false, daemonAlive: false });
      const [inProcess] = await lab.addPods('n1', 1);
      await lab.startCniDaemon('n1');
      const [served] = await lab.addPods('n1', 1);
      // One store whoever writes: four distinct addresses (the IPAM moves on past the probe's).
      expect(new Set(lab.state.pods.map((p) => p.ip)).size).toBe(4);
      expect([inProcess?.ip, served?.ip].every((ip) => /^10\.244\.1\.\d+$/.test(ip ?? ''))).toBe(true);
      const m = await lab.matrix();
      expect(m.cells.filter((c) => !c.ok)).toEqual([]);
      expect(m.cells.filter((c) => c.kind === 'same-node')).toHaveLength(12);
      const pid = lab.state.nodes[0]!.cniDaemon!.pid;
      await lab.down();
      expect(await alive(pid)).toBe(false);
    } finally {
      await lab.down();
    }
    expect(await ours(lab.id)).toEqual([]);
  }, 60_000);

  it('down after a crash: without the record, kills what runs in the namespaces and removes them and the state', async () => {
    const lab = await ClusterLab.up({ prefix: PREFIX, stateRoot: labs.root, backend: 'bridge', pods: 1 });
    const orphan = spawnDetached(lab.state.nodes[0]!.netns, 'sleep', ['600'], path.join(lab.state.dir, 'orphan.log'));
    await rm(stateFile(lab.state.dir));
    expect(await alive(orphan)).toBe(true);
    const report = await sweepLab(lab.id, labs.root);
    expect(report.namespaces.sort()).toEqual([`${lab.id}-fabric`, `${lab.id}-n1`, `${lab.id}-n1-p1`]);
    expect(report.processes).toEqual([orphan]);
    expect(await alive(orphan)).toBe(false);
    expect(await ours(lab.id)).toEqual([]);
    await expect(stat(lab.state.dir)).rejects.toThrow();
  });

  it("removing one lab leaves a lab whose id merely starts with the first one's", async () => {
    const first = await ClusterLab.up({ prefix: `${PREFIX}z`, stateRoot: labs.root, backend: 'bridge', pods: 0 });
    const second = await ClusterLab.up({ prefix: first.id, stateRoot: labs.root, backend: 'bridge', pods: 0 });
    try {
      expect(second.id.startsWith(first.id)).toBe(true);
      await first.down();
      expect((await ours(first.id)).sort()).toEqual([`${second.id}-fabric`, `${second.id}-n1`].sort());
      await expect(stat(second.state.dir)).resolves.toBeDefined();
      await expect(stat(first.state.dir)).rejects.toThrow();
    } finally {
      await second.down();
    }
  });
});
