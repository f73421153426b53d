// libnftables through koffi (Node) in a netns this test creates: a script is one transaction,
// JSON listing works, errors come back as nft's own text, and the context acts in its netns.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetNS, createNamedNetns, deleteNamedNetns } from '../netns/index.js';
import { loadNftables } from './library.js';
import type { NftContext } from './library.js';

const NS = `pnt-nftl${process.pid}`;
let netns: NetNS;
let ctx: NftContext;

beforeAll(() => {
  createNamedNetns(NS);
  netns = NetNS.open(`/run/netns/${NS}`);
  const lib = loadNftables();
  if (!lib) throw new Error('libnftables.so.1 did not load (Debian package libnftables1, a dependency of nftables)');
  ctx = netns.run(() => lib.newContext());
});
afterAll(() => {
  ctx?.free();
  netns?.close();
  deleteNamedNetns(NS);
});

describe('libnftables', () => {
  it("applies a script in the context's netns, not the caller's", () => {
    const r = ctx.run('table inet pnt_lib {\n  set s { type ipv4_addr; }\n}\nadd element inet pnt_lib s { 10.9.9.9 }\n');
    expect(r.error).toBe('');
    expect(r.ok).toBe(true);
    const listed = execFileSync('ip', ['netns', 'exec', NS, 'nft', 'list', 'set', 'inet', 'pnt_lib', 's'], { encoding: 'utf8' });
    expect(listed).toMatch(/10\.9\.9\.9/);
    const host = execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' });
    expect(host).not.toMatch(/pnt_lib/);
  });

  it('lists as JSON on request, plain text otherwise', () => {
    const json = ctx.run('list table inet pnt_lib', { json: true });
    expect(json.ok).toBe(true);
    expect(JSON.parse(json.output)).toHaveProperty('nftables');
    const plain = ctx.run('list table inet pnt_lib');
    expect(plain.output).toMatch(/^table inet pnt_lib/);
  });

  it("a failing script changes nothing and reports nft's error", () => {
    const r = ctx.run('add element inet pnt_lib s { 10.9.9.8 }\nadd element inet pnt_lib nosuchset { 10.9.9.7 }\n');
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/No such file or directory/);
    expect(ctx.run('list set inet pnt_lib s').output).not.toMatch(/10\.9\.9\.8/);
  });
});
