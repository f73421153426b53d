// Network namespace IDs (RTM_GETNSID): the number a namespace gives another one it sees, which is
// what a veth's IFLA_LINK_NETNSID holds for its peer's namespace. Asking for the ID of an open
// namespace file (NETNSA_FD) tells exactly which file is that peer's namespace, where matching
// interface indexes alone could be fooled by an unrelated namespace with the same numbers.
import { Attrs, BodyWriter } from './message.js';
import type { NlRequest } from './message.js';
import type { NetlinkConn } from './socket.js';

const RTM_NEWNSID = 88;
const RTM_GETNSID = 90;
const NETNSA_NSID = 1;
const NETNSA_FD = 3;
/** struct rtgenmsg (one byte: the family), padded to 4. */
const RTGENMSG = new Uint8Array(4);

export function nsidGet(fd: number): NlRequest {
  const body = new BodyWriter().raw(RTGENMSG).u32(NETNSA_FD, fd).finish();
  return { type: RTM_GETNSID, flags: 0, body, what: `nsid of netns fd ${fd}` };
}

/**
 * The ID the socket's namespace gives the namespace open at `fd`, or undefined when it has none
 * (NETNSA_NSID_NOT_ASSIGNED: no link of this namespace refers to that one).
 */
export function nsidOf(conn: NetlinkConn, fd: number): number | undefined {
  for (const m of conn.request(nsidGet(fd))) {
    if (m.type !== RTM_NEWNSID) continue;
    const id = new Attrs(m.body, 4).i32(NETNSA_NSID);
    return id === undefined || id < 0 ? undefined : id;
  }
  return undefined;
}
