// podnetd selects the node half by the network config's Backend.Type: with `vxlan` the built
// launcher publishes its VTEP in the lease, writes the overlay MTU into the lease file, makes the
// VXLAN device and programs a peer's subnet through it; teardown removes the device.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLeaseStore } from '@podnet/cluster';
import type { LeaseStore } from '@podnet/cluster';
import { DEVICE_NAMES, LEASE_KEYS, deriveVtepMac } from '@podnet/backend-vxlan';
import { PODNET_ROUTE_PROTOCOL } from '@podnet/core/backend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PODNETD } from './support/paths.js';
import { createNode, destroyNode, httpGet, inNs, routes, startAgent } from './support/node-netns.js';
import type { RunningAgent, TestNode } from './support/node-netns.js';
import { eventually } from './support/quiet.js';

const id = randomBytes(2).toString('hex');
const port = 20_000 + Math.floor(Math.random() * 20_000);
let node: TestNode;
let dir: string;
let store: LeaseStore;
let agent: RunningAgent | undefined;

beforeAll(async () => {
  node = createNode(id, '192.168.80.1');
  dir = mkdtempSync(join(tmpdir(), 'pna-vxlan-'));
  writeFileSync(join(dir, 'net-conf.json'), JSON.stringify({ Network: '10.217.0.0/16', Backend: { Type: 'vxlan' } }));
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

describe('podnetd with Backend.Type vxlan', () => {
  it('publishes its VTEP, writes the overlay MTU, programs a peer through the VXLAN device, tears it down', async () => {
    const a = startAgent(node, [
      '--node',
      `pna-${id}-v1`,
      '--store',
      `local:${join(dir, 'store')}`,
      '--network-config',
      join(dir, 'net-conf.json'),
      '--lease-file',
      join(dir, 'lease.json'),
      '--listen',
      `127.0.0.1:${port}`,
      '--reconcile-period',
      '1s',
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
    const file = JSON.parse(readFileSync(join(dir, 'lease.json'), 'utf8')) as { backend: string; mtu: number };
    expect(file).toMatchObject({ backend: 'vxlan', mtu: 1450 });
    const mine = (await store.list()).leases.find((l) => l.node === `pna-${id}-v1`);
    expect(mine?.backend).toMatchObject({ type: 'vxlan', data: { [LEASE_KEYS.mac[4]]: deriveVtepMac(`pna-${id}-v1`, 4) } });
    expect(inNs(node.ns, 'ip', ['-d', 'link', 'show', DEVICE_NAMES[4]])).toContain('vxlan id');

    const peerName = `pna-${id}-v2`;
    const peer = await store.acquire({
      node: peerName,
      nodeIps: ['192.168.80.2'],
      ttlMs: 600_000,
      backend: { type: 'vxlan', data: { [LEASE_KEYS.vni]: 1, [LEASE_KEYS.mac[4]]: deriveVtepMac(peerName, 4) } },
    });
    await eventually('peer route through the VXLAN device', () =>
      routes(node, ['proto', String(PODNET_ROUTE_PROTOCOL)]).some((r) => r.dst === peer.subnets.ipv4 && r.dev === DEVICE_NAMES[4]),
    );

    a.child.kill('SIGTERM');
    expect(await a.exited).toEqual({ code: 0, signal: null });
    agent = undefined;
    inNs(node.ns, PODNETD, ['teardown', '--lease-file', join(dir, 'lease.json'), '--log-level', 'warn']);
    expect(inNs(node.ns, 'ip', ['-o', 'link', 'show'])).not.toContain(DEVICE_NAMES[4]);
    expect(routes(node, ['proto', String(PODNET_ROUTE_PROTOCOL)])).toEqual([]);
    expect(existsSync(join(dir, 'lease.json'))).toBe(false);
  });
});
