// Pass or fail: every rule the soak enforces, over facts gathered by main.ts.
// Pure, so that test/soak-ledger.test.ts can show each rule failing.

import type { LedgerSummary } from './ledger.js';

const MB = 1024 * 1024;

/**
 * The server's RSS at the end may exceed its RSS after the warm-up by at most
 * this much. After the warm-up every route, size and dtype has run, so the
 * shared WebAssembly memory, the V8 heaps and the code are at their working
 * size; what grows after that is a leak (a worker replaced without freeing its
 * instance, buffers kept per request). 256 MB leaves room for V8 heap growth
 * between collections and for replaced workers not yet collected; a
 * per-request or per-restart leak of a matrix crosses it within a minute.
 */
export const RSS_GROWTH_LIMIT_BYTES = 256 * MB;

export const rssLimitText = `the server's RSS at the end may exceed its RSS after the warm-up by at most ${RSS_GROWTH_LIMIT_BYTES / MB} MB`;

export interface SoakFacts {
  ledger: LedgerSummary;
  /** How the server ended after SIGTERM; undefined: still running after the graceful timeout. */
  exit: { code: number | null; signal: string | null } | undefined;
  /** The server's own pid still exists after it was stopped. */
  serverAlive: boolean;
  /** Processes of the server (seen during the run) still alive after it exited: "pid (command)". */
  leaked: string[];
  /** Server RSS in bytes after the warm-up and at the end; undefined if unread. */
  rss: { warm: number; end: number } | undefined;
  /** Kills done per kind, and worker restarts per pool from /metrics at the end (undefined if unread). */
  kills: { thread: number; process: number };
  restarts: { threads: number; processes: number } | undefined;
  /** Problems found before the load (a wrong first answer, the server did not start...). */
  setupProblems: string[];
}

/** Every broken rule, as a sentence; empty when the soak passed. */
export function verdict(f: SoakFacts): string[] {
  const l = f.ledger;
  const failures: string[] = [...f.setupProblems];
  if (l.sent === 0) failures.push('no request was sent');
  if (l.wrong) failures.push(`${l.wrong} wrong answers (e.g. ${l.examples.wrong[0]})`);
  if (l.undocumented) failures.push(`${l.undocumented} answers with an undocumented status (e.g. ${l.examples.undocumented[0]})`);
  if (l.unanswered) failures.push(`${l.unanswered} requests never answered (e.g. ${l.examples.unanswered[0]})`);
  if (l.connectionErrors) failures.push(`${l.connectionErrors} connection errors (${l.timeouts} of them timeouts)`);
  if (l.strayAnswers) failures.push(`${l.strayAnswers} answers to no open request`);
  if (l.sent !== l.answered + l.unanswered + l.undelivered) {
    failures.push(`the ledger does not balance: ${l.sent} sent, ${l.answered} answered, ${l.unanswered} unanswered, ${l.undelivered} undelivered`);
  }
  if (!f.exit) failures.push('the server did not exit after SIGTERM within its graceful timeout');
  else if (f.exit.code !== 0) failures.push(`the server exited with ${f.exit.signal ? `signal ${f.exit.signal}` : `code ${f.exit.code}`}, not 0`);
  if (f.serverAlive) failures.push('the server process is still alive after it was stopped');
  if (f.leaked.length) failures.push(`${f.leaked.length} processes of the server outlived it: ${f.leaked.join(', ')}`);
  if (!f.rss) failures.push("the server's RSS could not be read");
  else if (f.rss.end - f.rss.warm > RSS_GROWTH_LIMIT_BYTES) {
    failures.push(`RSS grew from ${Math.round(f.rss.warm / MB)} MB after the warm-up to ${Math.round(f.rss.end / MB)} MB (limit +${RSS_GROWTH_LIMIT_BYTES / MB} MB)`);
  }
  if (!f.restarts) failures.push('wasmatrix_pool_worker_restarts could not be read from /metrics');
  else {
    // a chaos loop that killed nothing would make every other check meaningless
    if (f.kills.thread > 0 && f.restarts.threads === 0) failures.push(`${f.kills.thread} thread kills, but the thread pool reports no restart`);
    if (f.kills.process > 0 && f.restarts.processes === 0) failures.push(`${f.kills.process} process kills, but the process pool reports no restart`);
  }
  return failures;
}
