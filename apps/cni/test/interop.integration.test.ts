// podnet and the reference plugins (Debian containernetworking-plugins) mix both ways:
// the reference bridge delegates its IPAM to dist/bin/podnet-ipam, and podnet-bridge delegates to
// /usr/lib/cni/host-local. Plus podnet-ipam alone, as any plugin would call it.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { addresses, cniError, cniOk, link, PeerEcho, ping, type LabPod } from '@podnet/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, cniPath, E2e, REFERENCE_BRIDGE, SUPPORTED_VERSIONS } from './support/harness.ts';
import { ipamAllocations } from './support/allocations.ts';
import { expectValidResult, type WireResult } from './support/result-shape.ts';

let e: E2e;
beforeAll(async () => {
  e = await E2e.create('10.252.0.0/24');
});
afterAll(() => e?.destroy());

const ip = (r: WireResult, i = 0): string => r.ips![i]!.address.split('/')[0]!;

describe('reference bridge + podnet-ipam', () => {
  it('ADD → traffic → CHECK → DEL → DEL, the allocation living in the podnet-ipam store', async () => {
    const network = `${e.lab.id}-ref`;
    const config = {
      cniVersion: '1.0.0',
      name: network,
      type: 'bridge',
      bridge: e.lab.linkName('rb'),
      isDefaultGateway: true,
      ipam: e.ipam('10.252.0.0/24'),
    };
    const pods: LabPod[] = [await e.addPod('refa'), await e.addPod('refb')];
    const results: WireResult[] = [];
    for (const pod of pods) {
      results.push(expectValidResult(cniOk(await e.call(pod, 'ADD', config, {}, REFERENCE_BRIDGE), `reference ADD ${pod.name}`), '1.0.0'));
    }
    const [a, b] = pods as [LabPod, LabPod];
    const [ra, rb] = results as [WireResult, WireResult];
    expect(ra.ips![0]).toMatchObject({ address: expect.stringMatching(/^10\.252\.0\.\d+\/24$/), gateway: '10.252.0.1' });
    expect((await addresses(a.netns)).get('eth0')?.map((x) => x.local)).toContain(ip(ra));
    expect((await ipamAllocations(e.dataDir, network)).map((x) => x.containerId).sort()).toEqual([a.containerId, b.containerId].sort());

    expect(await ping(a.netns, ip(rb))).toBe(true);
    const echo = await PeerEcho.start(e.lab, b.netns, 7101);
    expect(await echo.peerSeenFrom(a.netns, ip(rb))).toBe(ip(ra));

    const check = await e.call(a, 'CHECK', { ...config, prevResult: ra }, {}, REFERENCE_BRIDGE);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    for (const [pod, r] of [
      [a, ra],
      [b, rb],
    ] as const) {
      for (const round of [1, 2]) {
        const del = await e.call(pod, 'DEL', { ...config, prevResult: r }, {}, REFERENCE_BRIDGE);
        expect(del.code, `DEL #${round}: ${del.stdout}${del.stderr}`).toBe(0);
      }
    }
    expect(await ipamAllocations(e.dataDir, network)).toEqual([]);
  });
});

describe('podnet-bridge + host-local', () => {
  it('ADD → CHECK → DEL → DEL, host-local keeping its files', async () => {
    const dataDir = await e.lab.tempDir('hostlocal');
    const network = `${e.lab.id}-hl`;
    const config = e.config({
      name: network,
      bridge: e.lab.linkName('hb'),
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.253.0.0/24' }]], dataDir },
    });
    const pod = await e.addPod('hl');
    const result = expectValidResult(cniOk(await e.call(pod, 'ADD', config), 'ADD'), '1.0.0');
    expect(result.ips![0]).toMatchObject({ address: '10.253.0.2/24', gateway: '10.253.0.1' });
    const lease = path.join(dataDir, network, '10.253.0.2');
    expect((await readFile(lease, 'utf8')).split(/\r?\n/)).toEqual([pod.containerId, 'eth0']);
    expect((await addresses(pod.netns)).get('eth0')?.map((x) => x.local)).toContain('10.253.0.2');
    expect(await ping(e.node.netns, '10.253.0.2')).toBe(true);

    const withPrev = { ...config, prevResult: result };
    const check = await e.call(pod, 'CHECK', withPrev);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    for (const round of [1, 2]) {
      const del = await e.call(pod, 'DEL', withPrev);
      expect(del.code, `DEL #${round}: ${del.stdout}${del.stderr}`).toBe(0);
    }
    expect(existsSync(lease)).toBe(false);
    expect(await link(pod.netns, 'eth0')).toBeUndefined();
  });
});

