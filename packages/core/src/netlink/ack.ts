// NLMSG_ERROR (acks and errors) and NLMSG_DONE, including extended ack TLVs (NETLINK_EXT_ACK).
import { NLMSGERR_ATTR_MISS_TYPE, NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSG_HDRLEN } from './constants.js';
import { Attrs, align4 } from './message.js';
import type { NlMessage } from './message.js';

export interface Ack {
  /** 0 for an ack, else the positive errno. */
  readonly errno: number;
  /** The kernel's explanation (NLMSGERR_ATTR_MSG), e.g. "Nexthop device is not up". */
  readonly message?: string;
  /** Byte offset of the offending attribute inside the request (NLMSGERR_ATTR_OFFS). */
  readonly offset?: number;
  /** Type of a missing required attribute (NLMSGERR_ATTR_MISS_TYPE). */
  readonly missingType?: number;
}

/**
 * Decodes the body of NLMSG_ERROR: `int error; struct nlmsghdr msg;` then the echoed request
 * payload unless capped (NETLINK_CAP_ACK), then the TLVs when NLM_F_ACK_TLVS is set.
 */
export function decodeError(msg: NlMessage): Ack {
  const b = msg.body;
  if (b.length < 4) throw new Error(`short NLMSG_ERROR (${b.length} bytes)`);
  const errno = -b.readInt32LE(0) | 0; // `| 0`: an ack is 0, not -0
  let tlvStart = 4 + NLMSG_HDRLEN;
  if (!(msg.flags & NLM_F_CAPPED) && b.length >= 4 + NLMSG_HDRLEN) tlvStart = 4 + align4(b.readUInt32LE(4));
  return { errno, ...(msg.flags & NLM_F_ACK_TLVS ? extAck(b, tlvStart) : {}) };
}

/** NLMSG_DONE carries `int error` (a dump that failed midway) and may carry TLVs after it. */
export function decodeDone(msg: NlMessage): Ack {
  const b = msg.body;
  const errno = b.length >= 4 ? -b.readInt32LE(0) | 0 : 0;
  return { errno, ...(msg.flags & NLM_F_ACK_TLVS ? extAck(b, 4) : {}) };
}

function extAck(b: Buffer, start: number): Omit<Ack, 'errno'> {
  if (start >= b.length) return {};
  const a = new Attrs(b, start);
  const message = a.str(NLMSGERR_ATTR_MSG);
  const offset = a.u32(NLMSGERR_ATTR_OFFS);
  const missingType = a.u32(NLMSGERR_ATTR_MISS_TYPE);
  return {
    ...(message !== undefined && message !== '' ? { message } : {}),
    ...(offset !== undefined ? { offset } : {}),
    ...(missingType !== undefined ? { missingType } : {}),
  };
}
