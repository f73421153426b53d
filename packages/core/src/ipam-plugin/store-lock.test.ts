// The flock(2) store lock on real files in a temporary directory (koffi under Node).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { flockStoreLock, lockFileOf } from './store-lock.js';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'pnt-ipam-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('flockStoreLock', () => {
  it('locks <dataDir>/<network>.lock, excludes a second holder until released, and keeps the file', async () => {
    const store = join(dataDir, 'net1');
    expect(lockFileOf(`${store}/`)).toBe(`${store}.lock`);
    const first = await flockStoreLock(store, 1_000);
    expect(first).toBeTypeOf('function');
    expect(existsSync(`${store}.lock`)).toBe(true);
    // Another open file description (as another process has) cannot take it within its budget.
    expect(await flockStoreLock(store, 20)).toBeUndefined();
    // A different network has its own lock.
    const other = await flockStoreLock(join(dataDir, 'net2'), 20);
    expect(other).toBeTypeOf('function');
    other?.();
    // A waiter gets it once the holder releases; releasing twice is harmless.
    const waiting = flockStoreLock(store, 5_000);
    setTimeout(() => first?.(), 10);
    const second = await waiting;
    expect(second).toBeTypeOf('function');
    first?.();
    second?.();
    expect(existsSync(`${store}.lock`)).toBe(true);
  });

  it('fails with the file named when the lock file cannot be created', async () => {
    await expect(flockStoreLock(join(dataDir, 'missing', 'net1'), 20)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
