// Thick mode against the compiled executables: `podnetd serve-cni` in the node netns does the
// calls, podnet-bridge is its thin client. The calls runtimes make (podman: two DELs; containerd:
// DEL with an empty CNI_NETNS, DEL without ADD), and the faults: the daemon SIGKILLed in the middle
// of a 32-pod burst, SIGSTOPped, restarted under running pods.
import { cniError, cniOk, ping, type LabPod } from '@podnet/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipamAllocations } from './support/allocations.ts';
import { cniPath, E2e } from './support/harness.ts';

let e: E2e;
beforeAll(async () => {
  e = await E2e.create('10.247.0.0/22', 'thick');
});
afterAll(() => e?.destroy());

const daemon = () => {
  if (!e.daemon) throw new Error('no daemon');
  return e.daemon;
};

async function vethCount(): Promise<number> {
  const out = await e.node.netns.execOk('ip', ['-o', 'link', 'show', 'type', 'veth']);
  return out.split('\n').filter((l) => l.includes('veth')).length;
}

function podIp(result: { ips: Array<{ address: string }> }): string {
  return result.ips[0]!.address.split('/')[0]!;
}

async function gcAll(valid: LabPod[] = []): Promise<void> {
  cniOk(
    await e.raw({
      command: 'GC',
      path: cniPath(),
      config: { ...e.config(), cniVersion: '1.1.0', 'cni.dev/valid-attachments': valid.map((p) => ({ containerID: p.containerId, ifname: 'eth0' })) },
    }),
    'GC',
  );
}

describe('the calls runtimes make, served by the daemon', () => {
  it('ADD, CHECK, DEL, DEL again, DEL without a netns, DEL of a container never added', async () => {
    const a = await e.addPod('rt1');
    const b = await e.addPod('rt2');
    const ra = cniOk<{ ips: Array<{ address: string }> }>(await e.call(a, 'ADD', e.config()), 'ADD a');
    const rb = cniOk<{ ips: Array<{ address: string }> }>(await e.call(b, 'ADD', e.config()), 'ADD b');
    await ping(a.netns, podIp(rb));
    cniOk(await e.call(a, 'CHECK', { ...e.config(), prevResult: ra }), 'CHECK');
    cniOk(await e.call(a, 'DEL', e.config()), 'DEL');
    cniOk(await e.call(a, 'DEL', e.config()), 'DEL again (podman)');
    cniOk(await e.call(b, 'DEL', e.config(), { netns: '' }), 'DEL with an empty CNI_NETNS (containerd)');
    const never = await e.addPod('rt3');
    cniOk(await e.call(never, 'DEL', e.config()), 'DEL without ADD');
    expect(await vethCount()).toBe(0);
    expect(await ipamAllocations(e.dataDir, e.network)).toEqual([]);
    expect(daemon().process.exitCode).toBeNull();
  });

  it('STATUS and a bad config are answered by the daemon with the same codes', async () => {
    cniOk(await e.raw({ command: 'STATUS', path: cniPath(), config: { ...e.config(), cniVersion: '1.1.0' } }), 'STATUS');
    const pod = await e.addPod('bad');
    const err = cniError(await e.call(pod, 'ADD', e.config({ mtu: 'big' })));
    expect(err.code).toBe(7);
    expect(err.msg).toMatch(/mtu/);
  });
});

describe('faults', () => {
  it('SIGKILL in the middle of a 32-pod burst: calls fail cleanly or complete, later calls fall back, GC leaves nothing', async () => {
    const pods: LabPod[] = [];
    for (let i = 0; i < 32; i++) pods.push(await e.addPod(`kb${i}`));
    const burst = pods.map((p) => e.call(p, 'ADD', e.config()));
    await new Promise((r) => setTimeout(r, 30));
    daemon().process.kill('SIGKILL');
    const outcomes = await Promise.all(burst);
    for (const o of outcomes) {
      if (o.code !== 0) expect(cniError(o).code, o.stdout).toBeTypeOf('number');
    }
    // No daemon now: the next calls run in-process (the socket file is left, nobody listens).
    const after = await e.addPod('kbafter');
    cniOk(await e.call(after, 'ADD', e.config()), 'ADD after the crash, in-process');
    // Keep only `after`; GC removes every other allocation, veth and nft element.
    await gcAll([after]);
    const left = await ipamAllocations(e.dataDir, e.network);
    expect(left.map((a) => a.containerId)).toEqual([after.containerId]);
    expect(await vethCount()).toBe(1);
    cniOk(await e.call(after, 'DEL', e.config()), 'DEL');
    for (const p of pods) cniOk(await e.call(p, 'DEL', e.config()), `DEL ${p.name}`);
    expect(await ipamAllocations(e.dataDir, e.network)).toEqual([]);
    expect(await vethCount()).toBe(0);
    await daemon().restart();
  });

  it('SIGSTOP: every client returns code 11 within its deadline, naming the socket', async () => {
    const pods: LabPod[] = [];
    for (let i = 0; i < 4; i++) pods.push(await e.addPod(`st${i}`));
    daemon().process.kill('SIGSTOP');
    try {
      const started = Date.now();
      const outcomes = await Promise.all(pods.map((p) => e.call(p, 'ADD', e.config({ daemon: { socket: daemon().socket, timeoutMs: 1_500 } }))));
      expect(Date.now() - started).toBeLessThan(6_000);
      for (const o of outcomes) {
        const err = cniError(o);
        expect(err.code).toBe(11);
        expect(err.msg).toContain(daemon().socket);
      }
    } finally {
      daemon().process.kill('SIGCONT');
    }
    // The daemon still ran the calls it had accepted; their clients are gone, so it rolled them
    // back. Once it has caught up, nothing is left.
    await new Promise((r) => setTimeout(r, 1_000));
    let settled = 0;
    for (let i = 0; i < 50 && settled < 2; i++) {
      const clean = (await ipamAllocations(e.dataDir, e.network)).length === 0 && (await vethCount()) === 0;
      settled = clean ? settled + 1 : 0;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(await ipamAllocations(e.dataDir, e.network)).toEqual([]);
    expect(await vethCount()).toBe(0);
  });

  it('restarted under running pods: the pods keep talking, the store stays consistent', async () => {
    const a = await e.addPod('rs1');
    const b = await e.addPod('rs2');
    cniOk(await e.call(a, 'ADD', e.config()), 'ADD a');
    const rb = cniOk<{ ips: Array<{ address: string }> }>(await e.call(b, 'ADD', e.config()), 'ADD b');
    daemon().process.kill('SIGTERM');
    await new Promise<void>((r) => daemon().process.once('exit', () => r()));
    await daemon().restart();
    await ping(a.netns, podIp(rb));
    const c = await e.addPod('rs3');
    const rc = cniOk<{ ips: Array<{ address: string }> }>(await e.call(c, 'ADD', e.config()), 'ADD c after the restart');
    const held = await ipamAllocations(e.dataDir, e.network);
    expect(new Set(held.map((h) => h.ip)).size).toBe(3);
    expect(held.map((h) => h.ip)).toContain(podIp(rc));
    for (const p of [a, b, c]) cniOk(await e.call(p, 'DEL', e.config()), 'DEL');
    expect(await ipamAllocations(e.dataDir, e.network)).toEqual([]);
  });
});
