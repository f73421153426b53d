// The repair's live-pod check in-process, on real namespaces this test creates (the node is a
// netns: the pod half's `hostNetns`): the peer netns of each host veth is found by nsid, named and
// digest-form (long names) owners are resolved, and a store that lost CURRENT or was deleted
// entirely gets every live pod's address back. Names: `pns-b…`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPlugin } from '@podnet/core/cni';
import type { Plugin } from '@podnet/core/cni';
import { list, parseStoreLocation, PLACEHOLDER_PREFIX } from '@podnet/core/ipam';
import { createNamedNetns, deleteNamedNetns, namedNetnsPath } from '@podnet/core/netns';
import { HostSide } from './host.js';
import { attachmentDigest } from './host-veth.js';
import { createBridgePodHalf } from './pod-half.js';
import { candidateNetnsFiles, findLivePods, repairNetwork } from './repair.js';

const NODE = 'pns-bnode';
const PODS = ['pns-bpod0', 'pns-bpod1', 'pns-bpod2'];
const NET = 'pns-bnet';
const LONG_ID = `pns${'a'.repeat(247)}`; // network + ID past the 255-byte alias: digest form

let dataDir: string;
let lockDir: string;
let plugin: Plugin;

function conf(): { name: string; [key: string]: unknown } {
  return {
    cniVersion: '1.1.0',
    name: NET,
    type: 'podnet-bridge',
    bridge: 'pns-bbr0',
    ipam: { type: 'podnet-ipam', dataDir, ranges: [[{ subnet: '10.97.0.0/24' }]] },
  };
}

async function add(i: number, containerId: string): Promise<string> {
  let out = '';
  const code = await runPlugin(plugin, {
    env: { CNI_COMMAND: 'ADD', CNI_PATH: '/usr/lib/cni', CNI_IFNAME: 'eth0', CNI_CONTAINERID: containerId, CNI_NETNS: namedNetnsPath(PODS[i]!) },
    stdin: JSON.stringify(conf()),
    stdout: (s) => (out += s),
    stderr: () => undefined,
  });
  expect(code, out).toBe(0);
  return (JSON.parse(out) as { ips: Array<{ address: string }> }).ips[0]!.address.split('/')[0]!;
}

const ids = ['pns-ctr-0', LONG_ID, 'pns-ctr-2'];
const ips: string[] = [];

beforeAll(async () => {
  for (const ns of [NODE, ...PODS]) deleteNamedNetns(ns);
  createNamedNetns(NODE);
  for (const ns of PODS) createNamedNetns(ns);
  execFileSync('ip', ['-n', NODE, 'link', 'set', 'lo', 'up']);
  // A veth of another kind in the node, no alias: never taken for a pod.
  execFileSync('ip', ['-n', NODE, 'link', 'add', 'pns-bfor0', 'type', 'veth', 'peer', 'name', 'pns-bfor1']);
  dataDir = mkdtempSync(join(tmpdir(), 'pns-b-ipam-'));
  lockDir = mkdtempSync(join(tmpdir(), 'pns-b-locks-'));
  plugin = createBridgePodHalf({ hostNetns: namedNetnsPath(NODE), lockDir });
  for (const [i, id] of ids.entries()) ips.push(await add(i, id));
});

afterAll(() => {
  for (const ns of [...PODS, NODE]) deleteNamedNetns(ns);
  for (const dir of [dataDir, lockDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('pns: findLivePods', () => {
  it('finds each pod of the network with its address through the nsid of its netns', () => {
    const host = HostSide.open(namedNetnsPath(NODE));
    try {
      const candidates = candidateNetnsFiles();
      expect(candidates).toEqual(expect.arrayContaining(PODS.map(namedNetnsPath)));
      const known = [{ containerId: LONG_ID, ifname: 'eth0' }];
      const found = findLivePods(host, NET, known, () => true);
      expect(found.unresolved).toEqual([]);
      expect(new Map(found.pods.map((p) => [p.owner.containerId, p.addresses]))).toEqual(new Map(ids.map((id, i) => [id, [ips[i]]])));
      // Without the store's help the digest-form pod gets a placeholder owner; another network: none.
      const blind = findLivePods(host, NET, [], () => true);
      const digest = attachmentDigest({ network: NET, containerId: LONG_ID, ifname: 'eth0' });
      expect(blind.pods.map((p) => p.owner.containerId)).toContain(`${PLACEHOLDER_PREFIX}${digest}`);
      expect(findLivePods(host, 'pns-other', known, () => true).pods).toEqual([]);
      // A pod netns that cannot be found is reported, not guessed.
      const unseen = findLivePods(
        host,
        NET,
        known,
        () => true,
        () => [],
      );
      expect(unseen.pods).toEqual([]);
      expect(unseen.unresolved.map((u) => u.owner.containerId).sort()).toEqual([...ids].sort());
    } finally {
      host.close();
    }
  });
});

describe('pns: repairNetwork', () => {
  const location = () => parseStoreLocation(conf());
  const held = async () => new Map((await list(location())).map((e) => [e.owner.containerId, e.address]));

  it('restores a store that lost CURRENT, then one deleted entirely, from the live pods', async () => {
    const before = await held();
    expect(before).toEqual(new Map(ids.map((id, i) => [id, ips[i]])));
    unlinkSync(join(location().path, 'CURRENT'));
    const options = { hostNetns: namedNetnsPath(NODE), lockDir };
    const lost = await repairNetwork(options, conf() as never);
    expect(lost.report).toMatchObject({ found: 'lost-current', leveldbRepaired: true, liveChecked: true });
    expect(lost.unresolved).toEqual([]);
    expect(await held()).toEqual(before);

    rmSync(location().path, { recursive: true });
    const gone = await repairNetwork(options, conf() as never);
    expect(gone.report.found).toBe('absent');
    expect(gone.report.plan.restored).toHaveLength(3);
    // The long-name pod is recorded under its placeholder (its owner was in no surviving entry).
    const after = await held();
    expect(after.get('pns-ctr-0')).toBe(ips[0]);
    expect(after.get('pns-ctr-2')).toBe(ips[2]);
    expect([...after.values()].sort()).toEqual([...ips].sort());
  });
});
