// wrk as the load generator: the Lua script it runs (requests in turn, every
// answer checked, one JSON line from done()), the parser of that line, the
// child CPU read from /proc, and which generator each case gets. The last
// tests run the real wrk against a stand-in server (CI installs wrk).

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pickGenerator } from '../bench/http/generator.ts';
import { labAnswerProblems, summarise, type LabJobRun } from '../bench/http/lab-job.ts';
import { parseChildTicks, parseWrkReport, runWrk, wholeSeconds, wrkAvailable, wrkLatency, wrkLuaScript, wrkPhase, type WrkReport } from '../bench/http/wrk.ts';

const REPORT: WrkReport = {
  duration_us: 2_000_000,
  requests: 1000,
  bytes: 400_000,
  errors: { connect: 0, read: 1, write: 0, status: 2, timeout: 3 },
  answers: 1000,
  right: 995,
  wrong: 5,
  not200: 2,
  example: 'checksum deadbeef, expected 00000001',
  latency_us: { min: 100, mean: 2500.5, max: 9000, stdev: 10, p50: 2000, p90: 4000, p99: 8000, distribution: [[50, 2000], [99, 8000]] },
};
const line = (r: object): string => `WASMATRIX_WRK ${JSON.stringify(r)}`;

test('the report line is found among wrk\'s other output and parsed', () => {
  const r = parseWrkReport(`Running 2s test @ http://127.0.0.1:1/\n  1 threads and 20 connections\n${line(REPORT)}\nRequests/sec: 500.00\n`);
  assert.equal(r, REPORT);
});

test('latency becomes milliseconds with the max as the 100th percentile; errors are socket errors and timeouts, non-200 apart', () => {
  const lat = wrkLatency(REPORT);
  assert.is(lat.p50_ms, 2);
  assert.is(lat.p99_ms, 8);
  assert.is(lat.avg_ms, 2.5005);
  assert.equal(lat.distribution, [[50, 2], [99, 8], [100, 9]]);
  const phase = wrkPhase(REPORT);
  assert.is(phase.responses, 1000);
  assert.is(phase.seconds, 2);
  assert.is(phase.errors, 4);
  assert.is(phase.timeouts, 3);
  assert.is(phase.non2xx, 2);
  assert.equal(phase.statusCodes, { '200': 998, other: 2 });
});

test('a missing, malformed or inconsistent report is an error that says what is wrong', () => {
  assert.throws(() => parseWrkReport('unable to connect to 127.0.0.1:1 Connection refused'), /printed no report line.*Connection refused/);
  assert.throws(() => parseWrkReport('WASMATRIX_WRK {"requests":'), /not JSON/);
  assert.throws(() => parseWrkReport(line({ ...REPORT, requests: -1 })), /no valid requests/);
  assert.throws(() => parseWrkReport(line({ ...REPORT, latency_us: { ...REPORT.latency_us, p99: 'x' } })), /no valid latency_us\.p99/);
  assert.throws(() => parseWrkReport(line({ ...REPORT, right: 990 })), /does not add up/);
  const { errors: _e, ...noErrors } = REPORT;
  assert.throws(() => parseWrkReport(line(noErrors)), /error counts/);
});

