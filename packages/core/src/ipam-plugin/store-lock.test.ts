// The flock(2) store lock on real files in a temporary directory (koffi under Node).
import { existsSync, statSync, writeFileSync } from 'node:fs';
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
  it('locks <dataDir>/.locks/<network>, excludes a second holder until released, and keeps the file', async () => {
    const store = join(dataDir, 'net1');
    const file = join(dataDir, '.locks', 'net1');
    expect(lockFileOf(`${store}/`)).toBe(file);
    const first = await flockStoreLock(store, 1_000);
    expect(first).toBeTypeOf('function');
    expect(existsSync(file)).toBe(true);
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
    expect(existsSync(file)).toBe(true);
  });

  it("networks X and X.lock have distinct locks, and neither lock is the other's store path", async () => {
    const x = await flockStoreLock(join(dataDir, 'pns-x'), 20);
    const xLock = await flockStoreLock(join(dataDir, 'pns-x.lock'), 20);
    expect(x).toBeTypeOf('function');
    expect(xLock).toBeTypeOf('function');
    expect(lockFileOf(join(dataDir, 'pns-x'))).not.toBe(join(dataDir, 'pns-x.lock'));
    expect(existsSync(join(dataDir, 'pns-x.lock'))).toBe(false);
    x?.();
    xLock?.();
  });

  it('creates a missing dataDir and lock directory (0700); fails with the errno when it cannot', async () => {
    const unlock = await flockStoreLock(join(dataDir, 'missing', 'net1'), 20);
    unlock?.();
    expect(statSync(join(dataDir, 'missing', '.locks')).mode & 0o777).toBe(0o700);
    writeFileSync(join(dataDir, 'file'), '');
    await expect(flockStoreLock(join(dataDir, 'file', 'net1'), 20)).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});
