// Checked wrappers: each throws LibcError (errno name + what it acted on) instead of returning -1.
import { libc } from './load.js';
import { LibcError } from './error.js';

export const AF_NETLINK = 16;
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_RCVBUF = 8;
export const SO_SNDBUF = 7;
export const MSG_TRUNC = 0x20;
export const MSG_PEEK = 0x2;
export const MSG_DONTWAIT = 0x40;
export const CLONE_NEWNET = 0x40000000;
/** ioctl on an nsfs fd: which kind of namespace (linux/nsfs.h, _IO(0xb7, 0x3)). */
export const NS_GET_NSTYPE = 0xb703;
/** flock(2) operations (sys/file.h). */
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;
/** errno of a LOCK_NB flock on a file another open file description holds (= EAGAIN on Linux). */
export const EWOULDBLOCK = 11;

function fail(syscall: string, subject?: string): never {
  throw new LibcError(syscall, libc().errno(), subject);
}

export function socket(domain: number, type: number, protocol: number): number {
  const fd = libc().socket(domain, type, protocol);
  if (fd < 0) fail('socket');
  return fd;
}

export function setsockoptInt(fd: number, level: number, optname: number, value: number, subject?: string): void {
  const v = new Uint8Array(4);
  new DataView(v.buffer).setInt32(0, value, true);
  if (libc().setsockopt(fd, level, optname, v, 4) < 0) fail('setsockopt', subject ?? `option ${level}/${optname}`);
}

/** SO_PEERCRED (socket(7)): the credentials of the peer of a connected unix socket. */
export const SO_PEERCRED = 17;

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** The peer's pid/uid/gid as the kernel recorded them at connect(2). */
export function getPeerCredentials(fd: number): PeerCredentials {
  const v = new Uint8Array(12);
  const len = new Uint32Array([12]);
  if (libc().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, v, len) < 0) fail('getsockopt', 'SO_PEERCRED');
  const view = new DataView(v.buffer);
  return { pid: view.getInt32(0, true), uid: view.getUint32(4, true), gid: view.getUint32(8, true) };
}

export function bind(fd: number, addr: Uint8Array): void {
  if (libc().bind(fd, addr, addr.byteLength) < 0) fail('bind');
}

/** Fills `addr` with the socket's address and returns its length. */
export function getsockname(fd: number, addr: Uint8Array): number {
  const len = new Uint32Array([addr.byteLength]);
  if (libc().getsockname(fd, addr, len) < 0) fail('getsockname');
  return len[0] ?? 0;
}

export function send(fd: number, buf: Uint8Array, flags = 0): number {
  for (;;) {
    const n = libc().send(fd, buf, buf.byteLength, flags);
    if (n >= 0) return n;
    if (libc().errno() !== 4 /* EINTR */) fail('send');
  }
}

/** Receives one datagram into `buf`; returns its full length (may exceed buf with MSG_TRUNC). */
export function recv(fd: number, buf: Uint8Array, flags = 0): number {
  for (;;) {
    const n = libc().recv(fd, buf, buf.byteLength, flags);
    if (n >= 0) return n;
    if (libc().errno() !== 4 /* EINTR */) fail('recv');
  }
}

export function close(fd: number): void {
  // close() is never retried on Linux: the fd is released even when it reports EINTR.
  if (libc().close(fd) < 0) fail('close');
}

export function setns(fd: number, nstype: number, subject?: string): void {
  if (libc().setns(fd, nstype) < 0) fail('setns', subject);
}

/**
 * flock(2), retried on EINTR. With LOCK_NB, returns false when another open file description holds
 * a conflicting lock (EWOULDBLOCK) instead of throwing; true once the lock is taken or released.
 */
export function flock(fd: number, operation: number, subject?: string): boolean {
  for (;;) {
    if (libc().flock(fd, operation) === 0) return true;
    const errno = libc().errno();
    if (errno === EWOULDBLOCK && (operation & LOCK_NB) !== 0) return false;
    if (errno !== 4 /* EINTR */) fail('flock', subject);
  }
}

/** ioctl without argument; returns the non-negative result. */
export function ioctl(fd: number, request: number, subject?: string): number {
  const r = libc().ioctl(fd, request);
  if (r < 0) fail('ioctl', subject);
  return r;
}
