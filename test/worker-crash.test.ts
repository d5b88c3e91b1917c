// Real workers dying and hanging: a thread or child process killed mid-job is
// replaced and its band retried; a job past its deadline has its worker
// stopped; closing leaves no process behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngines, type Engines } from '../src/engines/index.js';
import type { JobSpec } from '../src/engines/job.js';
import { isWasmatrixError } from '../src/errors.js';
import { alive } from './fixtures/server-inspect.ts';

let engines: Engines;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ~100 ms of pure-TS work on one worker: long enough to be killed mid-band
const slowJob = (seed: number): JobSpec => ({
  op: 'add',
  dtype: 'float64',
  rows: 4096,
  cols: 4096,
  source: { kind: 'random', seed },
  output: 'summary',
  kernel: 'ts',
  workers: 1,
});

test.before(async () => {
  engines = await createEngines({ threads: 2, processes: 2 });
});

test.after(async () => {
  await engines.close();
});

for (const mode of ['threads', 'processes'] as const) {
  test(`${mode}: a worker killed mid-job is replaced and the job still answers correctly`, async () => {
    const engine = engines[mode];
    const expected = (await engines.wasm.run({ ...slowJob(11), kernel: 'wasm', workers: undefined })).checksum;
    const before = engine.stats().restarts;
    const job = engine.run(slowJob(11));
    await sleep(30);
    const killed = await engine.killWorker();
    assert.ok(killed !== undefined, 'a worker was killed');
    const result = await job;
    assert.is(result.checksum, expected);
    assert.is(engine.stats().restarts, before + 1);
    await sleep(200);
    assert.is(engine.workerIds().length, 2, 'back to full size');
    assert.not.ok(engine.workerIds().includes(killed!));
  });

  test(`${mode}: a job past its deadline fails with TIMEOUT, its worker is replaced, the pool keeps serving`, async () => {
    const engine = engines[mode];
    const before = engine.stats().restarts;
    try {
      await engine.run({ ...slowJob(12), deadline: performance.now() + 25 });
      assert.unreachable('should time out');
    } catch (e) {
      assert.ok(isWasmatrixError(e) && e.code === 'TIMEOUT' && e.status === 504, String(e));
    }
    assert.is(engine.stats().restarts, before + 1);
    const small = await engine.run({ op: 'add', dtype: 'int32', rows: 64, cols: 64, source: { kind: 'random', seed: 3 }, output: 'summary' });
    const reference = await engines.ts.run({ op: 'add', dtype: 'int32', rows: 64, cols: 64, source: { kind: 'random', seed: 3 }, output: 'summary' });
    assert.is(small.checksum, reference.checksum);
  });
}

test('processes: a child killed from outside with SIGKILL is replaced and its band retried', async () => {
  const engine = engines.processes;
  const expected = (await engines.wasm.run({ ...slowJob(13), kernel: 'wasm', workers: undefined })).checksum;
  const job = engine.run({ ...slowJob(13), workers: 2 });
  await sleep(30);
  const victim = engine.workerIds()[0]!;
  process.kill(victim, 'SIGKILL');
  assert.is((await job).checksum, expected);
  await sleep(200);
  assert.not.ok(alive(victim), 'the killed child is gone');
});

test('closing the engines leaves no child process behind', async () => {
  const local = await createEngines({ threads: 1, processes: 2 });
  const pids = local.processes.workerIds();
  assert.is(pids.length, 2);
  await local.close();
  for (const pid of pids) assert.not.ok(alive(pid), `child ${pid} still alive`);
});

test.run();
