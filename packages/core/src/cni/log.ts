// A tiny logger for one CNI call: lines to stderr (the runtime keeps them), and, when the network
// config asks with "logFile", appended to that file. Logging never fails the call.
import { closeSync, constants, fstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
}

export interface LoggerOptions {
  /** Where stderr lines go (one call per line, newline included). */
  stderr: (line: string) => void;
  /** Default: warn. The skel takes it from PODNET_LOG_LEVEL. */
  stderrLevel?: LogLevel;
  /** Append lines to this file too (the config's "logFile"). */
  file?: string;
  /** Default: info (the config's "logLevel"). */
  fileLevel?: LogLevel;
  command?: string;
  containerId?: string;
  now?: () => Date;
}

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && Object.hasOwn(RANK, value);
}

/** A level name, case-insensitive; anything else → undefined. */
export function parseLogLevel(value: unknown): LogLevel | undefined {
  const lower = typeof value === 'string' ? value.toLowerCase() : value;
  return isLogLevel(lower) ? lower : undefined;
}

/** Lines: `<ISO time> <LEVEL> <command> <containerId>: <msg>`. */
export function createLogger(options: LoggerOptions): Logger {
  const stderrRank = RANK[options.stderrLevel ?? 'warn'];
  const fileRank = options.file ? RANK[options.fileLevel ?? 'info'] : -1;
  const now = options.now ?? (() => new Date());
  const context = [options.command, options.containerId].filter((s) => s).join(' ');
  let fileBroken = false;

  const write = (level: LogLevel, msg: string): void => {
    const rank = RANK[level];
    if (rank > stderrRank && rank > fileRank) return;
    const line = `${now().toISOString()} ${level.toUpperCase()} ${context ? `${context}: ` : ''}${msg}\n`;
    if (rank <= stderrRank) {
      try {
        options.stderr(line);
      } catch {
        // stderr closed: nothing left to tell.
      }
    }
    if (rank <= fileRank && options.file && !fileBroken) {
      try {
        appendToFile(options.file, line);
      } catch (err) {
        fileBroken = true;
        try {
          options.stderr(`podnet: cannot write log file ${options.file}: ${(err as Error).message}\n`);
        } catch {
          // ignore
        }
      }
    }
  };

  return {
    error: (msg) => write('error', msg),
    warn: (msg) => write('warn', msg),
    info: (msg) => write('info', msg),
    debug: (msg) => write('debug', msg),
  };
}

const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOCTTY | constants.O_NONBLOCK;

/**
 * Appends one line. O_NONBLOCK so that a FIFO (or anything whose open() waits for a peer) fails
 * instead of hanging the plugin; only a regular file or a character device (/dev/null) is written.
 */
function appendLine(file: string, line: string): void {
  const fd = openSync(file, APPEND, 0o644);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() && !stat.isCharacterDevice()) throw new Error('not a regular file');
    writeSync(fd, line);
  } finally {
    closeSync(fd);
  }
}

function appendToFile(file: string, line: string): void {
  try {
    appendLine(file, line);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    // One level only: Node's recursive mkdir loops forever where mkdir gives ENOENT (e.g. /proc).
    mkdirSync(dirname(file));
    appendLine(file, line);
  }
}

/** Drops everything; for code that takes an optional logger. */
export const silentLogger: Logger = { error() {}, warn() {}, info() {}, debug() {} };
