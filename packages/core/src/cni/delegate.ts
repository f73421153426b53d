// Delegation (spec §4): run another plugin from CNI_PATH — e.g. an external `ipam.type` — with this
// call's env (only CNI_COMMAND changed) and config bytes, and map its output back.
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess } from '../process/run.js';
import type { ProcessExit } from '../process/run.js';
import { CniError, ErrorCode, toCniError } from './errors.js';
import type { Logger } from './log.js';
import { parseResult } from './result.js';
import type { Command, NetConf, Result } from './types.js';
import { showValue } from './config.js';
import { checkJsonDepth } from './json-depth.js';

/** What a delegation needs from the current call; CmdArgs, GcArgs and StatusArgs all fit. */
export interface DelegateContext {
  env: Readonly<Record<string, string | undefined>>;
  path: readonly string[];
  stdin: Buffer;
  config: NetConf;
  log?: Logger;
}

export interface DelegateOptions {
  /** Send this config instead of the call's stdin bytes. */
  config?: Record<string, unknown>;
}

/** The first executable regular file `<dir>/<type>` along `path`. Not found or bad type → code 7. */
export function findPlugin(type: string, path: readonly string[]): string {
  if (type === '' || type.includes('/') || type === '.' || type === '..') {
    throw new CniError(ErrorCode.InvalidConfig, `invalid plugin type ${showValue(type)}`, 'a plugin type is a file name in CNI_PATH, without "/"');
  }
  for (const dir of path) {
    const file = join(dir, type);
    try {
      if (statSync(file).isFile()) {
        accessSync(file, constants.X_OK);
        return file;
      }
    } catch {
      // not here (or not executable): keep looking
    }
  }
  throw new CniError(
    ErrorCode.InvalidConfig,
    `plugin ${showValue(type)} not found in CNI_PATH`,
    path.length ? `searched ${path.join(', ')} for an executable file named ${type}` : 'CNI_PATH is empty',
  );
}

/**
 * Run delegate `type` for `command`; resolves to its stdout on exit 0. A failure with error JSON
 * on stdout → CniError with the delegate's code, msg prefixed with the type, and details; any
 * other failure → 999 with the tail of its stderr.
 */
export async function execDelegate(type: string, command: Command, ctx: DelegateContext, options: DelegateOptions = {}): Promise<string> {
  const file = findPlugin(type, ctx.path);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(ctx.env)) if (v !== undefined) env[k] = v;
  env.CNI_COMMAND = command;
  const input = options.config ? Buffer.from(JSON.stringify(options.config)) : ctx.stdin;
  ctx.log?.debug(`delegate ${command} to ${file}`);
  const { code, signal, stdout, stderr } = await spawnRetrying(file, env, input);
  if (code === 0) return stdout;
  let parsed: unknown;
  try {
    checkJsonDepth(stdout, `output of plugin ${showValue(type)}`);
    parsed = JSON.parse(stdout);
  } catch {
    parsed = undefined;
  }
  const e = parsed as { code?: unknown; msg?: unknown; details?: unknown } | undefined;
  if (e && typeof e === 'object' && typeof e.code === 'number') {
    throw new CniError(e.code, `${type}: ${typeof e.msg === 'string' ? e.msg : `${command} failed`}`, typeof e.details === 'string' ? e.details : '');
  }
  const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  const tail = stderr.trim().slice(-1000);
  throw new CniError(
    ErrorCode.Internal,
    `${type}: ${command} ${how} without an error on stdout`,
    tail ? `stderr: ${tail}` : stdout.trim() ? `stdout: ${stdout.trim().slice(-1000)}` : 'no output',
  );
}

/** spawn, retrying "text file busy" (a binary still being written), as libcni does. */
async function spawnRetrying(file: string, env: Record<string, string>, input: Buffer): Promise<ProcessExit> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runProcess(file, { env, input });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ETXTBSY' || attempt >= 5) {
        throw new CniError(ErrorCode.IoFailure, `cannot execute ${file}`, (err as Error).message, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}

function configVersion(ctx: DelegateContext, options: DelegateOptions): string {
  const v = options.config?.cniVersion;
  return typeof v === 'string' ? v : ctx.config.cniVersion;
}

/** ADD on delegate `type`; its result (in the config's version) read into the 1.1.0 shape. */
export async function delegateAdd(type: string, ctx: DelegateContext, options: DelegateOptions = {}): Promise<Result> {
  const stdout = await execDelegate(type, 'ADD', ctx, options);
  return parseResult(stdout, configVersion(ctx, options), { label: `result of ${type}`, code: ErrorCode.DecodeFailure });
}

export async function delegateDel(type: string, ctx: DelegateContext, options: DelegateOptions = {}): Promise<void> {
  await execDelegate(type, 'DEL', ctx, options);
}

export async function delegateCheck(type: string, ctx: DelegateContext, options: DelegateOptions = {}): Promise<void> {
  await execDelegate(type, 'CHECK', ctx, options);
}

export async function delegateGc(type: string, ctx: DelegateContext, options: DelegateOptions = {}): Promise<void> {
  await execDelegate(type, 'GC', ctx, options);
}

export async function delegateStatus(type: string, ctx: DelegateContext, options: DelegateOptions = {}): Promise<void> {
  await execDelegate(type, 'STATUS', ctx, options);
}

/**
 * ADD on delegate `type`, then `body(result)`. If either fails, DEL the delegate (the spec: "a
 * delete must still be executed even if the add fails") and rethrow the first error; a failed
 * rollback DEL is logged and added to that error's details, never replacing it.
 */
export async function withDelegateRollback<T>(
  type: string,
  ctx: DelegateContext,
  body: (result: Result) => Promise<T>,
  options: DelegateOptions = {},
): Promise<T> {
  let result: Result;
  try {
    result = await delegateAdd(type, ctx, options);
  } catch (err) {
    throw await rollback(type, ctx, options, err);
  }
  try {
    return await body(result);
  } catch (err) {
    throw await rollback(type, ctx, options, err);
  }
}

async function rollback(type: string, ctx: DelegateContext, options: DelegateOptions, cause: unknown): Promise<unknown> {
  try {
    await delegateDel(type, ctx, options);
    return cause;
  } catch (delErr) {
    const e = toCniError(cause);
    const d = toCniError(delErr);
    ctx.log?.warn(`rollback: DEL of ${type} failed: ${d.message}`);
    const note = `rollback DEL of ${type} also failed: ${d.message}`;
    return new CniError(e.code, e.msg, e.details ? `${e.details}; ${note}` : note, { cause });
  }
}
