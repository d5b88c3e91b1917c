// The soak's pure parts: every request sent must end as a verified 200 or a
// documented 503/504, an unanswered one is a failure, and each rule of the
// verdict fails the run on its own.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { classifyAnswer, classifyProblem, type Expectation } from '../bench/soak/answers.ts';
import { Ledger } from '../bench/soak/ledger.ts';
import { parseRestarts } from '../bench/soak/restarts.ts';
import { RSS_GROWTH_LIMIT_BYTES, verdict, type SoakFacts } from '../bench/soak/verdict.ts';

const get: Expectation = { request: { seed: 7, method: 'GET', path: '/add?seed=7', expected: '0a1b2c3d' }, raw: false, lab: false };
const lab: Expectation = { ...get, lab: true };
const upload: Expectation = { ...get, output: new Int32Array([1, 2, 3, 4]) };
const problem = (status: number, code: string): string => JSON.stringify({ type: 'x', title: 't', status, detail: 'd', instance: '/add', code });
const PROBLEM_HEADERS = { 'content-type': 'application/problem+json' };

test('a 200 is right only when its checksum (and for a lab GET its fields, for an upload its result) matches', () => {
  assert.equal(classifyAnswer(get, 200, '{"checksum":"0a1b2c3d"}', {}), { kind: 'ok' });
  assert.is(classifyAnswer(get, 200, '{"checksum":"ffffffff"}', {}).kind, 'wrong');
  assert.is(classifyAnswer(lab, 200, '{"checksum":"0a1b2c3d"}', {}).kind, 'wrong');
  const labBody = { status: 'ok', execution_time_sec: 0.1, sample: [1], dtype: 'int32', mode: 'wasm', workers: 1, seed: 7, checksum: '0a1b2c3d' };
  assert.equal(classifyAnswer(lab, 200, JSON.stringify(labBody), {}), { kind: 'ok' });
  assert.equal(classifyAnswer(upload, 200, '{"checksum":"0a1b2c3d","result":[[1,2],[3,4]]}', {}), { kind: 'ok' });
  assert.equal(classifyAnswer(upload, 200, '{"checksum":"0a1b2c3d","result":[[1,2],[3,5]]}', {}), { kind: 'wrong', reason: 'result element 3 is 5, expected 4' });
  assert.is(classifyAnswer({ ...get, raw: true }, 200, '', { 'x-checksum': '0a1b2c3d' }).kind, 'ok');
});

test('only 503 QUEUE_FULL, WORKER_FAILED, MEMORY_EXHAUSTED and 504 TIMEOUT, as problem+json, are documented', () => {
  assert.equal(classifyProblem(503, problem(503, 'WORKER_FAILED'), PROBLEM_HEADERS), { kind: 'documented', key: '503 WORKER_FAILED' });
  assert.equal(classifyProblem(504, problem(504, 'TIMEOUT'), PROBLEM_HEADERS), { kind: 'documented', key: '504 TIMEOUT' });
  assert.equal(classifyProblem(503, problem(503, 'QUEUE_FULL'), { ...PROBLEM_HEADERS, 'retry-after': '1' }), { kind: 'documented', key: '503 QUEUE_FULL' });
  assert.match((classifyProblem(503, problem(503, 'QUEUE_FULL'), PROBLEM_HEADERS) as { reason: string }).reason, /without Retry-After/);
  assert.is(classifyProblem(503, problem(503, 'SHUTTING_DOWN'), PROBLEM_HEADERS).kind, 'undocumented');
  assert.is(classifyProblem(503, problem(504, 'TIMEOUT'), PROBLEM_HEADERS).kind, 'undocumented');
  assert.is(classifyProblem(500, problem(500, 'INTERNAL'), PROBLEM_HEADERS).kind, 'undocumented');
  assert.is(classifyProblem(503, problem(503, 'WORKER_FAILED'), { 'content-type': 'text/plain' }).kind, 'undocumented');
  assert.is(classifyProblem(503, 'Service Unavailable', {}).kind, 'undocumented');
});

test('the ledger counts each answer once, per route; a request still open when its window closes is unanswered', () => {
  const ledger = new Ledger();
  ledger.openWindow();
  const a = ledger.sent('GET /threading', 'GET /threading?seed=1');
  const b = ledger.sent('GET /threading', 'GET /threading?seed=2');
  const c = ledger.sent('POST /add (JSON)', 'POST /add (seed 3)');
  ledger.answer(a, { kind: 'ok' });
  ledger.answer(c, { kind: 'documented', key: '503 WORKER_FAILED' });
  assert.is(ledger.openCount, 1);
  assert.is(ledger.closeWindow(0, 0), 1);
  ledger.answer(b, { kind: 'ok' }); // too late: the window is closed
  ledger.answer(a, { kind: 'ok' }); // twice
  const s = ledger.summary();
  assert.equal([s.sent, s.answered, s.ok, s.unanswered, s.strayAnswers], [3, 2, 1, 1, 2]);
  assert.equal(s.routes['GET /threading'], { sent: 2, ok: 1, wrong: 0, documented: {}, undocumented: 0, unanswered: 1, undelivered: 0 });
  assert.equal(s.documented, { '503 WORKER_FAILED': 1 });
  assert.equal(s.examples.unanswered, ['GET /threading?seed=2']);
});

