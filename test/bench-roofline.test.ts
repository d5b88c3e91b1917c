// The like-for-like comparisons of bench:kernels (issue 14), on fixed inputs:
// percentiles, gcc's target help and the C program's output parsed, the C
// kernels computing what the WASM kernels compute (same checksums), the
// OpenMP and auto targets, and the generated blocks. No timing is asserted.

import { execFileSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { autoChecks, autoLines, thresholdsProvenance, openmpTable, parallelChecks, parallelLines, rooflineFindings, rooflineTable, spreadTable, type CSection, type OpenmpRow, type RooflineRow } from '../bench/comparisons.ts';
import { headline, likeForLike, loadSources, roofline } from '../bench/docs/figures.ts';
import { measure, percentile, QUICK_MEASURE } from '../bench/measure.ts';
import type { KernelRow } from '../bench/report.ts';
import { C_BUILDS, CRoofline, describeCpu, OPENMP_BUILD, parseCOutput, parseTargetHelp, ROOFLINE_SEED } from '../bench/roofline.ts';
import { decodeRequest, encodeRequest } from '../bench/ts-isolated.ts';
import { WasmKernels, compileKernels } from '../src/kernels/wasm-kernels.ts';
import { Arena } from '../src/memory/arena.ts';
import { ROOT } from '../src/paths.ts';
import { fakeRun, FAKE_KERNELS } from './fixtures/bench-results.ts';

test('percentile interpolates between ranks like NumPy (p10, p50, p90 of known arrays)', () => {
  const xs = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];
  assert.is(percentile(xs, 0), 1);
  assert.is(percentile(xs, 1), 10);
  assert.ok(Math.abs(percentile(xs, 0.1) - 1.9) < 1e-12);
  assert.ok(Math.abs(percentile(xs, 0.5) - 5.5) < 1e-12);
  assert.ok(Math.abs(percentile(xs, 0.9) - 9.1) < 1e-12);
  assert.is(percentile([42], 0.9), 42);
  // bimodal: the median sits in one mode, p90 in the other
  const bimodal = [...Array(80).fill(10), ...Array(20).fill(50)];
  assert.is(percentile(bimodal, 0.5), 10);
  assert.is(percentile(bimodal, 0.9), 50);
  assert.equal(xs, [10, 1, 9, 2, 8, 3, 7, 4, 6, 5], 'the input is not sorted in place');
  assert.throws(() => percentile([], 0.5), /no samples/);
  assert.throws(() => percentile([1], 1.5), /not in \[0, 1\]/);
});

test('measure with perCall records one time per timed call', async () => {
  let n = 0;
  const t = await measure(() => n++, { ...QUICK_MEASURE, perCall: true });
  assert.is(t.calls!.length, t.repeats * t.batch);
  assert.ok(t.calls!.every((s) => s >= 0));
  assert.is((await measure(() => n++, QUICK_MEASURE)).calls, undefined);
});

const TARGET_HELP = `The following options are target specific:
  -m128bit-long-double        		[enabled]
  -march=                     		rocketlake
  -mavx2                      		[enabled]
  -mavx512f                   		[disabled]
  -mavx512fp16                		[enabled]
  -mfma                       		[enabled]
  -mprefer-vector-width=      		256
`;

test("gcc's target help is read option by option (-mavx512f is not -mavx512fp16)", () => {
  const f = parseTargetHelp(TARGET_HELP);
  assert.equal(f, { march: 'rocketlake', avx2: true, fma: true, avx512f: false, prefer_vector_width: 256 });
  assert.is(describeCpu(f), 'gcc -march=native: rocketlake; AVX2 yes, FMA yes, AVX-512F no, gcc prefers 256-bit vectors for it');
  assert.equal(parseTargetHelp(''), { march: 'unknown', avx2: false, fma: false, avx512f: false, prefer_vector_width: null });
});

test("the C program's lines are parsed into timings; a line it cannot have printed is an error", () => {
  const [line] = parseCOutput('64 1669596353 3e-9 1e-9 2e-9\n');
  assert.is(line!.n, 64);
  assert.is(line!.check, 1669596353);
  assert.is(line!.timing.median, 2e-9);
  assert.equal(line!.timing.calls, [3e-9, 1e-9, 2e-9]);
  assert.throws(() => parseCOutput('64 12\n'), /unreadable line/);
  assert.throws(() => parseCOutput('64 12 -1\n'), /unreadable line/);
});

