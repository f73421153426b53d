// The store on a real LevelDB in a temporary directory (no root needed).
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseIpamConfig } from './config.js';
import type { IpamConfig, IpamConfigInput } from './config.js';
import { IpamError, IpamErrorCode } from './errors.js';
import { allocate, check, gc, list, release, status, withStore } from './ipam.js';
import { IpamStore } from './store.js';
import type { Owner } from './store.js';
import type { StoreLock } from './database.js';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'pnt-ipam-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const A: Owner = { containerId: 'dummy', ifname: 'eth0' };
const B: Owner = { containerId: 'other', ifname: 'eth0' };
const TWO_SETS = [[{ subnet: '10.1.2.0/24' }, { subnet: '10.2.2.0/24' }], [{ subnet: '2001:db8:1::/64' }]];

function cfg(ipam: Record<string, unknown> = {}, extra: Partial<IpamConfigInput> = {}, cniArgs: Record<string, string> = {}): IpamConfig {
  return parseIpamConfig({ name: 'testnet', ipam: { type: 'podnet-ipam', dataDir, ranges: TWO_SETS, ...ipam }, ...extra }, cniArgs);
}

async function rejection(promise: Promise<unknown>): Promise<IpamError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof IpamError) return err;
    throw err;
  }
  throw new Error('expected an IpamError');
}

/** Every raw key/value of the store, read behind the library's back. */
async function rawKeys(config: IpamConfig): Promise<Record<string, string>> {
  const db = new Level<string, string>(config.path, { valueEncoding: 'utf8' });
  await db.open();
  const all: Record<string, string> = {};
  for await (const [key, value] of db.iterator()) all[key] = value;
  await db.close();
  return all;
}

