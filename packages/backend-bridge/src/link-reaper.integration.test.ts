// The reaper against the kernel: deletions requested in one turn of the event loop go in one
// group delete; links in other groups, and links already gone, are handled right.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetlinkSocket, getLink } from '@podnet/core/netlink';
import { NetNS, createNamedNetns, deleteNamedNetns } from '@podnet/core/netns';
import { LinkReaper, REAP_GROUP, deleteGroupInChild } from './link-reaper.js';

const NS = `pnt-reap${process.pid}`;
let netns: NetNS;
let conn: NetlinkSocket;

beforeAll(() => {
  createNamedNetns(NS);
  netns = NetNS.open(`/run/netns/${NS}`);
  conn = NetlinkSocket.open({ netns });
});
afterAll(() => {
  conn?.close();
  netns?.close();
  deleteNamedNetns(NS);
});

function veth(name: string): number {
  execFileSync('ip', ['-n', NS, 'link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`]);
  const link = getLink(conn, name);
  if (!link) throw new Error(`${name} missing`);
  return link.index;
}

describe('LinkReaper', () => {
  it('deletes links asked for in one turn with one group delete, peers included', async () => {
    const reaper = new LinkReaper(conn);
    const indexes = Array.from({ length: 8 }, (_, i) => veth(`rp${i}`));
    const keep = veth('rpkeep');
    await Promise.all(indexes.map((i) => reaper.delete(i)));
    expect(reaper.flushes).toBe(1);
    for (let i = 0; i < 8; i++) {
      expect(getLink(conn, `rp${i}`)).toBeUndefined();
      expect(getLink(conn, `rp${i}p`)).toBeUndefined();
    }
    expect(getLink(conn, 'rpkeep')?.index).toBe(keep);
  });

  it('a link already gone is success; a later turn gets its own flush', async () => {
    const reaper = new LinkReaper(conn);
    await reaper.delete(999_999);
    const a = veth('rpa');
    await reaper.delete(a);
    const b = veth('rpb');
    await reaper.delete(b);
    expect(reaper.flushes).toBe(2);
    expect(getLink(conn, 'rpb')).toBeUndefined();
    expect(REAP_GROUP).toBeGreaterThan(0);
  });

  it('with the deletion in a child process: calls made during a flush go into the next one', async () => {
    const reaper = new LinkReaper(conn, { deleteGroup: deleteGroupInChild(['-n', NS]) });
    const first = [veth('rc1'), veth('rc2')].map((i) => reaper.delete(i));
    // Let the first flush start, then ask for more while it runs.
    await new Promise((r) => setImmediate(r));
    const second = [veth('rc3'), veth('rc4'), veth('rc5')].map((i) => reaper.delete(i));
    await Promise.all([...first, ...second]);
    for (const n of ['rc1', 'rc2', 'rc3', 'rc4', 'rc5']) expect(getLink(conn, n)).toBeUndefined();
    expect(reaper.flushes).toBeLessThanOrEqual(2);
    await reaper.delete(999_998);
  });
});
