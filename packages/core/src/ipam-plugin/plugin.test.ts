// The standalone podnet-ipam plugin through the real skel, in-process: env + stdin in, stdout and
// exit code out, as a runtime sees it.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runPlugin } from '../cni/skel.js';
import { IpamStore, list, parseStoreLocation } from '../ipam/index.js';
import { ipamPlugin } from './plugin.js';
import { flockStoreLock } from './store-lock.js';
import { ipamRepairMain } from './repair-command.js';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'pnt-ipam-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

interface Call {
  code: number;
  stdout: string;
  json: Record<string, unknown> | undefined;
}

function netconf(extra: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}): { name: string; [key: string]: unknown } {
  return {
    cniVersion: '1.0.0',
    name: 'pnt-ipam-net',
    type: 'podnet-ipam',
    ipam: {
      type: 'podnet-ipam',
      dataDir,
      ranges: [[{ subnet: '10.88.0.0/24' }], [{ subnet: 'fd00:88::/64' }]],
      routes: [{ dst: '0.0.0.0/0' }],
      ...ipam,
    },
    ...extra,
  };
}

async function call(command: string, conf: object, env: Record<string, string> = {}): Promise<Call> {
  let stdout = '';
  const code = await runPlugin(ipamPlugin, {
    env: {
      CNI_COMMAND: command,
      CNI_CONTAINERID: 'pnt-ipam-c1',
      CNI_NETNS: '/run/netns/pnt-ipam-missing',
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/opt/cni/bin',
      ...env,
    },
    stdin: JSON.stringify(conf),
    stdout: (s) => (stdout += s),
    stderr: () => undefined,
  });
  return { code, stdout, json: stdout.trim() === '' ? undefined : (JSON.parse(stdout) as Record<string, unknown>) };
}

