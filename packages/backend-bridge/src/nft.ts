// Running the `nft` binary: one process per transaction, the script on stdin (`nft -f -`), so a
// whole change is applied atomically by the kernel or not at all.
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
  const run = async (args: string[], stdin: string | undefined): Promise<Exit> => {
    const binary = findNft();
    // Loaded on first use: node:child_process at start-up would cost every call, VERSION included.
    const { spawnSync } = await import('node:child_process');
    // Synchronous on purpose: in a Bun-compiled plugin node:child_process's async `spawn` (stream
    // objects) costs ~7 ms per call, `spawnSync` ~3 ms, and a CNI call has nothing else to do
    // while nft runs. The whole run happens inside `enter`, so nft lives in that netns.
    const r = enter(() => spawnSync(binary, args, { input: stdin ?? '', maxBuffer: MAX_OUTPUT }));
    // Node reports EPIPE (nft exited before reading stdin, as a `list` may) as `error` beside a
    // real exit status: only a missing status means nft did not run.
    if (r.status === null) {
      const why = r.error ? r.error.message : `killed by ${r.signal ?? 'a signal'}`;
      throw new CniError(ErrorCode.IoFailure, `cannot run ${binary}`, why, r.error ? { cause: r.error } : {});
    }
    return { code: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
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

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

/** A JSON listing of a large network's elements; spawnSync's default (1 MiB) is too small. */
const MAX_OUTPUT = 64 * 1024 * 1024;
