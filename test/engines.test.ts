// The five modes behind one contract: for one seed or one set of caller data,
// every mode x kernel x dtype x op and every worker count gives the same output,
// sample and checksum; workers are bounded; many jobs can be in flight on the
// pools at once; and the pools close without leaving a thread or process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngines, type Engines } from '../src/engines/index.js';
import type { JobResult, JobSpec, KernelKind, Mode } from '../src/engines/job.js';
import { isWasmatrixError } from '../src/errors.js';
import { ARRAY_OF, DTYPES, OPS, type Dtype, type MatrixArray } from '../src/kernels/dtype.js';
import { operation } from '../src/ops/index.js';
import { xorshift } from './fixtures/kernel-sets.js';
import { alive } from './fixtures/server-inspect.ts';

const POOL = 4; // so 1, 2, 3 and 4 workers can be asked for
let engines: Engines;

test.before(async () => {
  engines = await createEngines({ threads: POOL, processes: POOL });
});
test.after(async () => {
  await engines.close();
});

/** Every way to run a job: mode, kernel, workers (undefined: the mode decides). */
function variants(): { mode: Mode; kernel: KernelKind; workers: number | undefined }[] {
  const out: { mode: Mode; kernel: KernelKind; workers: number | undefined }[] = [
    { mode: 'ts', kernel: 'ts', workers: undefined },
    { mode: 'wasm', kernel: 'wasm', workers: undefined },
    { mode: 'auto', kernel: 'wasm', workers: undefined },
    { mode: 'auto', kernel: 'ts', workers: undefined },
  ];
  for (const mode of ['threads', 'processes'] as const)
    for (const kernel of ['wasm', 'ts'] as const) for (let workers = 1; workers <= POOL; workers++) out.push({ mode, kernel, workers });
  return out;
}

const bytesOf = (m: MatrixArray): Uint8Array => new Uint8Array(m.buffer, m.byteOffset, m.byteLength);

/** The documented checksum of a whole result, recomputed here (BigInt). */
function checksumOf(m: MatrixArray): string {
  const words = new Uint32Array(bytesOf(m).slice().buffer);
  let sum = 0n;
  words.forEach((w, k) => (sum += BigInt(w) * (2n * BigInt(k) + 1n)));
  return (sum % 2n ** 32n).toString(16).padStart(8, '0');
}

async function runAll(job: JobSpec, check: (r: JobResult, label: string) => void): Promise<void> {
  for (const v of variants()) {
    const label = `${v.mode}/${v.kernel}/${v.workers ?? 'default'} ${job.op} ${job.dtype} ${job.rows}x${job.cols}`;
    const r = await engines.get(v.mode).run({ ...job, kernel: v.kernel, workers: v.workers });
    if (v.mode !== 'auto') assert.is(r.mode, v.mode, label);
    if (v.mode === 'threads' || v.mode === 'processes') {
      assert.is(r.workers, Math.min(v.workers!, job.rows), `${label}: workers used`);
      assert.is(r.kernel, v.kernel, `${label}: kernel used`);
    }
    assert.ok(r.kernelSeconds >= 0 && r.kernelSeconds < 10, `${label}: kernelSeconds ${r.kernelSeconds}`);
    check(r, label);
  }
}

/** Output rows x cols, and matmul's k: odd sizes, 1 x 1, wide, tall, k longer than one block of the kernel (512). */
const SHAPES = [[23, 17, 19], [1, 1, 1], [4, 130, 3], [33, 5, 600]] as const;

test('for one seed, every mode x kernel x dtype x op and 1 to 4 workers gives the same output, sample and checksum', async () => {
  for (const dtype of DTYPES)
    for (const op of OPS)
      for (const [rows, cols, k] of SHAPES) {
        // matmul's inner dimension; element-wise ops have none
        const inner = op === 'matmul' ? k : undefined;
        const job: JobSpec = { op, dtype, rows, cols, inner, source: { kind: 'random', seed: 31337 }, output: 'full' };
        const reference = await engines.ts.run(job);
        assert.is(reference.checksum, checksumOf(reference.output!), 'the checksum follows its definition');
        assert.equal(reference.sample, Array.from(reference.output!.subarray(0, Math.min(10, cols))));
        await runAll(job, (r, label) => {
          assert.equal(bytesOf(r.output!), bytesOf(reference.output!), `${label}: output bytes`);
          assert.is(r.checksum, reference.checksum, `${label}: checksum`);
          assert.equal(r.sample, reference.sample, `${label}: sample`);
        });
      }
});

