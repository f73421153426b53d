// nft masquerade against the real nft binary (Debian nftables 1.0.6), in a netns this test creates.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NetNS, createNamedNetns, deleteNamedNetns } from '@podnet/core/netns';
import { Masquerade, masqTableName } from './masquerade.js';
import { nftBinary } from './nft.js';
import type { NftRunner } from './nft.js';

const NS = 'pnt-bmasq';
let ns: NetNS;
let masq: Masquerade;

function ruleset(): string {
  return execFileSync('ip', ['netns', 'exec', NS, 'nft', 'list', 'ruleset'], { encoding: 'utf8' });
}

beforeAll(() => {
  deleteNamedNetns(NS);
  createNamedNetns(NS);
  ns = NetNS.open(`/run/netns/${NS}`);
  masq = new Masquerade(
    'pnt-net',
    nftBinary((fn) => ns.run(fn)),
  );
});

afterAll(() => {
  ns?.close();
  deleteNamedNetns(NS);
});

beforeEach(async () => {
  await masq.removeTable();
});

const a = { containerId: 'ctr-a', ifname: 'eth0' };
const b = { containerId: 'ctr-b', ifname: 'eth0' };

describe('Masquerade', () => {
  it('adds a per-network table with the pod addresses and constant rules', async () => {
    await masq.add(a, ['10.22.0.2/24', 'fd22::2/64'], ['10.244.0.0/16']);
    await masq.add(b, ['10.22.0.3/24'], ['10.244.0.0/16']);
    const text = ruleset();
    expect(text).toContain(`table inet ${masqTableName('pnt-net')}`);
    expect(text).toContain('ip saddr @pods4 ip daddr != @nomasq4 ip daddr != 224.0.0.0/4 masquerade');
    expect(text).toContain('ip6 saddr @pods6 ip6 daddr != @nomasq6 ip6 daddr != ff00::/8 masquerade');
    // One rule per family however many pods: the chain is flushed and refilled by each ADD.
    expect(text.match(/ masquerade\n/g)).toHaveLength(2);
    expect(text).toContain('10.22.0.0/24');
    expect(text).toContain('10.244.0.0/16');
    expect(text).toContain('fd22::/64');
    expect(await masq.list()).toEqual([
      { address: '10.22.0.2', family: 4, comment: 'ctr-a/eth0' },
      { address: '10.22.0.3', family: 4, comment: 'ctr-b/eth0' },
      { address: 'fd22::2', family: 6, comment: 'ctr-a/eth0' },
    ]);
  });

  it('replaces a leaked element of a reused address with the new owner', async () => {
    await masq.add(a, ['10.22.0.2/24'], []);
    await masq.add(b, ['10.22.0.2/24'], []);
    expect(await masq.list()).toEqual([{ address: '10.22.0.2', family: 4, comment: 'ctr-b/eth0' }]);
  });

  it('removes by owner, idempotently, also without a table', async () => {
    await masq.removeOwner(a);
    await masq.add(a, ['10.22.0.2/24', 'fd22::2/64'], []);
    await masq.add(b, ['10.22.0.3/24'], []);
    await masq.removeOwner(a);
    await masq.removeOwner(a);
    expect(await masq.list()).toEqual([{ address: '10.22.0.3', family: 4, comment: 'ctr-b/eth0' }]);
  });

  it('removes by address, idempotently', async () => {
    await masq.add(a, ['10.22.0.2/24'], []);
    await masq.removeAddresses(['10.22.0.2/24', '10.22.0.9/24']);
    await masq.removeAddresses(['10.22.0.2/24']);
    expect(await masq.list()).toEqual([]);
  });

  it('GC removes stale owners and drops the table when no pod is left', async () => {
    await masq.add(a, ['10.22.0.2/24'], []);
    await masq.add(b, ['10.22.0.3/24'], []);
    const removed = await masq.gc([b]);
    expect(removed.map((e) => e.comment)).toEqual(['ctr-a/eth0']);
    expect(await masq.list()).toEqual([{ address: '10.22.0.3', family: 4, comment: 'ctr-b/eth0' }]);
    await masq.gc([]);
    expect(ruleset()).not.toContain(masqTableName('pnt-net'));
    await masq.gc([]);
  });

  it('leaves other networks alone', async () => {
    const other = new Masquerade(
      'pnt-other',
      nftBinary((fn) => ns.run(fn)),
    );
    try {
      await other.add(a, ['10.23.0.2/24'], []);
      await masq.add(a, ['10.22.0.2/24'], []);
      await masq.gc([]);
      expect(await other.list()).toEqual([{ address: '10.23.0.2', family: 4, comment: 'ctr-a/eth0' }]);
    } finally {
      await other.removeTable();
    }
  });

  it('steady state: one transaction that only adds elements to plain sets', async () => {
    await masq.add(a, ['10.22.0.2/24', 'fd22::2/64'], ['10.244.0.0/16']);
    const scripts: string[] = [];
    const inner = nftBinary((fn) => ns.run(fn));
    const recording: NftRunner = { ...inner, apply: (script) => (scripts.push(script), inner.apply(script)) };
    await new Masquerade('pnt-net', recording).add(b, ['10.22.0.3/24', 'fd22::3/64'], ['10.244.0.0/16']);
    expect(scripts).toHaveLength(1);
    const lines = scripts[0]!.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines)
      expect(line).toMatch(/^(add element \S+ \S+ exempt_[0-9a-f]{16} \{ 0 \}|create element \S+ \S+ pods[46] \{ .* comment "ctr-b\/eth0" \})$/);
    expect(await masq.list()).toEqual([
      { address: '10.22.0.2', family: 4, comment: 'ctr-a/eth0' },
      { address: '10.22.0.3', family: 4, comment: 'ctr-b/eth0' },
      { address: 'fd22::2', family: 6, comment: 'ctr-a/eth0' },
      { address: 'fd22::3', family: 6, comment: 'ctr-b/eth0' },
    ]);
  });

  it('a new exempt CIDR or pod subnet reaches the exempt set, rules stay one per family', async () => {
    await masq.add(a, ['10.22.0.2/24'], ['10.244.0.0/16']);
    await masq.add(b, ['10.22.5.3/24'], ['10.244.0.0/16', '192.168.7.0/24']);
    const text = ruleset();
    for (const cidr of ['10.22.0.0/24', '10.22.5.0/24', '10.244.0.0/16', '192.168.7.0/24']) expect(text).toContain(cidr);
    expect(text.match(/ masquerade\n/g)).toHaveLength(2);
  });

  it('ADD again for the same owner is idempotent', async () => {
    await masq.add(a, ['10.22.0.2/24'], []);
    await masq.add(a, ['10.22.0.2/24'], []);
    expect(await masq.list()).toEqual([{ address: '10.22.0.2', family: 4, comment: 'ctr-a/eth0' }]);
  });

  it('after GC dropped the table, ADD declares it again', async () => {
    await masq.add(a, ['10.22.0.2/24'], ['10.244.0.0/16']);
    await masq.gc([]);
    await masq.add(b, ['10.22.0.3/24'], ['10.244.0.0/16']);
    const text = ruleset();
    expect(text.match(/ masquerade\n/g)).toHaveLength(2);
    expect(text).toContain('10.244.0.0/16');
    expect(await masq.list()).toEqual([{ address: '10.22.0.3', family: 4, comment: 'ctr-b/eth0' }]);
  });

  it('rejects a malformed address before running nft', async () => {
    await expect(masq.add(a, ['10.22.0.2/24; flush ruleset'], [])).rejects.toMatchObject({ code: 7 });
  });
});