describe('allocate / release (host-local checklist and beyond)', () => {
  it('allocates one address per set (.2 with gateway .1, ::2) and releases them', async () => {
    const config = cfg({ routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0', gw: '2001:db8:1::1' }] });
    const result = await allocate(config, A);
    expect(result).toEqual({
      ips: [
        { address: '10.1.2.2/24', gateway: '10.1.2.1' },
        { address: '2001:db8:1::2/64', gateway: '2001:db8:1::1' },
      ],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0', gw: '2001:db8:1::1' }],
    });
    const keys = await rawKeys(config);
    expect(Object.keys(keys).sort()).toEqual([
      'ip:40a010202',
      'ip:620010db8000100000000000000000002',
      `last:${config.rangeSets[0]!.key}`,
      `last:${config.rangeSets[1]!.key}`,
      'meta:schema',
      'owner:dummy/eth0',
    ]);
    expect(JSON.parse(keys['owner:dummy/eth0']!)).toMatchObject({ addresses: ['10.1.2.2', '2001:db8:1::2'] });
    expect(JSON.parse(keys['ip:40a010202']!)).toMatchObject({ containerId: 'dummy', ifname: 'eth0' });

    const entries = await list(config);
    expect(entries.map((e) => [e.address, e.owner.containerId, e.owner.ifname])).toEqual([
      ['10.1.2.2', 'dummy', 'eth0'],
      ['2001:db8:1::2', 'dummy', 'eth0'],
    ]);
    expect(Number.isNaN(Date.parse(entries[0]!.time))).toBe(false);

    expect(await release(config, A)).toEqual(['10.1.2.2', '2001:db8:1::2']);
    expect(await list(config)).toEqual([]);
    const after = Object.keys(await rawKeys(config));
    expect(after.filter((k) => k.startsWith('ip:') || k.startsWith('owner:'))).toEqual([]);
  });

  it('ADD again for the same owner returns the same addresses and writes nothing', async () => {
    const config = cfg();
    const first = await allocate(config, A);
    const before = await rawKeys(config);
    expect(await allocate(config, A)).toEqual(first);
    expect(await rawKeys(config)).toEqual(before);
    // Another owner gets the next addresses; another interface of the same container too.
    expect((await allocate(config, B)).ips.map((ip) => ip.address)).toEqual(['10.1.2.3/24', '2001:db8:1::3/64']);
    expect((await allocate(config, { containerId: 'dummy', ifname: 'net1' })).ips[0]!.address).toBe('10.1.2.4/24');
  });

  it('continues round-robin from the last address across calls', async () => {
    const config = cfg();
    await allocate(config, A);
    await release(config, A);
    expect((await allocate(config, B)).ips[0]!.address).toBe('10.1.2.3/24');
  });

  it('DEL of an unknown owner succeeds; DEL, GC and list without a store do not create one', async () => {
    const config = cfg();
    expect(await release(config, A)).toEqual([]);
    expect(await gc(config, [])).toEqual([]);
    expect(await list(config)).toEqual([]);
    expect(existsSync(config.path)).toBe(false);
    await allocate(config, A);
    expect(await release(config, B)).toEqual([]);
    expect(await release(config, A)).toHaveLength(2);
    expect(await release(config, A)).toEqual([]);
  });

  it('honours requested addresses from CNI_ARGS, args and runtimeConfig', async () => {
    const viaArgs = cfg({}, {}, { IP: '10.2.2.50,2001:db8:1::50' });
    expect((await allocate(viaArgs, A)).ips.map((ip) => ip.address)).toEqual(['10.2.2.50/24', '2001:db8:1::50/64']);
    const viaRuntime = cfg({}, { runtimeConfig: { ips: ['10.1.2.77/24'] } });
    expect((await allocate(viaRuntime, B)).ips.map((ip) => ip.address)).toEqual(['10.1.2.77/24', '2001:db8:1::2/64']);
    // The same request again is idempotent.
    expect((await allocate(viaArgs, A)).ips[0]!.address).toBe('10.2.2.50/24');
  });

  it('a requested address held by another owner fails the whole request and stores nothing', async () => {
    await allocate(cfg({}, {}, { IP: '10.1.2.9' }), A);
    const before = await rawKeys(cfg());
    // v6 would be free: the request still fails as a whole.
    const err = await rejection(allocate(cfg({}, {}, { IP: '10.1.2.9,2001:db8:1::9' }), B));
    expect(err.code).toBe(IpamErrorCode.AddressInUse);
    expect(err.message).toBe('requested address CNI_ARGS IP[0] 10.1.2.9 is held by container dummy interface eth0');
    expect(await rawKeys(cfg())).toEqual(before);
  });

  it('exhaustion of one set rolls back the whole multi-set request', async () => {
    const config = cfg({ ranges: [[{ subnet: '10.9.0.0/30' }], [{ subnet: 'fd00:9::/64' }]] });
    expect((await allocate(config, A)).ips.map((ip) => ip.address)).toEqual(['10.9.0.2/30', 'fd00:9::2/64']);
    const before = await rawKeys(config);
    const err = await rejection(allocate(config, B));
    expect(err.code).toBe(IpamErrorCode.RangeExhausted);
    expect(err.message).toBe('no free address in ipam.ranges[0] (10.9.0.0/30)');
    expect(await rawKeys(config)).toEqual(before);
  });

  it('a /29 serves five owners and refuses the sixth', async () => {
    const config = cfg({ ranges: [[{ subnet: '10.9.0.0/29' }]] });
    const got: string[] = [];
    for (let i = 0; i < 5; i++) got.push((await allocate(config, { containerId: `c${i}`, ifname: 'eth0' })).ips[0]!.address);
    expect(got).toEqual(['10.9.0.2/29', '10.9.0.3/29', '10.9.0.4/29', '10.9.0.5/29', '10.9.0.6/29']);
    expect((await rejection(allocate(config, { containerId: 'c5', ifname: 'eth0' }))).code).toBe(IpamErrorCode.RangeExhausted);
    await release(config, { containerId: 'c2', ifname: 'eth0' });
    expect((await allocate(config, { containerId: 'c5', ifname: 'eth0' })).ips[0]!.address).toBe('10.9.0.4/29');
  });

  it('finds the free address after long held runs (many read batches, v4 and v6)', async () => {
    const config = cfg({ ranges: [[{ subnet: '10.9.0.0/16' }], [{ subnet: 'fd00:9::/64' }]] });
    const input = { name: 'testnet', ipam: { type: 'podnet-ipam', dataDir, ranges: [[{ subnet: '10.9.0.0/16' }], [{ subnet: 'fd00:9::/64' }]] } };
    // 3,000 held from .0.2 / ::2 up, by request, which leaves round-robin at the start of the range.
    await withStore(config, async (store) => {
      for (let n = 2; n < 3002; n++) {
        const request = parseIpamConfig(input, { IP: `10.9.${n >> 8}.${n & 255},fd00:9::${n.toString(16)}` });
        await store.allocate(request, { containerId: `fill${n}`, ifname: 'eth0' });
      }
    });
    const n = 3002;
    expect((await allocate(config, A)).ips.map((ip) => ip.address)).toEqual([`10.9.${n >> 8}.${n & 255}/16`, `fd00:9::${n.toString(16)}/64`]);
    expect(await list(config)).toHaveLength(6002);
  });

  it('never hands out reserved addresses', async () => {
    const config = cfg({ ranges: [[{ subnet: '10.9.0.0/29' }]], reserved: ['10.9.0.2', '10.9.0.4/31'] });
    expect((await allocate(config, A)).ips[0]!.address).toBe('10.9.0.3/29');
    expect((await allocate(config, B)).ips[0]!.address).toBe('10.9.0.6/29');
  });

  it('re-ADD converges on the current config in one batch: keeps what fits, replaces the rest', async () => {
    await allocate(cfg(), A);
    const moved = cfg({ ranges: [[{ subnet: '10.1.2.0/24' }, { subnet: '10.2.2.0/24' }], [{ subnet: '2001:db8:2::/64' }]] });
    expect((await allocate(moved, A)).ips.map((ip) => ip.address)).toEqual(['10.1.2.2/24', '2001:db8:2::2/64']);
    expect((await list(moved)).map((e) => e.address)).toEqual(['10.1.2.2', '2001:db8:2::2']);
    // A requested address replaces the held one in its set.
    expect((await allocate(cfg({}, {}, { IP: '10.2.2.7' }), A)).ips[0]!.address).toBe('10.2.2.7/24');
    // The v6 address of the moved set does not fit 2001:db8:1::/64 again: round-robin goes on from ::2.
    expect((await list(moved)).map((e) => e.address)).toEqual(['10.2.2.7', '2001:db8:1::3']);
  });

  it('returns dns from ipam.resolvConf; an unreadable one fails before touching the store', async () => {
    const path = join(dataDir, 'resolv.conf');
    await writeFile(path, '# test\nnameserver 10.0.0.10\nsearch svc.local local\noptions ndots:5\n');
    expect((await allocate(cfg({ resolvConf: path }), A)).dns).toEqual({ nameservers: ['10.0.0.10'], search: ['svc.local', 'local'], options: ['ndots:5'] });
    const err = await rejection(allocate(cfg({ resolvConf: join(dataDir, 'missing') }), B));
    expect(err.code).toBe(IpamErrorCode.IoFailure);
    expect(err.message).toContain('cannot read ipam.resolvConf');
    expect((await list(cfg())).map((e) => e.owner.containerId)).toEqual(['dummy', 'dummy']);
  });

  it('refuses owners it cannot key', async () => {
    expect((await rejection(allocate(cfg(), { containerId: '', ifname: 'eth0' }))).code).toBe(IpamErrorCode.InvalidConfig);
    expect((await rejection(allocate(cfg(), { containerId: 'x', ifname: 'a/b' }))).message).toContain('invalid ifname "a/b"');
  });
});

describe('check', () => {
  it('confirms the owner holds its addresses, optionally exactly the expected ones', async () => {
    const config = cfg();
    await allocate(config, A);
    await check(config, A);
    await check(config, A, ['10.1.2.2/24', '2001:db8:1::2']);
    const mismatch = await rejection(check(config, A, ['10.1.2.3/24', '2001:db8:1::2/64']));
    expect(mismatch.code).toBe(IpamErrorCode.NotAllocated);
    expect(mismatch.details).toBe('not held: 10.1.2.3; held but not expected: 10.1.2.2');
    const unknown = await rejection(check(config, B));
    expect(unknown.code).toBe(IpamErrorCode.NotAllocated);
    expect(unknown.message).toContain('container other interface eth0 holds no address');
  });

  it('fails for a store that does not exist, without creating it', async () => {
    const config = cfg();
    expect((await rejection(check(config, A))).code).toBe(IpamErrorCode.NotAllocated);
    expect(existsSync(config.path)).toBe(false);
  });
});

describe('gc', () => {
  it('releases every owner not in the valid list', async () => {
    const config = cfg();
    await allocate(config, A);
    await allocate(config, B);
    await allocate(config, { containerId: 'third', ifname: 'eth1' });
    const released = await gc(config, [B]);
    expect(released.map((e) => `${e.owner.containerId}/${e.address}`).sort()).toEqual([
      'dummy/10.1.2.2',
      'dummy/2001:db8:1::2',
      'third/10.1.2.4',
      'third/2001:db8:1::4',
    ]);
    expect(new Set((await list(config)).map((e) => e.owner.containerId))).toEqual(new Set(['other']));
    await gc(config, []);
    expect(await list(config)).toEqual([]);
  });

  it('repairs inconsistent entries: address keys without an owner record, damaged values', async () => {
    const config = cfg();
    await allocate(config, A);
    const db = new Level<string, string>(config.path, { valueEncoding: 'utf8' });
    await db.open();
    await db.batch([
      { type: 'put', key: 'ip:40a010263', value: JSON.stringify({ containerId: 'ghost', ifname: 'eth0', time: 't' }) },
      { type: 'put', key: 'ip:40a010264', value: 'not json' },
      { type: 'put', key: 'owner:broken/eth0', value: '{' },
    ]);
    await db.close();
    await gc(config, [A]);
    const keys = Object.keys(await rawKeys(config)).filter((k) => k.startsWith('ip:') || k.startsWith('owner:'));
    expect(keys.sort()).toEqual(['ip:40a010202', 'ip:620010db8000100000000000000000002', 'owner:dummy/eth0']);
  });
});

describe('locking and sessions', () => {
  it('waits for another holder of the lock, then fails with code 11 naming the store', async () => {
    const config = cfg({ lockTimeoutMs: 60 });
    const holder = await IpamStore.open(config.path);
    try {
      const err = await rejection(allocate(config, A));
      expect(err.code).toBe(IpamErrorCode.TryAgainLater);
      expect(err.message).toBe(`IPAM store ${config.path} is busy: try again later`);
      expect(err.details).toContain('60 ms');
    } finally {
      await holder.close();
    }
    expect((await allocate(config, A)).ips).toHaveLength(2);
  });

  it('takes the lock hook before LevelDB opens and releases it after LevelDB closed, also on failure', async () => {
    const config = cfg();
    const events: string[] = [];
    const lock: StoreLock = async (storeDir, timeoutMs) => {
      // Taken before LevelDB opened the store: nobody holds LevelDB's own lock yet.
      const probe = new Level(storeDir);
      await probe.open();
      await probe.close();
      events.push(`lock ${storeDir} ${timeoutMs}`);
      return () => {
        events.push(`unlock ${storeDir}`);
      };
    };
    await allocate(config, A, { lock });
    expect(events).toEqual([`lock ${config.path} 10000`, `unlock ${config.path}`]);
    // Released after close: LevelDB's lock is free again by the time the hook is released.
    events.length = 0;
    const failing = allocate(cfg({ ranges: [[{ subnet: '10.1.2.0/30' }]] }), B, { lock });
    expect((await rejection(failing)).code).toBe(IpamErrorCode.RangeExhausted);
    expect(events).toEqual([`lock ${config.path} 10000`, `unlock ${config.path}`]);
  });

  it('a lock hook that stays busy is code 11, one that fails is code 5; LevelDB is not opened', async () => {
    const config = cfg({ lockTimeoutMs: 40 });
    const busy = await rejection(allocate(config, A, { lock: async () => undefined }));
    expect(busy.code).toBe(IpamErrorCode.TryAgainLater);
    expect(busy.message).toBe(`IPAM store ${config.path} is busy: try again later`);
    expect(busy.details).toContain('40 ms');
    const broken = await rejection(status(config, { lock: () => Promise.reject(new Error('EACCES')) }));
    expect(broken).toMatchObject({ code: IpamErrorCode.IoFailure, message: `cannot lock IPAM store ${config.path}`, details: 'EACCES' });
    expect(existsSync(join(config.path, 'CURRENT'))).toBe(false);
  });

  it("with the lock hook held, LevelDB's own lock still guards against callers without it", async () => {
    const config = cfg({ lockTimeoutMs: 60 });
    const holder = await IpamStore.open(config.path);
    let unlocked = 0;
    try {
      const err = await rejection(allocate(config, A, { lock: async () => () => void unlocked++ }));
      expect(err.code).toBe(IpamErrorCode.TryAgainLater);
      expect(unlocked).toBe(1);
    } finally {
      await holder.close();
    }
  });

  it('serves concurrent calls within one process (each its own session) with unique addresses', async () => {
    const config = cfg({ ranges: [[{ subnet: '10.5.0.0/24' }]] });
    const owners = Array.from({ length: 24 }, (_, i) => ({ containerId: `c${i}`, ifname: 'eth0' }));
    const results = await Promise.all(owners.map((o) => allocate(config, o)));
    expect(new Set(results.map((r) => r.ips[0]!.address)).size).toBe(24);
    await Promise.all(owners.map((o) => release(config, o)));
    expect(await list(config)).toEqual([]);
  });

  it('serializes concurrent operations on one open store', async () => {
    const config = cfg({ ranges: [[{ subnet: '10.5.0.0/24' }]] });
    const addresses = await withStore(config, (store) =>
      Promise.all(Array.from({ length: 30 }, (_, i) => store.allocate(config, { containerId: `c${i}`, ifname: 'eth0' }))),
    );
    expect(new Set(addresses.map((a) => a[0]!.address)).size).toBe(30);
  });

  it('keeps the number of table files bounded over many short sessions (compaction upkeep)', async () => {
    const config = cfg({ ranges: [[{ subnet: '10.5.0.0/24' }]] });
    for (let i = 0; i < 60; i++) {
      await allocate(config, { containerId: `c${i}`, ifname: 'eth0' });
      if (i % 2 === 0) await release(config, { containerId: `c${i}`, ifname: 'eth0' });
    }
    const tables = (await readdir(config.path)).filter((f) => f.endsWith('.ldb'));
    // 90 write sessions each leave a level-0 table on the next open; compaction must keep up.
    expect(tables.length).toBeLessThan(12);
    expect(await list(config)).toHaveLength(30);
  });
});

describe('status', () => {
  it('succeeds on a writable dataDir and fails with code 5 when the store cannot be created', async () => {
    await status(cfg());
    await writeFile(join(dataDir, 'file'), '');
    const err = await rejection(status(cfg({ dataDir: join(dataDir, 'file', 'sub') })));
    expect(err.code).toBe(IpamErrorCode.IoFailure);
    expect(err.message).toContain(join(dataDir, 'file', 'sub', 'testnet'));
  });
});
