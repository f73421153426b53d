// The process binding of the skel: real env, all of stdin, fd 1/2, exit. Synchronous fd I/O keeps
// the CNI hot path short (no stream objects) and guarantees the output is written before exit.
import { fstatSync, readFileSync, readSync, writeSync } from 'node:fs';
import type { Plugin } from './plugin.js';
import { runPlugin } from './skel.js';

export interface MainOptions {
  /** Printed without CNI_COMMAND. */
  about?: string;
  /** stdin when the caller has already read it (thinMain's fallback). */
  stdin?: Buffer | undefined;
}

/**
 * Run `plugin` as this process's CNI call and exit with its code. In-process only: an executable
 * podnetd may serve starts in thinMain (`@podnet/core/daemon-client`), which hands the call over.
 */
export async function pluginMain(plugin: Plugin, options: MainOptions | string = {}): Promise<never> {
  const { about, stdin: given } = typeof options === 'string' ? { about: options, stdin: undefined } : options;
  const env = process.env;
  // Without a command nothing reads stdin; a terminal on stdin would block forever.
  const stdin = given ?? (env.CNI_COMMAND && !stdinIsDevice() ? readStdin() : Buffer.alloc(0));
  const code = await runPlugin(plugin, { env, stdin, stdout: (s) => writeAll(1, s), stderr: (s) => writeAll(2, s) }, about === undefined ? {} : { about });
  process.exit(code);
}

/**
 * A terminal (or /dev/null) rather than a pipe or file. fstat instead of node:tty's isatty:
 * node:tty costs ~5 ms of start-up in a Bun-compiled plugin.
 */
function stdinIsDevice(): boolean {
  try {
    return fstatSync(0).isCharacterDevice();
  } catch {
    return true; // no stdin at all: nothing to read
  }
}

function readStdin(): Buffer {
  try {
    return readFileSync(0);
  } catch (err) {
    // A closed stdin reads as empty; the skel then reports the missing config (code 6).
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN') return readNonBlocking();
    if (code === 'EBADF' || code === 'ENXIO' || code === 'EINVAL') return Buffer.alloc(0);
    throw err;
  }
}

/** stdin left O_NONBLOCK by the parent: poll-read until EOF. */
function readNonBlocking(): Buffer {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    try {
      const n = readSync(0, buf);
      if (n === 0) return Buffer.concat(chunks);
      chunks.push(Buffer.from(buf.subarray(0, n)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      sleepMs(2);
    }
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function writeAll(fd: number, s: string): void {
  const data = Buffer.from(s);
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      sleepMs(2);
    }
  }
}
