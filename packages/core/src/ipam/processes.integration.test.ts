// Many processes on one store: LevelDB admits one at a time, so these prove the bounded lock wait
// and the atomic batches across real process boundaries. Workers run test/ipam/worker.mjs under
// Bun (a devDependency of the workspace), each call one open → operation → close session, either
// on LevelDB's lock alone or first taking the CNI executables' flock sidecar lock (ipam-plugin).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gc, list } from './ipam.js';
import { parseIpamConfig } from './config.js';
import type { IpamConfig } from './config.js';

const packageDir = fileURLToPath(new URL('../..', import.meta.url));
const worker = join(packageDir, 'test', 'ipam', 'worker.mjs');
// The binary itself, not node_modules/.bin/bun: that is a shell wrapper, and SIGKILL must reach Bun.
const bun = join(packageDir, '..', '..', 'node_modules', 'bun', 'bin', 'bun.exe');

let dataDir: string;
/** Workers still running; killed in afterAll should a test fail half-way. */
const live = new Set<ChildProcess>();
beforeAll(async () => {
  if (!existsSync(bun)) throw new Error(`${bun} is missing: run pnpm install at the workspace root (bun is a root devDependency)`);
  dataDir = await mkdtemp(join(tmpdir(), 'pnt-ipam-'));
});
afterAll(async () => {
  for (const child of live) child.kill('SIGKILL');
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

function input(name: string): { name: string; ipam: Record<string, unknown> } {
  // Dual-stack: "all or nothing" means both addresses or neither.
  return { name, ipam: { type: 'podnet-ipam', dataDir, ranges: [[{ subnet: '10.77.0.0/24' }], [{ subnet: 'fd00:77::/64' }]] } };
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** How workers wait for the store: LevelDB's lock and retry alone, or the flock hook first. */
type LockMode = 'leveldb' | 'flock';

function workerArgs(mode: string, conf: object, id: string, lock: LockMode): string[] {
  return [worker, mode, JSON.stringify(conf), id, ...(lock === 'flock' ? ['flock'] : [])];
}

function run(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(bun, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      live.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Reads the raw store and returns what each owner holds; throws on any inconsistency. */
async function consistentOwners(config: IpamConfig): Promise<Map<string, string[]>> {
  const db = new Level<string, string>(config.path, { valueEncoding: 'utf8' });
  await db.open();
  const owners = new Map<string, string[]>();
  const addressOwners = new Map<string, string>();
  try {
    for await (const [key, value] of db.iterator()) {
      if (key.startsWith('owner:')) owners.set(key.slice('owner:'.length), (JSON.parse(value) as { addresses: string[] }).addresses);
      if (key.startsWith('ip:')) {
        const record = JSON.parse(value) as { containerId: string; ifname: string };
        addressOwners.set(key, `${record.containerId}/${record.ifname}`);
      }
    }
  } finally {
    await db.close();
  }
  const held = await list(config);
  expect(held).toHaveLength(addressOwners.size);
  for (const [owner, addresses] of owners) {
    // All or nothing: one IPv4 and one IPv6 address.
    expect(addresses, `owner ${owner}`).toHaveLength(2);
    for (const address of addresses) {
      const entry = held.find((e) => e.address === address);
      expect(entry, `address ${address} of ${owner}`).toBeDefined();
      expect(`${entry?.owner.containerId}/${entry?.owner.ifname}`).toBe(owner);
    }
  }
  for (const entry of held) {
    const owner = `${entry.owner.containerId}/${entry.owner.ifname}`;
    expect(owners.get(owner), `owner record for ${entry.address}`).toContain(entry.address);
  }
  return owners;
}

describe('many processes, one store', () => {
  it.each<LockMode>(['leveldb', 'flock'])(
    '32 processes allocate at once: all succeed with unique addresses; then all release (%s lock)',
    async (lock) => {
      const conf = input(`concurrent-${lock}`);
      const config = parseIpamConfig(conf);
      const ids = Array.from({ length: 32 }, (_, i) => `proc${i}`);
      const adds = await Promise.all(ids.map((id) => run(workerArgs('add', conf, id, lock))));
      for (const add of adds) expect(add.code, add.stdout + add.stderr).toBe(0);
      const ips = adds.flatMap((add) => (JSON.parse(add.stdout) as { ips: Array<{ address: string }> }).ips.map((ip) => ip.address));
      expect(ips).toHaveLength(64);
      expect(new Set(ips).size).toBe(64);
      expect(await list(config)).toHaveLength(64);
      await consistentOwners(config);

      const dels = await Promise.all(ids.map((id) => run(workerArgs('del', conf, id, lock))));
      for (const del of dels) expect(del.code, del.stdout + del.stderr).toBe(0);
      expect(dels.flatMap((del) => JSON.parse(del.stdout) as string[]).sort()).toEqual([...ips].map((ip) => ip.split('/')[0]).sort());
      expect(await list(config)).toEqual([]);
      // The flock workers really went through the hook (its sidecar file), the others did not.
      expect(existsSync(join(config.dataDir, '.locks', config.name))).toBe(lock === 'flock');
    },
    60_000,
  );

  it('processes killed with SIGKILL at random moments leave every owner all or nothing (120 + 60 with the flock hook)', async () => {
    const conf = input('crash');
    const config = parseIpamConfig(conf);
    const rounds = 30;
    // Per round, 4 workers on LevelDB's lock alone and 2 taking the flock hook first, on one store:
    // the kernel drops a killed holder's flock, and the two kinds of callers exclude each other.
    const locks: readonly LockMode[] = ['leveldb', 'leveldb', 'leveldb', 'leveldb', 'flock', 'flock'];
    const perRound = locks.length;
    let trials = 0;
    let midOperation = 0;
    for (let round = 0; round < rounds; round++) {
      await Promise.all(
        locks.map(
          (lock, w) =>
            new Promise<void>((resolve, reject) => {
              const child = spawn(bun, workerArgs('churn', conf, `r${round}w${w}`, lock), { stdio: ['ignore', 'pipe', 'pipe'] });
              live.add(child);
              let out = '';
              let killed = false;
              child.stdout.on('data', (d: Buffer) => {
                out += d.toString();
                if (!killed && out.includes('ready\n')) {
                  killed = true;
                  // Somewhere inside the first few allocate/release sessions, contended by the others.
                  setTimeout(() => {
                    const last = out[out.length - 1];
                    if (last === 'a' || last === 'r') midOperation++;
                    child.kill('SIGKILL');
                  }, Math.random() * 60);
                }
              });
              child.on('error', reject);
              child.on('close', (code, signal) => {
                live.delete(child);
                if (signal !== 'SIGKILL') reject(new Error(`worker ended with ${code}/${signal} before the kill: ${out}`));
                else resolve();
              });
            }),
        ),
      );
      trials += perRound;
      await consistentOwners(config);
    }
    expect(trials).toBeGreaterThanOrEqual(180);
    // The kills really landed inside store operations, not only between them.
    expect(midOperation).toBeGreaterThan(trials / 4);

    const owners = await consistentOwners(config);
    expect(owners.size).toBeGreaterThan(0);
    await gc(config, []);
    expect(await list(config)).toEqual([]);
    expect((await consistentOwners(config)).size).toBe(0);
  }, 120_000);
});
