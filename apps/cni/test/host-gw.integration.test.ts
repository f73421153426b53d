// dist/bin/podnet-host-gw, executed the way a runtime executes it (a fresh process inside the
// node's namespace, CNI_* variables, the config on stdin), with the node-local lease file written
// by hand in a temp path (podnetd is not needed for the pod half). Names: lab prefix `pnh-e`.
// Issue 9: every scenario runs twice — embedded (the executable does the call; `"daemon": false`)
// and thick (a `podnetd serve-cni` in the node netns does it, the config names its socket; lab
// prefix `pnk-h`), plus a proof that thick calls really go through the daemon.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { addresses, cniError, cniOk, Lab, link, links, routes, type LabNode, type LabPod, type Netns } from '@podnet/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipamAllocations } from './support/allocations.ts';
import { bin, cniPath, type E2eMode } from './support/harness.ts';
import type { WireResult } from './support/result-shape.ts';

/** The lease file as podnetd writes it (@podnet/cluster/lease-file), spelled out by hand. */
const LEASE = {
  version: 1,
  node: 'node-7',
  network: { ipv4: '10.251.0.0/16', ipv6: 'fd00:251::/56' },
  subnets: { ipv4: '10.251.7.0/24', ipv6: 'fd00:251:7::/64' },
  mtu: 1400,
  backend: 'host-gw',
  writtenAt: '2026-12-01T00:00:00Z',
};

function writeLeaseFile(file: string, lease: Record<string, unknown>): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(lease, null, 2));
}

/** One echo reply within 5 s (a fresh IPv6 address may drop the very first one during neighbour discovery). */
async function ping(from: Netns, ip: string): Promise<boolean> {
  return (await from.exec('ping', ['-n', '-q', '-c', '1', '-w', '5', ip])).code === 0;
}

const ipOf = (result: WireResult, family: 4 | 6): string => {
  const a = result.ips?.find((i) => i.address.includes(':') === (family === 6));
  if (!a) throw new Error(`no IPv${family} address in ${JSON.stringify(result.ips)}`);
  return a.address.split('/')[0]!;
};

