// The cap on the memory all in-flight requests may hold together
// (--max-inflight-bytes), shared by every HTTP thread of the process through
// one SharedArrayBuffer counter: the main thread and the -w acceptor threads
// draw from the same budget. A request reserves what it will hold before it
// holds it (its body before reading it, its job before running it) and gives
// everything back when its exchange finishes. Without it, memory would grow
// with the request rate times the request size; with it, a request that does
// not fit right now gets an immediate 503 with Retry-After.

import { errors, type WasmatrixError } from '../errors.js';

/** Counted in KiB in an Int32: up to 2 TiB, enough for any cap. */
const UNIT = 1024;

export class InflightBudget {
  /** [0]: KiB reserved now. */
  readonly #cells: Int32Array;
  readonly limitBytes: number;

  constructor(limitBytes: number, shared: SharedArrayBuffer = new SharedArrayBuffer(4)) {
    this.#cells = new Int32Array(shared);
    this.limitBytes = limitBytes;
  }

  /** The counter, to hand to other threads (with limitBytes). */
  get shared(): SharedArrayBuffer {
    return this.#cells.buffer as SharedArrayBuffer;
  }

  get usedBytes(): number {
    return Atomics.load(this.#cells, 0) * UNIT;
  }

  /** Reserves `bytes` (rounded up to KiB) if they fit; returns the KiB taken, or -1. */
  tryReserve(bytes: number): number {
    const units = Math.ceil(bytes / UNIT);
    const limit = Math.floor(this.limitBytes / UNIT);
    for (;;) {
      const used = Atomics.load(this.#cells, 0);
      if (used + units > limit) return -1;
      if (Atomics.compareExchange(this.#cells, 0, used, used + units) === used) return units;
    }
  }

  release(units: number): void {
    if (units > 0) Atomics.sub(this.#cells, 0, units);
  }
}

/** What one request holds from the budget; released once, when the request is over. */
export class Reservation {
  readonly #budget: InflightBudget;
  #units = 0;

  constructor(budget: InflightBudget) {
    this.#budget = budget;
  }

  get bytes(): number {
    return this.#units * UNIT;
  }

  /**
   * Adds `bytes` to what this request holds. Throws `tooLarge()` (413) when
   * the request alone can never fit under the cap, 503 with Retry-After when
   * it does not fit next to the requests in flight.
   */
  add(bytes: number, what: string, tooLarge: (detail: string) => WasmatrixError): void {
    if (bytes <= 0) return;
    this.checkFits(bytes, what, tooLarge);
    const limit = this.#budget.limitBytes;
    const units = this.#budget.tryReserve(bytes);
    if (units < 0) {
      throw errors.memoryExhausted(
        `${what} needs about ${mib(bytes)} and the requests in flight already hold ${mib(this.#budget.usedBytes)} of the ${mib(limit)} cap (--max-inflight-bytes); retry shortly`,
        { retryAfter: 1 },
      );
    }
    this.#units += units;
  }

  /** Throws `tooLarge` if this request with `bytes` more could never fit, whatever else is in flight. */
  checkFits(bytes: number, what: string, tooLarge: (detail: string) => WasmatrixError): void {
    const limit = this.#budget.limitBytes;
    if (this.bytes + bytes > limit) {
      throw tooLarge(`${what} needs about ${mib(this.bytes + bytes)} of memory; the cap of all in-flight requests is ${mib(limit)} (--max-inflight-bytes)`);
    }
  }

  releaseAll(): void {
    this.#budget.release(this.#units);
    this.#units = 0;
  }
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
