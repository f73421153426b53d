// Test helpers shared by the agent's suites: a logger that keeps what was logged (for asserting
// on the loud lease-lost line) and metrics without process collectors.
import { pino } from 'pino';
import type { Logger } from 'pino';
import { Writable } from 'node:stream';

export interface CapturedLogger {
  log: Logger;
  lines: Array<Record<string, unknown>>;
}

export function captureLogger(): CapturedLogger {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

/** Poll until `check` returns a truthy value (or throw after `timeoutMs`, naming `what`). Generous: a
 * behaviour check, not a timing claim, on a machine other suites load too. */
export async function eventually<T>(what: string, check: () => T | Promise<T>, timeoutMs = 30_000, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