test('the ts-cell request survives its trip through argv, and a malformed one is refused', () => {
  const request = { cell: { kind: 'kernel' as const, kernel: 'lab' as const, n: 64 }, measure: QUICK_MEASURE };
  assert.equal(decodeRequest(encodeRequest(request)), request);
  assert.throws(() => decodeRequest('{}'), /expected/);
});

const hasGcc = (() => {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test('the C kernels compute what the WASM kernels compute: same lab checksum, same add and checksum of its data', () => {
  // CI (.ci/run installs gcc) sets WASMATRIX_REQUIRE_TOOLS=1: there a missing gcc fails
  if (!hasGcc && process.env.WASMATRIX_REQUIRE_TOOLS === '1') throw new Error('gcc not installed (Debian: apt-get install gcc libc6-dev): WASMATRIX_REQUIRE_TOOLS=1 requires it');
  if (!hasGcc) return void process.stderr.write('skipped: the C kernels, gcc not installed (Debian: apt-get install gcc libc6-dev)\n');
  const c = new CRoofline();
  try {
    const n = 24;
    const count = n * n;
    const arena = new Arena({ shared: true });
    const wasm = new WasmKernels(compileKernels().module, arena.memory);
    const out = arena.alloc(count * 4);
    const lab = wasm.randomBinary('add', 'int32', out, n, 0, n, ROOFLINE_SEED) >>> 0;
    // the C program's data: a[i] = i * 2654435761, b[i] = i * 40503 (int32)
    const a = Int32Array.from({ length: count }, (_, i) => Math.imul(i, 2654435761 | 0));
    const b = Int32Array.from({ length: count }, (_, i) => Math.imul(i, 40503));
    const sum = a.map((x, i) => (x + b[i]!) | 0);
    let checksum = 0;
    for (let i = 0; i < count; i++) checksum = (checksum + Math.imul(sum[i]!, 2 * i + 1)) >>> 0;
    for (const build of [...C_BUILDS.map((x) => x.name), OPENMP_BUILD.name].filter((name) => c.built.has(name))) {
      const threads = build === OPENMP_BUILD.name ? 2 : 1;
      assert.is(c.run(build, 'lab', threads, [n])![0]!.check, lab, `${build} lab`);
      assert.is(c.run(build, 'addsum', threads, [n])![0]!.check, checksum, `${build} addsum`);
      assert.is(c.run(build, 'add', threads, [n])![0]!.check, sum[count / 2]! >>> 0, `${build} add`);
    }
    assert.ok(c.built.has('sse4.2'), [...c.problems].join('; '));
  } finally {
    c.close();
  }
});

const row = (op: string, mode: string, n: number, ns: number, extra: Partial<KernelRow> = {}): KernelRow =>
  ({ op, mode, kernel: 'wasm', dtype: 'int32', n, workers: mode === 'threads' || mode === 'processes' ? 2 : 1, ns_per_element: ns, gb_per_s: 1, ratio_vs_ts: null, ...extra }) as KernelRow;

const omp = (kernel: 'add' | 'addsum', n: number, threads: number, ns: number): OpenmpRow => ({ kernel, n, threads, ns_per_element: ns, p10: ns * 0.9, p90: ns * 1.2 });

test("the pool's speed-up is set against OpenMP's at every size >= 2048, as a ratio against 0.9", () => {
  const rows = [row('add', 'wasm', 2048, 1.0), row('add', 'threads', 2048, 0.5), row('add', 'wasm', 4096, 1.2), row('add', 'threads', 4096, 1.0), row('add', 'wasm', 500, 1), row('add', 'threads', 500, 2)];
  const openmp = [omp('addsum', 2048, 1, 0.4), omp('addsum', 2048, 2, 0.2), omp('addsum', 4096, 1, 0.8), omp('addsum', 4096, 2, 0.5), omp('addsum', 500, 1, 1), omp('addsum', 500, 2, 1), omp('add', 2048, 1, 1), omp('add', 2048, 2, 1)];
  const checks = parallelChecks(rows, openmp);
  assert.equal(checks.map((c) => [c.n, c.met]), [[2048, true], [4096, false]]);
  assert.ok(Math.abs(checks[1]!.ratio - 1.2 / 1.6) < 1e-12);
  const lines = parallelLines(checks);
  assert.match(lines[0]!, /n = 2048: threads\(2\) 2\.00x over wasm, C OpenMP 2\.00x over 1 thread: 1\.00x of it \(target >= 0\.9x: met\)/);
  assert.match(lines[1]!, /0\.75x of it \(target >= 0\.9x: MISSED\)/);
  assert.match(parallelLines([])[0]!, /not measured/);
  const busy = parallelLines(parallelChecks([row('add', 'wasm', 2048, 1), row('add', 'threads', 2048, 2)], [omp('addsum', 2048, 1, 0.4), omp('addsum', 2048, 2, 0.8)]))[0]!;
  assert.match(busy, /1\.00x of it \(target >= 0\.9x: met; OpenMP gained nothing from a second thread, so the machine was busy/);
  assert.match(openmpTable(openmp), /\| addsum \| 2048 \| 0\.400 \(0\.360-0\.480\) \| 0\.200 \(0\.180-0\.240\) \| 2\.00x \|/);
});

test('auto is set against the best fixed mode at every size, and a miss names its cause', () => {
  const rows = [
    row('add', 'wasm', 64, 1),
    row('add', 'threads', 64, 5),
    row('add', 'auto', 64, 1.05, { picked: 'wasm' }),
    row('add', 'wasm', 2048, 1),
    row('add', 'threads', 2048, 0.5),
    row('add', 'auto', 2048, 1, { picked: 'wasm' }),
    row('add', 'wasm', 4096, 1),
    row('add', 'threads', 4096, 0.5),
    row('add', 'auto', 4096, 0.6, { picked: 'threads' }),
  ];
  const checks = autoChecks(rows);
  assert.equal(
    checks.map((c) => [c.n, c.met, c.cause]),
    [
      [64, true, null],
      [2048, false, 'thresholds'],
      [4096, false, 'overhead or noise'],
    ],
  );
  const processesBest = autoChecks([row('random+add', 'wasm', 500, 1), row('random+add', 'processes', 500, 0.8), row('random+add', 'auto', 500, 1, { picked: 'wasm' })]);
  assert.is(processesBest[0]!.cause, 'processes, never picked by auto');
  assert.is(
    autoLines(checks)[0],
    'auto add int32 vs the best fixed mode (target <= 10% slower at every size): MISSED at 2 of 3 sizes; 64: wasm +5%, 2048: wasm (best threads) +100% MISSED (thresholds), 4096: threads +20% MISSED (overhead or noise)',
  );
});

test("the thresholds' provenance is stated only when they were measured on another CPU than the run's", () => {
  const measured = { cpu: 'AMD EPYC', date: '2026-11-25T22:30:58.261Z', by: 'npm run bench:kernels -- --write-thresholds' };
  assert.is(thresholdsProvenance(measured, 'AMD EPYC'), null);
  assert.is(
    thresholdsProvenance(measured, 'Intel(R) Xeon(R) Processor'),
    'auto\'s thresholds (config/auto-thresholds.json) were measured on AMD EPYC (2026-11-25), not on this run\'s Intel(R) Xeon(R) Processor: misses marked "thresholds" may be theirs; `npm run bench:kernels -- --write-thresholds` re-measures them here',
  );
});

const ROOFLINE: RooflineRow[] = [
  { kernel: 'add', n: 64, c: { native: 0.05, 'native-512': 0.025, 'sse4.2': 0.08 }, wasm_ns: 0.1, ts_ns: 2 },
  { kernel: 'add', n: 4096, c: { native: 0.8, 'native-512': 0.8, 'sse4.2': 0.8 }, wasm_ns: 0.84, ts_ns: 2.2 },
  { kernel: 'lab', n: 64, c: { native: 0.7, 'native-512': 0.5, 'sse4.2': 0.7 }, wasm_ns: 0.63, ts_ns: null },
];
const BUILDS = C_BUILDS.filter((b) => b.name !== 'avx2');

test('the roofline states wasm against the 128-bit build in cache and against native at the largest size', () => {
  assert.equal(rooflineFindings(ROOFLINE), [
    'Bare add: in cache (n = 64) wasm takes 1.25x the time of C at the same 128-bit width (-msse4.2); 4.00x the time of the fastest C build (native-512); at n = 4096 (memory-bound) wasm takes 1.05x the time of C -march=native.',
    "The lab's job: in cache (n = 64) wasm takes 0.90x the time of C at the same 128-bit width (-msse4.2); 1.26x the time of the fastest C build (native-512).",
  ]);
  const table = rooflineTable(ROOFLINE.filter((r) => r.kernel === 'add'), BUILDS);
  assert.match(table, /^\| n \| C native \| C native-512 \| C sse4\.2 \| wasm \| ts \| wasm time \/ C sse4\.2 \| wasm time \/ C native \|/);
  assert.match(table, /\| 64 \| 0\.050 \| 0\.025 \| 0\.080 \| 0\.100 \| 2\.000 \| 1\.25x \| 2\.00x \|/);
});

test('the spread table shows p10 / p50 / p90 of the pool cells only', () => {
  const rows = [row('add', 'wasm', 64, 0.2), row('add', 'threads', 64, 17, { p10: 12, p50: 13, p90: 38 }), row('add', 'processes', 64, 40, { p10: 30, p90: 60 })];
  const table = spreadTable(rows);
  assert.match(table, /\| add \| int32 \| 64 \| 12\.000 \/ 13\.000 \/ 38\.000 \| - \| 30\.000 \/ - \/ 60\.000 \| - \|/);
  assert.is(table.split('\n').length, 3);
});

test('the generated blocks say which fields a result that predates them lacks, and render them when present', () => {
  const old = { ...loadSources(ROOT), run: fakeRun() };
  for (const block of [roofline(old), likeForLike(old)]) {
    assert.match(block, /^Not in this result: .* predates issue 14's like-for-like measurements and lacks the C builds and C with OpenMP \(`kernels\.c`\);/);
    assert.match(block, /p10 and p90 \(`kernels\.rows\[\]\.p10`/);
  }
  const c: CSection = { cpu: parseTargetHelp(TARGET_HELP), builds: BUILDS, skipped: { avx2: 'test' }, openmp_build: OPENMP_BUILD, openmp: [omp('addsum', 2048, 1, 0.4), omp('addsum', 2048, 2, 0.25)] };
  const rows = [row('add', 'wasm', 2048, 1), row('add', 'threads', 2048, 0.55, { p10: 0.5, p50: 0.55, p90: 0.9 }), row('add', 'auto', 2048, 0.56, { picked: 'threads' })];
  const run = fakeRun();
  const fresh = { ...loadSources(ROOT), run: { ...run, kernels: { ...FAKE_KERNELS, rows, roofline: ROOFLINE, c, context: { ...FAKE_KERNELS.context!, ts_baseline: 'each TS cell in a fresh process' } } } };
  const block = roofline(fresh);
  assert.match(block, /The TS baseline: each TS cell in a fresh process\./);
  assert.match(block, /- `avx2`: skipped, test/);
  assert.match(block, /n = 2048: threads\(2\) 1\.82x over wasm, C OpenMP 1\.60x over 1 thread: 1\.14x of it \(target >= 0\.9x: met\)/);
  assert.match(block, /\| add \| int32 \| 2048 \| 0\.500 \/ 0\.550 \/ 0\.900 \|/);
  assert.match(headline(fresh), /\n- Against C in the same run \(\[docs\/benchmarks\.md\]\(docs\/benchmarks\.md#against-c-and-openmp-like-for-like\)\): bare add: in cache \(n = 64\) wasm takes 1\.25x/);
  assert.not.match(headline(old), /Against C/);
  const summary = likeForLike(fresh);
  assert.match(summary, /- Bare add: in cache \(n = 64\) wasm takes 1\.25x/);
  assert.match(summary, /- auto add int32 vs the best fixed mode .*: met/);
});

test.run();
