import { errnoMessage, errnoName } from './errno.js';

/**
 * A failed libc call, shaped like Node's system errors: `code` is the errno name (`'EPERM'`),
 * `errno` the positive number, `syscall` the call. The message adds what the call was about.
 */
export class LibcError extends Error {
  override readonly name = 'LibcError';
  readonly code: string;
  constructor(
    readonly syscall: string,
    readonly errno: number,
    /** What the call was acting on, e.g. `netns "/run/netns/pod1"`. */
    readonly subject = '',
  ) {
    super(`${syscall}${subject ? ` ${subject}` : ''}: ${errnoName(errno)} (${errnoMessage(errno)})`);
    this.code = errnoName(errno);
  }
}
