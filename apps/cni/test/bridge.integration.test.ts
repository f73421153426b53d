// dist/bin/podnet-bridge, executed the way a runtime executes it: a fresh process inside the
// node's namespace, CNI_* variables, the config on stdin, CNI_NETNS a pod's namespace.
// What it prints must be a valid result of the config's version, and the kernel must hold
// exactly what the result claims.
import { addresses, cniError, cniOk, link, links, mentionsAddress, PeerEcho, ping, routes, type LabPod } from '@podnet/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cniPath, E2e, SUPPORTED_VERSIONS } from './support/harness.ts';
import { containerSide, expectValidResult, type WireResult } from './support/result-shape.ts';

let e: E2e;
beforeAll(async () => {
  e = await E2e.create('10.250.0.0/24');
});
afterAll(() => e?.destroy());

const GATEWAY = '10.250.0.1';

/** The host end of the pod's veth as the result names it (not the bridge, no sandbox). */
function hostVeth(result: WireResult): string {
  const itf = result.interfaces!.find((i) => !i.sandbox && i.name !== e.bridge);
  if (!itf) throw new Error(`no host veth in ${JSON.stringify(result.interfaces)}`);
  return itf.name;
}

async function addOk(pod: LabPod, config = e.config()): Promise<WireResult> {
  return cniOk<WireResult>(await e.call(pod, 'ADD', config), `ADD ${pod.name}`);
}

function podIp(result: WireResult): string {
  return result.ips![0]!.address.split('/')[0]!;
}

describe.each(SUPPORTED_VERSIONS)('cniVersion %s', (version) => {
  it('ADD prints a valid result, the kernel holds what it claims, DEL takes it all back', async () => {
    const pod = await e.addPod(`v${version.replaceAll('.', '')}`);
    const config = e.config({ cniVersion: version });
    const add = await e.call(pod, 'ADD', config);
    const result = expectValidResult(cniOk(add, 'ADD'), version);

    // Interfaces: [bridge, host veth, container veth], as the reference bridge reports them.
    const pc = containerSide(result);
    expect(pc.name).toBe('eth0');
    expect(pc.sandbox).toBe(pod.netns.path);
    expect(result.interfaces![0]!.name).toBe(e.bridge);
    const hostName = hostVeth(result);

    // The pod: eth0 up, with the result's MAC, address and a default route via the gateway.
    const eth0 = await link(pod.netns, 'eth0');
    expect(eth0?.flags).toContain('UP');
    expect(eth0?.address).toBe(pc.mac);
    expect(eth0?.link_netnsid, 'the peer lives in another namespace').toBeTypeOf('number');
    const podAddrs = (await addresses(pod.netns)).get('eth0')?.filter((a) => a.family === 'inet') ?? [];
    expect(podAddrs.map((a) => `${a.local}/${a.prefixlen}`)).toEqual(pc.addresses);
    expect(result.ips![0]!.gateway).toBe(GATEWAY);
    const podRoutes = await routes(pod.netns);
    expect(podRoutes.find((r) => r.dst === 'default')).toMatchObject({ gateway: GATEWAY, dev: 'eth0' });
    expect(podRoutes.find((r) => r.dst === '10.250.0.0/24')).toMatchObject({ dev: 'eth0' });

    // The node: the host veth is a port of the bridge, which carries the gateway address.
    const host = await link(e.node.netns, hostName);
    expect(host?.master).toBe(e.bridge);
    expect(host?.flags).toContain('UP');
    const bridge = await link(e.node.netns, e.bridge);
    expect(bridge?.linkinfo?.info_kind).toBe('bridge');
    expect(bridge?.address).toBe(result.interfaces![0]!.mac);
    expect((await addresses(e.node.netns)).get(e.bridge)?.map((a) => `${a.local}/${a.prefixlen}`)).toContain(`${GATEWAY}/24`);
    expect((await e.snapshot()).allocations).toContainEqual({ ip: podIp(result), containerId: pod.containerId, ifname: 'eth0' });

    // DEL, with prevResult as libcni sends it from 0.4.0 on.
    const delConfig = version === '0.3.0' || version === '0.3.1' ? config : { ...config, prevResult: result };
    const del = await e.call(pod, 'DEL', delConfig);
    expect(del.code, del.stdout + del.stderr).toBe(0);
    expect(del.stdout).toBe('');
    expect(await link(e.node.netns, hostName)).toBeUndefined();
    expect(await link(pod.netns, 'eth0')).toBeUndefined();
    expect((await e.snapshot()).allocations.filter((a) => a.containerId === pod.containerId)).toEqual([]);
  });
});

