// auto: small jobs stay on the calling thread (wasm), large ones go to the
// thread pool with a worker count that grows with the job, per kernel, job kind
// and dtype, from the thresholds file (config/auto-thresholds.json) or the
// file named by WASMATRIX_AUTO_THRESHOLDS.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_THRESHOLDS_PATH, loadThresholds, type Thresholds, type ThresholdsFile } from '../src/engines/auto-thresholds.js';
import { createEngines, type Engines } from '../src/engines/index.js';
import type { JobSpec } from '../src/engines/job.js';

const T = 10_000; // elements: 100 x 100
const thresholds = (value: number): Thresholds => {
  const byDtype = { int32: value, float32: value, float64: value };
  return { wasm: { random: { ...byDtype }, data: { ...byDtype } }, ts: { random: { ...byDtype }, data: { ...byDtype } } };
};

let engines: Engines;
const dir = mkdtempSync(join(tmpdir(), 'wasmatrix-auto-'));

test.before(async () => {
  engines = await createEngines({ threads: 2, processes: 1, thresholds: thresholds(T) });
});
test.after(async () => {
  await engines.close();
  rmSync(dir, { recursive: true, force: true });
});

const job = (rows: number, cols: number, extra: Partial<JobSpec> = {}): JobSpec => ({
  op: 'add',
  dtype: 'int32',
  rows,
  cols,
  source: { kind: 'random', seed: 1 },
  output: 'summary',
  ...extra,
});

test('jobs below the threshold run with wasm on the calling thread', async () => {
  for (const [rows, cols] of [[1, 1], [64, 64], [99, 100]] as const) {
    const choice = engines.auto.choose(job(rows, cols));
    assert.is(choice.engine.mode, 'wasm', `${rows}x${cols}`);
    assert.is(choice.workers, 1);
    const r = await engines.auto.run(job(rows, cols));
    assert.is(r.mode, 'wasm');
    assert.is(r.workers, 1);
  }
});

test('jobs from the threshold on run on the thread pool with 2 workers or more', async () => {
  for (const [rows, cols] of [[100, 100], [200, 200]] as const) {
    const choice = engines.auto.choose(job(rows, cols));
    assert.is(choice.engine.mode, 'threads', `${rows}x${cols}`);
    assert.is(choice.workers, 2);
    const r = await engines.auto.run(job(rows, cols));
    assert.is(r.mode, 'threads');
    assert.is(r.workers, 2);
    assert.is(r.checksum, (await engines.wasm.run(job(rows, cols))).checksum, 'same checksum as wasm');
  }
});

test('the baseline kernel stays the baseline: small ts jobs run in the ts mode, large ones on the pool with kernel ts', async () => {
  assert.is(engines.auto.choose(job(10, 10, { kernel: 'ts' })).engine.mode, 'ts');
  const r = await engines.auto.run(job(150, 150, { kernel: 'ts' }));
  assert.equal([r.mode, r.kernel], ['threads', 'ts']);
});

test('a one-row job never goes to the pool (there is nothing to split), and an explicit workers count wins', () => {
  assert.is(engines.auto.choose(job(1, 100_000)).engine.mode, 'wasm');
  assert.equal(((c) => [c.engine.mode, c.workers])(engines.auto.choose(job(2, 2, { workers: 2 }))), ['threads', 2]);
  assert.equal(((c) => [c.engine.mode, c.workers])(engines.auto.choose(job(500, 500, { workers: 1 }))), ['wasm', 1]);
});

test('thresholds are per job kind and dtype', async () => {
  const mixed = thresholds(T);
  mixed.wasm.data.float64 = 100;
  const e = await createEngines({ threads: 2, processes: 1, thresholds: mixed });
  try {
    const a = new Float64Array(400);
    const data = (dtype: 'float64' | 'int32'): JobSpec => job(20, 20, { dtype, source: { kind: 'data', a: dtype === 'float64' ? a : new Int32Array(400), b: dtype === 'float64' ? a : new Int32Array(400) } });
    assert.is(e.auto.choose(data('float64')).engine.mode, 'threads');
    assert.is(e.auto.choose(data('int32')).engine.mode, 'wasm');
    assert.is(e.auto.choose(job(20, 20, { dtype: 'float64' })).engine.mode, 'wasm', 'random float64 keeps its own threshold');
  } finally {
    await e.close();
  }
});

