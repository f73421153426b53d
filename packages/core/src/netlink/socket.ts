// A NETLINK_ROUTE socket over libc (FFI). Synchronous: the kernel answers rtnetlink requests
// before send() returns, so each call is send → recv until the matching ack, with no event loop
// round trip. The socket keeps the namespace it was opened in, so one opened for a pod's netns
// can be used after the thread has left that netns.
import { AF_NETLINK, MSG_TRUNC, SOCK_CLOEXEC, SOCK_RAW, SOL_SOCKET, SO_RCVBUF, close, recv, send, setsockoptInt, socket } from '../libc/index.js';
import type { LibcError } from '../libc/index.js';
import type { NetNS } from '../netns/index.js';
import { decodeDone, decodeError } from './ack.js';
import {
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  NETLINK_ROUTE,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  SOL_NETLINK,
} from './constants.js';
import { NetlinkBatchError, NetlinkError } from './error.js';
import { align4, decodeMessages, writeHeader } from './message.js';
import type { NlMessage, NlRequest } from './message.js';

/** What the request helpers (link.ts, route.ts…) need from a socket; a fake can stand in. */
export interface NetlinkConn {
  /** One request with ACK; returns the replies (for GET), throws NetlinkError. */
  request(req: NlRequest): NlMessage[];
  /** A dump; returns every message of it. */
  dump(req: NlRequest): NlMessage[];
  /** Several requests in as few syscalls as possible; throws NetlinkBatchError if any failed. */
  batch(reqs: readonly NlRequest[]): void;
  /** Like batch, but returns each request's error (or undefined) instead of throwing. */
  batchSettled(reqs: readonly NlRequest[]): Array<NetlinkError | undefined>;
}

export interface NetlinkSocketOptions {
  /** Open the socket inside this namespace (then switch the thread back). Default: the current one. */
  netns?: NetNS;
  /** SO_RCVBUF in bytes, for large dumps or batches (the default, ~208 KiB, suits a CNI call). */
  receiveBufferSize?: number;
}

const RECV_SIZE = 64 * 1024; // the kernel fills dump datagrams up to 32 KiB
const BATCH_BYTES = 32 * 1024; // per send(): keeps the acks of one chunk well inside the receive buffer
const BATCH_COUNT = 128;
const DUMP_ATTEMPTS = 5;

export class NetlinkSocket implements NetlinkConn {
  #fd: number;
  #seq: number;
  readonly #rbuf = Buffer.allocUnsafe(RECV_SIZE);
  /** Appended to error subjects: ` in netns "/run/netns/x"`. */
  readonly #where: string;

  private constructor(fd: number, where: string) {
    this.#fd = fd;
    this.#where = where;
    // Start from a time-derived seq so a reused fd number never matches stale replies.
    this.#seq = (Date.now() & 0x3fffffff) + 1;
  }

