// Runs a CNI executable exactly the way a runtime does: a fresh process, CNI_* variables in a
// minimal environment, the network config on stdin, the result (or error) JSON on stdout.
import type { Netns } from './netns.js';
import { run } from './exec.js';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';

export interface CniInvocation {
  /** CNI_COMMAND; a string so tests can send unknown commands. */
  command: CniCommand | (string & {});
  /** CNI_CONTAINERID */
  containerId?: string;
  /** CNI_NETNS: a path, normally a pod's `netns.path`. */
  netns?: string;
  /** CNI_IFNAME */
  ifname?: string;
  /** CNI_PATH, joined with ':'. */
  path?: readonly string[];
  /** CNI_ARGS, as the runtime would write it (`K=V;K2=V2`). */
  args?: string;
  /** stdin: an object is sent as JSON; a string is sent byte for byte (malformed input tests). */
  config: unknown;
  /** More variables; `undefined` removes one of the above (missing-env tests). */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

export interface CniOutcome {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON; undefined when stdout is empty or not JSON. */
  json: unknown;
}

/** The CNI error object of a failed call, when the plugin printed one. */
export interface CniErrorOutput {
  cniVersion?: string;
  code: number;
  msg: string;
  details?: string;
}

// podman's `container cleanup` runs plugins with little more than PATH: so does the lab.
const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function cniEnvironment(inv: CniInvocation): Record<string, string> {
  const env: Record<string, string | undefined> = {
    PATH: BASE_PATH,
    CNI_COMMAND: inv.command,
    CNI_CONTAINERID: inv.containerId,
    CNI_NETNS: inv.netns,
    CNI_IFNAME: inv.ifname,
    CNI_PATH: inv.path?.join(':'),
    CNI_ARGS: inv.args,
    ...inv.env,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/**
 * Executes `binary` with the invocation. With `where`, the process runs inside that namespace
 * (`nsenter --net`), as the plugin of a runtime on that node would; otherwise in the caller's.
 */
export async function invokeCni(binary: string, inv: CniInvocation, where?: Netns): Promise<CniOutcome> {
  const input = typeof inv.config === 'string' ? inv.config : JSON.stringify(inv.config);
  const [cmd, argv] = where ? ['nsenter', [`--net=${where.path}`, '--', binary]] : [binary, []];
  const r = await run(cmd, argv, {
    input,
    env: cniEnvironment(inv),
    cwd: '/',
    timeoutMs: inv.timeoutMs ?? 30_000,
  });
  let json: unknown;
  try {
    json = r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
  } catch {
    json = undefined;
  }
  return { code: r.signal ? -1 : r.code, stdout: r.stdout, stderr: r.stderr, json };
}

/** Reads the error object of a failed call, or throws with everything the plugin printed. */
export function cniError(outcome: CniOutcome): CniErrorOutput {
  const e = outcome.json as Partial<CniErrorOutput> | undefined;
  if (outcome.code === 0 || typeof e?.code !== 'number' || typeof e.msg !== 'string') {
    throw new Error(`expected a CNI error, got exit ${outcome.code}: ${outcome.stdout}${outcome.stderr}`);
  }
  return e as CniErrorOutput;
}

/** Asserts success and returns the parsed stdout (ADD's result; undefined for DEL/CHECK/GC). */
export function cniOk<T = unknown>(outcome: CniOutcome, what = 'CNI call'): T {
  if (outcome.code !== 0) {
    throw new Error(`${what} failed (exit ${outcome.code}): ${outcome.stdout.trim()} ${outcome.stderr.trim()}`);
  }
  return outcome.json as T;
}
