// podnetd follows its underlay link at every periodic pass: renumbered → the lease carries the
// new node address (peers re-route to it) and the routes come back; a new MTU → the lease file
// gives new pods the new one; the link deleted → the agent stays up, says so once and keeps the
// last one; the link recreated under the same name (a new index) → the routes are programmed on
// it again. VXLAN: a renumbered node moves its VTEP to the new address.
import { DEVICE_NAMES } from '@podnet/backend-vxlan';
import { PODNET_ROUTE_PROTOCOL } from '@podnet/core/backend';
import { describe, expect, it } from 'vitest';
import { useAgentBed } from './support/agent-bed.js';
import type { AgentBed } from './support/agent-bed.js';
import { httpGet, inNs, routes, sh } from './support/node-netns.js';
import { eventually } from './support/quiet.js';

const hostGw = useAgentBed({ dirPrefix: 'pna-under-', address: '192.168.83.1', netConf: { Network: '10.219.0.0/16', Backend: { Type: 'host-gw' } } });
const vxlan = useAgentBed({ dirPrefix: 'pna-underx-', address: '192.168.84.1', netConf: { Network: '10.220.0.0/16', Backend: { Type: 'vxlan' } } });

const metric = (bed: AgentBed, name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(httpGet(bed.node, bed.port, '/metrics').body)?.[1]);
const ourRoutes = (bed: AgentBed) => routes(bed.node, ['proto', String(PODNET_ROUTE_PROTOCOL)]);
const nodeIps = async (bed: AgentBed, suffix: string) => (await bed.store.list()).leases.find((l) => l.node === `pna-${bed.id}-${suffix}`)?.nodeIps;

/** Move the node's underlay from one address to another (/24, default route via .254 again). */
function renumber(bed: AgentBed, from: string, to: string): void {
  const { ns, underlay } = bed.node;
  sh('ip', ['-n', ns, 'address', 'del', `${from}/24`, 'dev', underlay]);
  sh('ip', ['-n', ns, 'address', 'add', `${to}/24`, 'dev', underlay]);
  sh('ip', ['-n', ns, 'route', 'replace', 'default', 'via', to.replace(/\.\d+$/, '.254'), 'dev', underlay]);
}

describe('podnetd follows its underlay (host-gw)', () => {
  it('renumbered: the lease carries the new address, the peer route comes back; a new MTU reaches the lease file', async () => {
    const bed = hostGw;
    await bed.start(bed.args('u1', ['--reconcile-period', '500ms']));
    const peer = await bed.store.acquire({ node: `pna-${bed.id}-u2`, nodeIps: ['192.168.83.2'], backend: { type: 'host-gw' }, ttlMs: 600_000 });
    await eventually('peer route', () => ourRoutes(bed).some((r) => r.dst === peer.subnets.ipv4 && r.gateway === '192.168.83.2'));
    expect(await nodeIps(bed, 'u1')).toEqual(['192.168.83.1']);

    renumber(bed, '192.168.83.1', '192.168.83.7');
    await eventually('the lease carries the new address', async () => JSON.stringify(await nodeIps(bed, 'u1')) === '["192.168.83.7"]', 10_000, 100);
    // Deleting the old address took the peer route with it (its gateway was on that subnet).
    await eventually('peer route back', () => ourRoutes(bed).some((r) => r.dst === peer.subnets.ipv4 && r.gateway === '192.168.83.2'), 10_000, 100);
    expect(metric(bed, 'podnetd_underlay_changes_total')).toBeGreaterThanOrEqual(1);
    await eventually('the warning', () => bed.agent.logs.some((l) => l.includes('the underlay changed: following it')));

    expect(bed.leaseFile<{ mtu: number }>().mtu).toBe(1500);
    sh('ip', ['-n', bed.node.ns, 'link', 'set', bed.node.underlay, 'mtu', '1400']);
    await eventually('lease file MTU', () => bed.leaseFile<{ mtu: number }>().mtu === 1400, 10_000, 100);
  });

  it('the link deleted: alive, said once, counted; recreated under the same name: the peer route is programmed on it', async () => {
    const bed = hostGw;
    const { ns, fabric, underlay } = bed.node;
    const errorsBefore = metric(bed, 'podnetd_underlay_errors_total');
    sh('ip', ['-n', ns, 'link', 'del', underlay]);
    await eventually('underlay errors counted', () => metric(bed, 'podnetd_underlay_errors_total') >= errorsBefore + 3, 10_000, 100);
    expect(httpGet(bed.node, bed.port, '/healthz').status).toBe(200);
    // Said once for three failed checks (log lines reach this process a little after the fact).
    const said = () => bed.agent.logs.filter((l) => l.includes('no usable underlay')).length;
    await eventually('the error line', () => said() > 0);
    expect(said()).toBe(1);

    const peerEnd = `pna${bed.id}f`;
    sh('ip', ['-n', ns, 'link', 'add', underlay, 'type', 'veth', 'peer', 'name', peerEnd, 'netns', fabric]);
    sh('ip', ['-n', fabric, 'link', 'set', peerEnd, 'up']);
    sh('ip', ['-n', ns, 'address', 'add', '192.168.83.7/24', 'dev', underlay]);
    sh('ip', ['-n', ns, 'link', 'set', underlay, 'up']);
    sh('ip', ['-n', ns, 'route', 'replace', 'default', 'via', '192.168.83.254', 'dev', underlay]);
    const peer = (await bed.store.list()).leases.find((l) => l.node === `pna-${bed.id}-u2`);
    await eventually(
      'peer route on the new link',
      () => ourRoutes(bed).some((r) => r.dst === peer?.subnets.ipv4 && r.gateway === '192.168.83.2' && r.dev === underlay),
      10_000,
      100,
    );
    await eventually('the recovery line', () => bed.agent.logs.some((l) => l.includes('underlay usable again')));
    // The recreated link came back with the default MTU: the lease file follows it back.
    await eventually('lease file MTU', () => bed.leaseFile<{ mtu: number }>().mtu === 1500, 10_000, 100);
  });
});

describe('podnetd follows its underlay (vxlan)', () => {
  it('renumbered: the VTEP moves to the new address', async () => {
    const bed = vxlan;
    await bed.start(bed.args('x1', ['--reconcile-period', '500ms']));
    const device = () => inNs(bed.node.ns, 'ip', ['-d', 'link', 'show', DEVICE_NAMES[4]]);
    expect(device()).toContain('local 192.168.84.1 ');
    renumber(bed, '192.168.84.1', '192.168.84.8');
    await eventually('VTEP on the new address', () => device().includes('local 192.168.84.8 '), 10_000, 100);
    await eventually('the lease carries it', async () => JSON.stringify(await nodeIps(bed, 'x1')) === '["192.168.84.8"]', 10_000, 100);
  });
});
