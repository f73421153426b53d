import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseFileError, readLeaseFile, writeLeaseFile } from './index.js';
import type { LeaseFile } from './index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pnc-leasefile-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const FILE: LeaseFile = {
  version: 1,
  node: 'pnc-node',
  network: { ipv4: '10.244.0.0/16', ipv6: 'fd00:10:244::/56' },
  subnets: { ipv4: '10.244.3.0/24', ipv6: 'fd00:10:244:3::/64' },
  mtu: 1500,
  backend: 'host-gw',
  writtenAt: '2026-01-01T00:00:00.000Z',
};

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof LeaseFileError) return `${error.reason}: ${error.message}`;
    throw error;
  }
  return 'no error';
}

describe('lease file', () => {
  it('writes atomically (no temp file left) and reads back what it wrote', async () => {
    const path = join(dir, 'sub', 'lease.json');
    writeLeaseFile(path, FILE);
    writeLeaseFile(path, { ...FILE, mtu: 1450 });
    expect(readLeaseFile(path)).toEqual({ ...FILE, mtu: 1450 });
    expect(await readdir(join(dir, 'sub'))).toEqual(['lease.json']);
  });

  it('says missing when there is no file, naming the agent and the path', () => {
    const path = join(dir, 'absent.json');
    expect(reason(() => readLeaseFile(path))).toMatch(new RegExp(`^missing: lease file ${path} does not exist: is podnetd running`));
  });

  it('refuses damaged or unknown content, naming the field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      ['{', /not JSON/],
      [[], /JSON object/],
      [{ ...FILE, version: 2 }, /"version" 2/],
      [{ ...FILE, node: '' }, /"node"/],
      [{ ...FILE, subnets: { ipv4: 'nope' } }, /"subnets.ipv4" must be a CIDR/],
      [{ ...FILE, subnets: {} }, /names no subnet/],
      [{ ...FILE, mtu: 100 }, /"mtu"/],
      [{ ...FILE, backend: 3 }, /"backend"/],
    ];
    for (const [content, message] of cases) {
      const path = join(dir, 'bad.json');
      await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
      const text = reason(() => readLeaseFile(path));
      expect(text.startsWith('invalid: ')).toBe(true);
      expect(text).toMatch(message);
    }
  });
});
