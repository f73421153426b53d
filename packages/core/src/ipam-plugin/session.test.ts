// Early-opened store sessions (openIpamSession) on real stores in a temporary directory.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CmdArgs, NetConf } from '../cni/index.js';
import { list, parseStoreLocation } from '../ipam/index.js';
import { openIpamSession } from './session.js';
import { flockStoreLock } from './store-lock.js';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'pnt-ipam-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function cmd(ipam: Record<string, unknown> = {}, containerId = 'pnt-ipam-s1'): CmdArgs {
  const config = {
    cniVersion: '1.0.0',
    name: 'pnt-ipam-net',
    type: 'podnet-bridge',
    ipam: { type: 'podnet-ipam', dataDir, ranges: [[{ subnet: '10.89.0.0/24' }]], lockTimeoutMs: 50, ...ipam },
  } as NetConf;
  return { containerId, ifname: 'eth0', args: {}, path: [], config, stdin: Buffer.from(JSON.stringify(config)), env: {} } as CmdArgs;
}

const held = async (args: CmdArgs): Promise<string[]> => (await list(parseStoreLocation(args.config))).map((e) => e.address);

describe('openIpamSession', () => {
  it('ADD: allocates in the open store, closes, and releases afterwards in a session of its own', async () => {
    const args = cmd();
    const session = openIpamSession(args, 'ADD');
    await session.dispatched;
    expect(await session.allocate()).toEqual({ cniVersion: '1.0.0', ips: [{ address: '10.89.0.2/24', gateway: '10.89.0.1' }] });
    await session.close();
    expect(session.close()).toBe(session.close());
    expect(await held(args)).toEqual(['10.89.0.2']);
    await session.release();
    expect(await held(args)).toEqual([]);
  });

  it('DEL: releases in the open store; a missing store is nothing to release and is not created', async () => {
    const missing = cmd({ dataDir: join(dataDir, 'none') });
    const nothing = openIpamSession(missing, 'DEL');
    await nothing.dispatched;
    await nothing.release();
    await nothing.close();
    expect(existsSync(join(dataDir, 'none'))).toBe(false);

    const args = cmd();
    const add = openIpamSession(args, 'ADD');
    await add.allocate();
    await add.close();
    const del = openIpamSession(args, 'DEL');
    await del.dispatched;
    await del.release();
    await del.close();
    expect(await held(args)).toEqual([]);
  });

  it('holds the store lock from the open until close', async () => {
    const args = cmd();
    const session = openIpamSession(args, 'ADD');
    await session.allocate();
    const path = parseStoreLocation(args.config).path;
    expect(await flockStoreLock(path, 20)).toBeUndefined();
    await session.close();
    const unlock = await flockStoreLock(path, 20);
    expect(unlock).toBeTypeOf('function');
    unlock?.();
  });

  it('with the lock held elsewhere, `dispatched` resolves at once and the session gets the store once it is free', async () => {
    const args = cmd({ lockTimeoutMs: 5_000 });
    const unlock = await flockStoreLock(parseStoreLocation(args.config).path, 1_000);
    const session = openIpamSession(args, 'ADD');
    let allocated = false;
    const allocation = session.allocate().then((r) => {
      allocated = true;
      return r;
    });
    await session.dispatched;
    expect(allocated).toBe(false);
    unlock?.();
    expect((await allocation).ips).toEqual([{ address: '10.89.0.2/24', gateway: '10.89.0.1' }]);
    await session.close();
  });

  it('a failed open surfaces its code: busy 11 (DEL and ADD), invalid config 7; close still succeeds', async () => {
    const args = cmd();
    const first = openIpamSession(args, 'ADD');
    await first.allocate();
    await first.close();
    const unlock = await flockStoreLock(parseStoreLocation(args.config).path, 1_000);
    try {
      const del = openIpamSession(args, 'DEL');
      await del.dispatched;
      await expect(del.release()).rejects.toMatchObject({ code: 11 });
      await expect(del.close()).resolves.toBeUndefined();
      const add = openIpamSession(cmd({}, 'pnt-ipam-s2'), 'ADD');
      await expect(add.allocate()).rejects.toMatchObject({ code: 11 });
      await expect(add.close()).resolves.toBeUndefined();
    } finally {
      unlock?.();
    }
    const bad = openIpamSession(cmd({ ranges: [[{ subnet: '10.89.0.0/31' }]] }), 'ADD');
    await bad.dispatched;
    await expect(bad.allocate()).rejects.toMatchObject({ code: 7 });
    await expect(bad.close()).resolves.toBeUndefined();
    // The release after a failed ADD still runs, in a session of its own.
    await bad.release();
    expect(await held(args)).toEqual([]);
  });
});