describe('podnet-ipam plugin', () => {
  it('ADD returns ips, gateway and routes (no interfaces), the same again on a repeated ADD', async () => {
    const first = await call('ADD', netconf());
    expect(first.code).toBe(0);
    expect(first.json).toEqual({
      cniVersion: '1.0.0',
      ips: [
        { address: '10.88.0.2/24', gateway: '10.88.0.1' },
        { address: 'fd00:88::2/64', gateway: 'fd00:88::1' },
      ],
      routes: [{ dst: '0.0.0.0/0' }],
    });
    expect((await call('ADD', netconf())).json).toEqual(first.json);
  });

  it('prints results in older versions (0.3.1 adds "version" per IP)', async () => {
    const result = await call('ADD', netconf({ cniVersion: '0.3.1' }));
    expect(result.json?.['ips']).toEqual([
      { version: '4', address: '10.88.0.2/24', gateway: '10.88.0.1' },
      { version: '6', address: 'fd00:88::2/64', gateway: 'fd00:88::1' },
    ]);
  });

  it('honours CNI_ARGS IP and refuses unknown CNI_ARGS keys without IgnoreUnknown', async () => {
    const result = await call('ADD', netconf(), { CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.88.0.40' });
    expect((result.json?.['ips'] as Array<{ address: string }>)[0]?.address).toBe('10.88.0.40/24');
    const refused = await call('ADD', netconf(), { CNI_ARGS: 'MAC=aa:bb:cc:dd:ee:ff', CNI_CONTAINERID: 'pnt-ipam-c2' });
    expect(refused.code).toBe(1);
    expect(refused.json?.['code']).toBe(2);
  });

  it('CHECK compares with prevResult; DEL releases and repeats; CHECK then fails', async () => {
    const add = await call('ADD', netconf());
    const prevResult = add.json;
    // A chained plugin's extra address outside our subnets is not ours to judge.
    const chained = { ...prevResult, ips: [...(prevResult?.['ips'] as unknown[]), { address: '192.168.5.5/24' }] };
    expect(await call('CHECK', netconf({ prevResult: chained }))).toMatchObject({ code: 0, stdout: '' });
    expect(await call('CHECK', netconf())).toMatchObject({ code: 0, stdout: '' });
    const wrong = await call('CHECK', netconf({ prevResult: { cniVersion: '1.0.0', ips: [{ address: '10.88.0.9/24' }] } }));
    expect(wrong.code).toBe(1);
    expect(wrong.json).toMatchObject({ code: 102 });
    expect(String(wrong.json?.['details'])).toContain('not held: 10.88.0.9');

    expect(await call('DEL', netconf({ prevResult }))).toMatchObject({ code: 0, stdout: '' });
    expect(await call('DEL', netconf(), { CNI_NETNS: '' })).toMatchObject({ code: 0, stdout: '' });
    const gone = await call('CHECK', netconf({ prevResult }));
    expect(gone.json).toMatchObject({ code: 102 });
  });

  it('DEL releases even when the ranges in the config no longer validate', async () => {
    await call('ADD', netconf());
    expect((await call('DEL', netconf({}, { ranges: [[{ subnet: '10.88.0.1/24' }]] }))).code).toBe(0);
    expect(await list(parseStoreLocation(netconf()))).toEqual([]);
  });

  it('GC keeps the valid attachments and releases the rest', async () => {
    await call('ADD', netconf());
    await call('ADD', netconf(), { CNI_CONTAINERID: 'pnt-ipam-c2' });
    await call('ADD', netconf(), { CNI_CONTAINERID: 'pnt-ipam-c3', CNI_IFNAME: 'net1' });
    const gc = await call('GC', netconf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'pnt-ipam-c2', ifname: 'eth0' }] }));
    expect(gc).toMatchObject({ code: 0, stdout: '' });
    const left = await list(parseStoreLocation(netconf()));
    expect(new Set(left.map((e) => e.owner.containerId))).toEqual(new Set(['pnt-ipam-c2']));
  });

  it('invalid configs fail with code 7 naming the field, unknown keys with code 2', async () => {
    const bad = await call('ADD', netconf({}, { ranges: [[{ subnet: '10.88.0.0/31' }]] }));
    expect(bad.json).toMatchObject({ code: 7, msg: 'invalid ipam.ranges[0][0].subnet 10.88.0.0/31: too small' });
    const unknown = await call('ADD', netconf({}, { rangez: [] }));
    expect(unknown.json).toMatchObject({ code: 2, msg: 'unsupported field ipam.rangez' });
  });

  it('a store locked past ipam.lockTimeoutMs is code 11', async () => {
    const conf = netconf({}, { lockTimeoutMs: 50 });
    const holder = await IpamStore.open(parseStoreLocation(conf).path);
    try {
      const busy = await call('ADD', conf);
      expect(busy.json).toMatchObject({ code: 11 });
      expect(String(busy.json?.['msg'])).toContain('is busy: try again later');
    } finally {
      await holder.close();
    }
  });

  it('every call waits on the flock sidecar <dataDir>/.locks/<network> first: held past lockTimeoutMs is code 11', async () => {
    const conf = netconf({}, { lockTimeoutMs: 50 });
    const path = parseStoreLocation(conf).path;
    expect((await call('ADD', conf)).code).toBe(0);
    expect(existsSync(join(dataDir, '.locks', 'pnt-ipam-net'))).toBe(true);
    const unlock = await flockStoreLock(path, 1_000);
    try {
      for (const command of ['ADD', 'DEL']) {
        const busy = await call(command, conf);
        expect(busy.json, command).toMatchObject({ code: 11, msg: `IPAM store ${path} is busy: try again later` });
      }
      expect((await call('STATUS', { ...conf, cniVersion: '1.1.0' })).json).toMatchObject({ code: 50 });
    } finally {
      unlock?.();
    }
    expect((await call('DEL', conf)).code).toBe(0);
  });

  it('STATUS succeeds on a writable dataDir and is code 50 when the store cannot be created', async () => {
    expect(await call('STATUS', netconf({ cniVersion: '1.1.0' }))).toMatchObject({ code: 0, stdout: '' });
    await writeFile(join(dataDir, 'file'), '');
    const down = await call('STATUS', netconf({ cniVersion: '1.1.0' }, { dataDir: join(dataDir, 'file') }));
    expect(down.json).toMatchObject({ code: 50, msg: `IPAM store ${join(dataDir, 'file', 'pnt-ipam-net')} is not available` });
    expect(String(down.json?.['details'])).toContain('expected a writable ipam.dataDir');
  });

  it('pns: STATUS is code 50 with the repair in details for a store without CURRENT and for a damaged table', async () => {
    const conf = netconf({ cniVersion: '1.1.0' });
    const path = parseStoreLocation(conf).path;
    for (let i = 0; i < 4; i++) expect((await call('ADD', conf, { CNI_CONTAINERID: `pns-c${i}` })).code).toBe(0);
    await rename(join(path, 'CURRENT'), join(dataDir, 'CURRENT.saved'));
    const lost = await call('STATUS', conf);
    expect(lost.json).toMatchObject({ code: 50, msg: `IPAM store ${path} is damaged` });
    expect(String(lost.json?.['details'])).toContain('its CURRENT file is missing');
    expect(String(lost.json?.['details'])).toContain('repair --config');
    expect((await call('ADD', conf, { CNI_CONTAINERID: 'pns-new' })).json).toMatchObject({ code: 5 });
    expect((await call('DEL', conf, { CNI_CONTAINERID: 'pns-c0' })).json).toMatchObject({ code: 5 });
    await rename(join(dataDir, 'CURRENT.saved'), join(path, 'CURRENT'));
    expect((await call('STATUS', conf)).code).toBe(0);
    const table = (await readdir(path)).find((f) => f.endsWith('.ldb'));
    expect(table).toBeDefined();
    await truncate(join(path, table!), 64);
    const damaged = await call('STATUS', conf);
    expect(damaged.json).toMatchObject({ code: 50, msg: `IPAM store ${path} is damaged` });
    expect(String(damaged.json?.['details'])).toContain(table);
  });

  it('pns: networks X and X.lock share a dataDir, concurrently, also with an old X.lock sidecar file left', async () => {
    await writeFile(join(dataDir, 'pns-x.lock'), ''); // the sidecar of network pns-x before .locks/
    const x = netconf({ name: 'pns-x' });
    const xLock = netconf({ name: 'pns-x.lock' });
    const ids = Array.from({ length: 6 }, (_, i) => `pns-c${i}`);
    const adds = await Promise.all(ids.flatMap((id) => [call('ADD', x, { CNI_CONTAINERID: id }), call('ADD', xLock, { CNI_CONTAINERID: id })]));
    for (const add of adds) expect(add.code, add.stdout).toBe(0);
    expect(await list(parseStoreLocation(x))).toHaveLength(12);
    expect(await list(parseStoreLocation(xLock))).toHaveLength(12);
    const dels = await Promise.all(ids.flatMap((id) => [call('DEL', x, { CNI_CONTAINERID: id }), call('DEL', xLock, { CNI_CONTAINERID: id })]));
    for (const del of dels) expect(del.code, del.stdout).toBe(0);
    expect(await list(parseStoreLocation(x))).toEqual([]);
    expect(await list(parseStoreLocation(xLock))).toEqual([]);
  });
});

describe('pns: podnet-ipam repair --config', () => {
  it('repairs a store without CURRENT from a conflist, says the live-pod check was not done, and refuses bad arguments', async () => {
    const conf = netconf();
    const path = parseStoreLocation(conf).path;
    for (let i = 0; i < 3; i++) expect((await call('ADD', conf, { CNI_CONTAINERID: `pns-c${i}` })).code).toBe(0);
    await rm(join(path, 'CURRENT'));
    const file = join(dataDir, 'net.conflist');
    const { name, cniVersion, ...plugin } = conf;
    await writeFile(file, JSON.stringify({ cniVersion, name, plugins: [{ type: 'other' }, plugin] }));
    let out = '';
    let err = '';
    const io = { stdout: (t: string) => (out += t), stderr: (t: string) => (err += t) };
    expect(await ipamRepairMain(['--config', file], io)).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ store: path, found: 'lost-current', leveldbRepaired: true, liveChecked: false });
    expect(err).toContain('live-pod check was NOT done');
    expect(await list(parseStoreLocation(conf))).toHaveLength(6);
    expect(await ipamRepairMain(['--bogus'], io)).toBe(2);
    expect(await ipamRepairMain([], io)).toBe(2);
  });
});
