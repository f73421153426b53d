// libc through koffi (Node: tests, tools, the agent).
import type * as Koffi from 'koffi';
import type { LibcBinding, RuntimeRequire } from './binding.js';

export function bindKoffi(load: RuntimeRequire, libcPath: string): LibcBinding {
  const koffi = load('koffi') as typeof Koffi;
  const lib = koffi.load(libcPath);
  // Buffers passed for `void *` are handed to C as transient pointers to their memory (no copy),
  // so recv() fills the caller's Buffer directly.
  const socket = lib.func('int socket(int, int, int)');
  const bind = lib.func('int bind(int, const void *, uint32_t)');
  const getsockname = lib.func('int getsockname(int, void *, void *)');
  const setsockopt = lib.func('int setsockopt(int, int, int, const void *, uint32_t)');
  const getsockopt = lib.func('int getsockopt(int, int, int, void *, void *)');
  const send = lib.func('long send(int, const void *, size_t, int)');
  const recv = lib.func('long recv(int, void *, size_t, int)');
  const close = lib.func('int close(int)');
  const setns = lib.func('int setns(int, int)');
  const ioctl = lib.func('int ioctl(int, unsigned long)');
  const flock = lib.func('int flock(int, int)');
  return {
    runtime: 'node',
    socket: (d, t, p) => socket(d, t, p) as number,
    bind: (fd, a, l) => bind(fd, a, l) as number,
    getsockname: (fd, a, l) => getsockname(fd, a, l) as number,
    setsockopt: (fd, lvl, name, v, l) => setsockopt(fd, lvl, name, v, l) as number,
    getsockopt: (fd, lvl, name, v, l) => getsockopt(fd, lvl, name, v, l) as number,
    send: (fd, b, l, f) => Number(send(fd, b, l, f)),
    recv: (fd, b, l, f) => Number(recv(fd, b, l, f)),
    close: (fd) => close(fd) as number,
    setns: (fd, t) => setns(fd, t) as number,
    ioctl: (fd, r) => ioctl(fd, r) as number,
    flock: (fd, op) => flock(fd, op) as number,
    // koffi saves errno right after each native call.
    errno: () => koffi.errno(),
  };
}
