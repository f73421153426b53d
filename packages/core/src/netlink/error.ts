import { errnoMessage, errnoName } from '../libc/errno.js';
import type { Ack } from './ack.js';
import type { NlRequest } from './message.js';

const TYPE_NAMES: Record<number, string> = {
  16: 'RTM_NEWLINK',
  17: 'RTM_DELLINK',
  18: 'RTM_GETLINK',
  19: 'RTM_SETLINK',
  20: 'RTM_NEWADDR',
  21: 'RTM_DELADDR',
  22: 'RTM_GETADDR',
  24: 'RTM_NEWROUTE',
  25: 'RTM_DELROUTE',
  26: 'RTM_GETROUTE',
  28: 'RTM_NEWNEIGH',
  29: 'RTM_DELNEIGH',
  30: 'RTM_GETNEIGH',
};

export function messageTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `message type ${type}`;
}

/**
 * A request the kernel refused. Reads like `RTM_NEWLINK veth "eth0": EEXIST (File exists)`,
 * followed by the kernel's own explanation when it gave one (extended ack).
 * `code` is the errno name, as on Node's system errors, so `err.code === 'EEXIST'` works.
 */
export class NetlinkError extends Error {
  override readonly name: string = 'NetlinkError';
  readonly code: string;
  /** `RTM_NEWLINK`… */
  readonly op: string;
  constructor(
    readonly errno: number,
    /** The object concerned: `veth "eth0"`. */
    readonly what: string,
    /** The request's RTM_* type. */
    readonly type: number,
    /** The kernel's extended-ack message, if any. */
    readonly kernelMessage?: string,
    readonly missingAttribute?: number,
  ) {
    const op = messageTypeName(type);
    const detail = [kernelMessage, missingAttribute !== undefined ? `missing attribute ${missingAttribute}` : undefined].filter(Boolean).join('; ');
    super(`${op} ${what}: ${errnoName(errno)} (${errnoMessage(errno)})${detail ? `: ${detail}` : ''}`);
    this.code = errnoName(errno);
    this.op = op;
  }

  static from(ack: Ack, req: Pick<NlRequest, 'type' | 'what'>): NetlinkError {
    return new NetlinkError(ack.errno, req.what, req.type, ack.message, ack.missingType);
  }
}

/**
 * One or more requests of a batch failed. The kernel processes every message of a batch even
 * after one fails, so `results[i]` says for each request whether it failed; `code`/`errno` are
 * the first failure's, so callers can test `err.code === 'EEXIST'` as for a single request.
 */
export class NetlinkBatchError extends NetlinkError {
  override readonly name = 'NetlinkBatchError';
  constructor(
    readonly results: ReadonlyArray<NetlinkError | undefined>,
    readonly first: NetlinkError,
    readonly firstIndex: number,
  ) {
    super(first.errno, first.what, first.type, first.kernelMessage, first.missingAttribute);
    const failed = results.filter((r) => r !== undefined).length;
    this.message = `batch request ${firstIndex + 1} of ${results.length} failed${failed > 1 ? ` (and ${failed - 1} more)` : ''}: ${first.message}`;
  }
}
