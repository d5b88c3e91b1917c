// The soak's ledger: every request gets an id when it is sent, and must end
// with exactly one answer. When a load window ends, every request of it still
// open is unanswered: a failure, whatever the load generator says about it
// (a timeout, a broken connection, or nothing at all: a dropped request).
// The one exception is a request the load generator wrote on a connection the
// server had announced it would close (undelivered, counted apart).
// Pure bookkeeping, no I/O: test/soak-ledger.test.ts drives it by hand.

import type { Outcome } from './answers.js';

/** Failure reasons kept as examples, per kind of failure. */
const EXAMPLES = 5;

export interface RouteTally {
  sent: number;
  ok: number;
  wrong: number;
  /** "503 WORKER_FAILED" -> count. */
  documented: Record<string, number>;
  undocumented: number;
  unanswered: number;
  /** Sent by the load generator on a connection the server had closed (Connection: close) and never delivered: not a failure. */
  undelivered: number;
}

/** The tally of every route together, and what only the whole run has. */
export interface LedgerSummary extends RouteTally {
  windows: number;
  answered: number;
  /** Connection errors the load generator saw, timeouts included (each one a failure). */
  connectionErrors: number;
  timeouts: number;
  /** Answers to a request that was not open (already answered, or never sent): a desynchronised connection. */
  strayAnswers: number;
  routes: Record<string, RouteTally>;
  /** A few examples per failure kind: wrong, undocumented, unanswered. */
  examples: { wrong: string[]; undocumented: string[]; unanswered: string[] };
}

interface Open {
  route: string;
  what: string;
  window: number;
  /** Written right after an answer that closed the connection. */
  afterClose: boolean;
}

const emptyTally = (): RouteTally => ({ sent: 0, ok: 0, wrong: 0, documented: {}, undocumented: 0, unanswered: 0, undelivered: 0 });

export class Ledger {
  #nextId = 1;
  #window = 0;
  readonly #open = new Map<number, Open>();
  /** What only the whole run has; the totals are the sums of the routes' tallies (summary()). */
  readonly #summary: Omit<LedgerSummary, keyof RouteTally | 'answered'> = {
    windows: 0,
    connectionErrors: 0,
    timeouts: 0,
    strayAnswers: 0,
    routes: {},
    examples: { wrong: [], undocumented: [], unanswered: [] },
  };

  /** Starts a load window; requests sent from now on belong to it. */
  openWindow(): number {
    this.#summary.windows++;
    return ++this.#window;
  }

  /**
   * Records a request about to be sent; `what` names it in examples (method,
   * path, seed); `afterClose`: it goes out on a connection whose last answer
   * said Connection: close. Returns its id.
   */
  sent(route: string, what: string, afterClose = false): number {
    const id = this.#nextId++;
    this.#open.set(id, { route, what, window: this.#window, afterClose });
    this.#route(route).sent++;
    return id;
  }

  /** Records the answer to request `id`. */
  answer(id: number, outcome: Outcome): void {
    const open = this.#open.get(id);
    if (!open) {
      this.#summary.strayAnswers++;
      return;
    }
    this.#open.delete(id);
    const route = this.#route(open.route);
    switch (outcome.kind) {
      case 'ok':
        route.ok++;
        break;
      case 'wrong':
        route.wrong++;
        this.#example('wrong', `${open.what}: ${outcome.reason}`);
        break;
      case 'documented':
        route.documented[outcome.key] = (route.documented[outcome.key] ?? 0) + 1;
        break;
      case 'undocumented':
        route.undocumented++;
        this.#example('undocumented', `${open.what}: ${outcome.reason}`);
        break;
    }
  }

  /** An answer on a connection with no request open: autocannon and the server fell out of step. */
  stray(): void {
    this.#summary.strayAnswers++;
  }

  /**
   * Ends the current window: its requests still open are unanswered from now
   * on (an answer arriving later is stray), except those sent on a connection
   * the server had closed, which it never received (undelivered). `errors` and
   * `timeouts` are what the load generator counted in the window (errors
   * include timeouts). Returns the count of unanswered requests.
   */
  closeWindow(errors: number, timeouts: number): number {
    let unanswered = 0;
    for (const [id, open] of this.#open) {
      if (open.window !== this.#window) continue;
      this.#open.delete(id);
      const route = this.#route(open.route);
      if (open.afterClose) {
        route.undelivered++;
        continue;
      }
      unanswered++;
      route.unanswered++;
      this.#example('unanswered', open.what);
    }
    this.#summary.connectionErrors += errors;
    this.#summary.timeouts += timeouts;
    return unanswered;
  }

  /** Requests sent and not yet answered. */
  get openCount(): number {
    return this.#open.size;
  }

  summary(): LedgerSummary {
    const run = structuredClone(this.#summary);
    const total = emptyTally();
    for (const r of Object.values(run.routes)) {
      for (const k of ['sent', 'ok', 'wrong', 'undocumented', 'unanswered', 'undelivered'] as const) total[k] += r[k];
      for (const [key, n] of Object.entries(r.documented)) total.documented[key] = (total.documented[key] ?? 0) + n;
    }
    const documented = Object.values(total.documented).reduce((a, b) => a + b, 0);
    return { ...total, answered: total.ok + total.wrong + documented + total.undocumented, ...run };
  }

  #route(route: string): RouteTally {
    return (this.#summary.routes[route] ??= emptyTally());
  }

  #example(kind: keyof LedgerSummary['examples'], text: string): void {
    const list = this.#summary.examples[kind];
    if (list.length < EXAMPLES) list.push(text);
  }
}
