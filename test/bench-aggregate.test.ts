// Aggregation with fixed inputs: ratios to the baseline, latency percentiles,
// the kernel benchmark's rows, and conclusions and targets computed from data.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conclusions, labComparisons, targets } from '../bench/http/conclusions.ts';
import { crossovers, parseKernelJson } from '../bench/http/kernels-section.ts';
import { LatencyRecorder } from '../bench/http/latency.ts';
import { addRatios } from '../bench/http/results.ts';
import { fakeCase, fakeRun, FAKE_KERNELS } from './fixtures/bench-results.ts';

test('ratios are to GET /add?mode=ts at the same size; none for POST, failed cases or a missing baseline', () => {
  const out = addRatios([
    fakeCase('ts', 500, 1000),
    fakeCase('wasm', 500, 5500),
    fakeCase('post-binary', 500, 400),
    fakeCase('threads', 500, 9000, { status: 'failed' }),
    fakeCase('wasm', 2048, 300),
  ]);
  assert.equal(out.map((c) => c.ratio_vs_ts), [1, 5.5, null, null, null]);
});

test('latency percentiles keep sub-millisecond resolution', () => {
  const rec = new LatencyRecorder();
  for (let i = 1; i <= 1000; i++) rec.record(i / 1000); // 0.001 .. 1.000 ms
  const s = rec.summary();
  assert.is(s.count, 1000);
  assert.ok(Math.abs(s.p50_ms - 0.5) < 0.005, `p50 ${s.p50_ms}`);
  assert.ok(Math.abs(s.p99_ms - 0.99) < 0.005, `p99 ${s.p99_ms}`);
  assert.ok(Math.abs(s.avg_ms - 0.5005) < 0.002, `avg ${s.avg_ms}`);
  assert.equal(s.distribution.at(-1)![0], 100);
  assert.equal(new LatencyRecorder().summary().count, 0);
});

test('the kernel benchmark\'s JSON object is parsed, and crossovers found where a pool stays ahead of wasm', () => {
  const printed = { context: FAKE_KERNELS.context, rows: FAKE_KERNELS.rows, matmul: [], roofline: [], roofline_skipped: null, spawn_costs: FAKE_KERNELS.spawn_costs };
  const result = parseKernelJson(JSON.stringify(printed, null, 2));
  assert.is(result.rows.length, 4);
  assert.equal(result.spawn_costs, FAKE_KERNELS.spawn_costs);
  const [c] = crossovers(result.rows);
  assert.is(c!.mode, 'threads');
  assert.is(c!.from_n, 2048);
  assert.equal(c!.ratios.map(([n, x]) => [n, Number(x.toFixed(3))]), [[500, 0.833], [2048, 2]]);
  assert.throws(() => parseKernelJson('no json here'), /no JSON object/);
  assert.throws(() => parseKernelJson(JSON.stringify(FAKE_KERNELS.rows)), /no JSON object/);
  assert.throws(() => parseKernelJson(JSON.stringify({ rows: [] })), /lacks rows, matmul, spawn_costs, roofline or context/);
  assert.throws(() => parseKernelJson(JSON.stringify({ ...printed, rows: [{ op: 'add' }] })), /without mode/);
});

test('conclusions name the winner by measured numbers and leave out failed cases', () => {
  const lines = conclusions(fakeRun());
  const winner = lines.find((l) => l.startsWith('At n = 500, '))!;
  // threads (9,000 req/s) failed its checks: the fastest checked case wins
  assert.match(winner, /`GET \/threading` serves the most: 6,500 req\/s, 6\.50x the pure-TS baseline \(1,000 req\/s\), \+63% over the runner-up `GET \/add\?mode=wasm` \(4,000 req\/s\)/);
  assert.match(lines.join('\n'), /Failed \(excluded from every ranking above\): `GET \/add\?mode=threads` n = 500 \(3 of 100 answers wrong/);
  assert.match(lines.join('\n'), /threads beats single-thread wasm from n = 2048/);
  assert.match(lines.join('\n'), /Per request, fresh child process: 40\.0 ms/);
});

test("the lab's claim is judged from the data, either way", () => {
  const run = fakeRun();
  assert.match(labComparisons(run.cases)[0]!, /`GET \/threading` serves 6,500 req\/s and `GET \/multiprocessing` 2,000 \(3\.25x\): threads beat processes, the opposite of the lab/);
  const flipped = run.cases.map((c) => (c.kind === 'multiprocessing' ? { ...c, requests_per_sec: 7000 } : c));
  assert.match(labComparisons(flipped)[0]!, /processes beat threads, as the lab found/);
});

test('targets: met, missed and not measured', () => {
  const run = fakeRun();
  const [w1, w2, w2VsW1, wasm, memory] = targets(run);
  assert.is(w1!.met, true);
  assert.match(w1!.name, /wrk: wasmatrix -w 1/);
  assert.match(w1!.measured, /^10,500 req\/s \(10,400 to 10,700\), p99 4\.00 ms, median of 3; 25\.00x the lab \(420 req\/s\)$/);
  assert.is(w2!.met, false, 'under 10,000 req/s and p99 over 5 ms');
  assert.is(w2VsW1!.met, false);
  assert.match(w2VsW1!.measured, /-w 2 9,000 vs -w 1 10,500 req\/s \(0\.86x\)/);
  assert.is(wasm!.met, false); // wasm 4x and multiprocessing 2x are under 5x
  assert.match(wasm!.measured, /wasm 4\.00x, threading 6\.50x, multiprocessing 2\.00x/);
  assert.is(memory!.met, true);
  assert.match(memory!.measured, /peak 260 MB RSS/);
  const none = targets({ ...run, cases: [], stall: null, lab_job: null });
  assert.equal(none.map((t) => t.met), [null, null, null, null, null, null]);
  const older = targets({ ...run, lab_job: undefined });
  assert.match(older[0]!.measured, /this result has no "lab's job" section/);
});

test("the lab's job: medians, spread and ratios to the lab from the same run, in the conclusions", () => {
  const line = conclusions(fakeRun()).find((l) => l.startsWith("The lab's job, like with like"))!;
  assert.match(line, /wasmatrix -w 1 10,500 req\/s \(10,400 to 10,700\), p99 4\.00 ms, 25\.00x the lab, wrk 8% of a core/);
  assert.match(line, /plain node:http \+ typed arrays 700 req\/s \(690 to 710\), p99 40\.0 ms, 1\.67x the lab/);
  assert.match(line, /threading -w 2 --threads 4 430 req\/s, multiprocessing -w 1 failed \(status 500\)/);
  assert.match(line, /For reference, the lab's own ApacheBench example/);
});

test.run();
