// One request/response pair and what the server needs to know about it:
// whether the client went away, when it started, what it ran (for the access
// log and metrics). Creating an Exchange registers res.onAborted at once, so
// every handler satisfies uWS's rule "onAborted before any async step".

import { performance } from 'node:perf_hooks';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { errors, type WasmatrixError } from '../errors.js';
import type { CancelSignal } from '../pools/pool.js';
import { Reservation, type InflightBudget } from './inflight-budget.js';
import { loopTurn } from './loop-turn.js';

/**
 * Lingering close (like nginx's lingering_close): an answer sent with close
 * while the request body is still arriving makes the kernel answer the
 * bytes that arrive after the close with a reset, which can discard the answer
 * before the client reads it. So the rest of the body is read and discarded
 * first, and the answer is written (and the connection closed) once the body
 * ended, or no byte arrived for LINGER_QUIET_MS (a client that waits for the
 * answer before sending), or LINGER_MS passed, or LINGER_BYTES were discarded
 * (a client that never stops sending is then cut off; it may see a reset).
 * In this uWS build the answer cannot come first: once a response has ended,
 * res is invalid and nothing can close its connection (there is no socket
 * handle), so a client that kept sending could never be cut off.
 */
export const LINGER_MS = 2000;
export const LINGER_QUIET_MS = 200;
export const LINGER_BYTES = 64 * 1024 * 1024;

type BodyListener = (chunk: ArrayBuffer, isLast: boolean) => void;

/**
 * Why a request got no answer (its connection closed first):
 * - client_closed: the client closed the connection (status 499);
 * - pipelined: uWS closed it because another request arrived on it, in the same
 *   read as this one (or as its last body bytes), while this one was unanswered
 *   (status 000; uWS 20.30 does this and never shows us the request behind);
 * - shutdown: the server closed it at the end of the graceful timeout (status 000).
 * How "the same read" is known: see loop-turn.ts. A request pipelined in a later
 * read than the pending one cannot be told from a client's close (uWS closes
 * before any callback we could observe), so it counts as client_closed.
 */
export type Unanswered = 'client_closed' | 'pipelined' | 'shutdown';

export interface ExchangeHooks {
  /** Called exactly once: after the last byte was handed to uWS, or when the client aborted. */
  finished(exchange: Exchange): void;
  /** True once the server drains: every answer then closes its connection. */
  readonly draining: boolean;
  /** True once the server closes every connection (the graceful timeout ran out). */
  readonly closing: boolean;
  /** The memory cap of all in-flight requests (--max-inflight-bytes). */
  readonly budget: InflightBudget;
}

/**
 * An Exchange is its own job's cancellation signal (CancelSignal, the part of
 * AbortSignal a job uses): the client going away aborts it. One listener slot
 * each for the job and the body reader covers every use, so a request costs no
 * AbortController and no EventTarget.
 */
export class Exchange implements CancelSignal {
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
  /** Set when the connection closed before the answer: status is then 499 or 0. */
  unanswered: Unanswered | undefined;
  status = 0;
  bytes = 0;
  mode = '-';
  dtype = '-';
  workers = 0;
  kernelSeconds = -1;
  /** Remote address, read lazily (only the access log needs it) while res is valid. */
  client = '-';
  readonly #hooks: ExchangeHooks;
  /** The job's abort listener (CancelSignal), at most one at a time. */
  #jobAbort: (() => void) | undefined;
  #onAbort: (() => void) | undefined;
  readonly #reservation: Reservation;
  /** A declared body (content-length or transfer-encoding) whose last chunk has not arrived. */
  #bodyPending = false;
  #receiving = false;
  #bodyListener: BodyListener | undefined;
  #lingerTimers: NodeJS.Timeout[] = [];
  #lingering = false;
  /** The loop turn of the last read that brought bytes of this request (its head, or a body chunk). */
  #readTurn = loopTurn();

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
    const length = req.getHeader('content-length');
    const chunked = req.getHeader('transfer-encoding') !== '';
    // registered at once for every request that declares a body: chunks that arrive with no handler are lost, and with them isLast
    if (length !== '' || chunked) this.#receive(length !== '0' || chunked);
    res.onAborted(() => {
      this.aborted = true;
      this.unanswered = this.#hooks.closing ? 'shutdown' : this.#readTurn === loopTurn() ? 'pipelined' : 'client_closed';
      for (const t of this.#lingerTimers) clearTimeout(t);
      const jobAbort = this.#jobAbort;
      this.#jobAbort = undefined;
      jobAbort?.();
      this.#onAbort?.();
      this.settle(this.unanswered === 'client_closed' ? 499 : 0);
    });
  }

  /** CancelSignal: the job's listener, called once when the client goes away. */
  addEventListener(_type: 'abort', listener: () => void): void {
    this.#jobAbort = listener;
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    if (this.#jobAbort === listener) this.#jobAbort = undefined;
  }

  /** One extra abort listener (the body reader uses it). */
  onAbort(listener: () => void): void {
    this.#onAbort = listener;
  }

  /**
   * Receives the request body (one listener; a later one replaces it). The
   * chunk is neutered when the listener returns: copy it.
   */
  onBody(listener: BodyListener): void {
    this.#bodyListener = listener;
    if (!this.#receiving) this.#receive(false); // no body declared: uWS still ends it with an empty last chunk
  }

  /** Registers res.onData (once: it must be in the synchronous handler). */
  #receive(pending: boolean): void {
    this.#receiving = true;
    this.#bodyPending = pending;
    this.res.onData((chunk, isLast) => {
      this.#readTurn = loopTurn();
      if (isLast) this.#bodyPending = false;
      this.#bodyListener?.(chunk, isLast);
    });
  }

  /** True while a declared request body has not fully arrived: unread bytes would be parsed as a request. */
  get bodyUnread(): boolean {
    return this.#bodyPending;
  }

  /** Whether the answer must close the connection (an unread body, an early answer, or the server is draining). */
  get shouldClose(): boolean {
    return this.#bodyPending || this.#lingering || this.#hooks.draining;
  }

  /** True while writing to res is still allowed. */
  get writable(): boolean {
    return !this.settled && !this.#lingering;
  }

  /**
   * Writes `answer` after a lingering read of the unread request body (see
   * LINGER_MS); the answer then closes the connection (shouldClose). Then
   * settles with `status`. Nothing is written if the client goes away meanwhile.
   */
  answerAfterBody(status: number, answer: () => void): void {
    const finish = (): void => {
      for (const t of this.#lingerTimers) clearTimeout(t);
      this.#bodyListener = undefined;
      if (this.settled) return; // the client went away while we lingered
      this.res.cork(answer);
      this.settle(status);
    };
    this.#lingering = true;
    this.#reservation.releaseAll(); // nothing of the body is kept from now on
    const quiet = setTimeout(finish, LINGER_QUIET_MS);
    this.#lingerTimers = [quiet, setTimeout(finish, LINGER_MS)];
    let discarded = 0;
    this.#bodyListener = (chunk, isLast) => {
      discarded += chunk.byteLength;
      if (isLast || discarded > LINGER_BYTES) finish();
      else quiet.refresh();
    };
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

  /** The status as the access log and metrics show it: three digits, 000 for no answer at all. */
  get statusLabel(): string {
    return String(this.status).padStart(3, '0');
  }

  /** Microseconds since the request arrived. */
  micros(): number {
    return Math.round((performance.now() - this.t0) * 1000);
  }
}
