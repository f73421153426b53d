// podnetd selects the node half by the network config's Backend.Type: with `vxlan` the built
// launcher publishes its VTEP in the lease, writes the overlay MTU into the lease file, makes the
// VXLAN device and programs a peer's subnet through it; teardown removes the device.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEVICE_NAMES, LEASE_KEYS, deriveVtepMac } from '@podnet/backend-vxlan';
import { PODNET_ROUTE_PROTOCOL } from '@podnet/core/backend';
import { describe, expect, it } from 'vitest';
import { useAgentBed } from './support/agent-bed.js';
import { inNs, routes } from './support/node-netns.js';
import { PODNETD } from './support/paths.js';
import { eventually } from './support/quiet.js';

const bed = useAgentBed({ dirPrefix: 'pna-vxlan-', address: '192.168.80.1', netConf: { Network: '10.217.0.0/16', Backend: { Type: 'vxlan' } } });

describe('podnetd with Backend.Type vxlan', () => {
  it('publishes its VTEP, writes the overlay MTU, programs a peer through the VXLAN device, tears it down', async () => {
    const { node, store, id, dir } = bed;
    await bed.start(bed.args('v1', ['--reconcile-period', '1s']));
    expect(bed.leaseFile<{ backend: string; mtu: number }>()).toMatchObject({ backend: 'vxlan', mtu: 1450 });
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

    expect(await bed.stop()).toEqual({ code: 0, signal: null });
    inNs(node.ns, PODNETD, ['teardown', '--lease-file', join(dir, 'lease.json'), '--log-level', 'warn']);
    expect(inNs(node.ns, 'ip', ['-o', 'link', 'show'])).not.toContain(DEVICE_NAMES[4]);
    expect(routes(node, ['proto', String(PODNET_ROUTE_PROTOCOL)])).toEqual([]);
    expect(existsSync(join(dir, 'lease.json'))).toBe(false);
  });
});
