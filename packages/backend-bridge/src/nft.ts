// nftables transactions: one script applied atomically by the kernel or not at all. Through
// libnftables in-process when the library loads (core/nftables: ~0.1–0.8 ms a script), else the
// `nft` binary, one process per transaction with the script on stdin (`nft -f -`, 3.5–6 ms).
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CniError, ErrorCode } from '@podnet/core/cni';
import { loadNftables } from '@podnet/core/nftables';
import type { NftContext } from '@podnet/core/nftables';
import { runProcess } from '@podnet/core/process';

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
  throw new CniError(ErrorCode.IoFailure, 'nft not found', `"ipMasq" needs the nftables command line tool; looked in PATH and ${FALLBACK_DIRS.join(', ')}`);
}

/**
 * Where a process is started: spawn forks on the calling thread, so a child started inside
 * `NetNS.run` lives in that netns (how tests run the node half inside a "node" netns).
 */
export type Enter = <T>(fn: () => T) => T;

const here: Enter = (fn) => fn();

/** The `nft` binary, started through `enter` (default: the calling thread's netns). */
export function nftBinary(enter: Enter = here): NftRunner {
  const run = async (args: string[], stdin: string | undefined): Promise<{ code: number; stdout: string; stderr: string }> => {
    const binary = findNft();
    // The whole run happens inside `enter`, so nft lives in that netns.
    let exit;
    try {
      exit = await runProcess(binary, { args, input: stdin ?? '', within: enter });
    } catch (err) {
      throw new CniError(ErrorCode.IoFailure, `cannot run ${binary}`, (err as Error).message, { cause: err });
    }
    if (exit.code === null) {
      throw new CniError(ErrorCode.IoFailure, `cannot run ${binary}`, `killed by ${exit.signal ?? 'a signal'}`);
    }
    return { code: exit.code, stdout: exit.stdout, stderr: exit.stderr };
  };
  return {
    async apply(script) {
      const { code, stderr } = await run(['-f', '-'], script);
      if (code !== 0) throw applyFailed(stderr, script);
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

function applyFailed(error: string, script: string): CniError {
  return new CniError(ErrorCode.IoFailure, 'nft transaction failed', `${error.trim()}\nscript:\n${script}`);
}

/**
 * libnftables through FFI, or undefined when the library does not load here. Its context (and
 * netlink socket) is created on first use inside `enter`, so it acts in that netns from then on.
 */
export function nftLibrary(enter: Enter = here): NftRunner | undefined {
  const lib = loadNftables();
  if (!lib) return undefined;
  let ctx: NftContext | undefined;
  const context = (): NftContext => (ctx ??= enter(() => lib.newContext()));
  return {
    async apply(script) {
      const r = context().run(script);
      if (!r.ok) throw applyFailed(r.error, script);
    },
    async listJson(command) {
      const r = context().run(command, { json: true });
      if (!r.ok) {
        if (/No such file or directory/.test(r.error)) return undefined;
        throw new CniError(ErrorCode.IoFailure, `nft ${command} failed`, r.error.trim());
      }
      try {
        return JSON.parse(r.output) as unknown;
      } catch (err) {
        throw new CniError(ErrorCode.IoFailure, `nft ${command}: output is not JSON`, String(err));
      }
    },
  };
}

/** The default runner: libnftables when it loads, else the `nft` binary. */
export function nftRunner(enter: Enter = here): NftRunner {
  return nftLibrary(enter) ?? nftBinary(enter);
}
