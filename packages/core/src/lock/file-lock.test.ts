// The removable flock: exclusion across open file descriptions (as across processes), removal by
// the holder never lets two holders in, and pruning leaves no directory behind.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockFile, tryLockFile } from './file-lock.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pnt-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('lockFile', () => {
  it('excludes a second holder until released, then lets it in', async () => {
    const path = join(dir, 'a');
    const first = await lockFile(path, { timeoutMs: 100 });
    expect(first).toBeDefined();
    expect(tryLockFile(path)).toBeUndefined();
    expect(await lockFile(path, { timeoutMs: 30 })).toBeUndefined();
    first!.release();
    const second = tryLockFile(path);
    expect(second).toBeDefined();
    second!.release();
  });

  it('a waiter on a file the holder removes locks the new file, and only one holds it', async () => {
    const path = join(dir, 'sub', 'b');
    const first = await lockFile(path, { timeoutMs: 100, createParents: true });
    const waiting = lockFile(path, { timeoutMs: 2_000, createParents: true });
    await new Promise((r) => setTimeout(r, 20));
    first!.release({ remove: true, pruneParent: true });
    const second = await waiting;
    expect(second).toBeDefined();
    expect(existsSync(path)).toBe(true);
    expect(tryLockFile(path, { createParents: true })).toBeUndefined();
    second!.release({ remove: true, pruneParent: true });
    expect(existsSync(join(dir, 'sub'))).toBe(false);
  });

  it('pruning keeps a directory another lock still lives in', async () => {
    const a = await lockFile(join(dir, 'n', 'x'), { timeoutMs: 100, createParents: true });
    const b = await lockFile(join(dir, 'n', 'y'), { timeoutMs: 100, createParents: true });
    a!.release({ remove: true, pruneParent: true });
    expect(existsSync(join(dir, 'n', 'y'))).toBe(true);
    b!.release({ remove: true, pruneParent: true });
    expect(existsSync(join(dir, 'n'))).toBe(false);
  });
});
