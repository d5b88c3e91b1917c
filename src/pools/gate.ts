// A test-only gate in front of the kernel workers. While it is held, a worker
// that takes a task keeps it (the pool counts it busy, later jobs queue behind
// it) but does not start computing until the gate is released. Tests use it to
// make "a job is running" and "a job is queued" states that do not depend on
// how long a kernel takes on the machine at hand.
//
// It exists only when the server starts with WASMATRIX_TEST_HOOKS=1 (see
// src/cli/test-hooks.ts); a normal start has no gate and the pool's hot path
// pays one `undefined` check.

export class Gate {
  #held = false;
  #waiters: (() => void)[] = [];

  get held(): boolean {
    return this.#held;
  }

  /** Tasks taken from now on wait before they run. */
  hold(): void {
    this.#held = true;
  }

  /** Every waiting task runs; later tasks run at once. */
  release(): void {
    this.#held = false;
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Tasks waiting at the gate right now. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Resolves once the gate is open (at once when it is). */
  pass(): Promise<void> {
    if (!this.#held) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
