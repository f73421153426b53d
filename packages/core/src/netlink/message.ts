// Netlink framing, pure: nlmsghdr and attributes (TLVs), bytes in → plain data out.
// No I/O here; the socket (socket.ts) only moves the bytes these functions produce and parse.
import { NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK, NLMSG_HDRLEN } from './constants.js';

/** A request, before framing: the socket adds length, NLM_F_REQUEST|NLM_F_ACK, seq and port. */
export interface NlRequest {
  /** RTM_* message type. */
  readonly type: number;
  /** NLM_F_* flags besides REQUEST and ACK (CREATE, EXCL, REPLACE, DUMP…). */
  readonly flags: number;
  /** The payload after nlmsghdr: family header + attributes. */
  readonly body: Uint8Array;
  /** The object concerned, for error messages: `veth "eth0"`, `route 10.0.0.0/24 via 10.1.0.1`. */
  readonly what: string;
}

/** A received message. `body` is a view into the receive buffer: decode before the next recv. */
export interface NlMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  readonly body: Buffer;
}

export const align4 = (n: number): number => (n + 3) & ~3;

/** Frames one request: nlmsghdr (len, type, flags, seq, pid) + body. */
export function encodeMessage(req: Pick<NlRequest, 'type' | 'flags' | 'body'>, seq: number, pid = 0): Buffer {
  const len = NLMSG_HDRLEN + req.body.byteLength;
  const out = Buffer.alloc(align4(len));
  writeHeader(out, 0, len, req.type, req.flags, seq, pid);
  out.set(req.body, NLMSG_HDRLEN);
  return out;
}

export function writeHeader(buf: Buffer, off: number, len: number, type: number, flags: number, seq: number, pid: number): void {
  buf.writeUInt32LE(len, off);
  buf.writeUInt16LE(type, off + 4);
  buf.writeUInt16LE(flags, off + 6);
  buf.writeUInt32LE(seq >>> 0, off + 8);
  buf.writeUInt32LE(pid >>> 0, off + 12);
}

/** Splits one datagram into messages. Throws on a truncated or malformed frame. */
export function decodeMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) {
      throw new Error(`malformed netlink message at byte ${off}: length ${len}, datagram ${buf.length}`);
    }
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      body: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** Attributes of one level, by type (flags masked off). The first occurrence wins in `get`. */
export class Attrs {
  readonly #map = new Map<number, Buffer>();
  readonly #all: Array<readonly [number, Buffer]> = [];

  constructor(buf: Buffer, start = 0, end = buf.length) {
    let off = start;
    while (off + NLA_HDRLEN <= end) {
      const len = buf.readUInt16LE(off);
      if (len < NLA_HDRLEN || off + len > end) break; // the kernel never sends this; stop, don't throw
      const type = buf.readUInt16LE(off + 2) & NLA_TYPE_MASK;
      const data = buf.subarray(off + NLA_HDRLEN, off + len);
      if (!this.#map.has(type)) this.#map.set(type, data);
      this.#all.push([type, data]);
      off += align4(len);
    }
  }

  has(type: number): boolean {
    return this.#map.has(type);
  }
  get(type: number): Buffer | undefined {
    return this.#map.get(type);
  }
  /** Every attribute in order, for repeated types. */
  entries(): ReadonlyArray<readonly [number, Buffer]> {
    return this.#all;
  }
  u8(type: number): number | undefined {
    const b = this.#map.get(type);
    return b && b.length >= 1 ? b.readUInt8(0) : undefined;
  }
  u16(type: number): number | undefined {
    const b = this.#map.get(type);
    return b && b.length >= 2 ? b.readUInt16LE(0) : undefined;
  }
  u16be(type: number): number | undefined {
    const b = this.#map.get(type);
    return b && b.length >= 2 ? b.readUInt16BE(0) : undefined;
  }
  u32(type: number): number | undefined {
    const b = this.#map.get(type);
    return b && b.length >= 4 ? b.readUInt32LE(0) : undefined;
  }
  i32(type: number): number | undefined {
    const b = this.#map.get(type);
    return b && b.length >= 4 ? b.readInt32LE(0) : undefined;
  }
  /** A NUL-terminated string attribute. */
  str(type: number): string | undefined {
    const b = this.#map.get(type);
    if (!b) return undefined;
    const nul = b.indexOf(0);
    return b.toString('utf8', 0, nul < 0 ? b.length : nul);
  }
  nested(type: number): Attrs | undefined {
    const b = this.#map.get(type);
    return b ? new Attrs(b) : undefined;
  }
}

/**
 * Builds a message body: a fixed family header followed by attributes, growing as needed.
 * Nests are written by `nest(type, fn)`, which patches the nest's length afterwards.
 */
export class BodyWriter {
  #buf = Buffer.alloc(256);
  #len = 0;

  /** The fixed header (ifinfomsg, rtmsg…), already encoded. */
  raw(bytes: Uint8Array): this {
    this.#ensure(align4(bytes.byteLength));
    this.#buf.set(bytes, this.#len);
    this.#len += align4(bytes.byteLength);
    return this;
  }

  attr(type: number, data: Uint8Array): this {
    const len = NLA_HDRLEN + data.byteLength;
    this.#ensure(align4(len));
    this.#buf.writeUInt16LE(len, this.#len);
    this.#buf.writeUInt16LE(type, this.#len + 2);
    this.#buf.set(data, this.#len + NLA_HDRLEN);
    this.#len += align4(len); // padding bytes are already zero (alloc zero-fills, never reused)
    return this;
  }

  u8(type: number, v: number): this {
    return this.attr(type, Uint8Array.of(v));
  }
  u16(type: number, v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    return this.attr(type, b);
  }
  u16be(type: number, v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    return this.attr(type, b);
  }
  u32(type: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return this.attr(type, b);
  }
  i32(type: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    return this.attr(type, b);
  }
  /** A NUL-terminated string (NLA_NUL_STRING accepts only this; NLA_STRING accepts it too). */
  str(type: number, s: string): this {
    return this.attr(type, Buffer.from(`${s}\0`, 'utf8'));
  }
  /** A string without the NUL, as iproute2 sends IFLA_INFO_KIND (NLA_STRING). */
  chars(type: number, s: string): this {
    return this.attr(type, Buffer.from(s, 'utf8'));
  }

  /** A nested attribute. `nestedFlag` sets NLA_F_NESTED, which some parsers require (bridge protinfo). */
  nest(type: number, fn: (w: this) => void, nestedFlag = false): this {
    const start = this.#len;
    this.#ensure(NLA_HDRLEN);
    this.#len += NLA_HDRLEN;
    fn(this);
    this.#buf.writeUInt16LE(this.#len - start, start);
    this.#buf.writeUInt16LE(nestedFlag ? type | NLA_F_NESTED : type, start + 2);
    return this;
  }

  finish(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }

  #ensure(extra: number): void {
    if (this.#len + extra <= this.#buf.length) return;
    const next = Buffer.alloc(Math.max(this.#buf.length * 2, this.#len + extra));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }
}
