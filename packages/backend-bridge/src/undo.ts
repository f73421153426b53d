// The rollback list of an ADD: each step that changes the node or the pod pushes how to revert it;
// on failure the steps run newest first, all of them, whatever fails along the way, so a failed
// ADD leaves nothing behind (the reference leaks the veth when IPAM fails, plugins#29).

export type UndoStep = { what: string; run: () => Promise<void> | void };

export class UndoList {
  readonly #steps: UndoStep[] = [];

  push(what: string, run: () => Promise<void> | void): void {
    this.#steps.push({ what, run });
  }

  /** Forget the steps: the call succeeded and keeps what it made. */
  commit(): void {
    this.#steps.length = 0;
  }

  /** Revert everything, newest first. Returns the failures (described) for the log; never throws. */
  async rollback(): Promise<string[]> {
    const failures: string[] = [];
    while (this.#steps.length > 0) {
      const step = this.#steps.pop()!;
      try {
        await step.run();
      } catch (err) {
        failures.push(`${step.what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return failures;
  }
}
