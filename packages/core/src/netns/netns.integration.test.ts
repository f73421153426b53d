// Needs root: creates pnt-k* namespaces and removes them afterwards.
import { readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetNS, NetnsError, createNamedNetns, deleteNamedNetns, namedNetnsPath, readSysctl, writeSysctl } from './index.js';

const NAME = `pnt-k-ns${process.pid}`;
const self = (): string => readlinkSync('/proc/thread-self/ns/net');

describe('NetNS', () => {
  let ns: NetNS;
  beforeAll(() => {
    deleteNamedNetns(NAME);
    createNamedNetns(NAME);
    ns = NetNS.open(namedNetnsPath(NAME));
  });
  afterAll(() => {
    ns?.close();
    deleteNamedNetns(NAME);
  });

  it('runs synchronous work inside and returns the thread', () => {
    const outside = self();
    const inside = ns.run(() => self());
    expect(inside).not.toBe(outside);
    expect(self()).toBe(outside);
    expect(ns.path).toBe(`/run/netns/${NAME}`);
    expect(ns.fd).toBeGreaterThan(2);
  });

  it('returns the thread when the work throws', () => {
    const outside = self();
    expect(() =>
      ns.run(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(self()).toBe(outside);
  });

  it('refuses async work, after returning the thread', () => {
    const outside = self();
    expect(() => ns.run(async () => 1)).toThrow(/only synchronous work/);
    expect(self()).toBe(outside);
  });

  it('nests', () => {
    const outside = self();
    const host = NetNS.current();
    try {
      const [a, b] = ns.run(() => [self(), host.run(() => self())]);
      expect(a).not.toBe(outside);
      expect(b).toBe(outside);
    } finally {
      host.close();
    }
  });

  it('reads and writes sysctls of the namespace it runs in', () => {
    const hostValue = readSysctl('net.ipv4.ip_forward');
    const other = hostValue === '1' ? '0' : '1';
    ns.run(() => writeSysctl('net.ipv4.ip_forward', other));
    expect(ns.run(() => readSysctl('net.ipv4.ip_forward'))).toBe(other);
    expect(readSysctl('net.ipv4.ip_forward')).toBe(hostValue);
    expect(ns.run(() => readSysctl(['net', 'ipv4', 'conf', 'lo', 'forwarding']))).toBe(other);
  });

  it('is unusable after close, and close is idempotent', () => {
    const h = NetNS.open(ns.path);
    h.close();
    h.close();
    expect(h.closed).toBe(true);
    expect(() => h.run(() => 0)).toThrow(NetnsError);
  });
});

describe('NetNS.open errors', () => {
  it('names a missing path (code 8, not-found)', () => {
    const err = catchErr(() => NetNS.open('/run/netns/pnt-k-missing'));
    expect(err).toBeInstanceOf(NetnsError);
    expect(err).toMatchObject({ code: 8, reason: 'not-found', path: '/run/netns/pnt-k-missing' });
    expect((err as Error).message).toBe('netns "/run/netns/pnt-k-missing" does not exist');
  });

  it('refuses a regular file and another namespace kind (not-netns)', () => {
    expect(catchErr(() => NetNS.open('/proc/self/status'))).toMatchObject({ reason: 'not-netns', code: 8 });
    expect(catchErr(() => NetNS.open('/proc/self/ns/mnt'))).toMatchObject({ reason: 'not-netns' });
  });

  it('accepts /proc/<pid>/ns/net', () => {
    const h = NetNS.open(`/proc/${process.pid}/ns/net`);
    expect(h.run(() => self())).toBe(self());
    h.close();
  });

  it('deleteNamedNetns of a missing name is false', () => {
    expect(deleteNamedNetns('pnt-k-missing')).toBe(false);
  });
});

function catchErr(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}
