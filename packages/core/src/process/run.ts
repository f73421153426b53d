// Starting a helper process (a delegated plugin, `nft`) from inside a CNI call, cheaply.
// node:child_process is loaded on first use: most calls start nothing, and importing it at
// start-up would cost every call, VERSION included. The run is synchronous on purpose: in a
// Bun-compiled plugin the async `spawn` (stream objects) costs ~7 ms per run, `spawnSync` ~3 ms,
// and a CNI call has nothing else to do while its helper runs.

export interface RunOptions {
  args?: readonly string[];
  /** Replaces the environment (default: inherited). */
  env?: Record<string, string>;
  input?: string | Buffer;
  /**
   * Where the process is started: spawn forks on the calling thread, so a child started inside
   * `NetNS.run` lives in that netns. Default: here.
   */
  within?: <T>(fn: () => T) => T;
}

export interface ProcessExit {
  /** null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Far above any result, error JSON or nft listing; spawnSync's default (1 MiB) is too small. */
const MAX_OUTPUT = 64 * 1024 * 1024;

/** Runs `file` to completion. Throws the spawn error (ENOENT, ETXTBSY, …) when it never ran. */
export async function runProcess(file: string, options: RunOptions = {}): Promise<ProcessExit> {
  const { spawnSync } = await import('node:child_process');
  const within = options.within ?? ((fn) => fn());
  const r = within(() =>
    spawnSync(file, options.args ?? [], {
      input: options.input ?? '',
      maxBuffer: MAX_OUTPUT,
      ...(options.env ? { env: options.env } : {}),
    }),
  );
  // Node reports EPIPE (a child that exits without reading stdin) as `error` beside a real exit
  // status: only no status and no signal means the process never ran.
  if (r.status === null && r.signal === null) throw r.error ?? new Error(`${file} did not run`);
  return { code: r.status, signal: r.signal, stdout: String(r.stdout), stderr: String(r.stderr) };
}
