import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeLeaseFile } from '@podnet/cluster/lease-file';
import type { LeaseFile } from '@podnet/cluster/lease-file';
import { CniError } from '@podnet/core/cni';
import type { NetConf } from '@podnet/core/cni';
import { leaseFileOf, loadLease } from './lease.js';

const dir = mkdtempSync(join(tmpdir(), 'pnh-lease-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lease: LeaseFile = {
  version: 1,
  node: 'node-a',
  network: { ipv4: '10.244.0.0/16' },
  subnets: { ipv4: '10.244.3.0/24' },
  mtu: 1500,
  backend: 'host-gw',
  writtenAt: '2026-12-01T00:00:00Z',
};

function failure(fn: () => unknown): CniError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CniError) return err;
    throw err;
  }
  throw new Error('expected a CniError');
}

describe('leaseFileOf', () => {
  const conf = (leaseFile: unknown): NetConf => ({ cniVersion: '1.1.0', name: 'n', type: 'podnet-host-gw', leaseFile });
  it('defaults to /run/podnet/lease.json and takes an absolute path', () => {
    expect(leaseFileOf({ cniVersion: '1.1.0', name: 'n', type: 'podnet-host-gw' })).toBe('/run/podnet/lease.json');
    expect(leaseFileOf(conf('/var/run/x.json'))).toBe('/var/run/x.json');
  });
  it('refuses a relative path or a non-string with code 7 naming the key', () => {
    for (const bad of ['lease.json', 42, '']) {
      const e = failure(() => leaseFileOf(conf(bad)));
      expect(e.code).toBe(7);
      expect(e.msg).toContain('"leaseFile"');
    }
  });
});

describe('loadLease', () => {
  it('reads a host-gw lease', () => {
    const path = join(dir, 'ok.json');
    writeLeaseFile(path, lease);
    expect(loadLease(path, 'ADD')).toEqual(lease);
  });

  it('answers a missing file with 11 for ADD and CHECK and 50 for STATUS, naming podnetd and the path', () => {
    const path = join(dir, 'absent.json');
    for (const [verb, code] of [
      ['ADD', 11],
      ['CHECK', 11],
      ['STATUS', 50],
    ] as const) {
      const e = failure(() => loadLease(path, verb));
      expect(e.code).toBe(code);
      expect(e.msg).toContain(path);
      expect(`${e.msg} ${e.details}`).toContain('podnetd');
    }
  });

  it('refuses a lease of another backend, and a broken file, with code 7', () => {
    const other = join(dir, 'vxlan.json');
    writeLeaseFile(other, { ...lease, backend: 'vxlan' });
    const e = failure(() => loadLease(other, 'ADD'));
    expect(e.code).toBe(7);
    expect(e.msg).toBe(`lease file ${other} is for backend "vxlan", not "host-gw"`);
    expect(e.details).toContain('podnet-vxlan');

    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"version": 1, "node": ');
    const b = failure(() => loadLease(broken, 'STATUS'));
    expect(b.code).toBe(7);
    expect(b.msg).toContain(broken);
  });
});
