// Bad input and failing ADDs: the right CNI error code, a message that names what is wrong, and
// nothing left behind — no link in the node or the pod, no IPAM allocation, no nft rule.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cniError, cniOk, runOk, type CniInvocation, type LabPod } from '@podnet/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cniPath, E2e, type Snapshot } from './support/harness.ts';

let e: E2e;
let pod: LabPod;
let baseline: Snapshot;
let notANetns: string;

beforeAll(async () => {
  e = await E2e.create('10.251.0.0/24');
  pod = await e.addPod('bad');
  notANetns = path.join(await e.lab.tempDir('file'), 'not-a-netns');
  await writeFile(notANetns, '');
  baseline = await e.snapshot([pod]);
});
afterAll(() => e?.destroy());

interface BadCase {
  name: string;
  /** Changes to the valid config (`null` deletes a key); a function because it needs the fixture. */
  config?: () => Record<string, unknown>;
  /** Sent instead of a config (malformed input). */
  stdin?: string;
  /** Changes to the valid invocation. */
  inv?: () => Partial<CniInvocation>;
  code: number;
  /** What the message (msg + details) must mention. */
  says: RegExp;
}

function withChanges(base: Record<string, unknown>, changes: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

const ipam = (changes: Record<string, unknown>): Record<string, unknown> => ({ ipam: withChanges(e.ipam(), changes) });

const cases: BadCase[] = [
  // Decoding
  { name: 'malformed JSON', stdin: '{"cniVersion": "1.0.0", "name": ', code: 6, says: /JSON|decode|parse/i },
  { name: 'empty stdin', stdin: '', code: 6, says: /config|stdin|empty|JSON/i },
  { name: 'a JSON array instead of an object', stdin: '[1, 2]', code: 6, says: /object/i },
  // Versions
  { name: 'unsupported cniVersion 0.2.0', config: () => ({ cniVersion: '0.2.0' }), code: 1, says: /0\.2\.0/ },
  { name: 'unsupported cniVersion 2.0.0', config: () => ({ cniVersion: '2.0.0' }), code: 1, says: /2\.0\.0/ },
  // Wrong types and bad values
  { name: 'mtu as a string', config: () => ({ mtu: '1500' }), code: 7, says: /mtu/ },
  { name: 'mtu out of range', config: () => ({ mtu: 10 }), code: 7, says: /mtu/ },
  { name: 'isGateway as a string', config: () => ({ isGateway: 'yes' }), code: 7, says: /isGateway/ },
  { name: 'bridge as a number', config: () => ({ bridge: 5 }), code: 7, says: /bridge/ },
  { name: 'bridge name longer than 15 bytes', config: () => ({ bridge: 'pnt-e-much-too-long' }), code: 7, says: /bridge/ },
  { name: 'name missing', config: () => ({ name: null }), code: 7, says: /name/ },
  { name: 'an unknown key', config: () => ({ colour: 'blue' }), code: 2, says: /colour/ },
  { name: 'ipam.ranges not a list', config: () => ipam({ ranges: 'x' }), code: 7, says: /ranges/ },
  { name: 'subnet that is not a CIDR', config: () => ipam({ ranges: [[{ subnet: '10.251.0.0/33' }]] }), code: 7, says: /subnet|10\.251\.0\.0\/33/ },
  { name: 'subnet with host bits set', config: () => ipam({ ranges: [[{ subnet: '10.251.0.1/24' }]] }), code: 7, says: /subnet|10\.251\.0\.1\/24/ },
  { name: 'a MAC that is not one', config: () => ({ runtimeConfig: { mac: 'zz:00:00:00:00:00' } }), code: 7, says: /mac/i },
  { name: 'an ipam type missing from CNI_PATH', config: () => ipam({ type: 'pnt-e-no-such-ipam' }), code: 7, says: /pnt-e-no-such-ipam/ },
  // Environment
  { name: 'CNI_COMMAND unknown', inv: () => ({ command: 'FROB' }), code: 4, says: /CNI_COMMAND/ },
  { name: 'CNI_CONTAINERID missing', inv: () => ({ env: { CNI_CONTAINERID: undefined } }), code: 4, says: /CNI_CONTAINERID/ },
  { name: 'CNI_CONTAINERID invalid', inv: () => ({ containerId: 'bad id!' }), code: 4, says: /CNI_CONTAINERID/ },
  { name: 'CNI_NETNS missing on ADD', inv: () => ({ env: { CNI_NETNS: undefined } }), code: 4, says: /CNI_NETNS/ },
  { name: 'CNI_IFNAME missing', inv: () => ({ env: { CNI_IFNAME: undefined } }), code: 4, says: /CNI_IFNAME/ },
  { name: 'CNI_PATH missing', inv: () => ({ env: { CNI_PATH: undefined } }), code: 4, says: /CNI_PATH/ },
  { name: 'ifname longer than 15 bytes', inv: () => ({ ifname: 'eth0123456789abc' }), code: 4, says: /CNI_IFNAME/ },
  { name: 'ifname with a slash', inv: () => ({ ifname: 'a/b' }), code: 4, says: /CNI_IFNAME/ },
  { name: 'ifname "."', inv: () => ({ ifname: '.' }), code: 4, says: /CNI_IFNAME/ },
  { name: 'an unknown CNI_ARGS key without IgnoreUnknown', inv: () => ({ args: 'FROB=1' }), code: 2, says: /FROB/ },
  { name: 'CNI_NETNS that does not exist', inv: () => ({ netns: '/run/netns/pnt-e-no-such-netns' }), code: 8, says: /pnt-e-no-such-netns/ },
  { name: 'CNI_NETNS that is not a namespace', inv: () => ({ netns: notANetns }), code: 8, says: /not-a-netns/ },
];

function configOf(c: BadCase): Record<string, unknown> {
  return withChanges(e.config({ ipMasq: true }), c.config?.() ?? {});
}

describe('bad input', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const inv = pod.invocation('ADD', c.stdin ?? configOf(c), { path: cniPath(), ...c.inv?.() });
    const outcome = await e.raw(inv);
    const err = cniError(outcome);
    expect(err.code, `${err.msg}: ${err.details ?? ''}`).toBe(c.code);
    expect(`${err.msg} ${err.details ?? ''}`).toMatch(c.says);
    expect(err.cniVersion, 'the error carries a cniVersion').toBeTypeOf('string');
    expect(await e.snapshot([pod])).toEqual(baseline);
  });
});

