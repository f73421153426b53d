// What the lab integration suites share: a temp state root per test file, swept afterwards — every
// lab with the file's prefix (processes, namespaces, state), also after a failure — and a poll.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll } from 'vitest';
import { sweepLabs } from './sweep.js';

/**
 * Registers this file's hooks: a fresh state root under the temp dir before its tests, and after
 * them (and after the file's own afterAll) the sweep of every lab with `prefix` and the root itself.
 */
export function useLabStateRoot(prefix: string, dirPrefix: string): { readonly root: string } {
  let root = '';
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), dirPrefix));
  });
  afterAll(async () => {
    if (!root) return;
    await sweepLabs(prefix, root);
    await rm(root, { recursive: true, force: true });
  });
  return {
    get root() {
      if (!root) throw new Error('the lab state root is used before its beforeAll ran');
      return root;
    },
  };
}

/** Polls `check` every 50 ms until it holds; how long that took (ms). */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<number> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for: ${what}`);
    await sleep(50);
  }
  return Date.now() - started;
}
