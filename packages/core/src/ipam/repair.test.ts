// A damaged store on a real LevelDB in a temporary directory: never re-created, refused with the
// way out, health in STATUS, and the repair (LevelDB's, then consistency and live claims).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseIpamConfig } from './config.js';
import type { IpamConfig } from './config.js';
import { IpamError, IpamErrorCode } from './errors.js';
import { allocate, check, gc, list, release, status } from './ipam.js';
import { repair } from './repair.js';
import type { Owner } from './store.js';
import { inspectStoreDir } from './store-dir.js';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'pns-ipam-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function cfg(name = 'pns-net'): IpamConfig {
  return parseIpamConfig({ name, ipam: { type: 'podnet-ipam', dataDir, ranges: [[{ subnet: '10.9.0.0/24' }]] } }, {});
}

const owner = (i: number | string): Owner => ({ containerId: `pns-pod-${i}`, ifname: 'eth0' });

async function rejection(promise: Promise<unknown>): Promise<IpamError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof IpamError) return err;
    throw err;
  }
  throw new Error('expected an IpamError');
}

/** name → size of every file in the store directory. */
async function files(path: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const name of await readdir(path)) out[name] = (await stat(join(path, name))).size;
  return out;
}

/** Five owners, each in its own short session (the logs turn into level-0 tables). */
async function fill(config: IpamConfig, n = 5): Promise<Map<string, string>> {
  const held = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const result = await allocate(config, owner(i));
    held.set(owner(i).containerId, result.ips[0]!.address.split('/')[0]!);
  }
  return held;
}

describe('a store that lost CURRENT', () => {
  it('is refused by ADD, DEL, CHECK, GC, list and STATUS with code 5 and the way out; nothing is touched', async () => {
    const config = cfg();
    await fill(config);
    await unlink(join(config.path, 'CURRENT'));
    const before = await files(config.path);
    expect(await inspectStoreDir(config.path)).toMatchObject({ kind: 'lost-current' });
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['allocate', () => allocate(config, owner('new'))],
      ['release', () => release(config, owner(0))],
      ['check', () => check(config, owner(0))],
      ['gc', () => gc(config, [])],
      ['list', () => list(config)],
      ['status', () => status(config)],
    ];
    for (const [name, call] of calls) {
      const err = await rejection(call());
      expect(err.code, name).toBe(IpamErrorCode.IoFailure);
      expect(err.message, name).toBe(`IPAM store ${config.path} is damaged: its CURRENT file is missing`);
      expect(err.details, name).toContain('repair --config');
      expect(err.damaged, name).toBe(true);
    }
    // LOG may be rotated by a failed open; no database file is created, changed or deleted.
    const after = await files(config.path);
    const data = (f: Record<string, number>): Record<string, number> =>
      Object.fromEntries(Object.entries(f).filter(([k]) => !k.startsWith('LOG') && k !== 'LOCK'));
    expect(data(after)).toEqual(data(before));
    expect(after['CURRENT']).toBeUndefined();
  });

  it('repair restores every allocation; the next ADD gets a free address', async () => {
    const config = cfg();
    const held = await fill(config);
    await unlink(join(config.path, 'CURRENT'));
    const report = await repair(config);
    expect(report).toMatchObject({ found: 'lost-current', leveldbRepaired: true, liveChecked: false });
    const entries = await list(config);
    expect(new Map(entries.map((e) => [e.owner.containerId, e.address]))).toEqual(held);
    const next = (await allocate(config, owner('new'))).ips[0]!.address.split('/')[0]!;
    expect([...held.values()]).not.toContain(next);
    expect(await status(config)).toBeGreaterThan(0);
  });
});

describe('creating a store', () => {
  it("creates where nothing is, or in a directory holding only a failed open's LOCK and LOG", async () => {
    const config = cfg();
    await allocate(config, owner(0));
    expect(existsSync(join(config.path, 'CURRENT'))).toBe(true);
    expect((await stat(config.path)).mode & 0o777).toBe(0o700);
    const other = cfg('pns-other');
    await mkdir(other.path);
    await writeFile(join(other.path, 'LOG'), 'old log');
    await writeFile(join(other.path, 'LOCK'), '');
    await allocate(other, owner(0));
    expect(await list(other)).toHaveLength(1);
  });

  it('refuses a directory with unknown files and no CURRENT, and a non-empty file', async () => {
    const config = cfg();
    await mkdir(config.path);
    await writeFile(join(config.path, '000005.ldb'), 'x');
    expect((await rejection(allocate(config, owner(0)))).message).toContain('its CURRENT file is missing');
    expect(await readdir(config.path)).toContain('000005.ldb');
    const file = cfg('pns-file');
    await writeFile(file.path, 'data');
    const err = await rejection(allocate(file, owner(0)));
    expect(err.message).toBe(`IPAM store ${file.path} is not a directory`);
  });

  it('takes over an empty old lock file <network>.lock as the store of the network named so', async () => {
    const config = cfg('pns-x.lock');
    await writeFile(config.path, '');
    // DEL, CHECK and list see no store; ADD creates the directory in its place.
    expect(await release(config, owner(0))).toEqual([]);
    await allocate(config, owner(0));
    expect((await stat(config.path)).isDirectory()).toBe(true);
    expect(await list(config)).toHaveLength(1);
  });
});

