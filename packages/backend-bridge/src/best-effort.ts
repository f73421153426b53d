// DEL and GC run every step even when one fails (spec: best-effort; "continue past errors and
// report them"), then report the first error with the others in its details.
import { CniError, toCniError } from '@podnet/core/cni';
import type { Logger } from '@podnet/core/cni';

export class BestEffort {
  readonly #errors: CniError[] = [];

  constructor(
    private readonly verb: string,
    private readonly log: Logger | undefined,
  ) {}

  async step(what: string, fn: () => Promise<unknown> | unknown): Promise<void> {
    try {
      await fn();
    } catch (err) {
      const e = toCniError(err);
      this.log?.warn(`${this.verb}: ${what}: ${e.message}`);
      this.#errors.push(new CniError(e.code, `${what}: ${e.msg}`, e.details, { cause: err }));
    }
  }

  /** No step has failed so far. */
  get ok(): boolean {
    return this.#errors.length === 0;
  }

  /** Throws the first error (the others in its details) if any step failed. */
  finish(): void {
    const [first, ...rest] = this.#errors;
    if (!first) return;
    const more = rest.map((e) => e.message).join('; ');
    throw new CniError(first.code, first.msg, [first.details, more].filter(Boolean).join('; '), { cause: first });
  }
}
