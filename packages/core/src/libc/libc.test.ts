// Runs under vitest, i.e. Node: the binding must be koffi, and bun:ffi must never be resolved.
import { describe, expect, it } from 'vitest';
import { AF_NETLINK, LibcError, SOCK_CLOEXEC, SOCK_RAW, close, errnoMessage, errnoName, errnoNumber, libc, socket } from './index.js';

describe('libc binding', () => {
  it('is koffi under Node', () => {
    expect(libc().runtime).toBe('node');
  });

  it('opens and closes a netlink socket', () => {
    const fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);
    expect(fd).toBeGreaterThan(2);
    close(fd);
  });

  it('reports errno by name, with the call', () => {
    let err: unknown;
    try {
      close(0x7ffffff0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LibcError);
    expect(err).toMatchObject({ code: 'EBADF', errno: 9, syscall: 'close', message: 'close: EBADF (Bad file descriptor)' });
  });
});

describe('errno table', () => {
  it('maps numbers, names and texts both ways', () => {
    expect(errnoName(17)).toBe('EEXIST');
    expect(errnoName(-19)).toBe('ENODEV');
    expect(errnoMessage(17)).toBe('File exists');
    expect(errnoNumber('EBUSY')).toBe(16);
    expect(errnoNumber('EOPNOTSUPP')).toBe(95);
    expect(errnoName(4095)).toBe('E4095');
  });
});
