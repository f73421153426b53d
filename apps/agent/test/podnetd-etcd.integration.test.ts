// podnetd on a real etcd (Debian's etcd-server, TLS with client certificates, started here):
// start → lease → peer routes from the etcd watch; the store killed under the running agent →
// data plane kept, /healthz alive, retried; etcd back → reconnect counted, the watch resumes
// (a peer added after the restart gets its route); SIGTERM + restart → the same subnet.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLeaseStore } from '@podnet/cluster';
import type { Lease, LeaseStore } from '@podnet/cluster';
import { PODNET_ROUTE_PROTOCOL } from '@podnet/core/backend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd } from '../../../packages/cluster/src/testing/etcd-server.js';
import type { EtcdServer } from '../../../packages/cluster/src/testing/etcd-server.js';
import { bridgeIntoNetns } from './support/loopback-bridge.js';
import type { LoopbackBridge } from './support/loopback-bridge.js';
import { agentArgs, killAgent, randomPort, startReady } from './support/agent-bed.js';
import { createNode, destroyNode, httpGet, routes } from './support/node-netns.js';
import type { RunningAgent, TestNode } from './support/node-netns.js';
import { eventually } from './support/quiet.js';

const id = randomBytes(2).toString('hex');
const NETWORK = '10.215.0.0/16';
const port = randomPort();
let etcd: EtcdServer;
let bridge: LoopbackBridge;
let node: TestNode;
let dir: string;
let store: LeaseStore;
let agent: RunningAgent | undefined;

const ourRoutes = () => routes(node, ['proto', String(PODNET_ROUTE_PROTOCOL)]);
const peer = (name: string, nodeIp: string): Promise<Lease> => store.acquire({ node: name, nodeIps: [nodeIp], backend: { type: 'host-gw' }, ttlMs: 600_000 });
const metric = (name: string): number => {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(httpGet(node, port, '/metrics').body);
  return m ? Number(m[1]) : NaN;
};
const leaseFile = (): { subnets: { ipv4?: string } } => JSON.parse(readFileSync(join(dir, 'lease.json'), 'utf8'));

async function start(): Promise<RunningAgent> {
  const tls = etcd.tls as { ca: string; cert: string; key: string };
  const place = { node: `pna-${id}-e1`, dir, port, store: `etcd:${bridge.url}` };
  const extra = [
    '--etcd-ca',
    tls.ca,
    '--etcd-cert',
    tls.cert,
    '--etcd-key',
    tls.key,
    '--reconcile-period',
    '500ms',
    '--lease-ttl',
    '15s',
    '--log-level',
    'debug',
  ];
  agent = await startReady(node, port, agentArgs(place, extra), 30_000);
  return agent;
}

beforeAll(async () => {
  etcd = await startEtcd({ tls: true });
  node = createNode(id, '192.168.79.1');
  dir = mkdtempSync(join(tmpdir(), 'pna-etcd-'));
  writeFileSync(join(dir, 'net-conf.json'), JSON.stringify({ Network: NETWORK, Backend: { Type: 'host-gw' } }));
  bridge = await bridgeIntoNetns(node.ns, new URL(etcd.endpoints[0] as string), dir, 2379);
  store = await openLeaseStore({ kind: 'etcd', endpoints: etcd.endpoints, tls: etcd.tls as { ca: string; cert: string; key: string } });
}, 60_000);

afterAll(async () => {
  await killAgent(agent);
  await store?.close();
  await bridge?.close();
  await etcd?.stop();
  if (node) destroyNode(node);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('podnetd on etcd (TLS)', () => {
  it('starts on etcd over TLS: lease file, ready; a peer lease → its route; released → gone', async () => {
    await start();
    expect(leaseFile().subnets.ipv4).toMatch(/^10\.215\.\d+\.0\/24$/);
    expect((await store.getNetworkConfig()).Network).toBe(NETWORK);
    const p1 = await peer(`pna-${id}-q1`, '192.168.79.2');
    await eventually('peer route', () => ourRoutes().some((r) => r.dst === p1.subnets.ipv4 && r.gateway === '192.168.79.2'));
    await store.release(p1);
    await eventually('peer route gone', () => !ourRoutes().some((r) => r.dst === p1.subnets.ipv4));
  });

  it('etcd killed under the agent: routes stay, alive, errors counted; back: reconnect counted, the watch resumes', async () => {
    const p2 = await peer(`pna-${id}-q2`, '192.168.79.3');
    await eventually('peer route', () => ourRoutes().some((r) => r.dst === p2.subnets.ipv4));
    const before = ourRoutes();
    await eventually('steady', () => metric('podnetd_peers') === 1);
    const changesBefore = metric('podnetd_reconcile_changes_total');
    await etcd.kill();
    await eventually('store errors counted', () => metric('podnetd_store_errors_total') > 0, 20_000, 200);
    expect(httpGet(node, port, '/healthz').status).toBe(200);
    expect(ourRoutes()).toEqual(before);
    expect((agent as RunningAgent).child.exitCode).toBeNull();
    await etcd.restart();
    await eventually('reconnect counted', () => metric('podnetd_store_reconnects_total') >= 1, 30_000, 200);
    // No route churn from the outage or the reconnect (a resync diffs to nothing).
    await new Promise((r) => setTimeout(r, 1500));
    expect(metric('podnetd_reconcile_changes_total')).toBe(changesBefore);
    expect(ourRoutes()).toEqual(before);
    const p3 = await peer(`pna-${id}-q3`, '192.168.79.4');
    await eventually('route of a peer added after the restart', () => ourRoutes().some((r) => r.dst === p3.subnets.ipv4), 20_000);
    expect(ourRoutes().some((r) => r.dst === p2.subnets.ipv4)).toBe(true);
    await eventually('ready', () => httpGet(node, port, '/readyz').status === 200);
  });

  it('SIGTERM keeps the lease on etcd; a restart gets the same subnet', async () => {
    const before = leaseFile().subnets;
    const a = agent as RunningAgent;
    a.child.kill('SIGTERM');
    expect(await a.exited).toEqual({ code: 0, signal: null });
    agent = undefined;
    expect((await store.list()).leases.find((l) => l.node === `pna-${id}-e1`)?.subnets).toEqual(before);
    await start();
    expect(leaseFile().subnets).toEqual(before);
  });
});
