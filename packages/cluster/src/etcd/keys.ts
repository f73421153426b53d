// The etcd key layout (documented in the README), under a prefix (default /podnet/network):
//   <prefix>/config           → the NetworkConfig JSON (no lease)
//   <prefix>/leases/<node>    → the lease JSON (StoredLease), attached to the node's etcd lease
//   <prefix>/subnets/<cidr>   → the node name, one key per claimed subnet ("10.244.3.0-24",
//                               "fd00:10:244:3::-64"), attached to the same etcd lease
//   <prefix>/history/<node>   → {"ipv4","ipv6"}: the node's last subnets (no lease), so it gets
//                               them back after a release or an expiry when they are still free
// The subnet keys make "never one subnet to two nodes" a create-if-absent transaction
// (version == 0) per family; the lease key is what watchers watch.
import type { Lease, LeaseSubnets } from '../lease/types.js';

export class EtcdKeys {
  readonly root: string;
  constructor(prefix: string) {
    this.root = prefix.replace(/\/+$/, '');
  }

  get config(): string {
    return `${this.root}/config`;
  }
  get leasesPrefix(): string {
    return `${this.root}/leases/`;
  }
  get subnetsPrefix(): string {
    return `${this.root}/subnets/`;
  }
  lease(node: string): string {
    return `${this.leasesPrefix}${node}`;
  }
  history(node: string): string {
    return `${this.root}/history/${node}`;
  }
  subnet(cidr: string): string {
    return `${this.subnetsPrefix}${cidr.replace('/', '-')}`;
  }
  /** The CIDR of a subnet key (the last "-" separates the prefix length). */
  subnetOfKey(key: string): string {
    const name = key.slice(this.subnetsPrefix.length);
    const dash = name.lastIndexOf('-');
    return `${name.slice(0, dash)}/${name.slice(dash + 1)}`;
  }
  subnetKeys(subnets: LeaseSubnets): string[] {
    return [subnets.ipv4, subnets.ipv6].filter((s): s is string => s !== undefined).map((s) => this.subnet(s));
  }
}

/** What the lease key holds: the Lease minus its revision (etcd's mod_revision is that), plus the TTL. */
export interface StoredLease {
  node: string;
  nodeIps: string[];
  subnets: LeaseSubnets;
  backend: Lease['backend'];
  /** The expiry as of the last write; etcd's lease TTL is what actually expires it. */
  expiresAt: number;
  ttlMs: number;
}

export function toStored(lease: Lease, ttlMs: number): StoredLease {
  return { node: lease.node, nodeIps: lease.nodeIps, subnets: lease.subnets, backend: lease.backend, expiresAt: lease.expiresAt, ttlMs };
}

/** The Lease a stored value and its key's mod_revision stand for; undefined for a damaged value. */
export function fromStored(value: Buffer | string | undefined, modRevision: string | number | undefined): (Lease & { ttlMs: number }) | undefined {
  if (value === undefined) return undefined;
  try {
    const s = JSON.parse(value.toString()) as StoredLease;
    if (typeof s.node !== 'string' || typeof s.subnets !== 'object' || s.subnets === null) return undefined;
    return {
      node: s.node,
      nodeIps: s.nodeIps ?? [],
      subnets: s.subnets,
      backend: s.backend,
      expiresAt: s.expiresAt,
      revision: Number(modRevision ?? 0),
      ttlMs: s.ttlMs,
    };
  } catch {
    return undefined;
  }
}

/** A Lease without the store-internal ttlMs. */
export function publicLease(lease: Lease & { ttlMs?: number }): Lease {
  const { ttlMs: _ttl, ...rest } = lease;
  return rest;
}
