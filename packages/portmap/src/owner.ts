// Who holds a host port: the attachment (network, containerID, ifname), written into every nft
// element as its comment so DEL, GC, CHECK and a conflict message find it without other state.
//
//   comment = "<network part>|<attachment part>"
//     network part    = the network name, or "#" + digest when it is long or needs quoting
//     attachment part = "<containerID>/<ifname>", or "#" + digest likewise
//
// DEL matches the attachment part only, so a network renamed between ADD and DEL still cleans up
// (reference portmap #752: its chain name hashes the network name). GC matches the network part:
// the table is node-wide, and `cni.dev/valid-attachments` lists one network's attachments only.
// Digest: FNV-1a 64 (names, not security: importing node:crypto costs start-up time in a compiled
// plugin, and a collision of two attachment digests would need ~2^32 attachments on one node).

export interface Attachment {
  network: string;
  containerId: string;
  ifname: string;
}

/** nft comments are at most 128 bytes (NFT_USERDATA_MAXLEN 256, nft's own limit 128). */
const MAX_COMMENT = 127;
const SAFE = /^[a-zA-Z0-9_.@+:-]+$/;
const MAX_NETWORK_PART = 46;

export function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  const bytes = new TextEncoder().encode(text);
  for (const b of bytes) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

export function networkPart(network: string): string {
  return network.length <= MAX_NETWORK_PART && SAFE.test(network) && !network.includes('|') ? network : `#${fnv1a64(`net\0${network}`)}`;
}

export function attachmentPart(a: Pick<Attachment, 'containerId' | 'ifname'>): string {
  const plain = `${a.containerId}/${a.ifname}`;
  return plain.length <= MAX_COMMENT - MAX_NETWORK_PART - 2 && SAFE.test(a.containerId) && SAFE.test(a.ifname)
    ? plain
    : `#${fnv1a64(`att\0${a.containerId}\0${a.ifname}`)}`;
}

export function ownerComment(a: Attachment): string {
  return `${networkPart(a.network)}|${attachmentPart(a)}`;
}

export interface ParsedComment {
  network: string;
  attachment: string;
}

export function parseComment(comment: string | undefined): ParsedComment | undefined {
  if (comment === undefined) return undefined;
  const bar = comment.indexOf('|');
  if (bar <= 0 || bar === comment.length - 1) return undefined;
  return { network: comment.slice(0, bar), attachment: comment.slice(bar + 1) };
}

/** For messages: `container 1234…/eth0 of network "podnet"`. */
export function describeHolder(comment: string | undefined): string {
  const p = parseComment(comment);
  if (!p) return comment === undefined ? "an element without an owner comment (not podnet's)" : `owner "${comment}"`;
  const who = p.attachment.startsWith('#') ? `attachment ${p.attachment}` : `container ${p.attachment.replace('/', ', ifname ')}`;
  const net = p.network.startsWith('#') ? `network ${p.network}` : `network "${p.network}"`;
  return `${who} (${net})`;
}
