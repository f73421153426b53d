// The host end of a pod's veth: named from (network, containerID, ifname) so DEL finds it without
// the pod netns (the reference uses a random name and can only find it through the netns), and
// marked with an ifalias naming its owner so DEL and GC never touch a link podnet did not create.
//
// The alias is `podnet:<network>:<containerID>:<ifname>` when that fits the kernel's 255 bytes
// (IFALIASZ); longer owners (both names are unbounded in the spec) get the digest form
// `podnet~<network digest>:<attachment digest>`, which still tells the network and the attachment
// apart without being able to spell them out.
import { sha256Hex } from './sha256.js';

export interface VethOwner {
  network: string;
  containerId: string;
  ifname: string;
}

/** Who owns a host veth, as its alias says: by name, or (long names) by digest only. */
export type VethOwnership =
  | { readonly form: 'named'; readonly owner: VethOwner; readonly digest: string }
  | { readonly form: 'digest'; readonly networkDigest: string; readonly digest: string };

const NAMED_PREFIX = 'podnet:';
const DIGEST_PREFIX = 'podnet~';
/** IFALIASZ is 256 including the terminating NUL. */
const MAX_ALIAS_BYTES = 255;
const NETWORK_DIGEST_HEX = 16;

/** SHA-256 (hex) of the attachment; the host veth name is its first 11 digits. */
export function attachmentDigest(owner: VethOwner): string {
  return sha256Hex(`${owner.network}\0${owner.containerId}\0${owner.ifname}`);
}

/** A short digest of the network name (attachment lock directories, digest-form aliases). */
export function networkDigest(network: string): string {
  return sha256Hex(`network\0${network}`).slice(0, NETWORK_DIGEST_HEX);
}

/** `veth` + 11 hex digits (44 bits of SHA-256): 15 characters, the kernel's limit. */
export function hostVethName(network: string, containerId: string, ifname: string): string {
  return `veth${attachmentDigest({ network, containerId, ifname }).slice(0, 11)}`;
}

/** The ifalias written on the host veth at ADD (see the file comment). Always ≤ 255 bytes. */
export function ownerAlias(owner: VethOwner): string {
  const named = `${NAMED_PREFIX}${owner.network}:${owner.containerId}:${owner.ifname}`;
  if (Buffer.byteLength(named) <= MAX_ALIAS_BYTES) return named;
  return `${DIGEST_PREFIX}${networkDigest(owner.network)}:${attachmentDigest(owner)}`;
}

/**
 * The ownership a host veth's name and ifalias prove, or undefined when the link is not a podnet
 * pod veth. The name must be the one the owner hashes to: an alias copied onto another link, or
 * edited by hand, does not make that link ours.
 */
export function parseOwnership(linkName: string, alias: string | undefined): VethOwnership | undefined {
  if (alias?.startsWith(NAMED_PREFIX)) {
    const parts = alias.slice(NAMED_PREFIX.length).split(':');
    if (parts.length !== 3) return undefined;
    const [network, containerId, ifname] = parts as [string, string, string];
    if (!network || !containerId || !ifname) return undefined;
    const owner = { network, containerId, ifname };
    const digest = attachmentDigest(owner);
    if (`veth${digest.slice(0, 11)}` !== linkName) return undefined;
    return { form: 'named', owner, digest };
  }
  if (alias?.startsWith(DIGEST_PREFIX)) {
    const match = /^([0-9a-f]{16}):([0-9a-f]{64})$/.exec(alias.slice(DIGEST_PREFIX.length));
    if (!match) return undefined;
    const [, net, digest] = match as unknown as [string, string, string];
    if (`veth${digest.slice(0, 11)}` !== linkName) return undefined;
    return { form: 'digest', networkDigest: net, digest };
  }
  return undefined;
}

/** The owner spelled out, when the alias has the named form. */
export function parseOwnerAlias(linkName: string, alias: string | undefined): VethOwner | undefined {
  const ownership = parseOwnership(linkName, alias);
  return ownership?.form === 'named' ? ownership.owner : undefined;
}

/** Does this veth belong to `network`? */
export function ownedByNetwork(ownership: VethOwnership, network: string): boolean {
  return ownership.form === 'named' ? ownership.owner.network === network : ownership.networkDigest === networkDigest(network);
}

/** Is this veth the host end of exactly this attachment? */
export function ownedBy(ownership: VethOwnership, owner: VethOwner): boolean {
  return ownership.digest === attachmentDigest(owner) && ownedByNetwork(ownership, owner.network);
}
