// A pool job that names no `workers` is split over the workers free when it is
// dispatched: all of them on an idle pool (latency), one band when the pool is
// busy (throughput: no extra hand-offs). An explicit `workers` is always
// honoured, and the checksum and sample never depend on the split.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngines, type Engines } from '../src/engines/index.js';
import type { JobResult, JobSpec } from '../src/engines/job.js';
import { Gate } from '../src/pools/gate.js';

const POOL = 4;
let engines: Engines;
/** Held while an occupier must stay busy: its workers keep its bands until release (src/pools/gate.ts). */
const gate = new Gate();

test.before(async () => {
  engines = await createEngines({ threads: POOL, processes: POOL, gate });
});
test.after(async () => {
  await engines.close();
});

const POOLS = ['threads', 'processes'] as const;

/** A job that keeps the workers it asks for busy (held at the gate until the jobs after it are dispatched). */
const occupier = (workers: number): JobSpec => ({ op: 'add', dtype: 'float64', rows: 1024, cols: 1024, source: { kind: 'random', seed: 7 }, output: 'summary', kernel: 'ts', workers });

const job = (seed: number, workers?: number): JobSpec => ({ op: 'add', dtype: 'int32', rows: 64, cols: 48, source: { kind: 'random', seed }, output: 'summary', workers });

function assertSameAnswer(r: JobResult, spec: JobSpec, label: string): void {
  const reference = engines.wasm.runSync(spec);
  assert.is(r.checksum, reference.checksum, `${label}: checksum`);
  assert.equal(r.sample, reference.sample, `${label}: sample`);
}

/**
 * Starts `busy` (its tasks are dispatched synchronously inside run()) with the
 * gate held, so that it certainly holds its workers however fast its kernel;
 * then the jobs in order; then releases; resolves with their results.
 */
async function whileBusy(mode: (typeof POOLS)[number], busy: JobSpec, jobs: JobSpec[]): Promise<JobResult[]> {
  const engine = engines.get(mode);
  gate.hold();
  try {
    const running = engine.run(busy);
    assert.is(engine.stats().busy, busy.workers, `${mode}: the occupier holds its workers`);
    const results = Promise.all(jobs.map((j) => engine.run(j)));
    gate.release();
    await running;
    return await results;
  } finally {
    gate.release();
  }
}

test('on an idle pool a job without workers is split over every worker', async () => {
  for (const mode of POOLS) {
    const spec = job(1);
    const r = await engines.get(mode).run(spec);
    assert.is(r.workers, POOL, mode);
    assertSameAnswer(r, spec, mode);
  }
});

test('while every worker is busy, a job without workers runs as one band, with the same checksum and sample', async () => {
  for (const mode of POOLS) {
    const specs = [job(2), job(3), job(4)];
    const results = await whileBusy(mode, occupier(POOL), specs);
    results.forEach((r, i) => {
      assert.is(r.workers, 1, `${mode} job ${i}`);
      assertSameAnswer(r, specs[i]!, `${mode} job ${i}`);
    });
  }
});

test('with some workers busy, a job without workers takes the free ones, and one band once jobs are waiting', async () => {
  for (const mode of POOLS) {
    // the occupier holds 1 worker: the first job takes the other 3; the second finds none free
    const specs = [job(5), job(6)];
    const [first, second] = await whileBusy(mode, occupier(1), specs);
    assert.is(first!.workers, POOL - 1, `${mode}: the free workers`);
    assert.is(second!.workers, 1, `${mode}: none free`);
    assertSameAnswer(first!, specs[0]!, `${mode} first`);
    assertSameAnswer(second!, specs[1]!, `${mode} second`);
  }
});

test('an explicit workers is honoured however busy the pool is', async () => {
  for (const mode of POOLS) {
    const specs = [job(8, POOL), job(9, 2), job(10, 1)];
    const results = await whileBusy(mode, occupier(POOL), specs);
    results.forEach((r, i) => {
      assert.is(r.workers, specs[i]!.workers, `${mode} workers=${specs[i]!.workers}`);
      assertSameAnswer(r, specs[i]!, `${mode} workers=${specs[i]!.workers}`);
    });
  }
});

test('auto: a job large enough to split runs as one band in the thread pool while it is busy, split when idle', async () => {
  const spec: JobSpec = { op: 'add', dtype: 'int32', rows: 2048, cols: 2048, source: { kind: 'random', seed: 11 }, output: 'summary' };
  const choice = engines.auto.choose(spec);
  assert.is(choice.engine, engines.threads, 'auto picks the thread pool for 4 M elements');
  assert.ok(choice.workers >= 2, `auto splits it when idle (${choice.workers})`);
  const idle = await engines.auto.run(spec);
  assert.is(idle.workers, choice.workers);
  gate.hold();
  let busy: JobResult;
  try {
    const running = engines.threads.run(occupier(POOL));
    assert.is(engines.threads.stats().busy, POOL, 'the occupier holds every thread');
    const answer = engines.auto.run(spec);
    gate.release();
    [busy] = await Promise.all([answer, running]);
  } finally {
    gate.release();
  }
  assert.is(busy.mode, 'threads');
  assert.is(busy.workers, 1, 'one band while every worker is busy');
  assertSameAnswer(idle, spec, 'auto idle');
  assertSameAnswer(busy, spec, 'auto busy');
  const explicit = await engines.auto.run({ ...spec, workers: 2 });
  assert.is(explicit.workers, 2, 'an explicit workers is kept');
});

test('the pools are idle again afterwards and every job released its memory', () => {
  for (const mode of POOLS) assert.equal({ busy: engines.get(mode).stats().busy, queued: engines.get(mode).stats().queued }, { busy: 0, queued: 0 }, mode);
  assert.is(engines.arena.bytesInUse, 0);
});

test.run();
