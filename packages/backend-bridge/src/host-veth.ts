// The host end of a pod's veth: named from (network, containerID, ifname) so DEL finds it without
// the pod netns (the reference uses a random name and can only find it through the netns), and
// marked with an ifalias naming its owner so GC can tell this network's veths from any other.
import { sha256Hex } from './sha256.js';

/** `veth` + 11 hex digits (44 bits of SHA-256): 15 characters, the kernel's limit. */
export function hostVethName(network: string, containerId: string, ifname: string): string {
  return `veth${sha256Hex(`${network}\0${containerId}\0${ifname}`).slice(0, 11)}`;
}

export interface VethOwner {
  network: string;
  containerId: string;
  ifname: string;
}

const ALIAS_PREFIX = 'podnet:';

/**
 * The ifalias written on the host veth at ADD: `podnet:<network>:<containerID>:<ifname>`.
 * None of the three may contain ':' (spec name rules and the ifname rules), so it splits back.
 */
export function ownerAlias(owner: VethOwner): string {
  return `${ALIAS_PREFIX}${owner.network}:${owner.containerId}:${owner.ifname}`;
}

/**
 * The owner of a host veth from its name and ifalias, or undefined when the link is not a podnet
 * pod veth. The name must be the one the owner hashes to: an alias copied onto another link, or
 * edited by hand, does not make that link ours.
 */
export function parseOwnerAlias(linkName: string, alias: string | undefined): VethOwner | undefined {
  if (!alias?.startsWith(ALIAS_PREFIX)) return undefined;
  const parts = alias.slice(ALIAS_PREFIX.length).split(':');
  if (parts.length !== 3) return undefined;
  const [network, containerId, ifname] = parts as [string, string, string];
  if (!network || !containerId || !ifname) return undefined;
  if (hostVethName(network, containerId, ifname) !== linkName) return undefined;
  return { network, containerId, ifname };
}
