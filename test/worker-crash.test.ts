// Real workers dying and hanging: a thread or child process killed while it
// holds a band is replaced and the band retried; a job past its deadline has
// its worker stopped; closing leaves no process behind.
// The pools run behind a test gate (src/pools/gate.ts): while it is held, a
// worker that took a band keeps it without running it, so "killed while it
// holds a band" and "still running at its deadline" do not depend on how long
// a kernel takes on this machine.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngines, type Engines } from '../src/engines/index.js';
import type { JobSpec } from '../src/engines/job.js';
import { isWasmatrixError } from '../src/errors.js';
import { Gate } from '../src/pools/gate.js';
import { waitFor } from './fixtures/http-server.ts';
import { alive } from './fixtures/server-inspect.ts';

let engines: Engines;
const gate = new Gate();

/** Every worker of the pool is up and idle (a replacement is ready). */
const fullAndIdle = (mode: 'threads' | 'processes') => () => engines[mode].freeWorkers() === 2;

// held at the gate as long as the test wants; once released, a few ms of work
const slowJob = (seed: number): JobSpec => ({
  op: 'add',
  dtype: 'float64',
  rows: 512,
  cols: 512,
  source: { kind: 'random', seed },
  output: 'summary',
  kernel: 'ts',
  workers: 1,
});

test.before(async () => {
  engines = await createEngines({ threads: 2, processes: 2, gate });
});

test.after(async () => {
  await engines.close();
});

for (const mode of ['threads', 'processes'] as const) {
  test(`${mode}: a worker killed while it holds a band is replaced and the job still answers correctly`, async () => {
    const engine = engines[mode];
    const expected = (await engines.wasm.run({ ...slowJob(11), kernel: 'wasm', workers: undefined })).checksum;
    await waitFor('both workers ready', fullAndIdle(mode));
    const before = engine.stats().restarts;
    gate.hold();
    try {
      const job = engine.run(slowJob(11));
      assert.is(engine.stats().busy, 1, 'a worker holds the band');
      const killed = await engine.killWorker();
      assert.ok(killed !== undefined, 'a worker was killed');
      assert.is(engine.stats().restarts, before + 1);
      // the band went back to the front of the queue and the other worker took it (it waits at the gate)
      await waitFor('the band retried on another worker', () => engine.stats().busy === 1);
      assert.not.ok(engine.workerIds().includes(killed!));
      gate.release();
      const result = await job;
      assert.is(result.checksum, expected);
      assert.equal(engine.stats().outcomes.worker_failed, undefined, 'no job failed');
      await waitFor('the pool back to full size', fullAndIdle(mode));
    } finally {
      gate.release();
    }
  });

  test(`${mode}: a job past its deadline fails with TIMEOUT, its worker is replaced, the pool keeps serving`, async () => {
    const engine = engines[mode];
    await waitFor('both workers ready', fullAndIdle(mode));
    const before = engine.stats().restarts;
    // held: the job is certainly still running at its deadline, however fast the machine
    gate.hold();
    try {
      const job = engine.run({ ...slowJob(12), deadline: performance.now() + 50 });
      assert.is(engine.stats().busy, 1, 'the job started before its deadline');
      await job;
      assert.unreachable('should time out');
    } catch (e) {
      assert.ok(isWasmatrixError(e) && e.code === 'TIMEOUT' && e.status === 504, String(e));
      assert.match(e.message, /ran past its deadline/);
    } finally {
      gate.release();
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
  await waitFor('both workers ready', fullAndIdle('processes'));
  const before = engine.stats().restarts;
  gate.hold();
  try {
    const job = engine.run({ ...slowJob(13), workers: 2 });
    assert.is(engine.stats().busy, 2, 'both children hold a band');
    const victim = engine.workerIds()[0]!;
    process.kill(victim, 'SIGKILL');
    await waitFor('the pool to see the death', () => engine.stats().restarts === before + 1);
    gate.release();
    assert.is((await job).checksum, expected);
    await waitFor('the killed child to be gone', () => !alive(victim));
  } finally {
    gate.release();
  }
});

test('closing the engines leaves no child process behind', async () => {
  const local = await createEngines({ threads: 1, processes: 2 });
  const pids = local.processes.workerIds();
  assert.is(pids.length, 2);
  await local.close();
  for (const pid of pids) assert.not.ok(alive(pid), `child ${pid} still alive`);
});

test('a kernel process closed while it is still starting leaves quietly (no Node-internal TypeError)', async () => {
  // its own Node process: the child's stderr is inherited, so what the children print is what this one captures
  const script = `const { ProcessTransport } = await import(${JSON.stringify(new URL('../dist/src/pools/process-transport.js', import.meta.url).href)});
for (let i = 0; i < 8; i++) { const t = new ProcessTransport(); await t.close(); }
console.log('closed 8');`;
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 60000 });
  assert.match(stdout, /closed 8/);
  assert.is(stderr, '', 'the children printed nothing');
});

test.run();
