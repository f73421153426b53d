// Findings of the adversarial audit (issue 6) that concern the bridge and the CNI core, each as a
// scenario against the compiled executable: racing calls of one container, paths whose open()
// would block, very long names, huge and deeply nested input, a second ADD of a live attachment
// into another netns, and a hand-made link that carries podnet's host-veth name.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { addresses, cniError, cniOk, link, links, type LabPod } from '@podnet/lab';
import { attachmentDigest, hostVethName, networkDigest } from '@podnet/backend-bridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipamAllocations } from './support/allocations.ts';
import { cniPath, E2e } from './support/harness.ts';

let e: E2e;
beforeAll(async () => {
  e = await E2e.create('10.249.0.0/22');
});
afterAll(async () => {
  await e?.destroy();
  // Lock files of this file's networks (a test that failed midway may leave some).
  for (const network of networksUsed) await rm(`/run/podnet/attachments/${networkDigest(network)}`, { recursive: true, force: true });
});

const networksUsed = new Set<string>();
function config(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const c = e.config(overrides);
  networksUsed.add(c['name'] as string);
  return c;
}

async function podAddresses(pod: LabPod): Promise<string[]> {
  return ((await addresses(pod.netns)).get('eth0') ?? []).filter((a) => a.family === 'inet').map((a) => a.local);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('ADD racing DEL of the same container (finding 1)', () => {
  it('no pod is left on an address the store does not hold for it, over 30 containers', async () => {
    const cfg = config();
    const pods: LabPod[] = [];
    for (let i = 0; i < 30; i++) pods.push(await e.addPod(`race${i}`));
    // 10 at a time: 20 processes on 2 cores is already a crowd.
    for (let start = 0; start < pods.length; start += 10) {
      await Promise.all(
        pods.slice(start, start + 10).map(async (pod, j) => {
          const add = e.call(pod, 'ADD', cfg);
          await sleep((start + j) % 20);
          const del = e.call(pod, 'DEL', cfg);
          const [a, d] = await Promise.all([add, del]);
          // Either order is legal; neither call may fail.
          expect(a.code, `ADD ${pod.name}: ${a.stdout}${a.stderr}`).toBe(0);
          expect(d.code, `DEL ${pod.name}: ${d.stdout}${d.stderr}`).toBe(0);
        }),
      );
    }
    const held = await ipamAllocations(e.dataDir, e.network);
    const seen = new Map<string, string>();
    let attached = 0;
    for (const pod of pods) {
      const ips = await podAddresses(pod);
      if (ips.length > 0) attached++;
      for (const ip of ips) {
        const owner = held.find((h) => h.ip === ip);
        expect(owner?.containerId, `${pod.name} has ${ip}: the store must hold it for that pod`).toBe(pod.containerId);
        expect(seen.get(ip), `${ip} on two pods`).toBeUndefined();
        seen.set(ip, pod.name);
      }
    }
    // Every allocation left belongs to a pod that has it (nothing held for a pod without eth0).
    for (const h of held) expect(seen.has(h.ip), `store holds ${h.ip} for ${h.containerId}, no pod has it`).toBe(true);
    // And fresh pods never get an address a pod is using.
    const fresh = await e.addPod('racefresh');
    const r = cniOk<{ ips: Array<{ address: string }> }>(await e.call(fresh, 'ADD', cfg), 'ADD fresh');
    expect(seen.has(r.ips[0]!.address.split('/')[0]!)).toBe(false);
    for (const pod of [...pods, fresh]) cniOk(await e.call(pod, 'DEL', cfg), `DEL ${pod.name}`);
    expect(await ipamAllocations(e.dataDir, e.network)).toEqual([]);
    // The call locks exist only while calls run: nothing of them is left.
    expect(existsSync(`/run/podnet/attachments/${networkDigest(e.network)}`)).toBe(false);
    expect(attached).toBeGreaterThanOrEqual(0);
  });

  it('CHECK racing DEL never fails with anything but a clean error, and leaves nothing', async () => {
    const cfg = config();
    const pod = await e.addPod('racechk');
    const result = cniOk(await e.call(pod, 'ADD', cfg), 'ADD');
    const [check, del] = await Promise.all([e.call(pod, 'CHECK', { ...cfg, prevResult: result }), e.call(pod, 'DEL', cfg)]);
    expect(del.code, del.stdout).toBe(0);
    if (check.code !== 0) expect(cniError(check).code).toBeTypeOf('number');
    expect(await podAddresses(pod)).toEqual([]);
    expect((await ipamAllocations(e.dataDir, e.network)).filter((a) => a.containerId === pod.containerId)).toEqual([]);
  });
});

describe('paths whose open() would block (finding 4)', () => {
  let fifo: string;
  beforeAll(async () => {
    fifo = path.join(await e.lab.tempDir('fifo'), 'pipe');
    execFileSync('mkfifo', [fifo]);
  });

  it.each(['ADD', 'CHECK'] as const)('CNI_NETNS a FIFO: %s fails within a second', async (command) => {
    const pod = await e.addPod(`fifo${command.toLowerCase()}`);
    const before = await links(e.node.netns);
    const started = Date.now();
    const out = await e.call(
      pod,
      command,
      { ...config(), ...(command === 'CHECK' ? { prevResult: { cniVersion: '1.0.0', ips: [] } } : {}) },
      { netns: fifo, timeoutMs: 5_000 },
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    const err = cniError(out);
    expect(`${err.msg} ${err.details ?? ''}`).toMatch(/pipe|namespace/);
    expect((await links(e.node.netns)).map((l) => l.ifname)).toEqual(before.map((l) => l.ifname));
  });

  it('ipam.resolvConf a FIFO: ADD fails within a second naming it, and leaves nothing', async () => {
    const pod = await e.addPod('fifodns');
    const cfg = config({ ipam: e.ipam(undefined, { resolvConf: fifo }) });
    const started = Date.now();
    const err = cniError(await e.call(pod, 'ADD', cfg, { timeoutMs: 5_000 }));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(`${err.msg} ${err.details ?? ''}`).toMatch(/resolvConf/);
    expect(await podAddresses(pod)).toEqual([]);
    expect((await ipamAllocations(e.dataDir, e.network)).filter((a) => a.containerId === pod.containerId)).toEqual([]);
  });

  it('logFile a FIFO: the call still completes within a second (the log says why it could not write)', async () => {
    const pod = await e.addPod('fifolog');
    const cfg = config({ logFile: fifo, logLevel: 'debug' });
    const started = Date.now();
    const add = await e.call(pod, 'ADD', cfg, { timeoutMs: 5_000 });
    expect(Date.now() - started).toBeLessThan(2_000);
    cniOk(add, 'ADD');
    expect(add.stderr).toMatch(/log file/);
    cniOk(await e.call(pod, 'DEL', cfg, { timeoutMs: 5_000 }), 'DEL');
  });
});

describe('long names (finding 5)', () => {
  // Both names are valid (the spec bounds neither); their owner alias would pass 255 bytes.
  it.each([240, 250])('network + containerID of %i characters: ADD works, GC and DEL find the veth', async (total) => {
    const network = `${e.network}-${'n'.repeat(100 - e.network.length - 1)}`;
    const containerId = `c${'0123456789abcdef'.repeat(20)}`.slice(0, total - network.length);
    const cfg = config({ name: network });
    const pod = await e.addPod(`long${total}`);
    const result = cniOk<{ ips: Array<{ address: string }> }>(await e.call(pod, 'ADD', cfg, { containerId }), 'ADD');
    expect(await podAddresses(pod)).toEqual([result.ips[0]!.address.split('/')[0]]);
    const hostName = hostVethName(network, containerId, 'eth0');
    // 240 still fits the named alias (254 bytes); 250 needs the digest form.
    const alias = ((await link(e.node.netns, hostName)) as { ifalias?: string } | undefined)?.ifalias;
    expect(alias).toMatch(total === 240 ? /^podnet:.*:eth0$/ : /^podnet~[0-9a-f]{16}:[0-9a-f]{64}$/);
    // GC keeps a valid attachment and removes it once it is not listed.
    const gc = (valid: unknown[]): ReturnType<E2e['raw']> =>
      e.raw({ command: 'GC', path: cniPath(), config: { ...cfg, cniVersion: '1.1.0', 'cni.dev/valid-attachments': valid } });
    cniOk(await gc([{ containerID: containerId, ifname: 'eth0' }]), 'GC keeping it');
    expect(await link(e.node.netns, hostName)).toBeDefined();
    cniOk(await gc([]), 'GC removing it');
    expect(await link(e.node.netns, hostName)).toBeUndefined();
    expect(await ipamAllocations(e.dataDir, network)).toEqual([]);
    cniOk(await e.call(pod, 'DEL', cfg, { containerId }), 'DEL');
    expect(attachmentDigest({ network, containerId, ifname: 'eth0' })).toHaveLength(64);
  });
});

describe('unbounded input (finding 7)', () => {
  it('a 10 MB value gives an error of a few KB', async () => {
    const pod = await e.addPod('huge');
    const out = await e.call(pod, 'ADD', config({ bridge: 'x'.repeat(10 * 1024 * 1024) }), { timeoutMs: 20_000 });
    const err = cniError(out);
    expect(out.stdout.length).toBeLessThan(4096);
    if (e.daemon) {
      // Thick mode: the daemon refuses a request over its bound before decoding it.
      expect(err.code).toBe(6);
      expect(err.msg).toMatch(/larger than/);
    } else {
      expect(err.code).toBe(7);
      expect(err.msg).toMatch(/bridge/);
    }
  });

  it('100,000-deep nesting is a decode error (6), not a crash', async () => {
    const pod = await e.addPod('deep');
    const cfg = JSON.stringify(config()).replace(/}$/, `, "args": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    const err = cniError(await e.call(pod, 'ADD', cfg));
    expect(err.code).toBe(6);
    expect(err.msg).toMatch(/nest/);
  });
});

describe('a second ADD of a live attachment into another netns (finding 8)', () => {
  it('is refused; the first pod keeps its interface and its address', async () => {
    const cfg = config();
    const first = await e.addPod('live1');
    const other = await e.addPod('live2');
    const result = cniOk<{ ips: Array<{ address: string }> }>(await e.call(first, 'ADD', cfg), 'ADD');
    const ip = result.ips[0]!.address.split('/')[0]!;
    const err = cniError(await e.call(other, 'ADD', cfg, { containerId: first.containerId }));
    expect(`${err.msg} ${err.details ?? ''}`).toMatch(/already attached/);
    expect(await podAddresses(first)).toEqual([ip]);
    expect(await podAddresses(other)).toEqual([]);
    expect((await ipamAllocations(e.dataDir, e.network)).find((a) => a.ip === ip)?.containerId).toBe(first.containerId);
    cniOk(await e.call(first, 'DEL', cfg), 'DEL');
  });
});

describe("a hand-made link with podnet's host-veth name (finding 9)", () => {
  it('is never deleted by DEL, and blocks ADD with a clear error', async () => {
    const cfg = config();
    const pod = await e.addPod('foreign');
    const name = hostVethName(e.network, pod.containerId, 'eth0');
    await e.node.netns.execOk('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', `${e.lab.linkName('fp')}`]);
    try {
      cniOk(await e.call(pod, 'DEL', cfg), 'DEL');
      expect(await link(e.node.netns, name), 'DEL left the hand-made link alone').toBeDefined();
      const err = cniError(await e.call(pod, 'ADD', cfg));
      expect(`${err.msg} ${err.details ?? ''}`).toMatch(/not created by podnet/);
      expect(await link(e.node.netns, name)).toBeDefined();
      expect((await ipamAllocations(e.dataDir, e.network)).filter((a) => a.containerId === pod.containerId)).toEqual([]);
    } finally {
      await e.node.netns.exec('ip', ['link', 'del', name]);
    }
  });
});
