// The bridge pod half end to end, in-process: calls go through the core skel (runPlugin) with a
// runtime-like env; the node is a netns this test creates (the plugin's `hostNetns`), pods are
// netns too. Kernel state is read with `ip -j`, traffic is ping between the namespaces.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runPlugin } from '@podnet/core/cni';
import type { Plugin } from '@podnet/core/cni';
import { list as listAllocations, parseStoreLocation } from '@podnet/core/ipam';
import { createNamedNetns, deleteNamedNetns } from '@podnet/core/netns';
import { hostVethName } from './host-veth.js';
import { masqTableName } from './masquerade.js';
import { createBridgePodHalf } from './pod-half.js';

const NODE = 'pnt-bnode';
const PODS = ['pnt-bpod1', 'pnt-bpod2', 'pnt-bpod3'];
const BRIDGE = 'pnt-bbr0';
const NET = 'pnt-bnet';
const CNI_PATH = '/usr/lib/cni';

let dataDir: string;
let plugin: Plugin;

for (const bin of ['ip', 'nft', 'ping', `${CNI_PATH}/host-local`]) {
  if (!existsSync(bin.startsWith('/') ? bin : `/usr/bin/${bin}`) && !existsSync(`/usr/sbin/${bin}`) && !existsSync(`/bin/${bin}`)) {
    throw new Error(`prerequisite missing: ${bin} (install iproute2, nftables, iputils-ping, containernetworking-plugins)`);
  }
}

