// Issue 6 findings 2, 3 and 6 on the compiled executables: a store that lost CURRENT is refused,
// never re-created; a damaged table shows in STATUS, DEL still cleans the kernel, and
// `podnet-bridge repair` restores service without handing out an address a live pod uses; networks
// `X` and `X.lock` share a dataDir. Everything is named `pns-e…` and removed afterwards.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { addresses, cniError, cniOk, Lab, link, run, type LabNode, type LabPod } from '@podnet/lab';
import { hostVethName } from '@podnet/backend-bridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipamAllocations } from './support/allocations.ts';
import { bin, cniPath } from './support/harness.ts';

let lab: Lab;
let node: LabNode;
beforeAll(async () => {
  lab = new Lab({ prefix: 'pns-e' });
  node = await lab.addNode('node');
});
afterAll(() => lab?.destroy());

interface Net {
  name: string;
  dataDir: string;
  config: Record<string, unknown>;
  /** `<dataDir>/<name>` */
  store: string;
}

let nets = 0;
async function network(subnet: string, name = `${lab.id}-n${nets}`): Promise<Net> {
  const dataDir = await lab.tempDir(`ipam${nets}`);
  const bridge = lab.linkName(`b${nets++}`);
  const config = {
    cniVersion: '1.1.0',
    name,
    type: 'podnet-bridge',
    bridge,
    isDefaultGateway: true,
    ipam: { type: 'podnet-ipam', ranges: [[{ subnet }]], dataDir },
  };
  return { name, dataDir, config, store: path.join(dataDir, name) };
}

function call(net: Net, pod: LabPod, command: 'ADD' | 'DEL' | 'CHECK', ifname = 'eth0', binary = bin.bridge) {
  return node.cni(binary, pod.invocation(command, net.config, { path: cniPath(), ifname }));
}

function status(net: Net) {
  return node.cni(bin.bridge, { command: 'STATUS', containerId: '', netns: '', ifname: '', path: cniPath(), config: net.config });
}

