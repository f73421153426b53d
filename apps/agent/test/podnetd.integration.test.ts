// podnetd end to end on one node: the built launcher (dist/bin/podnetd) runs inside a node netns
// made here, on a `local` store in a temp dir, with the host-gw node half. The test plays the
// rest of the cluster by writing peer leases into the same store.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Lease } from '@podnet/cluster';
import { PODNET_ROUTE_PROTOCOL } from '@podnet/core/backend';
import { describe, expect, it } from 'vitest';
import { useAgentBed } from './support/agent-bed.js';
import { httpGet, inNs, routes } from './support/node-netns.js';
import { PODNETD } from './support/paths.js';
import { eventually } from './support/quiet.js';

const NETWORK = '10.213.0.0/16';
// The lease file one directory down: podnetd makes the directory.
const bed = useAgentBed({ dirPrefix: 'pna-agent-', netConf: { Network: NETWORK, Backend: { Type: 'host-gw' } }, leaseFile: join('run', 'lease.json') });
const { id, port } = bed;
const args = (): string[] => bed.args('n1', ['--reconcile-period', '500ms', '--lease-ttl', '15s', '--log-level', 'debug']);
const leaseFile = () => bed.leaseFile<{ subnets: { ipv4?: string }; mtu: number; backend: string; node: string; network: { ipv4?: string } }>();
const ourRoutes = () => routes(bed.node, ['proto', String(PODNET_ROUTE_PROTOCOL)]);
const peer = (name: string, nodeIp: string): Promise<Lease> =>
  bed.store.acquire({ node: name, nodeIps: [nodeIp], backend: { type: 'host-gw' }, ttlMs: 600_000 });

