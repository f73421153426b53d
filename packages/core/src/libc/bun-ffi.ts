// libc through bun:ffi (Bun, including `bun build --compile` executables).
import type * as BunFfi from 'bun:ffi';
import type { LibcBinding, RuntimeRequire } from './binding.js';

export function bindBunFfi(load: RuntimeRequire, libcPath: string): LibcBinding {
  const ffi = load('bun:ffi') as typeof BunFfi;
  // ssize_t results are declared i32: netlink datagrams are far below 2 GiB and -1 reads the same,
  // while an i64 return would box every result into a BigInt.
  const { symbols: c } = ffi.dlopen(libcPath, {
    socket: { args: ['i32', 'i32', 'i32'], returns: 'i32' },
    bind: { args: ['i32', 'ptr', 'u32'], returns: 'i32' },
    getsockname: { args: ['i32', 'ptr', 'ptr'], returns: 'i32' },
    setsockopt: { args: ['i32', 'i32', 'i32', 'ptr', 'u32'], returns: 'i32' },
    getsockopt: { args: ['i32', 'i32', 'i32', 'ptr', 'ptr'], returns: 'i32' },
    send: { args: ['i32', 'ptr', 'u64', 'i32'], returns: 'i32' },
    recv: { args: ['i32', 'ptr', 'u64', 'i32'], returns: 'i32' },
    close: { args: ['i32'], returns: 'i32' },
    setns: { args: ['i32', 'i32'], returns: 'i32' },
    ioctl: { args: ['i32', 'u64'], returns: 'i32' },
    flock: { args: ['i32', 'i32'], returns: 'i32' },
    __errno_location: { args: [], returns: 'ptr' },
  });
  return {
    runtime: 'bun',
    socket: (d, t, p) => c.socket(d, t, p),
    bind: (fd, a, l) => c.bind(fd, a, l),
    getsockname: (fd, a, l) => c.getsockname(fd, a, l),
    setsockopt: (fd, lvl, name, v, l) => c.setsockopt(fd, lvl, name, v, l),
    getsockopt: (fd, lvl, name, v, l) => c.getsockopt(fd, lvl, name, v, l),
    send: (fd, b, l, f) => c.send(fd, b, l, f),
    recv: (fd, b, l, f) => c.recv(fd, b, l, f),
    close: (fd) => c.close(fd),
    setns: (fd, t) => c.setns(fd, t),
    ioctl: (fd, r) => c.ioctl(fd, r),
    flock: (fd, op) => c.flock(fd, op),
    // bun:ffi does not capture errno; read the thread's errno slot immediately after the failed
    // call, before any other FFI call can overwrite it.
    errno: () => {
      const p = c.__errno_location();
      return p === null ? 0 : ffi.read.i32(p as BunFfi.Pointer, 0);
    },
  };
}
