// The skel: one CNI call from (env, stdin) to (stdout, exit code), in-process and testable.
// It owns env validation, config decoding, version gates, CNI_ARGS, result conversion and the
// error JSON; a Plugin only implements the commands. Errors go to stdout as JSON (libcni reads
// them there), logs to stderr.
import { parseCniArgs } from './args.js';
import { checkNotOwnNetns, readCallEnv, type CallEnv, type Env } from './env.js';
import { ErrorCode, bounded, toCniError } from './errors.js';
import { showValue } from './config.js';
import { createLogger, parseLogLevel, type Logger, type LogLevel } from './log.js';
import { parseNetConf, readValidAttachments } from './netconf.js';
import type { CmdArgs, Plugin } from './plugin.js';
import { convertResult, parseResult } from './result.js';
import type { NetConf } from './types.js';
import { LATEST_VERSION, SUPPORTED_VERSIONS, versionInfo } from './version.js';

export interface PluginIo {
  env: Env;
  stdin: Buffer | string;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export interface RunOptions {
  /** Printed on stderr (with the supported versions) when run without CNI_COMMAND; exit 0. */
  about?: string;
}

/** Run one CNI call; resolves to the process exit code (0 or 1). Never rejects. */
export async function runPlugin(plugin: Plugin, io: PluginIo, options: RunOptions = {}): Promise<number> {
  const stderrLevel: LogLevel = parseLogLevel(io.env.PODNET_LOG_LEVEL) ?? 'warn';
  let log: Logger = createLogger({ stderr: io.stderr, stderrLevel });
  let errorVersion: string = LATEST_VERSION;
  try {
    if (!io.env.CNI_COMMAND && options.about) {
      io.stderr(`${options.about}\nCNI protocol versions supported: ${SUPPORTED_VERSIONS.join(', ')}\n`);
      return 0;
    }
    const call = readCallEnv(io.env);
    log = createLogger(loggerContext(io, stderrLevel, call));
    const stdin = typeof io.stdin === 'string' ? Buffer.from(io.stdin) : io.stdin;
    if (call.command === 'VERSION') {
      io.stdout(`${JSON.stringify(versionInfo(requestedVersion(stdin)))}\n`);
      return 0;
    }
    const config = parseNetConf(stdin, call.command);
    errorVersion = config.cniVersion;
    log = createLogger({ ...loggerContext(io, stderrLevel, call), ...logFileOptions(config, log) });
    log.debug(`network ${config.name} type ${config.type} cniVersion ${config.cniVersion}`);
    await dispatch(plugin, io, call, config, stdin, log);
    log.debug('ok');
    return 0;
  } catch (err) {
    const e = toCniError(err);
    try {
      io.stdout(`${JSON.stringify(e.toJSON(errorVersion))}\n`);
    } catch {
      // stdout gone: the exit code still tells the runtime.
    }
    log.error(`error ${e.code}: ${bounded(e.message, 4096)}`);
    if (e.code === 999 && e.cause instanceof Error && e.cause.stack) log.debug(e.cause.stack);
    return 1;
  }
}

async function dispatch(plugin: Plugin, io: PluginIo, call: CallEnv, config: NetConf, stdin: Buffer, log: Logger): Promise<void> {
  const common = { path: call.path, config, stdin, env: io.env, log };
  switch (call.command) {
    case 'ADD':
    case 'DEL':
    case 'CHECK': {
      if (call.netns) checkNotOwnNetns(call.netns, io.env);
      const args: CmdArgs = {
        ...common,
        containerId: call.containerId!,
        ifname: call.ifname!,
        args: parseCniArgs(call.cniArgs, plugin.knownArgs).values,
      };
      if (call.netns) args.netns = call.netns;
      if (call.command === 'ADD') {
        // Re-read the plugin's own result: a malformed one fails here, naming the field, rather
        // than in the runtime. Cheap next to any ADD.
        const result = parseResult(await plugin.add(args), LATEST_VERSION, { label: 'result of ADD', code: ErrorCode.Internal });
        io.stdout(`${JSON.stringify(convertResult(result, config.cniVersion), null, 2)}\n`);
      } else if (call.command === 'DEL') {
        await plugin.del(args);
      } else {
        await plugin.check(args);
      }
      return;
    }
    case 'GC': {
      const validAttachments = readValidAttachments(config);
      await plugin.gc?.({ ...common, validAttachments });
      return;
    }
    case 'STATUS':
      await plugin.status?.(common);
      return;
    case 'VERSION':
      return; // answered before the config is read
  }
}

function loggerContext(io: PluginIo, stderrLevel: LogLevel, call: CallEnv) {
  return {
    stderr: io.stderr,
    stderrLevel,
    command: call.command,
    ...(call.containerId ? { containerId: call.containerId } : {}),
  };
}

/** The config's "logFile"/"logLevel"; bad values are reported, never fatal. */
function logFileOptions(config: NetConf, log: Logger): { file?: string; fileLevel?: LogLevel } {
  const out: { file?: string; fileLevel?: LogLevel } = {};
  if (config.logFile !== undefined) {
    if (typeof config.logFile === 'string' && config.logFile !== '') out.file = config.logFile;
    else log.warn(`ignoring logFile ${showValue(config.logFile)}: expected a file path`);
  }
  if (config.logLevel !== undefined) {
    const level = parseLogLevel(config.logLevel);
    if (level) out.fileLevel = level;
    else log.warn(`ignoring logLevel ${showValue(config.logLevel)}: expected error, warn, info or debug`);
  }
  return out;
}

/** VERSION's stdin cniVersion, if stdin is a JSON object with one; anything else is ignored. */
function requestedVersion(stdin: Buffer): string | undefined {
  try {
    const v = (JSON.parse(stdin.toString('utf8')) as { cniVersion?: unknown } | null)?.cniVersion;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