/** `<executable> repair --config <file>` in the node's netns, as an operator runs it there. */
async function repair(net: Net, binary = bin.bridge): Promise<{ code: number; report: Record<string, unknown>; stderr: string }> {
  const file = path.join(net.dataDir, `${net.name}.conf`);
  await writeFile(file, JSON.stringify(net.config));
  const r = await run('nsenter', [`--net=${node.netns.path}`, '--', binary, 'repair', '--config', file], {
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    cwd: '/',
  });
  let report: Record<string, unknown> = {};
  try {
    report = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`repair printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, report, stderr: r.stderr };
}

/** name → sha256 of every database file (LOCK and the info LOG excluded). */
async function storeFiles(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    if (name === 'LOCK' || name.startsWith('LOG')) continue;
    out[name] = createHash('sha256')
      .update(await readFile(path.join(dir, name)))
      .digest('hex');
  }
  return out;
}

function podIp(result: { ips?: Array<{ address: string }> }): string {
  return result.ips![0]!.address.split('/')[0]!;
}

/** The pod's eth0 addresses as the kernel has them. */
async function kernelIps(pod: LabPod): Promise<string[]> {
  return ((await addresses(pod.netns)).get('eth0') ?? []).filter((a) => a.family === 'inet').map((a) => a.local);
}

async function addPods(net: Net, prefix: string, n: number): Promise<Map<LabPod, string>> {
  const pods = new Map<LabPod, string>();
  // One after another: each call is its own store session, so earlier logs turn into tables.
  for (let i = 0; i < n; i++) {
    const pod = await lab.addPod(node, `${prefix}${i}`);
    pods.set(pod, podIp(cniOk(await call(net, pod, 'ADD'), `ADD ${pod.name}`)));
  }
  return pods;
}

describe('pns: a store that lost its CURRENT file', () => {
  it('ADD (5), DEL (5) and STATUS (50) refuse with the way out, nothing is touched; repair restores every allocation', async () => {
    const net = await network('10.251.0.0/24');
    const pods = await addPods(net, 'c', 4);
    const before = await ipamAllocations(net.dataDir, net.name);
    expect(before).toHaveLength(4);
    await unlink(path.join(net.store, 'CURRENT'));
    const files = await storeFiles(net.store);

    const fresh = await lab.addPod(node, 'cnew');
    const add = cniError(await call(net, fresh, 'ADD'));
    expect(add.code).toBe(5);
    expect(add.msg).toContain('CURRENT');
    expect(add.details).toContain('repair --config');
    expect(await kernelIps(fresh), 'a refused ADD leaves nothing in the pod').toEqual([]);
    const [first] = [...pods.keys()];
    const del = cniError(await call(net, first!, 'DEL'));
    expect(del.code).toBe(5);
    expect(del.msg).toContain('CURRENT');
    const down = cniError(await status(net));
    expect(down.code).toBe(50);
    expect(down.msg).toContain('is damaged');
    expect(down.details).toContain('repair --config');
    expect(await storeFiles(net.store), 'no database file created, changed or deleted').toEqual(files);

    const fixed = await repair(net);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.report).toMatchObject({ found: 'lost-current', leveldbRepaired: true, liveChecked: true, conflicts: [] });
    expect(await ipamAllocations(net.dataDir, net.name)).toEqual(before);
    expect(cniOk(await status(net), 'STATUS after repair')).toBeUndefined();
    // The DEL the runtime retries now releases; a new pod gets an address no pod holds.
    cniOk(await call(net, first!, 'DEL'), 'DEL after repair');
    const next = podIp(cniOk(await call(net, fresh, 'ADD'), 'ADD after repair'));
    expect([...pods.values()].slice(1)).not.toContain(next);
  }, 120_000);

  it('podnet-ipam repair does the LevelDB repair and says the live-pod check needs the backend', async () => {
    const net = await network('10.251.1.0/24');
    await addPods(net, 'i', 2);
    await unlink(path.join(net.store, 'CURRENT'));
    const fixed = await repair(net, bin.ipam);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.report).toMatchObject({ found: 'lost-current', leveldbRepaired: true, liveChecked: false });
    expect(fixed.stderr).toContain('podnet-bridge repair');
    expect(await ipamAllocations(net.dataDir, net.name)).toHaveLength(2);
  }, 120_000);
});

describe('pns: a damaged table', () => {
  it('STATUS 50 names it; DEL still deletes the host veth and reports the store error; repair never hands out a live address', async () => {
    const net = await network('10.251.2.0/24');
    const pods = await addPods(net, 't', 8);
    const tables = (await readdir(net.store)).filter((f) => f.endsWith('.ldb'));
    expect(tables.length, 'short sessions turned the logs into tables').toBeGreaterThan(0);
    const sizes = await Promise.all(tables.map(async (t) => [t, (await stat(path.join(net.store, t))).size] as const));
    const [victim] = sizes.sort((a, b) => b[1] - a[1])[0]!;
    await truncate(path.join(net.store, victim), 100);

    const down = cniError(await status(net));
    expect(down.code).toBe(50);
    expect(down.details).toContain(victim);
    expect(down.details).toContain('repair --config');

    // DEL of one pod: its host veth goes (kernel cleaned), the store error is reported.
    const [gone, ...live] = [...pods.keys()];
    const hostVeth = hostVethName(net.name, gone!.containerId, 'eth0');
    expect(await link(node.netns, hostVeth)).toBeDefined();
    const del = cniError(await call(net, gone!, 'DEL'));
    expect(del.code).toBe(5);
    expect(del.msg + del.details).toContain(victim);
    expect(await link(node.netns, hostVeth), 'DEL deleted the host veth').toBeUndefined();
    expect(await link(gone!.netns, 'eth0'), 'the pod end went with it').toBeUndefined();

    const fixed = await repair(net);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect((fixed.report['lostFiles'] as string[]).length, 'LevelDB moved the damaged table aside').toBeGreaterThan(0);
    expect((fixed.report['restored'] as unknown[]).length, 'entries of the damaged table came back from the live pods').toBeGreaterThan(0);
    expect(fixed.report['livePods']).toBe(live.length);
    expect(fixed.report['unresolved']).toEqual([]);
    cniOk(await status(net), 'STATUS after repair');

    // Every live pod's kernel address is held by that pod in the store.
    const held = new Map((await ipamAllocations(net.dataDir, net.name)).map((a) => [a.ip, a.containerId]));
    for (const pod of live) {
      const [ip] = await kernelIps(pod);
      expect(held.get(ip!), pod.name).toBe(pod.containerId);
    }
    // New pods never get an address a live pod has.
    const liveIps = new Set(await Promise.all(live.map(async (p) => (await kernelIps(p))[0]!)));
    for (let i = 0; i < 6; i++) {
      const pod = await lab.addPod(node, `tn${i}`);
      const ip = podIp(cniOk(await call(net, pod, 'ADD'), `ADD ${pod.name}`));
      expect(liveIps.has(ip), `${pod.name} got ${ip}`).toBe(false);
      liveIps.add(ip);
    }
    cniOk(await call(net, gone!, 'DEL'), 'the retried DEL');
  }, 180_000);
});

describe('pns: networks X and X.lock in one dataDir', () => {
  it('both work, concurrently, also with the old X.lock sidecar file left by an earlier version', async () => {
    const x = await network('10.251.3.0/24', `${lab.id}-x`);
    const xLock: Net = await (async () => {
      const n = await network('10.251.4.0/24', `${lab.id}-x.lock`);
      // A second network in the same pods: no second default route.
      const config = { ...n.config, isDefaultGateway: false, ipam: { ...(n.config['ipam'] as object), dataDir: x.dataDir } };
      return { ...n, dataDir: x.dataDir, config, store: path.join(x.dataDir, n.name) };
    })();
    await writeFile(path.join(x.dataDir, `${x.name}.lock`), ''); // the sidecar before .locks/
    const pods = await Promise.all([0, 1, 2, 3].map((i) => lab.addPod(node, `x${i}`)));
    const adds = await Promise.all(pods.flatMap((pod) => [call(x, pod, 'ADD', 'eth0'), call(xLock, pod, 'ADD', 'net1')]));
    for (const add of adds) cniOk(add, 'ADD');
    expect(await ipamAllocations(x.dataDir, x.name)).toHaveLength(4);
    expect(await ipamAllocations(x.dataDir, xLock.name)).toHaveLength(4);
    for (const pod of pods) {
      const ips = await addresses(pod.netns);
      expect(ips.get('eth0')?.some((a) => a.local.startsWith('10.251.3.'))).toBe(true);
      expect(ips.get('net1')?.some((a) => a.local.startsWith('10.251.4.'))).toBe(true);
    }
    cniOk(await status(x), 'STATUS X');
    cniOk(await status(xLock), 'STATUS X.lock');
    const dels = await Promise.all(pods.flatMap((pod) => [call(x, pod, 'DEL', 'eth0'), call(xLock, pod, 'DEL', 'net1')]));
    for (const del of dels) cniOk(del, 'DEL');
    expect(await ipamAllocations(x.dataDir, x.name)).toEqual([]);
    expect(await ipamAllocations(x.dataDir, xLock.name)).toEqual([]);
  }, 120_000);
});