test('matmul compares its multiply-adds (m k n) with its own table when the file has one, else with the element-wise table', async () => {
  const mm = (m: number, k: number, n: number): JobSpec => job(m, n, { op: 'matmul', inner: k });
  // no table of its own: 10 x 10 x 100 = 10,000 multiply-adds reach T, though the output is only 100 elements
  assert.is(engines.auto.choose(mm(10, 100, 10)).engine.mode, 'threads');
  assert.is(engines.auto.choose(mm(10, 99, 10)).engine.mode, 'wasm');
  const own = thresholds(T);
  own.byOp = { matmul: thresholds(1_000_000) };
  const e = await createEngines({ threads: 2, processes: 1, thresholds: own });
  try {
    assert.is(e.auto.choose(mm(10, 100, 10)).engine.mode, 'wasm', "matmul's own table");
    assert.is(e.auto.choose(mm(100, 100, 100)).engine.mode, 'threads');
    assert.is(e.auto.choose(job(100, 100)).engine.mode, 'threads', 'add keeps the element-wise table');
    const r = await e.auto.run(mm(100, 100, 100));
    assert.equal([r.mode, r.checksum], ['threads', (await e.wasm.run(mm(100, 100, 100))).checksum]);
  } finally {
    await e.close();
  }
});

test('WASMATRIX_AUTO_THRESHOLDS points auto at another file', async () => {
  const path = join(dir, 'tiny.json');
  writeFileSync(path, JSON.stringify({ about: 'test', measured: { by: 'test', cpu: '', node: '', date: '' }, thresholds: thresholds(4) }));
  const before = process.env.WASMATRIX_AUTO_THRESHOLDS;
  process.env.WASMATRIX_AUTO_THRESHOLDS = path;
  try {
    const e = await createEngines({ threads: 2, processes: 1 });
    try {
      assert.is(e.auto.thresholds.wasm.random.int32, 4);
      assert.is(e.auto.choose(job(2, 2)).engine.mode, 'threads', '2x2 is past a threshold of 4 elements');
    } finally {
      await e.close();
    }
  } finally {
    if (before === undefined) delete process.env.WASMATRIX_AUTO_THRESHOLDS;
    else process.env.WASMATRIX_AUTO_THRESHOLDS = before;
  }
});

test('a thresholds file with a missing or negative entry is refused with a message naming it', () => {
  const bad = thresholds(T) as unknown as { wasm: { data: Record<string, unknown> } };
  bad.wasm.data.float32 = -1;
  const path = join(dir, 'bad.json');
  writeFileSync(path, JSON.stringify({ about: '', measured: {}, thresholds: bad }));
  assert.throws(() => loadThresholds(path), /thresholds\.wasm\.data\.float32/);
  writeFileSync(path, JSON.stringify({ about: '', measured: {}, thresholds: { ...thresholds(T), byOp: { matmul: { wasm: {} } } } }));
  assert.throws(() => loadThresholds(path), /thresholds\.byOp\.matmul\.wasm\.random\.int32/);
  writeFileSync(path, JSON.stringify({ about: '', measured: {}, thresholds: { ...thresholds(T), byOp: { div: thresholds(T) } } }));
  assert.throws(() => loadThresholds(path), /byOp\.div is not an op/);
});

test('the shipped thresholds file loads and says where and when it was measured', () => {
  const t = loadThresholds(DEFAULT_THRESHOLDS_PATH);
  assert.ok(t.wasm.random.int32 > 0);
  assert.ok(t.byOp?.matmul && t.byOp.matmul.wasm.random.float32 > 0, 'matmul has its table');
  const file = JSON.parse(readFileSync(DEFAULT_THRESHOLDS_PATH, 'utf8')) as ThresholdsFile;
  assert.ok(file.measured.cpu.length > 0 && /^v\d+/.test(file.measured.node) && !Number.isNaN(Date.parse(file.measured.date)), JSON.stringify(file.measured));
});

test.run();