test('a request written after a Connection: close answer and never answered is undelivered, not unanswered', () => {
  const ledger = new Ledger();
  ledger.openWindow();
  ledger.sent('POST /add (JSON)', 'lost', true);
  ledger.answer(ledger.sent('POST /add (JSON)', 'answered', true), { kind: 'ok' });
  assert.is(ledger.closeWindow(0, 0), 0);
  const s = ledger.summary();
  assert.equal([s.unanswered, s.undelivered, s.ok], [0, 1, 1]);
  assert.equal(verdict(facts({ ledger: s })), []);
});

const MB = 1024 * 1024;

function cleanLedger(): Ledger {
  const ledger = new Ledger();
  ledger.openWindow();
  ledger.answer(ledger.sent('GET /add?mode=ts', 'GET /add?mode=ts&seed=1'), { kind: 'ok' });
  ledger.closeWindow(0, 0);
  return ledger;
}

function facts(overrides: Partial<SoakFacts> = {}): SoakFacts {
  return {
    ledger: cleanLedger().summary(),
    exit: { code: 0, signal: null },
    serverAlive: false,
    leaked: [],
    rss: { warm: 150 * MB, end: 200 * MB },
    kills: { thread: 3, process: 3 },
    restarts: { threads: 3, processes: 3 },
    setupProblems: [],
    ...overrides,
  };
}

test('a clean run passes', () => {
  assert.equal(verdict(facts()), []);
});

test('each broken rule fails the run on its own', () => {
  const failing = (o: Partial<SoakFacts>, pattern: RegExp): void => {
    const failures = verdict(facts(o));
    assert.is(failures.length, 1, failures.join('; '));
    assert.match(failures[0]!, pattern);
  };
  const ledger = (f: (l: Ledger) => void): SoakFacts['ledger'] => {
    const l = cleanLedger();
    l.openWindow();
    f(l);
    return l.summary();
  };
  failing({ ledger: ledger((l) => (l.answer(l.sent('r', 'w'), { kind: 'wrong', reason: 'checksum 0' }), l.closeWindow(0, 0))) }, /1 wrong answers \(e\.g\. w: checksum 0\)/);
  failing({ ledger: ledger((l) => (l.answer(l.sent('r', 'u'), { kind: 'undocumented', reason: '500 INTERNAL' }), l.closeWindow(0, 0))) }, /undocumented status/);
  failing({ ledger: ledger((l) => (l.sent('r', 'hung'), l.closeWindow(0, 0))) }, /1 requests never answered \(e\.g\. hung\)/);
  failing({ ledger: ledger((l) => (l.answer(l.sent('r', 'x'), { kind: 'ok' }), l.closeWindow(2, 1))) }, /2 connection errors \(1 of them timeouts\)/);
  failing({ ledger: ledger((l) => (l.stray(), l.closeWindow(0, 0))) }, /answers to no open request/);
  failing({ ledger: new Ledger().summary() }, /no request was sent/);
  failing({ exit: { code: 1, signal: null } }, /exited with code 1/);
  failing({ exit: { code: null, signal: 'SIGABRT' } }, /signal SIGABRT/);
  failing({ exit: undefined }, /did not exit after SIGTERM/);
  failing({ serverAlive: true }, /still alive/);
  failing({ leaked: ['4242 (node process-worker.js)'] }, /1 processes of the server outlived it: 4242/);
  failing({ rss: { warm: 150 * MB, end: 150 * MB + RSS_GROWTH_LIMIT_BYTES + MB } }, /RSS grew from 150 MB .* to 407 MB/);
  failing({ rss: undefined }, /RSS could not be read/);
  failing({ restarts: { threads: 0, processes: 3 } }, /3 thread kills, but the thread pool reports no restart/);
  failing({ restarts: undefined }, /could not be read from \/metrics/);
  failing({ setupProblems: ['the server did not start'] }, /did not start/);
});

test('RSS growth up to the limit passes', () => {
  assert.equal(verdict(facts({ rss: { warm: 150 * MB, end: 150 * MB + RSS_GROWTH_LIMIT_BYTES } })), []);
});

test('worker restarts are read per pool from the Prometheus text of /metrics', () => {
  const text = [
    '# HELP wasmatrix_pool_worker_restarts Workers replaced since start',
    '# TYPE wasmatrix_pool_worker_restarts gauge',
    'wasmatrix_pool_worker_restarts{pool="threads"} 12',
    'wasmatrix_pool_worker_restarts{pool="processes"} 9',
    'wasmatrix_pool_size{pool="threads"} 2',
  ].join('\n');
  assert.equal(parseRestarts(text), { threads: 12, processes: 9 });
  assert.is(parseRestarts('wasmatrix_pool_worker_restarts{pool="threads"} 1'), undefined);
});

test.run();