describe.each(['embedded', 'thick'] as E2eMode[])('podnet-host-gw, CNI %s', (mode) => {
  let lab: Lab;
  let node: LabNode;
  let dataDir: string;
  let leaseFile: string;
  let network: string;
  let bridge: string;
  let daemon: { socket: string; process: ChildProcess } | undefined;

  beforeAll(async () => {
    lab = new Lab({ prefix: mode === 'thick' ? 'pnk-h' : 'pnh-e' });
    node = await lab.addNode('node');
    await node.netns.execOk('ip', ['link', 'set', 'lo', 'up']);
    dataDir = await lab.tempDir('ipam');
    leaseFile = path.join(await lab.tempDir('run'), 'podnet', 'lease.json');
    network = `${lab.id}-net`;
    bridge = lab.linkName('br');
    if (mode === 'thick') {
      const socket = path.join(await lab.tempDir('cni'), 'cni.sock');
      daemon = { socket, process: await lab.serveCni(node, socket) };
    }
  });
  afterAll(() => lab?.destroy());

  /** What an operator writes, plus where this test keeps state (IPAM store, lease file) and the mode. */
  function config(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      cniVersion: '1.1.0',
      name: network,
      type: 'podnet-host-gw',
      bridge,
      leaseFile,
      ipam: { type: 'podnet-ipam', dataDir },
      daemon: daemon ? { socket: daemon.socket, timeoutMs: 30_000 } : false,
      ...extra,
    };
  }

  const call = (pod: LabPod, command: 'ADD' | 'DEL' | 'CHECK', conf = config()) => node.cni(bin.hostGw, pod.invocation(command, conf, { path: cniPath() }));
  const status = (conf = config()) => node.cni(bin.hostGw, { command: 'STATUS', config: conf, path: cniPath() });

  describe('podnet-host-gw before podnetd wrote the lease file', () => {
    it('STATUS is 50 and ADD is 11, both naming podnetd and the lease file; ADD leaves nothing behind', async () => {
      const s = cniError(await status());
      expect(s.code).toBe(50);
      expect(s.msg).toContain(leaseFile);
      expect(`${s.msg} ${s.details}`).toContain('podnetd');

      const pod = await lab.addPod(node, 'early');
      const add = cniError(await call(pod, 'ADD'));
      expect(add.code).toBe(11);
      expect(add.msg).toContain(leaseFile);
      expect(`${add.msg} ${add.details}`).toContain('podnetd');
      expect((await links(node.netns)).map((l) => l.ifname)).toEqual(['lo']);
      expect((await links(pod.netns)).map((l) => l.ifname)).toEqual(['lo']);
      expect(await ipamAllocations(dataDir, network)).toEqual([]);
    });
  });

  describe('podnet-host-gw with a lease', () => {
    beforeAll(() => writeLeaseFile(leaseFile, LEASE));

    it('STATUS is ready', async () => {
      const s = await status();
      expect(s.code, s.stdout + s.stderr).toBe(0);
    });

    it('gives pods addresses in the lease subnets, the lease MTU and routes to the cluster network; they reach each other; DEL cleans', async () => {
      const [a, b] = [await lab.addPod(node, 'a'), await lab.addPod(node, 'b')];
      const ra = cniOk<WireResult>(await call(a, 'ADD'), 'ADD a');
      const rb = cniOk<WireResult>(await call(b, 'ADD'), 'ADD b');

      for (const [pod, r] of [
        [a, ra],
        [b, rb],
      ] as const) {
        expect(ipOf(r, 4)).toMatch(/^10\.251\.7\.\d+$/);
        expect(ipOf(r, 6)).toMatch(/^fd00:251:7::/);
        expect((await link(pod.netns, 'eth0'))?.mtu).toBe(1400);
        const v4 = await routes(pod.netns, 4);
        expect(v4.find((x) => x.dst === '10.251.0.0/16')).toMatchObject({ gateway: '10.251.7.1', dev: 'eth0' });
        expect(v4.find((x) => x.dst === 'default')).toMatchObject({ gateway: '10.251.7.1' });
        const v6 = await routes(pod.netns, 6);
        expect(v6.find((x) => x.dst === 'fd00:251::/56')).toMatchObject({ gateway: 'fd00:251:7::1', dev: 'eth0' });
      }
      // The node's bridge is the pods' gateway, in both families.
      const onBridge = (await addresses(node.netns)).get(bridge)?.map((x) => `${x.local}/${x.prefixlen}`) ?? [];
      expect(onBridge).toEqual(expect.arrayContaining(['10.251.7.1/24', 'fd00:251:7::1/64']));
      // No DAD on the bridge: its link-local address, which the node's neighbour solicitations for
      // forwarded IPv6 need, is usable as soon as the first pod gives the bridge carrier.
      const linkLocal = (await addresses(node.netns)).get(bridge)?.filter((x) => x.scope === 'link') ?? [];
      expect(linkLocal).toHaveLength(1);
      expect(linkLocal[0]?.tentative).toBeUndefined();
      expect((await link(node.netns, bridge))?.mtu).toBe(1400);

      expect(await ping(a.netns, ipOf(rb, 4))).toBe(true);
      expect(await ping(b.netns, ipOf(ra, 4))).toBe(true);
      expect(await ping(a.netns, ipOf(rb, 6))).toBe(true);
      expect(await ping(node.netns, ipOf(ra, 4)), 'node → pod').toBe(true);

      // DEL works without the lease file too (podnetd gone, node draining): same store, same names.
      rmSync(leaseFile);
      for (const [pod, r] of [
        [a, ra],
        [b, rb],
      ] as const) {
        const del = await call(pod, 'DEL', { ...config(), prevResult: r });
        expect(del.code, del.stdout + del.stderr).toBe(0);
        expect((await links(pod.netns)).map((l) => l.ifname)).toEqual(['lo']);
      }
      expect(await ipamAllocations(dataDir, network)).toEqual([]);
      expect((await links(node.netns)).map((l) => l.ifname).sort()).toEqual([bridge, 'lo'].sort());

      const s = cniError(await status());
      expect(s.code, 'STATUS is 50 again once the file is gone').toBe(50);
      writeLeaseFile(leaseFile, LEASE);
    });

    it('an explicit key overrides the lease (mtu); a lease of another backend is refused with code 7', async () => {
      const pod = await lab.addPod(node, 'mtu');
      const r = cniOk<WireResult>(await call(pod, 'ADD', config({ mtu: 1300 })), 'ADD mtu');
      expect((await link(pod.netns, 'eth0'))?.mtu).toBe(1300);
      cniOk(await call(pod, 'DEL', { ...config({ mtu: 1300 }), prevResult: r }), 'DEL mtu');

      writeLeaseFile(leaseFile, { ...LEASE, backend: 'vxlan' });
      try {
        const other = await lab.addPod(node, 'vx');
        const e = cniError(await call(other, 'ADD'));
        expect(e.code).toBe(7);
        expect(e.msg).toContain('"vxlan"');
        expect(await ipamAllocations(dataDir, network)).toEqual([]);
      } finally {
        writeLeaseFile(leaseFile, LEASE);
      }
    });
  });

  if (mode === 'thick') {
    describe('podnet-host-gw served by podnetd', () => {
      beforeAll(() => writeLeaseFile(leaseFile, LEASE));

      it('goes through the daemon: frozen (SIGSTOP), an ADD gives up with code 11 naming the socket — in-process it would succeed; thawed, the daemon rolls back the ADD whose client left and serves again', async () => {
        const child = daemon!.process;
        let log = '';
        const collect = (d: Buffer): void => void (log += d.toString());
        child.stdout?.on('data', collect);
        child.stderr?.on('data', collect);
        const pod = await lab.addPod(node, 'frozen');
        process.kill(child.pid!, 'SIGSTOP');
        let frozen;
        try {
          frozen = cniError(await call(pod, 'ADD', config({ daemon: { socket: daemon!.socket, timeoutMs: 1_000 } })));
        } finally {
          process.kill(child.pid!, 'SIGCONT');
        }
        expect(frozen.code).toBe(11);
        expect(frozen.msg).toContain(daemon!.socket);
        // The daemon got that very request: it says so (warn) when it rolls the orphaned ADD back.
        await expect.poll(() => log, { timeout: 10_000 }).toContain(`client of ADD ${pod.containerId}/eth0 went away: rolling the ADD back`);
        await expect.poll(async () => (await links(pod.netns)).map((l) => l.ifname), { timeout: 10_000 }).toEqual(['lo']);
        await expect.poll(() => ipamAllocations(dataDir, network), { timeout: 10_000 }).toEqual([]);
        child.stdout?.off('data', collect);
        child.stderr?.off('data', collect);
        const next = await lab.addPod(node, 'thawed');
        const r = cniOk<WireResult>(await call(next, 'ADD'), 'ADD after the thaw');
        expect(ipOf(r, 4)).toMatch(/^10\.251\.7\.\d+$/);
        cniOk(await call(next, 'DEL', { ...config(), prevResult: r }), 'DEL after the thaw');
        expect(await ipamAllocations(dataDir, network)).toEqual([]);
      }, 30_000);
    });
  }
});
