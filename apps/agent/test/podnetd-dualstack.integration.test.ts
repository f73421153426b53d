// Dual stack: with EnableIPv6 the lease, the lease file and the peer routes carry both
// families, and the nftables rules exist for ip and ip6.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLeaseStore } from '@podnet/cluster';
import type { LeaseStore } from '@podnet/cluster';
import { PODNET_ROUTE_PROTOCOL } from '@podnet/core/backend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNode, destroyNode, httpGet, inNs, routes, sh, startAgent } from './support/node-netns.js';
import type { RunningAgent, TestNode } from './support/node-netns.js';
import { eventually } from './support/quiet.js';

const id = randomBytes(2).toString('hex');
const port = 20_000 + Math.floor(Math.random() * 20_000);
let node: TestNode;
let dir: string;
let store: LeaseStore;
let agent: RunningAgent | undefined;

beforeAll(async () => {
  node = createNode(id, '192.168.81.1');
  sh('ip', ['-n', node.ns, 'address', 'add', 'fd81::1/64', 'dev', node.underlay, 'nodad']);
  dir = mkdtempSync(join(tmpdir(), 'pna-dual-'));
  writeFileSync(
    join(dir, 'net-conf.json'),
    JSON.stringify({ Network: '10.218.0.0/16', EnableIPv6: true, IPv6Network: 'fd00:218::/56', Backend: { Type: 'host-gw' } }),
  );
  store = await openLeaseStore({ kind: 'local', dir: join(dir, 'store') });
});

afterAll(async () => {
  if (agent) {
    agent.child.kill('SIGKILL');
    await agent.exited;
  }
  await store?.close();
  if (node) destroyNode(node);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('podnetd dual stack (host-gw)', () => {
  it('leases both families, writes both into the lease file, routes a peer for both, installs ip and ip6 tables', async () => {
    const a = startAgent(node, [
      '--node',
      `pna-${id}-d1`,
      '--store',
      `local:${join(dir, 'store')}`,
      '--network-config',
      join(dir, 'net-conf.json'),
      '--lease-file',
      join(dir, 'lease.json'),
      '--listen',
      `127.0.0.1:${port}`,
      '--underlay',
      node.underlay,
    ]);
    agent = a;
    await eventually(
      '/readyz 200',
      async () => {
        const exit = await Promise.race([a.exited, new Promise<undefined>((r) => setTimeout(r, 0))]);
        if (exit) throw new Error(`podnetd exited ${JSON.stringify(exit)}:\n${a.logs.join('\n')}`);
        return httpGet(node, port, '/readyz').status === 200;
      },
      20_000,
      100,
    );
    const file = JSON.parse(readFileSync(join(dir, 'lease.json'), 'utf8')) as { network: object; subnets: { ipv4?: string; ipv6?: string } };
    expect(file.network).toEqual({ ipv4: '10.218.0.0/16', ipv6: 'fd00:218::/56' });
    expect(file.subnets.ipv4).toMatch(/^10\.218\.\d+\.0\/24$/);
    expect(file.subnets.ipv6).toMatch(/^fd00:218:0:[0-9a-f]+::\/64$/);
    expect((await store.list()).leases.find((l) => l.node === `pna-${id}-d1`)?.nodeIps).toEqual(['192.168.81.1', 'fd81::1']);

    const peer = await store.acquire({ node: `pna-${id}-d2`, nodeIps: ['192.168.81.2', 'fd81::2'], backend: { type: 'host-gw' }, ttlMs: 600_000 });
    await eventually('IPv4 and IPv6 peer routes', () => {
      const v4 = routes(node, ['proto', String(PODNET_ROUTE_PROTOCOL)]);
      const six = JSON.parse(inNs(node.ns, 'ip', ['-6', '-j', 'route', 'show', 'proto', String(PODNET_ROUTE_PROTOCOL)]) || '[]') as Array<{
        dst: string;
        gateway?: string;
      }>;
      return (
        v4.some((r) => r.dst === peer.subnets.ipv4 && r.gateway === '192.168.81.2') && six.some((r) => r.dst === peer.subnets.ipv6 && r.gateway === 'fd81::2')
      );
    });
    expect(inNs(node.ns, 'nft', ['list', 'table', 'ip6', 'podnet'])).toContain('ip6 saddr fd00:218::/56 masquerade fully-random');
    expect(inNs(node.ns, 'nft', ['list', 'table', 'ip', 'podnet'])).toContain('ip saddr 10.218.0.0/16 masquerade fully-random');
  });
});