test('summary jobs return no output, the same checksum and the first values of row 0 only', async () => {
  for (const v of variants()) {
    const job: JobSpec = { op: 'add', dtype: 'int32', rows: 5, cols: 3, source: { kind: 'random', seed: 8 }, output: 'summary', kernel: v.kernel, workers: v.workers };
    const full = await engines.wasm.run({ ...job, output: 'full' });
    const r = await engines.get(v.mode).run(job);
    assert.is(r.output, undefined, v.mode);
    assert.is(r.checksum, full.checksum, `${v.mode} ${v.workers}`);
    assert.equal(r.sample, Array.from(full.output!.subarray(0, 3)), `${v.mode} ${v.workers}: 3 columns, 3 sample values`);
  }
});

function callerData(dtype: Dtype, count: number, seed: number): MatrixArray {
  const rnd = xorshift(seed);
  const m = new ARRAY_OF[dtype](count);
  const edges = dtype === 'int32' ? [0x7fffffff, -0x80000000, -1, 1] : [NaN, Infinity, -Infinity, -0, 0.1];
  for (let i = 0; i < count; i++) m[i] = i < edges.length ? edges[i]! : dtype === 'int32' ? rnd() | 0 : (rnd() / 2 ** 32 - 0.5) * 1e6;
  return m;
}

test('for caller data (with wrap-around, NaN and Infinity), every mode, kernel and worker count gives the same result', async () => {
  for (const dtype of DTYPES)
    for (const op of OPS) {
      const g = { rows: 9, cols: 21, inner: op === 'matmul' ? 14 : 21 };
      const { a: sa, b: sb } = operation(op).operands(g);
      const a = callerData(dtype, sa.rows * sa.cols, 1);
      const b = callerData(dtype, sb.rows * sb.cols, 2).reverse();
      const job: JobSpec = { op, dtype, rows: g.rows, cols: g.cols, inner: g.inner, source: { kind: 'data', a, b }, output: 'full' };
      const reference = await engines.ts.run(job);
      assert.is(reference.checksum, checksumOf(reference.output!));
      if (dtype === 'int32' && op === 'add') assert.is(reference.output![0], (0x7fffffff + b[0]!) | 0, 'int32 wraps');
      await runAll(job, (r, label) => {
        assert.equal(bytesOf(r.output!), bytesOf(reference.output!), `${label}: output bytes`);
        assert.is(r.checksum, reference.checksum, `${label}: checksum`);
      });
    }
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    if (isWasmatrixError(e)) return e.code;
    throw e;
  }
  return 'resolved';
}

test('a job may ask for 1 to pool-size workers; anything else is BAD_PARAMETER; more workers than rows use one per row', async () => {
  for (const mode of ['threads', 'processes', 'auto'] as const) {
    const job: JobSpec = { op: 'add', dtype: 'int32', rows: 8, cols: 8, source: { kind: 'random', seed: 1 }, output: 'summary' };
    for (const workers of [0, -1, 1.5, POOL + 1, Number.NaN]) assert.is(await codeOf(engines.get(mode).run({ ...job, workers })), 'BAD_PARAMETER', `${mode} workers ${workers}`);
    const twoRows = await engines.get(mode).run({ ...job, rows: 2, workers: POOL });
    assert.is(twoRows.workers, 2, `${mode}: 2 rows, 2 bands`);
  }
  for (const mode of ['threads', 'processes'] as const) {
    const r = await engines.get(mode).run({ op: 'add', dtype: 'int32', rows: 64, cols: 64, source: { kind: 'random', seed: 1 }, output: 'summary' });
    assert.is(r.workers, POOL, `${mode}: all workers by default`);
  }
});

test('malformed jobs are rejected before they run', async () => {
  for (const mode of ['ts', 'wasm', 'threads', 'processes'] as const) {
    const base: JobSpec = { op: 'add', dtype: 'int32', rows: 2, cols: 2, source: { kind: 'random', seed: 1 }, output: 'summary' };
    assert.is(await codeOf(engines.get(mode).run({ ...base, rows: 0 })), 'BAD_PARAMETER', `${mode} rows 0`);
    assert.is(await codeOf(engines.get(mode).run({ ...base, source: { kind: 'random', seed: 2 ** 32 } })), 'BAD_PARAMETER', `${mode} seed`);
    assert.is(await codeOf(engines.get(mode).run({ ...base, source: { kind: 'data', a: new Int32Array(3), b: new Int32Array(4) } })), 'INVALID_MATRIX', `${mode} short data`);
    assert.is(await codeOf(engines.get(mode).run({ ...base, source: { kind: 'data', a: new Float32Array(4), b: new Float32Array(4) } })), 'INVALID_MATRIX', `${mode} wrong dtype`);
    assert.is(await codeOf(engines.get(mode).run({ ...base, inner: 3 })), 'BAD_PARAMETER', `${mode} add has no inner dimension`);
    const mm: JobSpec = { ...base, op: 'matmul', rows: 2, cols: 3, inner: 4 };
    assert.is(await codeOf(engines.get(mode).run({ ...mm, source: { kind: 'data', a: new Int32Array(8), b: new Int32Array(8) } })), 'INVALID_MATRIX', `${mode} matmul: b must be 4x3`);
    assert.is((await engines.get(mode).run({ ...mm, source: { kind: 'data', a: new Int32Array(8), b: new Int32Array(12) } })).checksum, '00000000', `${mode} matmul of zeros`);
  }
});

