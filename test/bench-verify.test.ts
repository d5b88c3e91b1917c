// Every answer is checked: a wrong checksum, a missing one or a non-200 is
// flagged, and one wrong answer fails the whole case, even one that arrives
// under load after a correct first answer.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { BenchCase, CaseRequest } from '../bench/http/cases.ts';
import { runCase } from '../bench/http/case-runner.ts';
import { caseProblems } from '../bench/http/results.ts';
import { wrkPresent } from '../bench/http/generator.ts';
import { checkAnswer, claimedChecksum, firstDifference, Verification } from '../bench/http/verify.ts';

const request: CaseRequest = { seed: 7, method: 'GET', path: '/add?seed=7', expected: '0a1b2c3d' };

test('the checksum is read from the JSON field, or from the *checksum header of a raw answer', () => {
  assert.is(claimedChecksum('{"status":"ok","checksum":"0A1B2C3D","sample":[1]}', {}, false), '0a1b2c3d');
  assert.is(claimedChecksum('\u0000\u0001binary', { 'X-Checksum': '0a1b2c3d' }, true), '0a1b2c3d');
  assert.is(claimedChecksum('{"status":"ok"}', {}, false), undefined);
});

test('a right answer passes; a wrong checksum, a missing one and a non-200 are each flagged', () => {
  assert.is(checkAnswer(request, false, 200, '{"checksum":"0a1b2c3d"}', {}), undefined);
  assert.match(checkAnswer(request, false, 200, '{"checksum":"ffffffff"}', {})!, /checksum ffffffff, expected 0a1b2c3d \(seed 7\)/);
  assert.match(checkAnswer(request, false, 200, '{}', {})!, /no checksum/);
  assert.match(checkAnswer(request, false, 503, '{"checksum":"0a1b2c3d"}', {})!, /status 503/);
  assert.match(checkAnswer(request, true, 200, '', { 'x-checksum': '00000000' })!, /checksum 00000000/);
});

test('the tally groups reasons without the seed, and one wrong answer fails the case', () => {
  const v = new Verification();
  v.record(undefined);
  v.record('checksum ffffffff, expected 0a1b2c3d (seed 7)');
  v.record('checksum ffffffff, expected 0a1b2c3d (seed 8)');
  assert.equal(v.toJSON(), { checked: 3, ok: 1, wrong: 2, reasons: { 'checksum ffffffff, expected 0a1b2c3d': 2 } });
  assert.match(caseProblems([], v.toJSON(), { errors: 0, timeouts: 0 })[0]!, /^2 of 3 answers wrong/);
  const clean = new Verification();
  clean.record(undefined);
  assert.equal(caseProblems([], clean.toJSON(), { errors: 0, timeouts: 0 }), []);
  assert.match(caseProblems([], clean.toJSON(), { errors: 2, timeouts: 1 })[0]!, /2 request errors \(1 timeouts\)/);
});

test('a full result is compared bit for bit in its dtype (float32 rounding, int32 wrap-around)', () => {
  assert.is(firstDifference([0.1, 2], new Float32Array([0.1, 2])), undefined);
  assert.is(firstDifference([2147483647, -2147483648], new Int32Array([2147483647, -2147483648])), undefined);
  assert.match(firstDifference([1, 2, 4], new Int32Array([1, 2, 3]))!, /element 2 is 4, expected 3/);
  assert.match(firstDifference([1], new Int32Array([1, 2]))!, /1 elements, expected 2/);
});

/**
 * A stand-in server: right answers for the first `rightFirst` requests (the case's full check), then every
 * answer wrong, so that any answer under load is a wrong one however few a busy machine gets in the case's 0.5 s.
 */
async function fakeServer(rightFirst: number): Promise<{ url: string; server: Server }> {
  let count = 0;
  const server = createServer((req, res) => {
    const seed = Number(new URL(req.url!, 'http://x').searchParams.get('seed'));
    count++;
    const checksum = count > rightFirst ? 'deadbeef' : `0000000${seed}`;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ status: 'ok', method: 'Multithreading', execution_time_sec: 0.0001, sample: [1, 2], n: 4, dtype: 'int32', mode: 'wasm', workers: 1, seed, checksum }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const fakeCase: BenchCase = {
  id: 'wasm@4',
  kind: 'wasm',
  n: 4,
  dtype: 'int32',
  label: 'GET /add?mode=wasm',
  requests: [1, 2].map((seed) => ({ seed, method: 'GET' as const, path: `/add?mode=wasm&n=4&seed=${seed}`, expected: `0000000${seed}` })),
};

const settings = (url: string, generator: 'auto' | 'autocannon' = 'auto') => ({
  generator,
  url,
  serverPid: process.pid,
  connections: 2,
  warmup: 0,
  duration: 0.5,
  timeout: 5,
  signal: new AbortController().signal,
  onPhase: () => {},
});

// 'auto' is wrk when it is installed (its Lua script checks the answers), autocannon otherwise
for (const generator of ['auto', 'autocannon'] as const) {
  test(`${generator}: a case whose server answers a wrong checksum under load is marked failed`, async () => {
    const { url, server } = await fakeServer(2);
    try {
      const result = await runCase(fakeCase, settings(url, generator));
      assert.is(result.status, 'failed');
      assert.ok(result.verification.wrong > 0);
      assert.match(result.problems.join('\n'), /answers wrong: \d+ x checksum deadbeef, expected 0000000[12]/);
      assert.ok(result.responses > 0 && result.requests_per_sec > 0);
    } finally {
      server.close();
    }
  });

  test(`${generator}: the same case against a server that is always right passes, every answer checked`, async () => {
    const { url, server } = await fakeServer(Infinity);
    try {
      const result = await runCase(fakeCase, settings(url, generator));
      assert.is(result.status, 'ok', result.problems.join('; '));
      assert.is(result.verification.wrong, 0);
      assert.is(result.verification.checked, result.responses);
      assert.ok(result.latency!.p50_ms > 0 && result.latency!.p50_ms < result.latency!.max_ms + 1e-9);
      assert.ok(result.resources!.rss_peak_mb > 0);
      assert.is(result.generator!.tool, generator === 'autocannon' || !wrkPresent() ? 'autocannon' : 'wrk');
    } finally {
      server.close();
    }
  });
}

test('a wrong answer to the full check first stops the case before any load', async () => {
  // the server is right; the case expects other checksums, so its full check fails first
  const { url, server } = await fakeServer(Infinity);
  try {
    const wrongFirst = { ...fakeCase, requests: fakeCase.requests.map((r) => ({ ...r, expected: 'ffffffff' })) };
    const result = await runCase(wrongFirst, settings(url));
    assert.is(result.status, 'failed');
    assert.is(result.responses, 0);
    assert.match(result.problems[0]!, /seed 1: checksum 00000001, expected ffffffff/);
  } finally {
    server.close();
  }
});

test.run();
