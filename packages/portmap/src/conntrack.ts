// Flush the UDP conntrack entries of a new UDP host port. A UDP "flow" that existed before the
// mapping (a client sending to node:port every second, answered by nothing or by a host
// process) would keep its old conntrack entry forever and never be DNATed; the reference flushes
// too. ctnetlink directly (NETLINK_NETFILTER): one dump filtered by the kernel on protocol and
// destination port (CTA_FILTER, Linux ≥ 5.8), then a delete per entry found, all in this process
// (the `conntrack` tool would be one more process per call).
import { AF_NETLINK, SOCK_CLOEXEC, SOCK_RAW, close, recv, send, socket } from '@podnet/core/libc';
import { Attrs, BodyWriter, decodeMessages, encodeMessage } from '@podnet/core/netlink';

const NETLINK_NETFILTER = 12;
const NFNL_SUBSYS_CTNETLINK = 1;
const IPCTNL_MSG_CT_GET = 1;
const IPCTNL_MSG_CT_DELETE = 2;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_DUMP = 0x300;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const CTA_TUPLE_ORIG = 1;
const CTA_ZONE = 18;
const CTA_FILTER = 25;
const CTA_TUPLE_PROTO = 2;
const CTA_PROTO_NUM = 1;
const CTA_PROTO_DST_PORT = 3;
const CTA_FILTER_ORIG_FLAGS = 1;
const CTA_FILTER_REPLY_FLAGS = 2;
const FILTER_PROTO_NUM = 1 << 3;
const IPPROTO_UDP = 17;
const NLA_F_NESTED = 0x8000;
const ENOENT = 2;
const AF_INET = 2;
const AF_INET6 = 10;

function nfgenmsg(family: number): Uint8Array {
  return Uint8Array.of(family, 0, 0, 0);
}

/**
 * Delete every UDP conntrack entry whose original destination port is one of `ports`, for the
 * address families given, in the netns the calling thread is in. Returns how many were deleted.
 * Each dump walks the kernel's whole conntrack hash (shared by all namespaces; ~10 ms with 256k
 * buckets), so there is one dump per family, filtered on UDP by the kernel and on the ports here.
 */
export function flushUdpConntrack(ports: readonly number[], families: ReadonlyArray<4 | 6> = [4, 6]): number {
  if (ports.length === 0) return 0;
  const fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  const buf = Buffer.allocUnsafe(64 * 1024);
  let seq = (Date.now() & 0x3fffffff) + 1;
  let deleted = 0;
  try {
    const wanted = new Set(ports);
    // One dump per family: the kernel refuses a filtered dump of AF_UNSPEC (EOPNOTSUPP).
    for (const family of families.map((f) => (f === 4 ? AF_INET : AF_INET6))) {
      const body = new BodyWriter()
        .raw(nfgenmsg(family))
        .nest(CTA_TUPLE_ORIG, (w) => w.nest(CTA_TUPLE_PROTO, (p) => p.u8(CTA_PROTO_NUM, IPPROTO_UDP), true), true)
        .nest(CTA_FILTER, (w) => w.u32(CTA_FILTER_ORIG_FLAGS, FILTER_PROTO_NUM).u32(CTA_FILTER_REPLY_FLAGS, 0), true)
        .finish();
      const dumpSeq = seq++;
      send(fd, encodeMessage({ type: (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET, flags: NLM_F_REQUEST | NLM_F_DUMP, body }, dumpSeq));
      const victims: Array<{ family: number; tuple: Buffer; zone: Buffer | undefined }> = [];
      for (let done = false; !done; ) {
        const n = recv(fd, buf);
        for (const m of decodeMessages(buf.subarray(0, n))) {
          if (m.seq !== dumpSeq) continue;
          if (m.type === NLMSG_DONE) done = true;
          else if (m.type === NLMSG_ERROR) {
            const errno = -m.body.readInt32LE(0);
            if (errno !== 0) throw Object.assign(new Error(`conntrack dump of udp (family ${family}) failed: errno ${errno}`), { errno });
            done = true;
          } else {
            const attrs = new Attrs(m.body, 4);
            const tuple = attrs.get(CTA_TUPLE_ORIG);
            // The same filter again, in case an old kernel ignored CTA_FILTER and dumped everything.
            const proto = tuple ? new Attrs(tuple).nested(CTA_TUPLE_PROTO) : undefined;
            const dport = proto?.u16be(CTA_PROTO_DST_PORT);
            if (!tuple || proto?.u8(CTA_PROTO_NUM) !== IPPROTO_UDP || dport === undefined || !wanted.has(dport)) continue;
            victims.push({ family: m.body.readUInt8(0), tuple: Buffer.from(tuple), zone: attrs.get(CTA_ZONE) ? Buffer.from(attrs.get(CTA_ZONE)!) : undefined });
          }
        }
      }
      for (const v of victims) {
        const w = new BodyWriter().raw(nfgenmsg(v.family)).attr(CTA_TUPLE_ORIG | NLA_F_NESTED, v.tuple);
        if (v.zone) w.attr(CTA_ZONE, v.zone);
        const delSeq = seq++;
        send(fd, encodeMessage({ type: (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE, flags: NLM_F_REQUEST | NLM_F_ACK, body: w.finish() }, delSeq));
        for (let acked = false; !acked; ) {
          const n = recv(fd, buf);
          for (const m of decodeMessages(buf.subarray(0, n))) {
            if (m.seq !== delSeq || m.type !== NLMSG_ERROR) continue;
            acked = true;
            const errno = -m.body.readInt32LE(0);
            if (errno === 0) deleted++;
            else if (errno !== ENOENT) throw Object.assign(new Error(`conntrack delete failed: errno ${errno}`), { errno });
          }
        }
      }
    }
  } finally {
    close(fd);
  }
  return deleted;
}
