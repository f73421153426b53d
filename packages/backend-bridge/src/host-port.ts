// The host end of a pod's veth as a bridge port: port options (hairpin, access VLAN), deletion
// by name (idempotent), and finding this network's ports by their owner alias (GC).
import { CniError, ErrorCode } from '@podnet/core/cni';
import { bridgePortSet, bridgeVlanAdd, bridgeVlanDel, getLink, linkDel, listLinks } from '@podnet/core/netlink';
import type { Link, NlRequest } from '@podnet/core/netlink';
import type { HostSide } from './host.js';
import type { LinkReaper } from './link-reaper.js';
import { ownedBy, parseOwnership } from './host-veth.js';
import type { VethOwner, VethOwnership } from './host-veth.js';
/** The bridge's default VLAN, which a port leaves when it gets its own access VLAN. */
const DEFAULT_VLAN = 1;

export interface PortOptions {
  hairpin: boolean;
  /** Access VLAN (PVID, untagged); the port leaves the default VLAN 1. */
  vlan?: number;
}

/** Port options of the host veth (already enslaved and up at creation). One batch, or nothing. */
export function configureHostPort(host: HostSide, port: Link, options: PortOptions): void {
  const reqs: NlRequest[] = [];
  if (options.hairpin) reqs.push(bridgePortSet(port.index, { hairpin: true }));
  if (options.vlan !== undefined) {
    reqs.push(bridgeVlanAdd(port.index, { vid: options.vlan, pvid: true, untagged: true }), bridgeVlanDel(port.index, DEFAULT_VLAN));
  }
  if (reqs.length > 0) host.nl.batch(reqs);
}

/** Delete a host veth by name (its pod end goes with it). Succeeds when it does not exist. */
export function deleteHostVeth(host: HostSide, name: string): void {
  deleteLink(host, name);
}

function deleteLink(host: HostSide, nameOrIndex: string | number): void {
  try {
    host.nl.request(linkDel(nameOrIndex));
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ENODEV') throw err;
  }
}

/**
 * DEL: delete the attachment's host veth only when its name and owner alias say it is this
 * attachment's; a link podnet did not create (same name, no or another alias) is left alone and
 * reported. 'absent' when there is nothing to delete.
 */
export function deleteOwnedHostVeth(host: HostSide, name: string, owner: VethOwner): 'deleted' | 'absent' | 'foreign' {
  const found = ownedHostVeth(host, name, owner);
  if (typeof found !== 'number') return found;
  deleteLink(host, found);
  return 'deleted';
}

/** deleteOwnedHostVeth through `reaper` when given (a daemon's coalesced deletions). */
export async function removeOwnedHostVeth(
  host: HostSide,
  name: string,
  owner: VethOwner,
  reaper: LinkReaper | undefined,
): Promise<'deleted' | 'absent' | 'foreign'> {
  if (!reaper) return deleteOwnedHostVeth(host, name, owner);
  const found = ownedHostVeth(host, name, owner);
  if (typeof found !== 'number') return found;
  await reaper.delete(found);
  return 'deleted';
}

/** The host veth's ifindex when it is this attachment's. */
function ownedHostVeth(host: HostSide, name: string, owner: VethOwner): number | 'absent' | 'foreign' {
  const link = getLink(host.nl, name);
  if (!link) return 'absent';
  const ownership = link.kind === 'veth' ? parseOwnership(link.name, link.alias) : undefined;
  if (!ownership || !ownedBy(ownership, owner)) return 'foreign';
  return link.index;
}

/** Delete a veth GC found to be ours, through `reaper` when given. */
export async function removeHostVeth(host: HostSide, veth: OwnedVeth, reaper: LinkReaper | undefined): Promise<void> {
  if (reaper) await reaper.delete(veth.index);
  else deleteLink(host, veth.index);
}

/** Why a host link with the attachment's name blocks an ADD, or undefined when there is none. */
export function hostVethConflict(host: HostSide, name: string, owner: VethOwner): CniError | undefined {
  const link = getLink(host.nl, name);
  if (!link) return undefined;
  const ownership = link.kind === 'veth' ? parseOwnership(link.name, link.alias) : undefined;
  if (ownership && ownedBy(ownership, owner)) {
    // Its pod end is alive (a veth pair dies with either end's netns) and not in this CNI_NETNS
    // under CNI_IFNAME: the attachment is live elsewhere. Taking it would cut the first pod off.
    return new CniError(
      ErrorCode.InvalidEnvironment,
      `container ${owner.containerId} interface ${owner.ifname} is already attached to network "${owner.network}" in another network namespace (host veth ${name})`,
      "CNI_NETNS differs from the live attachment's: DEL the existing attachment first",
    );
  }
  return new CniError(
    ErrorCode.InvalidEnvironment,
    `host link "${name}" exists but was not created by podnet for container ${owner.containerId} interface ${owner.ifname}`,
    `its alias is ${link.alias === undefined ? 'empty' : JSON.stringify(link.alias)}; podnet never deletes a link it does not own: remove it by hand if it is a leftover`,
  );
}

export interface OwnedVeth {
  name: string;
  index: number;
  ownership: VethOwnership;
}

/** Every veth on the node carrying a podnet owner alias that matches its name. */
export function listPodVeths(host: HostSide): OwnedVeth[] {
  const out: OwnedVeth[] = [];
  for (const link of listLinks(host.nl, { kind: 'veth' })) {
    const ownership = parseOwnership(link.name, link.alias);
    if (ownership) out.push({ name: link.name, index: link.index, ownership });
  }
  return out;
}

/** CHECK: the host veth exists, is a port of `bridge`, and is the peer of the pod interface. */
export function checkHostPort(host: HostSide, name: string, bridge: Link, podLink: Link): Link {
  const link = getLink(host.nl, name);
  if (!link) throw new CniError(ErrorCode.Internal, `host veth "${name}" does not exist`);
  if (link.kind !== 'veth') throw new CniError(ErrorCode.Internal, `host link "${name}" is a ${link.kind ?? 'device'}, not a veth`);
  if (link.master !== bridge.index) {
    throw new CniError(
      ErrorCode.Internal,
      `host veth "${name}" is not a port of bridge "${bridge.name}"`,
      `its master is ${link.master === undefined ? 'none' : `#${link.master}`}`,
    );
  }
  // Each end's IFLA_LINK is the other's ifindex (in its own netns).
  if (link.parent !== podLink.index || podLink.parent !== link.index) {
    throw new CniError(ErrorCode.Internal, `host veth "${name}" is not the peer of pod interface "${podLink.name}"`);
  }
  return link;
}