describe('traffic', () => {
  it('pod ↔ pod and node → pod, with the source address preserved (ipMasq on)', async () => {
    const config = e.config({ ipMasq: true });
    const pods = [await e.addPod('ta'), await e.addPod('tb'), await e.addPod('tc')] as const;
    const ips: string[] = [];
    for (const pod of pods) ips.push(podIp(await addOk(pod, config)));
    const [a, b, c] = pods;
    const [ipA, ipB, ipC] = ips as [string, string, string];
    expect(new Set(ips).size).toBe(3);

    expect(await ping(a.netns, ipB)).toBe(true);
    expect(await ping(b.netns, ipC)).toBe(true);
    expect(await ping(c.netns, ipA)).toBe(true);
    expect(await ping(e.node.netns, ipA)).toBe(true);

    const echo = await PeerEcho.start(e.lab, b.netns, 7001);
    expect(await echo.peerSeenFrom(a.netns, ipB), 'pod → pod keeps the pod source address').toBe(ipA);
    expect(await echo.peerSeenFrom(c.netns, ipB)).toBe(ipC);
    expect(await echo.peerSeenFrom(e.node.netns, ipB), 'node → pod comes from the bridge address').toBe(GATEWAY);

    for (const pod of pods) cniOk(await e.call(pod, 'DEL', config), `DEL ${pod.name}`);
    expect(await ping(a.netns, ipB)).toBe(false);
  });
});

describe('lifecycle', () => {
  it('ADD → CHECK → DEL → DEL; CHECK fails once the interface is gone', async () => {
    const pod = await e.addPod('life');
    const config = e.config();
    const result = await addOk(pod, config);
    const withPrev = { ...config, prevResult: result };

    const check = await e.call(pod, 'CHECK', withPrev);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toBe('');

    const del1 = await e.call(pod, 'DEL', withPrev);
    expect(del1.code, del1.stdout + del1.stderr).toBe(0);
    const del2 = await e.call(pod, 'DEL', withPrev);
    expect(del2.code, 'a second DEL succeeds: ' + del2.stdout + del2.stderr).toBe(0);
    expect(await links(pod.netns).then((l) => l.map((x) => x.ifname))).toEqual(['lo']);

    const checkGone = await e.call(pod, 'CHECK', withPrev);
    const err = cniError(checkGone);
    expect(err.msg + (err.details ?? '')).toMatch(/eth0|veth|not found|missing/i);
  });

  it('DEL without CNI_NETNS removes the host veth and releases the address', async () => {
    const pod = await e.addPod('nonetns');
    const result = await addOk(pod);
    const del = await e.call(pod, 'DEL', e.config(), { env: { CNI_NETNS: undefined } });
    expect(del.code, del.stdout + del.stderr).toBe(0);
    expect(await link(e.node.netns, hostVeth(result))).toBeUndefined();
    expect(await link(pod.netns, 'eth0'), 'deleting the host end removes the pod end too').toBeUndefined();
    expect((await e.snapshot()).allocations.filter((a) => a.containerId === pod.containerId)).toEqual([]);
  });

  it('DEL after the pod namespace is gone succeeds and releases the address', async () => {
    const pod = await e.addPod('gonens');
    const result = await addOk(pod, e.config({ ipMasq: true }));
    await e.lab.removePod(pod);
    const del = await e.call(pod, 'DEL', e.config({ ipMasq: true }));
    expect(del.code, del.stdout + del.stderr).toBe(0);
    expect(await link(e.node.netns, hostVeth(result))).toBeUndefined();
    const after = await e.snapshot();
    expect(after.allocations.filter((a) => a.containerId === pod.containerId)).toEqual([]);
    expect(mentionsAddress(after.nft, podIp(result))).toBe(false);
  });

  it('DEL of a container it never saw succeeds', async () => {
    const pod = await e.addPod('never');
    const del = await e.call(pod, 'DEL', e.config());
    expect(del.code, del.stdout + del.stderr).toBe(0);
  });

  it('STATUS reports ready', async () => {
    const status = await e.raw({ command: 'STATUS', config: e.config({ cniVersion: '1.1.0' }), path: cniPath() });
    expect(status.code, status.stdout + status.stderr).toBe(0);
  });
});

describe('GC', () => {
  for (const key of ['cni.dev/valid-attachments', 'cni.dev/attachments'] as const) {
    it(`removes every attachment not in ${key}`, async () => {
      const tag = key === 'cni.dev/attachments' ? 'o' : 'n';
      const config = e.config({ cniVersion: '1.1.0', ipMasq: true });
      const keep = await e.addPod(`gc${tag}keep`);
      const drop1 = await e.addPod(`gc${tag}drop1`);
      const drop2 = await e.addPod(`gc${tag}drop2`);
      const kept = await addOk(keep, config);
      const dropped = [await addOk(drop1, config), await addOk(drop2, config)];

      const gc = await e.raw({ command: 'GC', path: cniPath(), config: { ...config, [key]: [{ containerID: keep.containerId, ifname: 'eth0' }] } });
      expect(gc.code, gc.stdout + gc.stderr).toBe(0);

      const after = await e.snapshot();
      expect(after.nodeLinks).toContain(hostVeth(kept));
      for (const r of dropped) {
        expect(after.nodeLinks).not.toContain(hostVeth(r));
        expect(mentionsAddress(after.nft, podIp(r))).toBe(false);
      }
      expect(after.allocations.map((a) => a.containerId).filter((id) => [keep, drop1, drop2].some((p) => p.containerId === id))).toEqual([keep.containerId]);
      expect(await ping(keep.netns, GATEWAY)).toBe(true);
      cniOk(await e.call(keep, 'DEL', config), 'DEL kept pod');
    });
  }
});
