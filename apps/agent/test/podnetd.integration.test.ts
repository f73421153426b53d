// podnetd end to end on one node: the built launcher (dist/bin/podnetd) runs inside a node netns
// made here, on a `local` store in a temp dir, with the host-gw node half. The test plays the
// rest of the cluster by writing peer leases into the same store.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLeaseStore } from '@podnet/cluster';
import type { Lease, LeaseStore } from '@podnet/cluster';
import { PODNET_ROUTE_PROTOCOL } from '@podnet/core/backend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PODNETD } from './support/paths.js';
import { createNode, destroyNode, httpGet, inNs, routes, startAgent, sweepNetns } from './support/node-netns.js';
import type { RunningAgent, TestNode } from './support/node-netns.js';
import { eventually } from './support/quiet.js';

const id = randomBytes(2).toString('hex');
const NETWORK = '10.213.0.0/16';
const port = 20_000 + Math.floor(Math.random() * 20_000);
let node: TestNode;
let dir: string;
let store: LeaseStore;
let agent: RunningAgent | undefined;
const args = (): string[] => [
  '--node',
  `pna-${id}-n1`,
  '--store',
  `local:${join(dir, 'store')}`,
  '--network-config',
  join(dir, 'net-conf.json'),
  '--lease-file',
  join(dir, 'run', 'lease.json'),
  '--listen',
  `127.0.0.1:${port}`,
  '--reconcile-period',
  '500ms',
  '--lease-ttl',
  '15s',
  '--log-level',
  'debug',
];
const leaseFile = (): { subnets: { ipv4?: string }; mtu: number; backend: string; node: string; network: { ipv4?: string } } =>
  JSON.parse(readFileSync(join(dir, 'run', 'lease.json'), 'utf8'));
const ourRoutes = () => routes(node, ['proto', String(PODNET_ROUTE_PROTOCOL)]);
const peer = (name: string, nodeIp: string): Promise<Lease> => store.acquire({ node: name, nodeIps: [nodeIp], backend: { type: 'host-gw' }, ttlMs: 600_000 });

async function startAndWaitReady(): Promise<RunningAgent> {
  const a = startAgent(node, args());
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
  return a;
}

async function stopAgent(a: RunningAgent): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  a.child.kill('SIGTERM');
  const exit = await a.exited;
  agent = undefined;
  return exit;
}

