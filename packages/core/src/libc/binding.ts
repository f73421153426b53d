// The few libc calls the kernel layer needs, as one synchronous interface with two backings:
// `bun:ffi` inside Bun (the shipped executables are Bun-compiled; koffi's .node cannot be embedded
// there) and `koffi` under Node (tests, tools, the agent). Calls are synchronous on purpose:
// netlink answers immediately, and setns must happen on the thread that runs the work.
//
// Each call returns the raw libc result (-1 on failure); `errno()` reads errno right after it.

export interface LibcBinding {
  /** Which FFI backs this binding; reported by tools and tests. */
  readonly runtime: 'bun' | 'node';
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Uint8Array, addrlen: number): number;
  getsockname(fd: number, addr: Uint8Array, addrlen: Uint32Array): number;
  setsockopt(fd: number, level: number, optname: number, optval: Uint8Array, optlen: number): number;
  /** `optlen` is in/out (one u32). */
  getsockopt(fd: number, level: number, optname: number, optval: Uint8Array, optlen: Uint32Array): number;
  send(fd: number, buf: Uint8Array, len: number, flags: number): number;
  recv(fd: number, buf: Uint8Array, len: number, flags: number): number;
  close(fd: number): number;
  setns(fd: number, nstype: number): number;
  /** ioctl without an argument (e.g. NS_GET_NSTYPE). */
  ioctl(fd: number, request: number): number;
  /** flock(2) on a file descriptor (LOCK_* operations). */
  flock(fd: number, operation: number): number;
  /** errno of the calling thread, read right after the failed call. */
  errno(): number;
}

/**
 * Loads a module by a name the bundlers cannot see. Vite (vitest) would otherwise try to resolve
 * `bun:ffi` while transforming, and `bun build` would try to bundle koffi's native addon. With the
 * specifier hidden, each runtime only ever resolves its own module, and only when first used.
 */
export type RuntimeRequire = (specifier: string) => unknown;