function ipj(ns: string, ...args: string[]): any[] {
  const out = execFileSync('ip', ['-j', '-n', ns, ...args], { encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : [];
}

function nsExec(ns: string, cmd: string, ...args: string[]): { status: number; out: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8' });
  return { status: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

function conf(extra: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: '1.1.0',
    name: NET,
    type: 'podnet-bridge',
    bridge: BRIDGE,
    isDefaultGateway: true,
    ipam: { type: 'podnet-ipam', dataDir, ranges: [[{ subnet: '10.99.0.0/24' }]], ...ipam },
    ...extra,
  };
}

interface Call {
  code: number;
  out: any;
  stderr: string;
}

async function cni(command: string, config: Record<string, unknown>, env: Record<string, string | undefined> = {}): Promise<Call> {
  let stdout = '';
  let stderr = '';
  const code = await runPlugin(plugin, {
    env: { CNI_COMMAND: command, CNI_PATH, CNI_IFNAME: 'eth0', ...env },
    stdin: JSON.stringify(config),
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
  });
  return { code, out: stdout.trim() ? JSON.parse(stdout) : undefined, stderr };
}

const podEnv = (i: number, extra: Record<string, string | undefined> = {}) => ({
  CNI_CONTAINERID: `pnt-ctr-${i}`,
  CNI_NETNS: `/run/netns/${PODS[i]}`,
  ...extra,
});

function nodeLinks(): any[] {
  return ipj(NODE, 'link', 'show');
}

async function allocations(): Promise<string[]> {
  return (await listAllocations(parseStoreLocation({ name: NET, ipam: { dataDir } }))).map((a) => a.address);
}

function masqElements(): string {
  const r = nsExec(NODE, 'nft', 'list', 'table', 'inet', masqTableName(NET));
  return r.status === 0 ? r.out : '';
}

beforeAll(() => {
  for (const ns of [NODE, ...PODS]) deleteNamedNetns(ns);
  createNamedNetns(NODE);
  execFileSync('ip', ['-n', NODE, 'link', 'set', 'lo', 'up']);
  dataDir = mkdtempSync(join(tmpdir(), 'pnt-b-ipam-'));
  plugin = createBridgePodHalf({ hostNetns: `/run/netns/${NODE}` });
});

afterAll(() => {
  for (const ns of [NODE, ...PODS]) deleteNamedNetns(ns);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

afterEach(() => {
  for (const ns of PODS) deleteNamedNetns(ns);
});

function freshPods(n: number): void {
  for (const ns of PODS.slice(0, n)) {
    deleteNamedNetns(ns);
    createNamedNetns(ns);
  }
}

async function cleanNode(): Promise<void> {
  // Links created by a failed test, IPAM state, the nft table: removed by a GC with nothing valid.
  await cni('GC', { ...conf({ ipMasq: true }), 'cni.dev/valid-attachments': [] });
  // A fresh store per test: round-robin allocation remembers the last address across releases.
  rmSync(join(dataDir, NET), { recursive: true, force: true });
  spawnSync('ip', ['-n', NODE, 'link', 'del', BRIDGE], { stdio: 'ignore' });
}

describe('bridge pod half', () => {
  afterEach(cleanNode);

  it('ADD wires two pods that reach each other and the node, sources preserved, masquerade elements present', async () => {
    freshPods(2);
    const a = await cni('ADD', conf({ ipMasq: true }), podEnv(0));
    expect(a.code, a.stderr + JSON.stringify(a.out)).toBe(0);
    const b = await cni('ADD', conf({ ipMasq: true }), podEnv(1));
    expect(b.code, b.stderr + JSON.stringify(b.out)).toBe(0);

    const hostName = hostVethName(NET, 'pnt-ctr-0', 'eth0');
    expect(a.out.interfaces).toEqual([
      { name: BRIDGE, mac: expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/) },
      { name: hostName, mac: expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/) },
      { name: 'eth0', mac: expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/), mtu: 1500, sandbox: `/run/netns/${PODS[0]}` },
    ]);
    expect(a.out.ips).toEqual([{ address: '10.99.0.2/24', gateway: '10.99.0.1', interface: 2 }]);
    expect(a.out.routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.99.0.1' }]);
    expect(b.out.ips[0].address).toBe('10.99.0.3/24');

    // Node: bridge with the gateway, the host veth enslaved, up, with its owner alias.
    const links = nodeLinks();
    const br = links.find((l) => l.ifname === BRIDGE);
    expect(br.address).toBe(a.out.interfaces[0].mac);
    expect(ipj(NODE, 'addr', 'show', 'dev', BRIDGE)[0].addr_info.map((x: any) => `${x.local}/${x.prefixlen}`)).toContain('10.99.0.1/24');
    const veth = ipj(NODE, '-d', 'link', 'show', 'dev', hostName)[0];
    expect(veth.master).toBe(BRIDGE);
    expect(veth.operstate).toBe('UP');
    expect(veth.ifalias).toBe(`podnet:${NET}:pnt-ctr-0:eth0`);
    expect(execFileSync('ip', ['netns', 'exec', NODE, 'cat', '/proc/sys/net/ipv4/ip_forward'], { encoding: 'utf8' }).trim()).toBe('1');

    // Pod: address, MAC as reported, default route via the gateway.
    const eth0 = ipj(PODS[0]!, 'addr', 'show', 'dev', 'eth0')[0];
    expect(eth0.address).toBe(a.out.interfaces[2].mac);
    expect(eth0.addr_info.map((x: any) => `${x.local}/${x.prefixlen}`)).toContain('10.99.0.2/24');
    expect(ipj(PODS[0]!, 'route', 'show', 'default')[0]).toMatchObject({ dst: 'default', gateway: '10.99.0.1', dev: 'eth0' });

    // Masquerade: one element per pod, named by owner.
    const table = masqElements();
    expect(table).toContain('10.99.0.2 comment "pnt-ctr-0/eth0"');
    expect(table).toContain('10.99.0.3 comment "pnt-ctr-1/eth0"');

    // Traffic: pod 2 counts echo requests from pod 1's own address (no NAT between pods).
    execFileSync('ip', ['netns', 'exec', PODS[1]!, 'nft', '-f', '-'], {
      input:
        'add table ip pnt_b\nadd chain ip pnt_b in { type filter hook input priority 0; }\nadd rule ip pnt_b in ip saddr 10.99.0.2 icmp type echo-request counter\n',
    });
    expect(nsExec(PODS[0]!, 'ping', '-c', '2', '-i', '0.2', '-W', '2', '10.99.0.3').status).toBe(0);
    expect(nsExec(PODS[1]!, 'nft', 'list', 'table', 'ip', 'pnt_b').out).toMatch(/counter packets [1-9]/);
    // The node reaches the pod, and the pod the node.
    expect(nsExec(NODE, 'ping', '-c', '1', '-W', '2', '10.99.0.2').status).toBe(0);
    expect(nsExec(PODS[0]!, 'ping', '-c', '1', '-W', '2', '10.99.0.1').status).toBe(0);
  });

  it('ADD → CHECK → DEL → DEL, and CHECK notices a missing address', async () => {
    freshPods(1);
    const add = await cni('ADD', conf(), podEnv(0));
    expect(add.code, add.stderr).toBe(0);
    const prevResult = add.out;
    const check = await cni('CHECK', { ...conf(), prevResult }, podEnv(0));
    expect(check.code, JSON.stringify(check.out)).toBe(0);
    expect(check.out).toBeUndefined();

    execFileSync('ip', ['-n', PODS[0]!, 'addr', 'del', '10.99.0.2/24', 'dev', 'eth0']);
    const bad = await cni('CHECK', { ...conf(), prevResult }, podEnv(0));
    expect(bad.code).toBe(1);
    expect(bad.out.msg).toContain('10.99.0.2/24');

    const noPrev = await cni('CHECK', conf(), podEnv(0));
    expect(noPrev.out.code).toBe(7);
    const noNetns = await cni('CHECK', { ...conf(), prevResult }, podEnv(0, { CNI_NETNS: '/run/netns/pnt-bmissing' }));
    expect(noNetns.out.code).toBe(8);

    for (let i = 0; i < 2; i++) {
      const del = await cni('DEL', { ...conf(), prevResult }, podEnv(0));
      expect(del.code, JSON.stringify(del.out)).toBe(0);
    }
    expect(ipj(PODS[0]!, 'link', 'show').map((l) => l.ifname)).toEqual(['lo']);
    expect(nodeLinks().map((l) => l.ifname)).not.toContain(hostVethName(NET, 'pnt-ctr-0', 'eth0'));
    expect(await allocations()).toEqual([]);
  });

  it('DEL without CNI_NETNS, and with the netns gone, removes the veth, the address and the nft element', async () => {
    freshPods(2);
    expect((await cni('ADD', conf({ ipMasq: true }), podEnv(0))).code).toBe(0);
    expect((await cni('ADD', conf({ ipMasq: true }), podEnv(1))).code).toBe(0);

    const noNetns = await cni('DEL', conf({ ipMasq: true }), podEnv(0, { CNI_NETNS: undefined }));
    expect(noNetns.code, JSON.stringify(noNetns.out)).toBe(0);
    deleteNamedNetns(PODS[1]!);
    const gone = await cni('DEL', conf({ ipMasq: true }), podEnv(1));
    expect(gone.code, JSON.stringify(gone.out)).toBe(0);

    const names = nodeLinks().map((l) => l.ifname);
    expect(names).not.toContain(hostVethName(NET, 'pnt-ctr-0', 'eth0'));
    expect(names).not.toContain(hostVethName(NET, 'pnt-ctr-1', 'eth0'));
    expect(await allocations()).toEqual([]);
    expect(masqElements()).not.toMatch(/10\.99\.0\.\d+ comment/);
    // DEL of something never added succeeds too.
    expect((await cni('DEL', conf({ ipMasq: true }), podEnv(2, { CNI_NETNS: undefined }))).code).toBe(0);
  });

  it('GC removes the veths, addresses and nft elements of attachments not in the valid list', async () => {
    freshPods(2);
    expect((await cni('ADD', conf({ ipMasq: true }), podEnv(0))).code).toBe(0);
    expect((await cni('ADD', conf({ ipMasq: true }), podEnv(1))).code).toBe(0);
    const gc = await cni('GC', { ...conf({ ipMasq: true }), 'cni.dev/valid-attachments': [{ containerID: 'pnt-ctr-0', ifname: 'eth0' }] });
    expect(gc.code, JSON.stringify(gc.out)).toBe(0);
    const names = nodeLinks().map((l) => l.ifname);
    expect(names).toContain(hostVethName(NET, 'pnt-ctr-0', 'eth0'));
    expect(names).not.toContain(hostVethName(NET, 'pnt-ctr-1', 'eth0'));
    expect(await allocations()).toEqual(['10.99.0.2']);
    expect(masqElements()).toContain('10.99.0.2');
    expect(masqElements()).not.toContain('10.99.0.3');
  });

  it('ipMasq: traffic leaving the pod network is masqueraded, and only with ipMasq', async () => {
    // An "outside" netns behind the node, with no route back to the pod subnet: a pod reaches it
    // only when its packets leave with the node's address.
    const EXT = 'pnt-bext';
    deleteNamedNetns(EXT);
    createNamedNetns(EXT);
    try {
      execFileSync('ip', ['-n', NODE, 'link', 'add', 'pnt-bup', 'type', 'veth', 'peer', 'name', 'pnt-bdown', 'netns', EXT]);
      execFileSync('ip', ['-n', NODE, 'addr', 'add', '192.168.77.1/24', 'dev', 'pnt-bup']);
      execFileSync('ip', ['-n', NODE, 'link', 'set', 'pnt-bup', 'up']);
      execFileSync('ip', ['-n', EXT, 'addr', 'add', '192.168.77.2/24', 'dev', 'pnt-bdown']);
      execFileSync('ip', ['-n', EXT, 'link', 'set', 'pnt-bdown', 'up']);
      freshPods(2);
      expect((await cni('ADD', conf({ ipMasq: true }), podEnv(0))).code).toBe(0);
      expect((await cni('ADD', conf(), podEnv(1))).code).toBe(0);
      expect(nsExec(PODS[0]!, 'ping', '-c', '1', '-W', '2', '192.168.77.2').status).toBe(0);
      // Pod 2's network has ipMasq off, so its address is not in the set: no way back.
      expect(nsExec(PODS[1]!, 'ping', '-c', '1', '-W', '1', '192.168.77.2').status).not.toBe(0);
    } finally {
      deleteNamedNetns(EXT);
    }
  });

  it('without ipMasq no nft table is created', async () => {
    freshPods(1);
    expect((await cni('ADD', conf(), podEnv(0))).code).toBe(0);
    expect(masqElements()).toBe('');
  });

  describe('a failed ADD leaves nothing behind', () => {
    async function expectNothingLeft(bridgeToo: boolean): Promise<void> {
      const names = nodeLinks().map((l) => l.ifname);
      expect(names.filter((n) => /^veth[0-9a-f]{11}$/.test(n))).toEqual([]);
      if (bridgeToo) expect(names).not.toContain(BRIDGE);
      expect(await allocations()).toEqual([]);
      expect(masqElements()).not.toMatch(/10\.99\.0\.\d+ comment/);
    }

    it('when the ifname already exists in the pod', async () => {
      freshPods(1);
      execFileSync('ip', ['-n', PODS[0]!, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'pnt-bpeer']);
      const r = await cni('ADD', conf({ ipMasq: true }), podEnv(0));
      expect(r.code).toBe(1);
      expect(r.out.msg).toContain('"eth0" already exists');
      await expectNothingLeft(true);
      expect(ipj(PODS[0]!, '-d', 'link', 'show', 'eth0')[0].ifalias).toBeUndefined();
      expect(
        ipj(PODS[0]!, 'link', 'show')
          .map((l) => l.ifname)
          .sort(),
      ).toEqual(['eth0', 'lo', 'pnt-bpeer']);
    });

    it('when the IPAM range is exhausted', async () => {
      freshPods(2);
      const one = { rangeStart: '10.99.0.2', rangeEnd: '10.99.0.2' };
      const ipam = { ranges: [[{ subnet: '10.99.0.0/24', ...one }]] };
      expect((await cni('ADD', conf({ ipMasq: true }, ipam), podEnv(0))).code).toBe(0);
      const r = await cni('ADD', conf({ ipMasq: true }, ipam), podEnv(1));
      expect(r.code).toBe(1);
      expect(ipj(PODS[1]!, 'link', 'show').map((l) => l.ifname)).toEqual(['lo']);
      expect(nodeLinks().map((l) => l.ifname)).not.toContain(hostVethName(NET, 'pnt-ctr-1', 'eth0'));
      expect(await allocations()).toEqual(['10.99.0.2']);
      expect(masqElements()).not.toContain('pnt-ctr-1');
    });

    it('when the bridge name is taken by a link that is not a bridge (STATUS says 50)', async () => {
      freshPods(1);
      execFileSync('ip', ['-n', NODE, 'link', 'add', BRIDGE, 'type', 'veth', 'peer', 'name', 'pnt-bbrpeer']);
      const r = await cni('ADD', conf(), podEnv(0));
      expect(r.code).toBe(1);
      expect(r.out.code).toBe(7);
      expect(r.out.msg).toContain(BRIDGE);
      expect(ipj(NODE, '-d', 'link', 'show', BRIDGE)[0].linkinfo.info_kind).toBe('veth');
      await expectNothingLeft(false);
      const status = await cni('STATUS', conf());
      expect(status.out.code).toBe(50);
    });

    it('when the pod netns does not exist (code 8 or 4), before any state', async () => {
      const r = await cni('ADD', conf(), podEnv(2));
      expect(r.code).toBe(1);
      await expectNothingLeft(true);
    });
  });

  it('re-ADD of an existing attachment fails and leaves the first one intact', async () => {
    freshPods(1);
    const first = await cni('ADD', conf(), podEnv(0));
    expect(first.code).toBe(0);
    const again = await cni('ADD', conf(), podEnv(0));
    expect(again.code).toBe(1);
    expect(again.out.msg).toContain('"eth0" already exists');
    expect(await allocations()).toEqual(['10.99.0.2']);
    expect(nodeLinks().map((l) => l.ifname)).toContain(hostVethName(NET, 'pnt-ctr-0', 'eth0'));
    expect((await cni('CHECK', { ...conf(), prevResult: first.out }, podEnv(0))).code).toBe(0);
  });

  it('delegates to another IPAM from CNI_PATH (host-local, CNI 1.0.0): ADD, CHECK, DEL, and GC/STATUS skip it', async () => {
    freshPods(1);
    const hostLocalDir = mkdtempSync(join(tmpdir(), 'pnt-b-hl-'));
    try {
      const c = { ...conf(), cniVersion: '1.0.0', ipam: { type: 'host-local', dataDir: hostLocalDir, ranges: [[{ subnet: '10.99.0.0/24' }]] } };
      const add = await cni('ADD', c, podEnv(0));
      expect(add.code, JSON.stringify(add.out)).toBe(0);
      expect(add.out.ips).toEqual([{ address: '10.99.0.2/24', gateway: '10.99.0.1', interface: 2 }]);
      expect(existsSync(join(hostLocalDir, NET, '10.99.0.2'))).toBe(true);
      expect((await cni('CHECK', { ...c, prevResult: add.out }, podEnv(0))).code).toBe(0);
      // host-local 1.1.1 predates GC and STATUS: asked for its VERSION, then skipped.
      expect((await cni('STATUS', { ...c, cniVersion: '1.1.0' })).code).toBe(0);
      expect((await cni('DEL', c, podEnv(0))).code).toBe(0);
      expect(existsSync(join(hostLocalDir, NET, '10.99.0.2'))).toBe(false);
    } finally {
      rmSync(hostLocalDir, { recursive: true, force: true });
    }
  });

  describe('options', () => {
    it('dual-stack, MAC from CNI_ARGS, mtu, hairpin', async () => {
      freshPods(2);
      const ipam = { ranges: [[{ subnet: '10.99.0.0/24' }], [{ subnet: 'fd99::/64' }]] };
      const c = conf({ mtu: 1400, hairpinMode: true }, ipam);
      const a = await cni('ADD', c, podEnv(0, { CNI_ARGS: 'IgnoreUnknown=1;MAC=0a:58:0a:63:00:42;K8S_POD_NAME=x' }));
      expect(a.code, JSON.stringify(a.out) + a.stderr).toBe(0);
      const b = await cni('ADD', c, podEnv(1));
      expect(b.code, JSON.stringify(b.out)).toBe(0);
      expect(a.out.ips).toEqual([
        { address: '10.99.0.2/24', gateway: '10.99.0.1', interface: 2 },
        { address: 'fd99::2/64', gateway: 'fd99::1', interface: 2 },
      ]);
      expect(a.out.routes).toEqual([
        { dst: '0.0.0.0/0', gw: '10.99.0.1' },
        { dst: '::/0', gw: 'fd99::1' },
      ]);
      const eth0 = ipj(PODS[0]!, 'addr', 'show', 'dev', 'eth0')[0];
      expect(eth0.address).toBe('0a:58:0a:63:00:42');
      expect(a.out.interfaces[2].mac).toBe('0a:58:0a:63:00:42');
      expect(eth0.mtu).toBe(1400);
      const v6 = eth0.addr_info.find((x: any) => x.local === 'fd99::2');
      expect(v6).toBeDefined();
      expect(v6.tentative).toBeUndefined();
      expect(ipj(PODS[0]!, '-6', 'route', 'show', 'default')[0]).toMatchObject({ gateway: 'fd99::1', dev: 'eth0' });
      const hostName = hostVethName(NET, 'pnt-ctr-0', 'eth0');
      expect(ipj(NODE, 'link', 'show', 'dev', hostName)[0].mtu).toBe(1400);
      const port = JSON.parse(execFileSync('ip', ['netns', 'exec', NODE, 'bridge', '-j', '-d', 'link', 'show', 'dev', hostName], { encoding: 'utf8' }))[0];
      expect(port.hairpin).toBe(true);
      expect(ipj(NODE, 'addr', 'show', 'dev', BRIDGE)[0].addr_info.map((x: any) => `${x.local}/${x.prefixlen}`)).toEqual(
        expect.arrayContaining(['10.99.0.1/24', 'fd99::1/64']),
      );
      expect(nsExec(PODS[0]!, 'ping', '-6', '-c', '1', '-W', '2', 'fd99::3').status).toBe(0);
      expect(nsExec(PODS[0]!, 'ping', '-c', '1', '-W', '2', '10.99.0.3').status).toBe(0);
      expect((await cni('CHECK', { ...c, prevResult: a.out }, podEnv(0))).code).toBe(0);
    });

    it('vlan: the pod port is an untagged member of the VLAN only, or a clear error without kernel support', async () => {
      freshPods(1);
      // Whether this kernel's bridge has VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING); both answers are asserted.
      const probe = spawnSync('ip', ['-n', NODE, 'link', 'add', 'pnt-bprobe', 'type', 'bridge', 'vlan_filtering', '1'], { stdio: 'ignore' });
      spawnSync('ip', ['-n', NODE, 'link', 'del', 'pnt-bprobe'], { stdio: 'ignore' });
      const c = conf({ vlan: 42, isDefaultGateway: false });
      const a = await cni('ADD', c, podEnv(0));
      const hostName = hostVethName(NET, 'pnt-ctr-0', 'eth0');
      if (probe.status !== 0) {
        expect(a.out).toMatchObject({ code: 7, msg: expect.stringContaining('VLAN filtering') });
        expect(nodeLinks().map((l) => l.ifname)).not.toContain(hostName);
        expect(nodeLinks().map((l) => l.ifname)).not.toContain(BRIDGE);
        expect(await allocations()).toEqual([]);
        return;
      }
      expect(a.code, JSON.stringify(a.out)).toBe(0);
      const vlans = JSON.parse(execFileSync('ip', ['netns', 'exec', NODE, 'bridge', '-j', 'vlan', 'show', 'dev', hostName], { encoding: 'utf8' }));
      expect(vlans[0].vlans).toEqual([{ vlan: 42, flags: ['PVID', 'Egress Untagged'] }]);
      expect(ipj(NODE, '-d', 'link', 'show', 'dev', BRIDGE)[0].linkinfo.info_data.vlan_filtering).toBe(1);
    });

    it('promiscMode puts the bridge in promiscuous mode', async () => {
      freshPods(1);
      expect((await cni('ADD', conf({ promiscMode: true }), podEnv(0))).code).toBe(0);
      expect(ipj(NODE, '-d', 'link', 'show', 'dev', BRIDGE)[0].promiscuity).toBeGreaterThan(0);
    });

    it('a different bridge address in the subnet is an error unless forceAddress', async () => {
      freshPods(1);
      execFileSync('ip', ['-n', NODE, 'link', 'add', BRIDGE, 'type', 'bridge']);
      execFileSync('ip', ['-n', NODE, 'addr', 'add', '10.99.0.254/24', 'dev', BRIDGE]);
      const r = await cni('ADD', conf(), podEnv(0));
      expect(r.code).toBe(1);
      expect(r.out.msg).toContain('10.99.0.254/24');
      expect(await allocations()).toEqual([]);
      expect(
        nodeLinks()
          .map((l) => l.ifname)
          .filter((n) => /^veth[0-9a-f]{11}$/.test(n)),
      ).toEqual([]);
      const f = await cni('ADD', conf({ forceAddress: true }), podEnv(0));
      expect(f.code, JSON.stringify(f.out)).toBe(0);
      const addrs = ipj(NODE, '-4', 'addr', 'show', 'dev', BRIDGE)[0].addr_info.map((x: any) => `${x.local}/${x.prefixlen}`);
      expect(addrs).toEqual(['10.99.0.1/24']);
    });
  });

  it('STATUS is ready with a usable bridge and store', async () => {
    const r = await cni('STATUS', conf());
    expect(r.code, JSON.stringify(r.out)).toBe(0);
  });
});
