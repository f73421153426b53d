// Structured logs with pino: JSON lines for machines (the default), or a readable one-line form
// for people (`--log-format text`, through pino-pretty in the same thread). Both go to stderr,
// so `podnetd status` output on stdout stays clean.
import { pino } from 'pino';
import type { Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export function createLogger(level: LogLevel, format: LogFormat, fd = 2): Logger {
  const options = { level, base: { name: 'podnetd' } };
  if (format === 'text') {
    return pino(
      options,
      pretty({ destination: fd, sync: true, colorize: false, translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l', ignore: 'pid,hostname,name', singleLine: true }),
    );
  }
  return pino(options, pino.destination({ dest: fd, sync: true }));
}
