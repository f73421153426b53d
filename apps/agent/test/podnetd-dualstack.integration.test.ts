// Dual stack: with EnableIPv6 the lease, the lease file and the peer routes carry both
// families, and the nftables rules exist for ip and ip6.
import { PODNET_ROUTE_PROTOCOL } from '@podnet/core/backend';
import { beforeAll, describe, expect, it } from 'vitest';
import { useAgentBed } from './support/agent-bed.js';
import { inNs, routes, sh } from './support/node-netns.js';
import { eventually } from './support/quiet.js';

const bed = useAgentBed({
  dirPrefix: 'pna-dual-',
  address: '192.168.81.1',
  netConf: { Network: '10.218.0.0/16', EnableIPv6: true, IPv6Network: 'fd00:218::/56', Backend: { Type: 'host-gw' } },
});

beforeAll(() => {
  sh('ip', ['-n', bed.node.ns, 'address', 'add', 'fd81::1/64', 'dev', bed.node.underlay, 'nodad']);
});

describe('podnetd dual stack (host-gw)', () => {
  it('leases both families, writes both into the lease file, routes a peer for both, installs ip and ip6 tables', async () => {
    const { node, store, id } = bed;
    await bed.start(bed.args('d1', ['--underlay', node.underlay]));
    const file = bed.leaseFile<{ network: object; subnets: { ipv4?: string; ipv6?: string } }>();
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
