// The lab machinery without an agent: the single-node bridge lab (its pods, its matrix), option
// checks that fail before anything is made, and `down` after a crash (no record, an orphaned
// process in a node namespace) — everything found by its prefix.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listNetns } from '../netns.js';
import { ClusterLab } from './lab.js';
import { renderMatrix } from './matrix.js';
import { alive, spawnDetached } from './process.js';
import { stateFile } from './state.js';
import { sweepLab, sweepLabs } from './sweep.js';

const PREFIX = 'pnl-b';
let stateRoot = '';
beforeAll(async () => {
  stateRoot = await mkdtemp(path.join(os.tmpdir(), 'pnl-bstate-'));
});
afterAll(async () => {
  await sweepLabs(PREFIX, stateRoot);
  await rm(stateRoot, { recursive: true, force: true });
});

const ours = async (prefix: string): Promise<string[]> => (await listNetns()).filter((n) => n.startsWith(prefix));

describe('bridge lab (one node, no agent)', () => {
  it('refuses impossible options before creating anything', async () => {
    await expect(ClusterLab.up({ prefix: `${PREFIX}x`, stateRoot, backend: 'bridge', nodes: 2 })).rejects.toThrow(/--nodes: 2 is not in 1\.\.1 for the bridge backend/);
    await expect(ClusterLab.up({ prefix: `${PREFIX}x`, stateRoot, backend: 'bridge', store: 'etcd' })).rejects.toThrow(/--store/);
    await expect(ClusterLab.up({ prefix: `${PREFIX}x`, stateRoot, pods: -1, backend: 'bridge' })).rejects.toThrow(/--pods/);
    expect(await ours(`${PREFIX}x`)).toEqual([]);
  });

  it('creates the pods through the CNI executable and passes the same-node matrix with source addresses kept', async () => {
    const lab = await ClusterLab.up({ prefix: PREFIX, stateRoot, backend: 'bridge', pods: 3 });
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

  it('down after a crash: without the record, kills what runs in the namespaces and removes them and the state', async () => {
    const lab = await ClusterLab.up({ prefix: PREFIX, stateRoot, backend: 'bridge', pods: 1 });
    const orphan = spawnDetached(lab.state.nodes[0]!.netns, 'sleep', ['600'], path.join(lab.state.dir, 'orphan.log'));
    await rm(stateFile(lab.state.dir));
    expect(await alive(orphan)).toBe(true);
    const report = await sweepLab(lab.id, stateRoot);
    expect(report.namespaces.sort()).toEqual([`${lab.id}-fabric`, `${lab.id}-n1`, `${lab.id}-n1-p1`]);
    expect(report.processes).toEqual([orphan]);
    expect(await alive(orphan)).toBe(false);
    expect(await ours(lab.id)).toEqual([]);
    await expect(stat(lab.state.dir)).rejects.toThrow();
  });

  it("removing one lab leaves a lab whose id merely starts with the first one's", async () => {
    const first = await ClusterLab.up({ prefix: `${PREFIX}z`, stateRoot, backend: 'bridge', pods: 0 });
    const second = await ClusterLab.up({ prefix: first.id, stateRoot, backend: 'bridge', pods: 0 });
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
