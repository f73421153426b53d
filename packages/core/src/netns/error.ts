import { ErrorCode } from '../cni/errors.js';

export type NetnsErrorReason =
  /** The path does not exist (a DEL after the runtime removed the netns: usually fine). */
  | 'not-found'
  /** The path exists but is not a network namespace (a plain file, another namespace kind). */
  | 'not-netns'
  /** The handle was closed, or setns into it failed. */
  | 'unusable'
  /** The thread could not return to its own netns; the process must not continue. */
  | 'stranded';

/**
 * A namespace path that cannot be used. `code` is CNI's "invalid netns" (8), so `toCniError`
 * keeps it; `reason` lets callers branch (DEL treats `not-found` as already done).
 */
export class NetnsError extends Error {
  override readonly name = 'NetnsError';
  readonly code = ErrorCode.InvalidNetns;
  constructor(
    readonly reason: NetnsErrorReason,
    readonly path: string,
    message: string,
    readonly details = '',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
