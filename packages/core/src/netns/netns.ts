// A handle on one network namespace file and the one door into it: `run`.
//
// Why `run` only takes synchronous work: setns(2) moves the *calling thread*, not the process.
// JavaScript runs on one thread, so everything between entering and leaving executes in the
// target namespace — sockets opened, /proc/sys files opened, links created. An `await` would
// hand the thread back to the event loop, and unrelated callbacks would then run inside the pod's
// namespace while the awaited work might finish after we left. So `run` enters, calls `fn`,
// and always returns to the thread's previous namespace before giving the thread back.
// Async work does not need to be inside: a netlink socket keeps the namespace it was opened in,
// so open it inside `run` (NetlinkSocket.open({ netns }) does this) and use it from anywhere.
import { closeSync, constants, openSync } from 'node:fs';
import { CLONE_NEWNET, NS_GET_NSTYPE, ioctl, setns } from '../libc/index.js';
import type { LibcError } from '../libc/index.js';
import { NetnsError } from './error.js';

/** The calling thread's own netns (not the process leader's: setns moves a single thread). */
const THREAD_NETNS = '/proc/thread-self/ns/net';

export class NetNS {
  #fd: number;

  private constructor(
    /** The path this handle was opened from. */
    readonly path: string,
    fd: number,
  ) {
    this.#fd = fd;
  }

  /**
   * Opens a namespace file such as `/run/netns/x` or `/proc/<pid>/ns/net`.
   * Throws NetnsError `not-found` when the path does not exist and `not-netns` when it is
   * something else (a regular file left behind by an unmounted netns, a mount namespace…).
   */
  static open(path: string): NetNS {
    let fd: number;
    try {
      // O_NONBLOCK: a FIFO (or any file whose open() waits) must fail below, never hang the call.
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK); // libuv adds O_CLOEXEC
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new NetnsError(
          'not-found',
          path,
          `netns "${path}" does not exist`,
          'expected a network namespace path such as /run/netns/<name> or /proc/<pid>/ns/net',
          { cause: err },
        );
      }
      throw new NetnsError('unusable', path, `cannot open netns "${path}": ${code ?? String(err)}`, '', { cause: err });
    }
    let type: number;
    try {
      type = ioctl(fd, NS_GET_NSTYPE);
    } catch (err) {
      closeSync(fd);
      // ENOTTY: not an nsfs file at all.
      throw new NetnsError(
        'not-netns',
        path,
        `"${path}" is not a network namespace`,
        'expected an nsfs file (a mounted /run/netns/<name> or /proc/<pid>/ns/net)',
        { cause: err },
      );
    }
    if (type !== CLONE_NEWNET) {
      closeSync(fd);
      throw new NetnsError('not-netns', path, `"${path}" is a namespace of another kind, not a network namespace`, `namespace type 0x${type.toString(16)}`);
    }
    return new NetNS(path, fd);
  }

  /** The calling thread's current netns (e.g. to hand a socket the host's namespace explicitly). */
  static current(): NetNS {
    return NetNS.open(THREAD_NETNS);
  }

  /** The open file descriptor (for IFLA_NET_NS_FD); -1 after close(). */
  get fd(): number {
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /**
   * Runs synchronous `fn` with the calling thread inside this namespace and always switches the
   * thread back, also when `fn` throws. A returned Promise is refused (see the file comment).
   */
  run<T>(fn: () => T): T {
    const target = this.#usableFd();
    const back = openSync(THREAD_NETNS, 'r');
    try {
      try {
        setns(target, CLONE_NEWNET, `netns "${this.path}"`);
      } catch (err) {
        throw new NetnsError('unusable', this.path, `cannot enter netns "${this.path}": ${(err as LibcError).code}`, '', { cause: err });
      }
      let result: T;
      try {
        result = fn();
      } finally {
        try {
          setns(back, CLONE_NEWNET, 'the previous netns');
        } catch (err) {
          // Continuing would configure the pod's namespace while believing it is the host's.
          // biome-ignore lint/correctness/noUnsafeFinally: the stranded error must replace fn's outcome
          throw new NetnsError('stranded', this.path, `cannot return from netns "${this.path}"; this process must exit`, '', { cause: err });
        }
      }
      if (isThenable(result)) {
        throw new TypeError(
          `NetNS.run("${this.path}"): the callback returned a Promise; only synchronous work is safe inside a namespace (setns moves one thread)`,
        );
      }
      return result;
    } finally {
      closeSync(back);
    }
  }

  /** Releases the file descriptor. Idempotent. */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    closeSync(fd);
  }

  #usableFd(): number {
    if (this.#fd < 0) throw new NetnsError('unusable', this.path, `netns handle "${this.path}" is closed`);
    return this.#fd;
  }
}

function isThenable(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}
