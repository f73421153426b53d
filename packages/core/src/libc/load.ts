// Picks the FFI for the running runtime on first use and keeps the binding for the process.
import { createRequire } from 'node:module';
import type { LibcBinding, RuntimeRequire } from './binding.js';
import { bindBunFfi } from './bun-ffi.js';
import { bindKoffi } from './koffi.js';

// glibc first (Debian, the supported hosts); musl names so an Alpine-based image still loads.
const LIBC_NAMES = ['libc.so.6', `libc.musl-${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}.so.1`];

let binding: LibcBinding | undefined;

/** The process-wide libc binding: bun:ffi under Bun, koffi under Node. Loaded on first call. */
export function libc(): LibcBinding {
  binding ??= load();
  return binding;
}

function load(): LibcBinding {
  // The specifier passes through a function parameter so neither Vite nor `bun build` sees a
  // literal `require('bun:ffi')` / `require('koffi')` to resolve or bundle.
  const req = createRequire(import.meta.url);
  const hidden: RuntimeRequire = (specifier) => req(specifier) as unknown;
  const bind = typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined' ? bindBunFfi : bindKoffi;
  let firstError: unknown;
  for (const name of LIBC_NAMES) {
    try {
      return bind(hidden, name);
    } catch (err) {
      firstError ??= err;
    }
  }
  const why = firstError instanceof Error ? firstError.message.split('\n')[0] : String(firstError);
  throw new Error(`cannot load libc (${LIBC_NAMES.join(', ')}) through ${bind === bindBunFfi ? 'bun:ffi' : 'koffi'}: ${why}`, {
    cause: firstError,
  });
}