describe('podnetd in a node netns (local store, host-gw)', () => {
  it('starts: network config stored, lease acquired, lease file written, /healthz and /readyz 200, nft tables in place', async () => {
    const a = await bed.start(args());
    expect(httpGet(bed.node, port, '/healthz').status).toBe(200);
    const file = leaseFile();
    expect(file).toMatchObject({ node: `pna-${id}-n1`, backend: 'host-gw', mtu: 1500, network: { ipv4: NETWORK } });
    expect(file.subnets.ipv4).toMatch(/^10\.213\.\d+\.0\/24$/);
    expect((await bed.store.getNetworkConfig()).Network).toBe(NETWORK);
    const mine = (await bed.store.list()).leases.find((l) => l.node === `pna-${id}-n1`);
    expect(mine?.subnets.ipv4).toBe(file.subnets.ipv4);
    expect(mine?.nodeIps).toEqual([bed.node.address]);
    const nft = inNs(bed.node.ns, 'nft', ['list', 'table', 'ip', 'podnet']);
    expect(nft).toContain(`ip saddr ${NETWORK} ip daddr ${NETWORK} return`);
    expect(nft).toContain(`ip saddr ${NETWORK} masquerade fully-random`);
    expect(nft).toContain(`ip daddr ${NETWORK} accept`);
    // Log lines reach this process a little after the fact (its event loop sits in execFileSync).
    await eventually('the underlay log line', () => a.logs.some((l) => l.includes('"foundBy":"default-route"')));
  });

  it('a peer lease → a route via its node address with protocol 83; a peer off the underlay → skipped; released → route gone', async () => {
    const p1 = await peer(`pna-${id}-p1`, '192.168.77.2');
    const subnet = p1.subnets.ipv4 as string;
    await eventually('peer route', () => ourRoutes().find((r) => r.dst === subnet && r.gateway === '192.168.77.2' && r.dev === bed.node.underlay));
    const far = await peer(`pna-${id}-far`, '10.99.0.5');
    await eventually('far peer skipped in /status', () => {
      const status = JSON.parse(httpGet(bed.node, port, '/status').body) as { skipped: Array<{ node: string }>; peers: unknown[] };
      return status.skipped.some((s) => s.node === `pna-${id}-far`) && status.peers.length === 2;
    });
    expect(ourRoutes().some((r) => r.dst === far.subnets.ipv4)).toBe(false);
    // `podnetd status` (the subcommand) reads the same over the listener.
    const text = inNs(bed.node.ns, PODNETD, ['status', '--listen', `127.0.0.1:${port}`]);
    expect(text).toMatch(/ready:\s+yes/);
    expect(text).toContain(`pna-${id}-p1`);
    expect(text).toMatch(new RegExp(`pna-${id}-far .*SKIPPED`));
    await bed.store.release(far);
    await bed.store.release(p1);
    await eventually('peer route gone', () => !ourRoutes().some((r) => r.dst === subnet));
  });

  it('drift: a stale route of ours is removed, a deleted one restored, a route of another protocol untouched', async () => {
    const p2 = await peer(`pna-${id}-p2`, '192.168.77.3');
    const subnet = p2.subnets.ipv4 as string;
    await eventually('peer route', () => ourRoutes().some((r) => r.dst === subnet));
    inNs(bed.node.ns, 'ip', ['route', 'add', '10.213.250.0/24', 'via', '192.168.77.9', 'proto', String(PODNET_ROUTE_PROTOCOL)]);
    inNs(bed.node.ns, 'ip', ['route', 'add', '10.213.251.0/24', 'via', '192.168.77.9', 'proto', 'static']);
    inNs(bed.node.ns, 'ip', ['route', 'del', subnet]);
    await eventually('stale removed and peer route restored', () => {
      const ours = ourRoutes();
      return !ours.some((r) => r.dst === '10.213.250.0/24') && ours.some((r) => r.dst === subnet);
    });
    expect(routes(bed.node, ['proto', 'static']).some((r) => r.dst === '10.213.251.0/24')).toBe(true);
    // An nft table deleted by hand comes back at a periodic pass too.
    inNs(bed.node.ns, 'nft', ['delete', 'table', 'ip', 'podnet']);
    await eventually('nft table restored', () => inNs(bed.node.ns, 'nft', ['list', 'tables']).includes('table ip podnet'));
  });

  it('/metrics serves the agent metrics in Prometheus text', () => {
    const { status, body } = httpGet(bed.node, port, '/metrics');
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
    const a = bed.agent;
    const before = leaseFile();
    const routesBefore = ourRoutes();
    const lost = (): number => Number(/^podnetd_lease_lost_total (\S+)$/m.exec(httpGet(bed.node, port, '/metrics').body)?.[1]);
    const lostBefore = lost();
    const mine = (await bed.store.list()).leases.find((l) => l.node === `pna-${id}-n1`) as Lease;
    await bed.store.release(mine);
    await eventually('lease-lost counted', () => lost() === lostBefore + 1);
    await eventually('ready again', () => httpGet(bed.node, port, '/readyz').status === 200);
    await eventually('the loud log line', () => a.logs.some((l) => l.includes('"level":50') && l.includes('LEASE LOST')));
    expect((await bed.store.list()).leases.find((l) => l.node === `pna-${id}-n1`)?.subnets).toEqual(before.subnets);
    expect(leaseFile().subnets).toEqual(before.subnets);
    expect(ourRoutes()).toEqual(routesBefore);
  });

  it('SIGTERM keeps routes, nft tables, the lease file and the lease; a restart gets the same subnet', async () => {
    const before = leaseFile();
    const routesBefore = ourRoutes();
    expect(routesBefore.length).toBe(1);
    const exit = await bed.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(ourRoutes()).toEqual(routesBefore);
    expect(inNs(bed.node.ns, 'nft', ['list', 'tables'])).toContain('table ip podnet');
    expect(existsSync(join(bed.dir, 'run', 'lease.json'))).toBe(true);
    expect((await bed.store.list()).leases.find((l) => l.node === `pna-${id}-n1`)?.subnets).toEqual(before.subnets);
    await bed.start(args());
    expect(leaseFile().subnets).toEqual(before.subnets);
    expect(ourRoutes()).toEqual(routesBefore);
  });

  it('SIGKILL at any moment: the restart gets the same subnet and changes no route', async () => {
    const before = leaseFile();
    const routesBefore = ourRoutes();
    await bed.kill();
    await bed.start(args());
    expect(leaseFile().subnets).toEqual(before.subnets);
    expect(ourRoutes()).toEqual(routesBefore);
    expect(httpGet(bed.node, port, '/metrics').body).toMatch(/^podnetd_reconcile_changes_total 0$/m);
  });

  it('teardown --release removes our routes, the nft tables and the lease file, and frees the lease', async () => {
    await bed.stop();
    inNs(bed.node.ns, PODNETD, [
      'teardown',
      '--node',
      `pna-${id}-n1`,
      '--store',
      `local:${join(bed.dir, 'store')}`,
      '--lease-file',
      join(bed.dir, 'run', 'lease.json'),
      '--release',
      '--log-level',
      'warn',
    ]);
    expect(ourRoutes()).toEqual([]);
    expect(routes(bed.node, ['proto', 'static']).some((r) => r.dst === '10.213.251.0/24')).toBe(true);
    // Our tables only: the host-port table (podnet_hostports) is portmap's, restored from host-wide records.
    expect(inNs(bed.node.ns, 'nft', ['list', 'tables'])).not.toMatch(/^table ip6? podnet$/m);
    expect(existsSync(join(bed.dir, 'run', 'lease.json'))).toBe(false);
    expect((await bed.store.list()).leases.map((l) => l.node)).not.toContain(`pna-${id}-n1`);
  });
});
