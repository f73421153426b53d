// Running the `nft` binary: one process per transaction, the script on stdin (`nft -f -`), so a
// whole change is applied atomically by the kernel or not at all.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CniError, ErrorCode } from '@podnet/core/cni';

export interface NftRunner {
  /** Apply a script as one transaction. */
  apply(script: string): Promise<void>;
  /** Run one `list` command with JSON output; undefined when the object does not exist. */
  listJson(command: string): Promise<unknown | undefined>;
}

/** Runtimes often call plugins with a PATH lacking the sbin directories where nft lives. */
const FALLBACK_DIRS = ['/usr/sbin', '/sbin', '/usr/local/sbin'];

let cachedBinary: string | undefined;

export function findNft(pathEnv = process.env['PATH'] ?? ''): string {
  if (cachedBinary) return cachedBinary;
  for (const dir of [...pathEnv.split(delimiter).filter(Boolean), ...FALLBACK_DIRS]) {
    const candidate = join(dir, 'nft');
    try {
      accessSync(candidate, constants.X_OK);
      cachedBinary = candidate;
      return candidate;
    } catch {
      // not here: next directory
    }
  }
  throw new CniError(
    ErrorCode.IoFailure,
    'nft not found',
    `"ipMasq" needs the nftables command line tool; looked in PATH and ${FALLBACK_DIRS.join(', ')}`,
  );
}

/**
 * Where a process is started: spawn forks on the calling thread, so a child started inside
 * `NetNS.run` lives in that netns (how tests run the node half inside a "node" netns).
 */
export type Enter = <T>(fn: () => T) => T;

const here: Enter = (fn) => fn();

/** The `nft` binary, started through `enter` (default: the calling thread's netns). */
export function nftBinary(enter: Enter = here): NftRunner {
  const run = async (args: string[], stdin: string | undefined) => {
    const binary = findNft();
    // Loaded on first use: node:child_process at start-up would cost every call, VERSION included.
    const { spawn } = await import('node:child_process');
    // Only the fork happens inside `enter` (it must stay synchronous); the I/O runs outside.
    const child = enter(() => spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    return collect(child, binary, stdin);
  };
  return {
    async apply(script) {
      const { code, stderr } = await run(['-f', '-'], script);
      if (code !== 0) {
        throw new CniError(ErrorCode.IoFailure, 'nft transaction failed', `${stderr.trim()}\nscript:\n${script}`);
      }
    },
    async listJson(command) {
      const { code, stdout, stderr } = await run(['-j', ...command.split(' ')], undefined);
      if (code !== 0) {
        if (/No such file or directory/.test(stderr)) return undefined;
        throw new CniError(ErrorCode.IoFailure, `nft ${command} failed`, stderr.trim());
      }
      try {
        return JSON.parse(stdout) as unknown;
      } catch (err) {
        throw new CniError(ErrorCode.IoFailure, `nft ${command}: output is not JSON`, String(err));
      }
    },
  };
}

function collect(child: ChildProcessWithoutNullStreams, binary: string, stdin: string | undefined): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new CniError(ErrorCode.IoFailure, `cannot run ${binary}`, e.message, { cause: e })));
    child.on('close', (code) =>
      resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
    );
    // nft may exit before reading stdin (a `list` ignores it): its exit status tells, not EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(stdin ?? '');
  });
}