test('the Lua script sends every path in turn and knows the checksum of every seed', () => {
  const lua = wrkLuaScript({ paths: ['/threading?n=500&seed=1', '/threading?n=500&seed=2'], check: { kind: 'checksum', expected: new Map([[1, '0A1B2C3D'], [2, 'ffffffff']]) } });
  assert.match(lua, /"\/threading\?n=500&seed=1",\n {2}"\/threading\?n=500&seed=2",/);
  assert.match(lua, /\["1"\] = "0a1b2c3d",\n {2}\["2"\] = "ffffffff",/);
  assert.match(lua, /local check = "checksum"/);
  assert.match(lua, /function response\(status, headers, body\)/);
  assert.match(lua, /io\.write\(string\.format\(\n {4}'WASMATRIX_WRK \{"duration_us"/);
  const lab = wrkLuaScript({ paths: ['/threading'], check: { kind: 'status-ok' } });
  assert.match(lab, /local check = "status-ok"/);
  assert.throws(() => wrkLuaScript({ paths: [], check: { kind: 'status-ok' } }), /at least one request path/);
  assert.match(wrkLuaScript({ paths: ['/a"b\\c'], check: { kind: 'status-ok' } }), /"\/a\\"b\\\\c"/);
});

test("wrk's CPU is the waiting shell's cutime + cstime; wrk takes whole seconds", () => {
  // fields after ')': state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
  assert.is(parseChildTicks('4242 (sh) S 1 4242 4242 0 -1 4194304 100 200 0 0 1 2 37 5 20 0 1 0'), 42);
  assert.is(parseChildTicks('4242 (a) b) S 1 4242 4242 0 -1 4194304 100 200 0 0 1 2 3 4 20 0 1 0'), 7);
  assert.throws(() => parseChildTicks('garbage'), /unreadable/);
  assert.equal([0.2, 0.5, 1, 2, 2.1].map(wholeSeconds), [1, 1, 1, 2, 3]);
});

test('wrk runs the GET cases; autocannon the uploads and everything when wrk is missing', () => {
  const get = { kind: 'threading' as const, requests: [{ seed: 1, method: 'GET' as const, path: '/threading', expected: '00000000' }] };
  const post = { kind: 'post-binary' as const, requests: [{ seed: 1, method: 'POST' as const, path: '/add', expected: '00000000' }] };
  assert.is(pickGenerator(get, true).tool, 'wrk');
  assert.match(pickGenerator(get, false).why, /wrk not installed/);
  assert.is(pickGenerator(get, false).tool, 'autocannon');
  assert.match(pickGenerator(post, true).why, /POST bodies/);
});

test("the lab's answers are checked for their shape; a contender's median and spread leave failed runs out", () => {
  assert.equal(labAnswerProblems(200, '{"execution_time_sec":0.003,"method":"Multithreading","sample":[0,198,5,6,7,8,9,10,11,12],"status":"ok"}'), []);
  assert.match(labAnswerProblems(200, '{"execution_time_sec":0.003,"sample":[1,2],"status":"ok"}')[0]!, /ten sums/);
  assert.match(labAnswerProblems(200, '{"execution_time_sec":0.003,"sample":[0,199,5,6,7,8,9,10,11,12],"status":"ok"}')[0]!, /ten sums/);
  assert.match(labAnswerProblems(500, 'Internal Server Error')[0]!, /status 500/);
  assert.match(labAnswerProblems(200, '<html>')[0]!, /not JSON/);
  const run = (rps: number, problem: string | null = null): LabJobRun => ({ requests_per_sec: rps, p50_ms: 1, p90_ms: 2, p99_ms: rps / 1000, errors: 0, non2xx: 0, wrong: 0, checked: 10, generator_cpu_pct: 5, server_cpu_pct: 150, problem });
  const c = summarise({ id: 'wasmatrix-w1', label: 'w1', command: 'x', check: 'y', runs: [run(3000), run(1000), run(99999, 'wrong'), run(2000)], problem: null });
  assert.equal([c.median_rps, c.min_rps, c.max_rps, c.median_p99_ms, c.problem], [2000, 1000, 3000, 2, null]);
  const none = summarise({ id: 'lab', label: 'lab', command: 'x', check: 'y', runs: [run(1, 'did not answer')], problem: null });
  assert.equal([none.median_rps, none.problem], [null, 'did not answer']);
});

/** Answers like wasmatrix's, right for every seed but `wrongSeed`. */
async function standIn(wrongSeed: number | null): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const seed = Number(new URL(req.url!, 'http://x').searchParams.get('seed'));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ status: 'ok', seed, checksum: seed === wrongSeed ? 'DEADBEEF' : `0000000${seed}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const script = { paths: [1, 2].map((s) => `/add?seed=${s}`), check: { kind: 'checksum' as const, expected: new Map([[1, '00000001'], [2, '00000002']]) } };
const settings = (url: string) => ({ url, connections: 2, seconds: 1, timeoutSeconds: 5 });

if (wrkAvailable() || process.env.WASMATRIX_REQUIRE_TOOLS === '1') {
  test('real wrk: every answer of a right server passes its Lua check, and wrk reports its own CPU', async () => {
    const { url, server } = await standIn(null);
    try {
      const run = await runWrk(script, settings(url));
      assert.ok(run.report.answers > 0);
      assert.is(run.report.wrong, 0);
      assert.is(run.report.right, run.report.answers);
      assert.ok(run.cpu_pct >= 0 && Number.isFinite(run.cpu_pct));
      assert.ok(run.report.latency_us.p50 > 0);
    } finally {
      server.close();
    }
  });

  test('real wrk: answers with a wrong checksum for one seed are counted wrong, with the reason', async () => {
    const { url, server } = await standIn(2);
    try {
      const run = await runWrk(script, settings(url));
      assert.ok(run.report.wrong > 0 && run.report.right > 0);
      assert.is(run.report.example, 'checksum deadbeef, expected 00000002');
    } finally {
      server.close();
    }
  });

  test('real wrk: a server that never answers gives a report of zeros (no garbage from the empty histogram)', async () => {
    const server = createServer(() => {}); // holds every request
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const run = await runWrk(script, settings(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
      assert.is(run.report.requests, 0);
      assert.equal(run.report.latency_us.min, 0);
      assert.equal(run.report.latency_us.distribution[0], [1, 0]);
      assert.is(wrkLatency(run.report).count, 0);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
} else {
  test.skip('real wrk: not installed (Debian: apt-get install wrk)', () => {});
}

test.run();
