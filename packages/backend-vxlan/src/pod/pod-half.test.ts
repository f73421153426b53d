// The VXLAN pod half is host-gw's serving `vxlan` lease files: what differs is only which lease
// file it accepts. STATUS reads the lease without creating anything (the bridge and the IPAM
// store are only checked), so it runs here without root.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeLeaseFile } from '@podnet/cluster/lease-file';
import type { LeaseFile } from '@podnet/cluster/lease-file';
import { CniError } from '@podnet/core/cni';
import type { NetConf } from '@podnet/core/cni';
import { backend } from '../index.js';

const dir = mkdtempSync(join(tmpdir(), 'pnv-pod-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lease = (b: string): LeaseFile => ({
  version: 1,
  node: 'node-a',
  network: { ipv4: '10.244.0.0/16' },
  subnets: { ipv4: '10.244.3.0/24' },
  mtu: 1450,
  backend: b,
  writtenAt: '2026-12-01T00:00:00Z',
});

async function status(leaseFile: string): Promise<CniError | undefined> {
  const config = {
    cniVersion: '1.1.0',
    name: 'pnv-pods',
    type: 'podnet-vxlan',
    bridge: 'pnv-nobr0',
    leaseFile,
    ipam: { type: 'podnet-ipam', dataDir: join(dir, 'ipam') },
  } as NetConf;
  try {
    await backend.pod.status!({ path: [], config, stdin: Buffer.from(JSON.stringify(config)), env: {} });
    return undefined;
  } catch (err) {
    if (err instanceof CniError) return err;
    throw err;
  }
}

describe('vxlan pod half', () => {
  it('is named vxlan and serves a vxlan lease file', async () => {
    expect(backend.name).toBe('vxlan');
    const path = join(dir, 'vxlan.json');
    writeLeaseFile(path, lease('vxlan'));
    expect(await status(path)).toBeUndefined();
  });

  it('refuses a host-gw lease file with code 7, naming both backends', async () => {
    const path = join(dir, 'host-gw.json');
    writeLeaseFile(path, lease('host-gw'));
    const e = await status(path);
    expect(e?.code).toBe(7);
    expect(e?.msg).toBe(`lease file ${path} is for backend "host-gw", not "vxlan"`);
    expect(e?.details).toContain('podnet-host-gw');
  });

  it('answers STATUS without a lease file with code 50, naming podnetd', async () => {
    const e = await status(join(dir, 'absent.json'));
    expect(e?.code).toBe(50);
    expect(`${e?.msg} ${e?.details}`).toContain('podnetd');
  });
});
