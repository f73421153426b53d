// Coalescing of reconcile requests: a burst of lease events (a node joining brings several, a
// store resync brings hundreds) becomes one run of the task. At most one run at a time; a request
// that arrives while the task runs makes exactly one more run after it, so the last state is
// always applied and never twice at once.

export class Coalescer {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #pending = false;
  #closed = false;
  #idle: Array<() => void> = [];

  /**
   * @param task the work; its errors are the task's own business (it should not throw; if it
   *   does, `onError` gets the error and later requests still run).
   * @param delayMs how long a request waits for more to join it.
   */
  constructor(
    private readonly task: () => Promise<void>,
    private readonly delayMs: number,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** Ask for a run within `delayMs` (default: the coalescing delay); joins a run already asked for. */
  request(delayMs = this.delayMs): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#pending = true;
      return;
    }
    if (this.#timer) {
      if (delayMs > 0) return;
      clearTimeout(this.#timer); // an immediate request overtakes a delayed one
    }
    this.#timer = setTimeout(() => this.#fire(), delayMs);
  }

  /** Run now (or right after the current run), and resolve when everything asked for is done. */
  async runNow(): Promise<void> {
    this.request(0);
    await this.idle();
  }

  /** Resolves once no run is scheduled, running or pending. */
  idle(): Promise<void> {
    if (!this.#timer && !this.#running && !this.#pending) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** No run starts after this; resolves when the current run (if any) has finished. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#pending = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
    this.#settle();
  }

  #fire(): void {
    this.#timer = undefined;
    if (this.#closed) return;
    this.#running = (async () => {
      try {
        await this.task();
      } catch (error) {
        this.onError(error);
      }
    })();
    void this.#running.then(() => {
      this.#running = undefined;
      if (this.#pending && !this.#closed) {
        this.#pending = false;
        this.#timer = setTimeout(() => this.#fire(), this.delayMs);
        return;
      }
      this.#settle();
    });
  }

  #settle(): void {
    if (this.#timer || this.#running || this.#pending) return;
    const waiters = this.#idle;
    this.#idle = [];
    for (const resolve of waiters) resolve();
  }
}