test('200 concurrent jobs of mixed sizes, dtypes, ops and sources on the thread and process pools all return correct checksums', async () => {
  const rnd = xorshift(2024);
  const jobs: JobSpec[] = [];
  for (let i = 0; i < 200; i++) {
    const dtype = DTYPES[rnd() % 3]!;
    const rows = 1 + (rnd() % 120);
    const cols = 1 + (rnd() % 120);
    const source: JobSpec['source'] = i % 4 === 3 ? { kind: 'data', a: callerData(dtype, rows * cols, i), b: callerData(dtype, rows * cols, i + 1) } : { kind: 'random', seed: rnd() };
    jobs.push({ op: OPS[rnd() % 3]!, dtype, rows, cols, source, output: i % 5 === 0 ? 'full' : 'summary', kernel: i % 7 === 0 ? 'ts' : 'wasm', workers: 1 + (rnd() % POOL) });
  }
  const expected = jobs.map((job) => engines.wasm.runSync(job).checksum);
  const results = await Promise.all(jobs.map((job, i) => engines.get(i % 2 ? 'threads' : 'processes').run(job)));
  results.forEach((r, i) => {
    assert.is(r.checksum, expected[i], `job ${i}: ${jobs[i]!.op} ${jobs[i]!.dtype} ${jobs[i]!.rows}x${jobs[i]!.cols} on ${r.mode}`);
    if (jobs[i]!.output === 'full') assert.is(checksumOf(r.output!), r.checksum, `job ${i}: output matches checksum`);
  });
  assert.is(engines.arena.bytesInUse, 0, 'every job released its memory');
  for (const mode of ['threads', 'processes'] as const) assert.equal({ busy: engines.get(mode).stats().busy, queued: engines.get(mode).stats().queued }, { busy: 0, queued: 0 });
});

test('a job larger than the shared memory so far grows it, and the worker threads (wasm and ts kernels) see the new memory', async () => {
  const before = engines.arena.byteLength;
  const rows = 1200; // 3 regions x 1200 x 1200 x 4 bytes = 16.5 MiB, past the initial 16 MiB
  const a = callerData('int32', rows * rows, 11);
  const job: JobSpec = { op: 'sub', dtype: 'int32', rows, cols: rows, source: { kind: 'data', a, b: a.slice().reverse() }, output: 'full' };
  const reference = engines.wasm.runSync(job);
  for (const kernel of ['ts', 'wasm'] as const) {
    const r = await engines.threads.run({ ...job, kernel, workers: POOL });
    assert.is(r.checksum, reference.checksum, kernel);
    assert.equal(bytesOf(r.output!), bytesOf(reference.output!), kernel);
  }
  assert.ok(engines.arena.byteLength > before || before > 16 << 20, `memory grew from ${before} to ${engines.arena.byteLength}`);
});

test('after close no worker thread or child process is left, and new jobs fail with POOL_CLOSED', async () => {
  const pids = engines.processes.workerIds();
  const threadIds = engines.threads.workerIds();
  assert.is(pids.length, POOL);
  assert.is(threadIds.length, POOL);
  for (const pid of pids) assert.ok(alive(pid), `child ${pid} runs before close`);
  await engines.close();
  for (const pid of pids) assert.not.ok(alive(pid), `child ${pid} is gone after close`);
  assert.equal(engines.threads.workerIds(), [], 'every worker thread has exited');
  assert.equal(engines.processes.workerIds(), []);
  const job: JobSpec = { op: 'add', dtype: 'int32', rows: 4, cols: 4, source: { kind: 'random', seed: 1 }, output: 'summary' };
  assert.is(await codeOf(engines.threads.run(job)), 'POOL_CLOSED');
  assert.is(await codeOf(engines.processes.run(job)), 'POOL_CLOSED');
});

test.run();