  static open(options: NetlinkSocketOptions = {}): NetlinkSocket {
    const { netns } = options;
    const fd = netns ? netns.run(openRoute) : openRoute();
    try {
      // Errors name the offending attribute and say why; acks do not echo the whole request;
      // dump requests are checked strictly, so their filters (table, protocol, ifindex) apply.
      // Kernels older than 4.12 / 4.20 lack EXT_ACK / STRICT_CHK (ENOPROTOOPT): errors then
      // carry no kernel text and dumps are filtered here only, which the read helpers do anyway.
      for (const [opt, name] of [
        [NETLINK_EXT_ACK, 'NETLINK_EXT_ACK'],
        [NETLINK_CAP_ACK, 'NETLINK_CAP_ACK'],
        [NETLINK_GET_STRICT_CHK, 'NETLINK_GET_STRICT_CHK'],
      ] as const) {
        try {
          setsockoptInt(fd, SOL_NETLINK, opt, 1, name);
        } catch (err) {
          if ((err as LibcError).code !== 'ENOPROTOOPT') throw err;
        }
      }
      if (options.receiveBufferSize) setsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, options.receiveBufferSize, 'SO_RCVBUF');
    } catch (err) {
      close(fd);
      throw err;
    }
    return new NetlinkSocket(fd, netns ? ` in netns "${netns.path}"` : '');
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  request(req: NlRequest): NlMessage[] {
    const seq = this.#nextSeq();
    this.#send(frame([req], seq, NLM_F_REQUEST | NLM_F_ACK));
    const replies: NlMessage[] = [];
    this.#receive((m) => {
      if (m.seq !== seq) return false;
      if (m.type === NLMSG_ERROR) {
        const ack = decodeError(m);
        if (ack.errno !== 0) throw NetlinkError.from(ack, this.#subject(req));
        return true;
      }
      replies.push(m);
      return false;
    });
    return replies;
  }

  dump(req: NlRequest): NlMessage[] {
    for (let attempt = 1; ; attempt++) {
      const seq = this.#nextSeq();
      this.#send(frame([req], seq, NLM_F_REQUEST | NLM_F_DUMP));
      const out: NlMessage[] = [];
      let interrupted = false;
      this.#receive((m) => {
        if (m.seq !== seq) return false;
        if (m.flags & NLM_F_DUMP_INTR) interrupted = true;
        if (m.type === NLMSG_DONE || m.type === NLMSG_ERROR) {
          const ack = m.type === NLMSG_DONE ? decodeDone(m) : decodeError(m);
          if (ack.errno !== 0) throw NetlinkError.from(ack, this.#subject(req));
          return true;
        }
        out.push(m);
        return false;
      });
      // The kernel flags a dump that raced with a change; a retry gives a consistent view.
      if (!interrupted || attempt >= DUMP_ATTEMPTS) return out;
    }
  }

  batch(reqs: readonly NlRequest[]): void {
    const results = this.batchSettled(reqs);
    const firstIndex = results.findIndex((r) => r !== undefined);
    if (firstIndex >= 0) throw new NetlinkBatchError(results, results[firstIndex] as NetlinkError, firstIndex);
  }

  batchSettled(reqs: readonly NlRequest[]): Array<NetlinkError | undefined> {
    const results = new Array<NetlinkError | undefined>(reqs.length).fill(undefined);
    for (let start = 0; start < reqs.length; ) {
      // One send() per chunk; the kernel handles each message in order and acks each one,
      // continuing after a failure, so every request gets its own result.
      let end = start;
      let bytes = 0;
      while (end < reqs.length && end - start < BATCH_COUNT) {
        const size = align4(NLMSG_HDRLEN + (reqs[end] as NlRequest).body.byteLength);
        if (end > start && bytes + size > BATCH_BYTES) break;
        bytes += size;
        end++;
      }
      const chunk = reqs.slice(start, end);
      const firstSeq = this.#nextSeq(chunk.length);
      this.#send(frame(chunk, firstSeq, NLM_F_REQUEST | NLM_F_ACK));
      let pending = chunk.length;
      this.#receive((m) => {
        const i = (m.seq - firstSeq) >>> 0;
        if (m.type !== NLMSG_ERROR || i >= chunk.length) return false;
        const ack = decodeError(m);
        if (ack.errno !== 0) results[start + i] = NetlinkError.from(ack, this.#subject(chunk[i] as NlRequest));
        return --pending === 0;
      });
      start = end;
    }
    return results;
  }

  /** Closes the socket. Idempotent. */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    close(fd);
  }

  #nextSeq(count = 1): number {
    const s = this.#seq;
    this.#seq = (this.#seq + count) >>> 0 || 1;
    return s;
  }

  #subject(req: NlRequest): Pick<NlRequest, 'type' | 'what'> {
    return { type: req.type, what: req.what + this.#where };
  }

  #send(buf: Buffer): void {
    if (this.#fd < 0) throw new Error('netlink socket is closed');
    const n = send(this.#fd, buf);
    if (n !== buf.length) throw new Error(`netlink send: short write ${n} of ${buf.length} bytes`);
  }

  /** Receives datagrams and hands each message to `onMessage` until it returns true. */
  #receive(onMessage: (m: NlMessage) => boolean): void {
    for (;;) {
      const n = recv(this.#fd, this.#rbuf, MSG_TRUNC);
      if (n > this.#rbuf.length) throw new Error(`netlink datagram of ${n} bytes exceeds the ${this.#rbuf.length}-byte receive buffer`);
      // Copy out of the shared buffer: callers may keep messages across later receives.
      for (const m of decodeMessages(Buffer.from(this.#rbuf.subarray(0, n)))) {
        if (m.type === NLMSG_NOOP) continue;
        if (m.type === NLMSG_OVERRUN) throw new Error('netlink overrun: the kernel dropped messages');
        if (onMessage(m)) return;
      }
    }
  }
}

function openRoute(): number {
  return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
}

/** Frames consecutive requests into one buffer with seq, seq+1, … */
function frame(reqs: readonly NlRequest[], firstSeq: number, baseFlags: number): Buffer {
  let total = 0;
  for (const r of reqs) total += align4(NLMSG_HDRLEN + r.body.byteLength);
  const buf = Buffer.alloc(total);
  let off = 0;
  reqs.forEach((r, i) => {
    const len = NLMSG_HDRLEN + r.body.byteLength;
    writeHeader(buf, off, len, r.type, r.flags | baseFlags, firstSeq + i, 0);
    buf.set(r.body, off + NLMSG_HDRLEN);
    off += align4(len);
  });
  return buf;
}
