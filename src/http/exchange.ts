// One request/response pair and what the server needs to know about it:
// whether the client went away, when it started, what it ran (for the access
// log and metrics). Creating an Exchange registers res.onAborted at once, so
// every handler satisfies uWS's rule "onAborted before any async step".

import { performance } from 'node:perf_hooks';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { errors, type WasmatrixError } from '../errors.js';
import { Reservation, type InflightBudget } from './inflight-budget.js';

export interface ExchangeHooks {
  /** Called exactly once: after the last byte was handed to uWS, or when the client aborted. */
  finished(exchange: Exchange): void;
  /** True once the server drains: every answer then closes its connection. */
  readonly draining: boolean;
  /** The memory cap of all in-flight requests (--max-inflight-bytes). */
  readonly budget: InflightBudget;
}

export class Exchange {
  readonly res: HttpResponse;
  readonly method: string;
  /** Path and query, as received. */
  readonly url: string;
  readonly path: string;
  readonly query: string;
  /** Route label for metrics ('/threading', ..., 'unmatched'). */
  readonly route: string;
  readonly t0 = performance.now();
  /** Set once the response was fully written, or the client went away. */
  settled = false;
  aborted = false;
  status = 0;
  bytes = 0;
  mode = '-';
  dtype = '-';
  workers = 0;
  kernelSeconds = -1;
  /** Close the connection after the response: set while a request body is unread. */
  closeConnection = false;
  /** Remote address, read lazily (only the access log needs it) while res is valid. */
  client = '-';
  readonly #hooks: ExchangeHooks;
  #controller: AbortController | undefined;
  #onAbort: (() => void) | undefined;
  readonly #reservation: Reservation;

  constructor(res: HttpResponse, req: HttpRequest, route: string, hooks: ExchangeHooks, wantClient: boolean) {
    this.res = res;
    this.method = req.getMethod().toUpperCase();
    this.path = req.getUrl();
    this.query = req.getQuery() ?? '';
    this.url = this.query ? `${this.path}?${this.query}` : this.path;
    this.route = route;
    this.#hooks = hooks;
    this.#reservation = new Reservation(hooks.budget);
    if (wantClient) this.client = Buffer.from(res.getRemoteAddressAsText()).toString();
    res.onAborted(() => {
      this.aborted = true;
      this.#controller?.abort();
      this.#onAbort?.();
      this.settle(499);
    });
  }

  /** Aborts when the client goes away: pass it to the job. */
  get signal(): AbortSignal {
    this.#controller ??= new AbortController();
    return this.#controller.signal;
  }

  /** One extra abort listener (the body reader uses it). */
  onAbort(listener: () => void): void {
    this.#onAbort = listener;
  }

  /** Whether the answer must close the connection (an unread body, or the server is draining). */
  get shouldClose(): boolean {
    return this.closeConnection || this.#hooks.draining;
  }

  /** True while writing to res is still allowed. */
  get writable(): boolean {
    return !this.settled;
  }

  /**
   * Reserves memory this request is about to hold (its body, its job) from the
   * in-flight budget, until the exchange settles. Throws 503 (busy) or
   * `tooLarge` (413: it could never fit).
   */
  charge(bytes: number, what: string, tooLarge: (detail: string) => WasmatrixError): void {
    if (this.settled) throw errors.cancelled('the request is already over');
    this.#reservation.add(bytes, what, tooLarge);
  }

  /** Throws `tooLarge` (413) if `bytes` more could never fit under the cap; reserves nothing. */
  checkFits(bytes: number, what: string, tooLarge: (detail: string) => WasmatrixError): void {
    this.#reservation.checkFits(bytes, what, tooLarge);
  }

  settle(status: number): void {
    if (this.settled) return;
    this.settled = true;
    this.#reservation.releaseAll();
    if (!this.status) this.status = status;
    this.#hooks.finished(this);
  }

  /** Microseconds since the request arrived. */
  micros(): number {
    return Math.round((performance.now() - this.t0) * 1000);
  }
}
