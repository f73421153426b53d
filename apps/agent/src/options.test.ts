import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';
import { parseListen } from './http.js';
import { readConfigFile, resolveOptions } from './options.js';

const dir = mkdtempSync(join(tmpdir(), 'pna-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('options', () => {
  it('fills the defaults: loopback listener, 10 s reconcile, 60 s lease, masquerade on', () => {
    const o = resolveOptions({}, { node: 'n1' });
    expect(o).toMatchObject({
      node: 'n1',
      store: 'local:/var/lib/podnet/store',
      leaseFile: '/run/podnet/lease.json',
      listen: { host: '127.0.0.1', port: 9808 },
      reconcilePeriodMs: 10_000,
      leaseTtlMs: 60_000,
      masquerade: true,
      logLevel: 'info',
      logFormat: 'json',
      networkConfigOverwrite: false,
    });
  });

  it('flags override the config file, which overrides the defaults', () => {
    const file = join(dir, 'podnetd.json');
    writeFileSync(file, JSON.stringify({ node: 'from-file', reconcilePeriod: '2s', masquerade: false, leaseTtl: '30s' }));
    const o = resolveOptions(readConfigFile(file), { node: 'from-flag', reconcilePeriod: '500ms' });
    expect(o.node).toBe('from-flag');
    expect(o.reconcilePeriodMs).toBe(500);
    expect(o.leaseTtlMs).toBe(30_000);
    expect(o.masquerade).toBe(false);
  });

  it('errors name the flag or the config key', () => {
    expect(() => resolveOptions({ reconcilePeriod: '10' }, {})).toThrow(/config "reconcilePeriod".*not a duration/);
    expect(() => resolveOptions({}, { reconcilePeriod: 'soon' })).toThrow(/--reconcile-period/);
    expect(() => resolveOptions({}, { store: 'redis:x' })).toThrow(/--store/);
    expect(() => resolveOptions({}, { etcdCa: '/ca.pem' })).toThrow(/--etcd-ca, --etcd-cert and --etcd-key go together/);
    expect(() => resolveOptions({}, { underlay: 'eth0', underlayAddress: '10.0.0.1' })).toThrow(/exclude each other/);
    expect(() => resolveOptions({}, { logFormat: 'xml' })).toThrow(/--log-format/);
    expect(() => resolveOptions({}, { leaseTtl: '1s' })).toThrow(/--lease-ttl: at least 3s/);
    expect(() => resolveOptions({}, { listen: 'localhost' })).toThrow(/--listen/);
    expect(() => resolveOptions({ masquerade: 'no' }, {})).toThrow(/config "masquerade": expected true or false/);
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ reconcile: '1s' }));
    expect(() => readConfigFile(file)).toThrow(/unknown key "reconcile"/);
  });

  it('parses durations and listen addresses', () => {
    expect(parseDuration('1.5s', 'x')).toBe(1500);
    expect(parseDuration('2m', 'x')).toBe(120_000);
    expect(parseListen('[::1]:9808')).toEqual({ host: '::1', port: 9808 });
    expect(parseListen(':9808')).toEqual({ host: '::', port: 9808 });
    expect(parseListen('0.0.0.0:1')).toEqual({ host: '0.0.0.0', port: 1 });
  });
});
