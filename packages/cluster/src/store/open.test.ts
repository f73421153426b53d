import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClusterError } from '../lease/types.js';
import { openLeaseStore, parseStoreSpec } from './open.js';

function invalid(fn: () => unknown, message: RegExp): void {
  try {
    fn();
    expect.unreachable();
  } catch (error) {
    expect(error).toBeInstanceOf(ClusterError);
    expect((error as ClusterError).kind).toBe('config-invalid');
    expect((error as Error).message).toMatch(message);
  }
}

describe('parseStoreSpec', () => {
  it('reads local:<dir> and etcd:<url>,<url>', () => {
    expect(parseStoreSpec('local:/var/lib/podnet/cluster')).toEqual({ kind: 'local', dir: '/var/lib/podnet/cluster' });
    expect(parseStoreSpec('etcd:http://127.0.0.1:2379, http://127.0.0.2:2379')).toEqual({
      kind: 'etcd',
      endpoints: ['http://127.0.0.1:2379', 'http://127.0.0.2:2379'],
    });
    const tls = { ca: '/ca.pem', cert: '/c.pem', key: '/k.pem' };
    expect(parseStoreSpec('etcd:https://10.0.0.1:2379', { tls, prefix: '/x' })).toEqual({
      kind: 'etcd',
      endpoints: ['https://10.0.0.1:2379'],
      tls,
      prefix: '/x',
    });
  });

  it('refuses what it cannot use, saying what it expected', () => {
    invalid(() => parseStoreSpec('local:'), /local:<absolute directory>/);
    invalid(() => parseStoreSpec('local:relative/dir'), /local:<absolute directory>/);
    invalid(() => parseStoreSpec('etcd:'), /etcd:<url>/);
    invalid(() => parseStoreSpec('etcd:127.0.0.1:2379'), /is not a URL/);
    invalid(() => parseStoreSpec('etcd:ftp://127.0.0.1:2379'), /must be http:\/\/ or https:\/\//);
    invalid(() => parseStoreSpec('etcd:not a url'), /is not a URL/);
    invalid(() => parseStoreSpec('etcd:https://10.0.0.1:2379'), /no TLS files/);
    invalid(() => parseStoreSpec('consul:x'), /expected local:<dir> or etcd:/);
  });
});

describe('openLeaseStore', () => {
  it('opens a local store', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pnc-open-'));
    try {
      const store = await openLeaseStore({ kind: 'local', dir });
      expect(store.kind).toBe('local');
      expect(await store.list()).toEqual({ leases: [], revision: 0 });
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('opens an etcd store lazily and names missing TLS files', async () => {
    const store = await openLeaseStore({ kind: 'etcd', endpoints: ['http://127.0.0.1:1'], dialTimeoutMs: 500, callTimeoutMs: 500 });
    expect(store.kind).toBe('etcd');
    const error = await store.getNetworkConfig().catch((e: unknown) => e);
    expect((error as ClusterError).kind).toBe('unavailable');
    expect((error as Error).message).toMatch(/127\.0\.0\.1:1/);
    await store.close();
    const missing = await openLeaseStore({
      kind: 'etcd',
      endpoints: ['https://127.0.0.1:1'],
      tls: { ca: '/nonexistent/pnc-ca.pem', cert: '/x', key: '/y' },
    }).catch((e: unknown) => e);
    expect((missing as ClusterError).kind).toBe('config-invalid');
    expect((missing as Error).message).toMatch(/TLS CA \/nonexistent\/pnc-ca\.pem/);
  });
});
