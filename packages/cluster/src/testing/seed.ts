// Test and benchmark support: many leases at once (the convergence benchmark's "5,000 peers
// appear"), with distinct subnets taken in order from each family's range.
import { familyRanges } from '../config/network-config.js';
import type { NetworkConfig } from '../config/network-config.js';
import type { Lease, LeaseStore, LeaseSubnets } from '../lease/types.js';
import { subnetAt, subnetCount } from '../subnet/pick.js';

export type SeedLease = Omit<Lease, 'revision' | 'expiresAt'> & { ttlMs: number };

export interface MakeLeasesOptions {
  /** Node names are `<prefix><i>` (default "pnc-peer-"). */
  prefix?: string;
  /** Default 1 hour. */
  ttlMs?: number;
  /** Index of the first subnet used (default 0 = SubnetMin). */
  firstIndex?: number;
  /** Node address of peer i (default 198.18.x.y, the benchmarking range, and fd00:198:18::i). */
  nodeIps?: (i: number) => string[];
}

export function makeLeases(config: NetworkConfig, count: number, options: MakeLeasesOptions = {}): SeedLease[] {
  const ranges = familyRanges(config);
  const first = BigInt(options.firstIndex ?? 0);
  for (const range of ranges) {
    if (first + BigInt(count) > subnetCount(range)) throw new Error(`makeLeases: ${count} leases do not fit the IPv${range.family} range`);
  }
  const nodeIps = options.nodeIps ?? ((i: number) => [`198.18.${(i >> 8) & 255}.${i & 255}`]);
  return Array.from({ length: count }, (_, i) => {
    const subnets: LeaseSubnets = {};
    for (const range of ranges) subnets[range.family === 4 ? 'ipv4' : 'ipv6'] = subnetAt(range, first + BigInt(i));
    return {
      node: `${options.prefix ?? 'pnc-peer-'}${i}`,
      nodeIps: nodeIps(i),
      subnets,
      backend: { type: config.Backend.Type },
      ttlMs: options.ttlMs ?? 3_600_000,
    };
  });
}

/** Writes the leases: local in one commit; etcd in transactions of at most 120 operations. */
export async function seedLeases(store: LeaseStore, leases: readonly SeedLease[]): Promise<void> {
  if (store.kind === 'local') {
    const { LocalLeaseStore } = await import('../local/local-store.js');
    if (!(store instanceof LocalLeaseStore)) throw new Error('seedLeases: not a LocalLeaseStore');
    await store.seed(leases);
    return;
  }
  const { EtcdLeaseStore } = await import('../etcd/etcd-store.js');
  if (!(store instanceof EtcdLeaseStore)) throw new Error(`seedLeases: unknown store kind ${store.kind}`);
  const client = store.client;
  const ttlMs = Math.max(...leases.map((lease) => lease.ttlMs), 1_000);
  const grant = await client.leaseClient.leaseGrant({ TTL: Math.ceil(ttlMs / 1_000), ID: 0 });
  const now = Date.now();
  let ops: ReturnType<typeof client.put>[] = [];
  const flush = async (): Promise<void> => {
    if (ops.length === 0) return;
    const batch = ops;
    ops = [];
    await client
      .if(store.keys.config, 'Version', '>', -1)
      .then(...batch)
      .commit();
  };
  for (const lease of leases) {
    const keys = store.keys.subnetKeys(lease.subnets);
    if (ops.length + keys.length + 1 > 120) await flush();
    const value = {
      node: lease.node,
      nodeIps: lease.nodeIps,
      subnets: lease.subnets,
      backend: lease.backend,
      expiresAt: now + lease.ttlMs,
      ttlMs: lease.ttlMs,
    };
    ops.push(client.put(store.keys.lease(lease.node)).value(JSON.stringify(value)).lease(grant.ID));
    for (const key of keys) ops.push(client.put(key).value(lease.node).lease(grant.ID));
  }
  await flush();
}