describe('a damaged table', () => {
  it('STATUS reads every entry and reports the damaged file; repair restores service and live claims', async () => {
    const config = cfg();
    const held = await fill(config, 8);
    const tables = (await readdir(config.path)).filter((f) => f.endsWith('.ldb'));
    expect(tables.length).toBeGreaterThan(0);
    // The largest table: it holds most of the allocations.
    const sizes = await Promise.all(tables.map(async (t) => [t, (await stat(join(config.path, t))).size] as const));
    const [victim] = sizes.sort((a, b) => b[1] - a[1])[0]!;
    await truncate(join(config.path, victim), 100);

    const err = await rejection(status(config));
    expect(err).toMatchObject({ code: IpamErrorCode.IoFailure, damaged: true });
    expect(err.details).toContain(victim);
    expect(err.details).toContain('repair --config');
    expect((await rejection(release(config, owner(0)))).details).toContain(victim);

    // The live pods are every owner filled above (their addresses as the kernel would show them).
    const live = [...held].map(([containerId, address]) => ({ owner: { containerId, ifname: 'eth0' }, addresses: [address] }));
    const report = await repair(config, { live });
    expect(report.lostFiles.length).toBeGreaterThan(0);
    // Entries of the damaged table were lost and came back from the live pods.
    expect(report.plan.restored.length).toBeGreaterThan(0);
    expect(report.plan.conflicts).toEqual([]);
    expect(await status(config)).toBeGreaterThan(0);
    expect(new Map((await list(config)).map((e) => [e.owner.containerId, e.address]))).toEqual(held);
    for (let i = 0; i < 5; i++) {
      const next = (await allocate(config, owner(`new-${i}`))).ips[0]!.address.split('/')[0]!;
      expect([...held.values()]).not.toContain(next);
    }
    // Every live owner's records are whole again: DEL releases its address.
    expect(await release(config, owner(0))).toEqual([held.get(owner(0).containerId)]);
  });
});

describe('a deleted table', () => {
  it('is reported as damage by every verb (LevelDB names the missing file); repair with live pods restores service', async () => {
    const config = cfg();
    const held = await fill(config, 6);
    const [table] = (await readdir(config.path)).filter((f) => f.endsWith('.ldb'));
    expect(table).toBeDefined();
    await unlink(join(config.path, table!));
    const err = await rejection(allocate(config, owner('new')));
    expect(err).toMatchObject({ code: IpamErrorCode.IoFailure, damaged: true });
    expect(err.details).toContain(table);
    expect((await rejection(status(config))).details).toContain(table);
    const live = [...held].map(([containerId, address]) => ({ owner: { containerId, ifname: 'eth0' }, addresses: [address] }));
    await repair(config, { live });
    expect(new Map((await list(config)).map((e) => [e.owner.containerId, e.address]))).toEqual(held);
  });
});

describe('repair', () => {
  it('records live pods where the store directory is gone, and does nothing without them', async () => {
    const config = cfg();
    expect(await repair(config)).toMatchObject({ found: 'absent', leveldbRepaired: false });
    expect(existsSync(config.path)).toBe(false);
    const report = await repair(config, { live: [{ owner: owner(1), addresses: ['10.9.0.7'] }] });
    expect(report.plan.restored).toEqual([{ address: '10.9.0.7', owner: owner(1) }]);
    expect(await list(config)).toMatchObject([{ address: '10.9.0.7', owner: owner(1) }]);
  });

  it("keeps the live pod's claim on an address the store gives another owner, and reports it", async () => {
    const config = cfg();
    const held = await fill(config, 2);
    const taken = held.get(owner(0).containerId)!;
    const report = await repair(config, { live: [{ owner: owner('live'), addresses: [taken] }] });
    expect(report.plan.conflicts).toEqual([{ address: taken, live: owner('live'), other: owner(0), reason: expect.stringContaining('live pod keeps it') }]);
    expect((await list(config)).find((e) => e.address === taken)?.owner).toEqual(owner('live'));
    expect(await release(config, owner(0))).toEqual([]);
  });

  it('refuses a path that is not a store directory', async () => {
    const config = cfg();
    await writeFile(config.path, 'data');
    expect((await rejection(repair(config))).message).toContain('is not a directory');
  });

  it('hands the live-pod finder the owners the repaired store knows; GC keeps placeholder owners', async () => {
    const config = cfg();
    await fill(config, 2);
    let seen: string[] = [];
    const placeholder = { containerId: '~pns-digest', ifname: 'unknown' };
    await repair(config, {
      live: (known) => {
        seen = known.map((o) => o.containerId).sort();
        return [{ owner: placeholder, addresses: ['10.9.0.50'] }];
      },
    });
    expect(seen).toEqual(['pns-pod-0', 'pns-pod-1']);
    expect(await gc(config, [])).toHaveLength(2);
    expect(await list(config)).toMatchObject([{ address: '10.9.0.50', owner: placeholder }]);
    // The pod behind the placeholder is gone: the next repair with live pods releases it.
    expect((await repair(config, { live: [] })).plan.released).toMatchObject([{ address: '10.9.0.50' }]);
    expect(await list(config)).toEqual([]);
  });
});