describe('podnet-ipam as a standalone CNI IPAM plugin', () => {
  it('VERSION lists every supported version', async () => {
    const out = await e.raw({ command: 'VERSION', config: { cniVersion: '1.0.0' } }, bin.ipam);
    expect(cniOk(out)).toEqual({ cniVersion: '1.0.0', supportedVersions: [...SUPPORTED_VERSIONS] });
  });

  it('ADD returns addresses without interfaces; a repeated ADD returns the same; DEL releases; GC keeps only valid attachments', async () => {
    const network = `${e.lab.id}-ipam`;
    const config = { cniVersion: '1.1.0', name: network, type: 'x', ipam: e.ipam('10.254.0.0/24') };
    const [p1, p2, p3] = [await e.addPod('ia'), await e.addPod('ib'), await e.addPod('ic')] as [LabPod, LabPod, LabPod];
    const add = async (p: LabPod): Promise<WireResult> => cniOk<WireResult>(await e.call(p, 'ADD', config, {}, bin.ipam), `IPAM ADD ${p.name}`);

    const r1 = await add(p1);
    expect(r1.cniVersion).toBe('1.1.0');
    expect(r1.interfaces).toBeUndefined();
    expect(r1.ips).toEqual([{ address: expect.stringMatching(/^10\.254\.0\.\d+\/24$/), gateway: '10.254.0.1' }]);
    expect((await add(p1)).ips, 'ADD again for the same (container, ifname): same address').toEqual(r1.ips);
    const r2 = await add(p2);
    const r3 = await add(p3);
    expect(new Set([ip(r1), ip(r2), ip(r3)]).size).toBe(3);

    const check = await e.call(p1, 'CHECK', { ...config, prevResult: r1 }, {}, bin.ipam);
    expect(check.code, check.stdout + check.stderr).toBe(0);

    cniOk(await e.call(p2, 'DEL', config, {}, bin.ipam), 'DEL');
    cniOk(await e.call(p2, 'DEL', config, {}, bin.ipam), 'second DEL');
    expect((await ipamAllocations(e.dataDir, network)).map((x) => x.ip).sort()).toEqual([ip(r1), ip(r3)].sort());

    const gc = await e.raw(
      { command: 'GC', path: cniPath(), config: { ...config, 'cni.dev/valid-attachments': [{ containerID: p3.containerId, ifname: 'eth0' }] } },
      bin.ipam,
    );
    expect(gc.code, gc.stdout + gc.stderr).toBe(0);
    expect(await ipamAllocations(e.dataDir, network)).toEqual([{ ip: ip(r3), containerId: p3.containerId, ifname: 'eth0' }]);

    const status = await e.raw({ command: 'STATUS', config }, bin.ipam);
    expect(status.code, status.stdout + status.stderr).toBe(0);
    cniOk(await e.call(p3, 'DEL', config, {}, bin.ipam), 'DEL');
  });

  it('rejects a bad range with code 7 and names it', async () => {
    const p = await e.addPod('ibad');
    const err = cniError(await e.call(p, 'ADD', { cniVersion: '1.0.0', name: `${e.lab.id}-ipbad`, type: 'x', ipam: e.ipam('10.254.1.0/40') }, {}, bin.ipam));
    expect(err.code).toBe(7);
    expect(`${err.msg} ${err.details ?? ''}`).toMatch(/10\.254\.1\.0\/40/);
  });
});