describe('failing ADD rolls back everything it did', () => {
  it('an ifname that already exists in the pod', async () => {
    const p = await e.addPod('dupif');
    // dummy is not available on every kernel; a veth pair is.
    await p.netns.execOk('ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0peer']);
    const before = await e.snapshot([p]);
    const err = cniError(await e.call(p, 'ADD', e.config({ ipMasq: true })));
    expect(`${err.msg} ${err.details ?? ''}`).toMatch(/eth0/);
    expect(withoutBridge(await e.snapshot([p]))).toEqual(withoutBridge(before));
    // No state check after this DEL: like the reference, DEL removes CNI_IFNAME from the pod.
    const del = await e.call(p, 'DEL', e.config({ ipMasq: true }));
    expect(del.code, del.stdout + del.stderr).toBe(0);
  });

  it('the address range is exhausted', async () => {
    const config = e.config({
      ipMasq: true,
      ipam: e.ipam('10.251.0.0/24', { ranges: [[{ subnet: '10.251.0.0/24', rangeStart: '10.251.0.9', rangeEnd: '10.251.0.9' }]] }),
    });
    const first = await e.addPod('full1');
    const second = await e.addPod('full2');
    cniOk(await e.call(first, 'ADD', config), 'ADD of the only address');
    const before = await e.snapshot([first, second]);
    const err = cniError(await e.call(second, 'ADD', config));
    expect(`${err.msg} ${err.details ?? ''}`).toMatch(/no .*address|exhausted|available|full/i);
    expect(await e.snapshot([first, second])).toEqual(before);
    await delAfterFailedAdd(second, config, [first, second]);
    cniOk(await e.call(first, 'DEL', config), 'DEL');
  });

  it('a requested address (CNI_ARGS IP) that is taken', async () => {
    const config = e.config({ ipMasq: true });
    const first = await e.addPod('ipa');
    const second = await e.addPod('ipb');
    cniOk(await e.call(first, 'ADD', config, { args: 'IP=10.251.0.77' }), 'ADD with IP=');
    const before = await e.snapshot([first, second]);
    const err = cniError(await e.call(second, 'ADD', config, { args: 'IP=10.251.0.77' }));
    expect(`${err.msg} ${err.details ?? ''}`).toMatch(/10\.251\.0\.77/);
    expect(await e.snapshot([first, second])).toEqual(before);
    await delAfterFailedAdd(second, config, [first, second]);
    cniOk(await e.call(first, 'DEL', config), 'DEL');
  });

  it('a link with the bridge name that is not a bridge', async () => {
    const notBridge = e.lab.linkName('nb');
    await e.node.netns.execOk('ip', ['link', 'add', notBridge, 'type', 'veth', 'peer', 'name', `${notBridge}p`]);
    const p = await e.addPod('nbr');
    const before = await e.snapshot([p]);
    const err = cniError(await e.call(p, 'ADD', e.config({ bridge: notBridge, ipMasq: true })));
    expect(`${err.msg} ${err.details ?? ''}`).toMatch(new RegExp(notBridge));
    expect(await e.snapshot([p])).toEqual(before);
    await delAfterFailedAdd(p, e.config({ bridge: notBridge, ipMasq: true }));
    await e.node.netns.execOk('ip', ['link', 'del', notBridge]);
  });

  it('a bridge with another address in the gateway subnet (no forceAddress): fails after IPAM and the veth', async () => {
    const other = e.lab.linkName('ob');
    await e.node.netns.execOk('ip', ['link', 'add', other, 'type', 'bridge']);
    await e.node.netns.execOk('ip', ['addr', 'add', '10.251.0.254/24', 'dev', other]);
    const p = await e.addPod('addrc');
    const before = await e.snapshot([p]);
    const err = cniError(await e.call(p, 'ADD', e.config({ bridge: other, ipMasq: true })));
    expect(`${err.msg} ${err.details ?? ''}`).toMatch(new RegExp(other));
    expect(await e.snapshot([p])).toEqual(before);
    await delAfterFailedAdd(p, e.config({ bridge: other, ipMasq: true }));
  });

  it('a delegated IPAM (host-local) that fails', async () => {
    const p = await e.addPod('hlfail');
    const before = await e.snapshot([p]);
    const dataDir = await e.lab.tempDir('hl');
    const err = cniError(await e.call(p, 'ADD', e.config({ ipMasq: true, ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: 'bogus' }]] } })));
    expect(`${err.msg} ${err.details ?? ''}`).toMatch(/host-local|bogus/);
    expect(withoutBridge(await e.snapshot([p]))).toEqual(withoutBridge(before));
    expect(await runOk('find', [dataDir, '-type', 'f'])).toBe('');
  });
});

/**
 * A runtime answers a failed ADD with DEL (podman does, without prevResult): it must succeed and
 * change nothing either.
 */
async function delAfterFailedAdd(p: LabPod, config: Record<string, unknown>, pods: LabPod[] = [p]): Promise<void> {
  const before = await e.snapshot(pods);
  const del = await e.call(p, 'DEL', config);
  expect(del.code, `DEL after the failed ADD: ${del.stdout}${del.stderr}`).toBe(0);
  expect(await e.snapshot(pods)).toEqual(before);
}

/** The bridge is shared infrastructure (the reference keeps it too): ignore whether it exists. */
function withoutBridge(s: Snapshot): Snapshot {
  return { ...s, nodeLinks: s.nodeLinks.filter((n) => n !== e.bridge) };
}
