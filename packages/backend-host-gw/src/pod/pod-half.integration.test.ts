// Needs root. The host-gw pod half in-process through core's skel, per verb, with and without the
// lease file: the node is a netns this file creates (pnh-p<pid>-node), pods are netns too.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLeaseFile } from '@podnet/cluster/lease-file';
import { runPlugin } from '@podnet/core/cni';
import type { Plugin } from '@podnet/core/cni';
import { list as listAllocations, parseStoreLocation } from '@podnet/core/ipam';
import { createNamedNetns, deleteNamedNetns, namedNetnsPath } from '@podnet/core/netns';
import { createHostGwPodHalf } from './pod-half.js';

const NODE = `pnh-p${process.pid}-node`;
const POD = `pnh-p${process.pid}-pod`;
const BRIDGE = `pnh-br${process.pid}`.slice(0, 15);
const NET = `pnh-net-${process.pid}`;

let dir: string;
let leaseFile: string;
let plugin: Plugin;

beforeAll(() => {
  for (const ns of [NODE, POD]) deleteNamedNetns(ns);
  createNamedNetns(NODE);
  createNamedNetns(POD);
  dir = mkdtempSync(join(tmpdir(), 'pnh-pod-'));
  leaseFile = join(dir, 'run', 'lease.json');
  plugin = createHostGwPodHalf({ hostNetns: namedNetnsPath(NODE), lockDir: join(dir, 'locks') });
});

afterAll(() => {
  for (const ns of [NODE, POD]) deleteNamedNetns(ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const conf = (extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.1.0',
  name: NET,
  type: 'podnet-host-gw',
  bridge: BRIDGE,
  leaseFile,
  ipam: { type: 'podnet-ipam', dataDir: join(dir, 'ipam') },
  ...extra,
});

async function cni(command: string, config: Record<string, unknown>): Promise<{ code: number; out: any }> {
  let stdout = '';
  const code = await runPlugin(plugin, {
    env: { CNI_COMMAND: command, CNI_PATH: '/usr/lib/cni', CNI_IFNAME: 'eth0', CNI_CONTAINERID: 'pnh-ctr-1', CNI_NETNS: namedNetnsPath(POD) },
    stdin: JSON.stringify(config),
    stdout: (s) => (stdout += s),
    stderr: () => {},
  });
  return { code, out: stdout.trim() ? JSON.parse(stdout) : undefined };
}

const allocations = async (): Promise<string[]> =>
  (await listAllocations(parseStoreLocation({ name: NET, ipam: { dataDir: join(dir, 'ipam') } }))).map((a) => a.address);
const nodeLinks = (): string[] =>
  (JSON.parse(execFileSync('ip', ['-j', '-n', NODE, 'link', 'show'], { encoding: 'utf8' })) as Array<{ ifname: string }>).map((l) => l.ifname);

describe('host-gw pod half without the lease file', () => {
  it('STATUS 50, ADD and CHECK 11, each naming podnetd and the path; nothing created', async () => {
    const status = await cni('STATUS', conf());
    expect(status.code).toBe(1);
    expect(status.out).toMatchObject({ code: 50, msg: expect.stringContaining(leaseFile), details: expect.stringContaining('podnetd') });
    const prevResult = { cniVersion: '1.1.0', ips: [{ address: '10.252.4.9/24' }] };
    for (const [verb, config] of [
      ['ADD', conf()],
      ['CHECK', { ...conf(), prevResult }],
    ] as const) {
      const r = await cni(verb, config);
      expect(r.out, verb).toMatchObject({ code: 11, msg: expect.stringContaining(leaseFile), details: expect.stringContaining('podnetd') });
    }
    expect(nodeLinks()).toEqual(['lo']);
  });

  it('reports a bad config as such, not as "no lease yet"', async () => {
    expect((await cni('ADD', conf({ vlanTrunk: [] }))).out).toMatchObject({ code: 2 });
    expect((await cni('ADD', conf({ leaseFile: 'relative.json' }))).out).toMatchObject({ code: 7, msg: 'invalid "leaseFile" "relative.json"' });
  });

  it('DEL and GC succeed (nothing to release)', async () => {
    expect((await cni('DEL', conf())).code).toBe(0);
    expect((await cni('GC', { ...conf(), 'cni.dev/valid-attachments': [] })).code).toBe(0);
  });
});

describe('host-gw pod half with the lease file', () => {
  it('ADD allocates from the lease subnet; after the file is gone, DEL still releases and GC still runs', async () => {
    writeLeaseFile(leaseFile, {
      version: 1,
      node: 'n1',
      network: { ipv4: '10.252.0.0/16' },
      subnets: { ipv4: '10.252.4.0/24' },
      mtu: 1450,
      backend: 'host-gw',
      writtenAt: new Date().toISOString(),
    });
    expect((await cni('STATUS', conf())).code).toBe(0);
    const add = await cni('ADD', conf());
    expect(add.code, JSON.stringify(add.out)).toBe(0);
    expect(add.out.ips).toEqual([{ address: '10.252.4.2/24', gateway: '10.252.4.1', interface: 2 }]);
    expect(add.out.routes).toEqual(expect.arrayContaining([{ dst: '10.252.0.0/16' }, { dst: '0.0.0.0/0', gw: '10.252.4.1' }]));
    expect(add.out.interfaces[2]).toMatchObject({ name: 'eth0', mtu: 1450 });
    expect((await cni('CHECK', { ...conf(), prevResult: add.out })).code).toBe(0);
    expect(await allocations()).toEqual(['10.252.4.2']);

    rmSync(leaseFile);
    expect((await cni('DEL', { ...conf(), prevResult: add.out })).code).toBe(0);
    expect(await allocations()).toEqual([]);
    expect(nodeLinks().filter((l) => l.startsWith('veth'))).toEqual([]);
    expect((await cni('GC', { ...conf(), 'cni.dev/valid-attachments': [] })).code).toBe(0);
  });
});
