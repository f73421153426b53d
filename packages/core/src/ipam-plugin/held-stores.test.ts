// HeldStores with the executables' flock: one open per store for as long as it is held, calls go
// through it, a per-call session waits (code 11) meanwhile, and close() lets it in again.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HeldStores, allocate, list, parseIpamConfig, release } from '../ipam/index.js';
import type { IpamError } from '../ipam/index.js';
import { flockStoreLock } from './store-lock.js';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'pnt-held-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const config = () => parseIpamConfig({ name: 'pnt-held', ipam: { type: 'podnet-ipam', dataDir, ranges: [[{ subnet: '10.77.0.0/24' }]], lockTimeoutMs: 50 } });

describe('HeldStores', () => {
  it('keeps one store open across calls and holds its lock until closed', async () => {
    const held = new HeldStores({ lock: flockStoreLock, idleMs: 60_000 });
    const provider = { provider: held };
    const a = await allocate(config(), { containerId: 'c1', ifname: 'eth0' }, provider);
    const b = await allocate(config(), { containerId: 'c2', ifname: 'eth0' }, provider);
    expect(a.ips[0]!.address).not.toBe(b.ips[0]!.address);
    expect(held.paths).toEqual([join(dataDir, 'pnt-held')]);
    // A per-call session (what an executable does) cannot get in while the store is held.
    const err = (await allocate(config(), { containerId: 'c3', ifname: 'eth0' }, { lock: flockStoreLock }).catch((e: unknown) => e)) as IpamError;
    expect(err.code).toBe(11);
    await release(config(), { containerId: 'c1', ifname: 'eth0' }, provider);
    await held.close();
    const entries = await list(config(), { lock: flockStoreLock });
    expect(entries.map((e) => e.owner.containerId)).toEqual(['c2']);
    await expect(allocate(config(), { containerId: 'c4', ifname: 'eth0' }, provider)).rejects.toMatchObject({ code: 11 });
  });

  it('closes a store once it idles, so a per-call session gets in, and reopens on the next call', async () => {
    const held = new HeldStores({ lock: flockStoreLock, idleMs: 50 });
    await allocate(config(), { containerId: 'i1', ifname: 'eth0' }, { provider: held });
    expect(held.paths).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 150));
    expect(held.paths).toEqual([]);
    const entries = await list(config(), { lock: flockStoreLock });
    expect(entries.map((e) => e.owner.containerId)).toEqual(['i1']);
    await allocate(config(), { containerId: 'i2', ifname: 'eth0' }, { provider: held });
    await held.close();
    expect((await list(config(), { lock: flockStoreLock })).length).toBe(2);
  });
});