beforeAll(async () => {
  sweepNetns('pna-');
  node = createNode(id);
  dir = mkdtempSync(join(tmpdir(), 'pna-agent-'));
  writeFileSync(join(dir, 'net-conf.json'), JSON.stringify({ Network: NETWORK, Backend: { Type: 'host-gw' } }));
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

describe('podnetd in a node netns (local store, host-gw)', () => {
  it('starts: network config stored, lease acquired, lease file written, /healthz and /readyz 200, nft tables in place', async () => {
    const a = await startAndWaitReady();
    expect(httpGet(node, port, '/healthz').status).toBe(200);
    const file = leaseFile();
    expect(file).toMatchObject({ node: `pna-${id}-n1`, backend: 'host-gw', mtu: 1500, network: { ipv4: NETWORK } });
    expect(file.subnets.ipv4).toMatch(/^10\.213\.\d+\.0\/24$/);
    expect((await store.getNetworkConfig()).Network).toBe(NETWORK);
    const mine = (await store.list()).leases.find((l) => l.node === `pna-${id}-n1`);
    expect(mine?.subnets.ipv4).toBe(file.subnets.ipv4);
    expect(mine?.nodeIps).toEqual([node.address]);
    const nft = inNs(node.ns, 'nft', ['list', 'table', 'ip', 'podnet']);
    expect(nft).toContain(`ip saddr ${NETWORK} ip daddr ${NETWORK} return`);
    expect(nft).toContain(`ip saddr ${NETWORK} masquerade fully-random`);
    expect(nft).toContain(`ip daddr ${NETWORK} accept`);
    // Log lines reach this process a little after the fact (its event loop sits in execFileSync).
    await eventually('the underlay log line', () => a.logs.some((l) => l.includes('"foundBy":"default-route"')));
  });

  it('a peer lease → a route via its node address with protocol 83; a peer off the underlay → skipped; released → route gone', async () => {
    const p1 = await peer(`pna-${id}-p1`, '192.168.77.2');
    const subnet = p1.subnets.ipv4 as string;
    await eventually('peer route', () => ourRoutes().find((r) => r.dst === subnet && r.gateway === '192.168.77.2' && r.dev === node.underlay));
    const far = await peer(`pna-${id}-far`, '10.99.0.5');
    await eventually('far peer skipped in /status', () => {
      const status = JSON.parse(httpGet(node, port, '/status').body) as { skipped: Array<{ node: string }>; peers: unknown[] };
      return status.skipped.some((s) => s.node === `pna-${id}-far`) && status.peers.length === 2;
    });
    expect(ourRoutes().some((r) => r.dst === far.subnets.ipv4)).toBe(false);
    // `podnetd status` (the subcommand) reads the same over the listener.
    const text = inNs(node.ns, PODNETD, ['status', '--listen', `127.0.0.1:${port}`]);
    expect(text).toMatch(/ready:\s+yes/);
    expect(text).toContain(`pna-${id}-p1`);
    expect(text).toMatch(new RegExp(`pna-${id}-far .*SKIPPED`));
    await store.release(far);
    await store.release(p1);
    await eventually('peer route gone', () => !ourRoutes().some((r) => r.dst === subnet));
  });

  it('drift: a stale route of ours is removed, a deleted one restored, a route of another protocol untouched', async () => {
    const p2 = await peer(`pna-${id}-p2`, '192.168.77.3');
    const subnet = p2.subnets.ipv4 as string;
    await eventually('peer route', () => ourRoutes().some((r) => r.dst === subnet));
    inNs(node.ns, 'ip', ['route', 'add', '10.213.250.0/24', 'via', '192.168.77.9', 'proto', String(PODNET_ROUTE_PROTOCOL)]);
    inNs(node.ns, 'ip', ['route', 'add', '10.213.251.0/24', 'via', '192.168.77.9', 'proto', 'static']);
    inNs(node.ns, 'ip', ['route', 'del', subnet]);
    await eventually('stale removed and peer route restored', () => {
      const ours = ourRoutes();
      return !ours.some((r) => r.dst === '10.213.250.0/24') && ours.some((r) => r.dst === subnet);
    });
    expect(routes(node, ['proto', 'static']).some((r) => r.dst === '10.213.251.0/24')).toBe(true);
    // An nft table deleted by hand comes back at a periodic pass too.
    inNs(node.ns, 'nft', ['delete', 'table', 'ip', 'podnet']);
    await eventually('nft table restored', () => inNs(node.ns, 'nft', ['list', 'tables']).includes('table ip podnet'));
  });

  it('/metrics serves the agent metrics in Prometheus text', () => {
    const { status, body } = httpGet(node, port, '/metrics');
    expect(status).toBe(200);
    for (const name of [
      'podnetd_peers 1',
      'podnetd_routes_programmed 1',
      'podnetd_peers_skipped 0',
      'podnetd_reconcile_duration_seconds_bucket',
      'podnetd_reconcile_errors_total',
      'podnetd_reconcile_changes_total',
      'podnetd_lease_expiry_timestamp_seconds',
      'podnetd_store_reconnects_total',
      'podnetd_store_errors_total',
      'podnetd_lease_lost_total 0',
      'podnetd_ready 1',
      'podnetd_process_resident_memory_bytes',
    ]) {
      expect(body).toContain(name);
    }
  });

  it('its own lease deleted in the store → lease lost, said loudly, re-acquired with the same subnet, routes kept', async () => {
    const a = agent as RunningAgent;
    const before = leaseFile();
    const routesBefore = ourRoutes();
    const lost = (): number => Number(/^podnetd_lease_lost_total (\S+)$/m.exec(httpGet(node, port, '/metrics').body)?.[1]);
    const lostBefore = lost();
    const mine = (await store.list()).leases.find((l) => l.node === `pna-${id}-n1`) as Lease;
    await store.release(mine);
    await eventually('lease-lost counted', () => lost() === lostBefore + 1);
    await eventually('ready again', () => httpGet(node, port, '/readyz').status === 200);
    await eventually('the loud log line', () => a.logs.some((l) => l.includes('"level":50') && l.includes('LEASE LOST')));
    expect((await store.list()).leases.find((l) => l.node === `pna-${id}-n1`)?.subnets).toEqual(before.subnets);
    expect(leaseFile().subnets).toEqual(before.subnets);
    expect(ourRoutes()).toEqual(routesBefore);
  });

  it('SIGTERM keeps routes, nft tables, the lease file and the lease; a restart gets the same subnet', async () => {
    const before = leaseFile();
    const routesBefore = ourRoutes();
    expect(routesBefore.length).toBe(1);
    const exit = await stopAgent(agent as RunningAgent);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(ourRoutes()).toEqual(routesBefore);
    expect(inNs(node.ns, 'nft', ['list', 'tables'])).toContain('table ip podnet');
    expect(existsSync(join(dir, 'run', 'lease.json'))).toBe(true);
    expect((await store.list()).leases.find((l) => l.node === `pna-${id}-n1`)?.subnets).toEqual(before.subnets);
    await startAndWaitReady();
    expect(leaseFile().subnets).toEqual(before.subnets);
    expect(ourRoutes()).toEqual(routesBefore);
  });

  it('SIGKILL at any moment: the restart gets the same subnet and changes no route', async () => {
    const before = leaseFile();
    const routesBefore = ourRoutes();
    const a = agent as RunningAgent;
    a.child.kill('SIGKILL');
    await a.exited;
    agent = undefined;
    await startAndWaitReady();
    expect(leaseFile().subnets).toEqual(before.subnets);
    expect(ourRoutes()).toEqual(routesBefore);
    expect(httpGet(node, port, '/metrics').body).toMatch(/^podnetd_reconcile_changes_total 0$/m);
  });

  it('teardown --release removes our routes, the nft tables and the lease file, and frees the lease', async () => {
    await stopAgent(agent as RunningAgent);
    inNs(node.ns, PODNETD, [
      'teardown',
      '--node',
      `pna-${id}-n1`,
      '--store',
      `local:${join(dir, 'store')}`,
      '--lease-file',
      join(dir, 'run', 'lease.json'),
      '--release',
      '--log-level',
      'warn',
    ]);
    expect(ourRoutes()).toEqual([]);
    expect(routes(node, ['proto', 'static']).some((r) => r.dst === '10.213.251.0/24')).toBe(true);
    // Our tables only: the host-port table (podnet_hostports) is portmap's, restored from host-wide records.
    expect(inNs(node.ns, 'nft', ['list', 'tables'])).not.toMatch(/^table ip6? podnet$/m);
    expect(existsSync(join(dir, 'run', 'lease.json'))).toBe(false);
    expect((await store.list()).leases.map((l) => l.node)).not.toContain(`pna-${id}-n1`);
  });
});
