// The generic pool, with scripted fake workers: queue bound, deadlines,
// cancellation, respawn back-off and the fatal stop, recycling.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Pool } from '../src/pools/pool.js';
import { isWasmatrixError } from '../src/errors.js';
import { FakeTransport, type Behaviour } from './fixtures/fake-transport.js';
import { waitFor } from './fixtures/http-server.ts';

function pool(behaviours: () => Behaviour, options: Partial<ConstructorParameters<typeof Pool<number, number>>[0]> = {}) {
  const spawned: FakeTransport[] = [];
  const p = new Pool<number, number>({
    name: 'fake',
    size: 2,
    spawn: () => {
      const t = new FakeTransport(behaviours());
      spawned.push(t);
      return t;
    },
    ...options,
  });
  return { p, spawned };
}

async function rejection(promise: Promise<unknown>): Promise<{ code: string; status: number }> {
  try {
    await promise;
  } catch (e) {
    if (isWasmatrixError(e)) return { code: e.code, status: e.status };
    throw e;
  }
  throw new Error('expected a rejection');
}

test('a job of several tasks resolves with every result in order', async () => {
  const { p } = pool(() => 'answer');
  await p.start();
  const { results, seconds } = await p.run([1, 2, 3, 4, 5]);
  assert.equal(results, [2, 4, 6, 8, 10]);
  assert.ok(seconds >= 0);
  await p.close();
});

test('beyond maxQueue waiting jobs the answer is QUEUE_FULL at once (503)', async () => {
  const { p } = pool(() => 'hang', { size: 1, maxQueue: 2 });
  await p.start();
  const running = p.run([1]).catch((e: Error) => e); // takes the only worker
  const waiting = [p.run([2]), p.run([3])].map((j) => rejection(j));
  assert.equal(p.stats().queued, 2);
  const full = await rejection(p.run([4]));
  assert.equal(full, { code: 'QUEUE_FULL', status: 503 });
  await p.close();
  for (const w of waiting) assert.equal((await w).code, 'POOL_CLOSED');
  await running;
  assert.equal(p.stats().outcomes, { queue_full: 1, pool_closed: 3 }, 'every job is counted by how it ended');
});

test('a job whose deadline passes while queued fails with TIMEOUT and never starts', async () => {
  const { p, spawned } = pool(() => 'hang', { size: 1 });
  await p.start();
  const blocker = p.run([1]).catch(() => {});
  const late = rejection(p.run([2], { deadline: performance.now() + 20 }));
  assert.equal((await late).code, 'TIMEOUT');
  assert.equal(spawned[0]!.tasks, 1, 'the late job never reached a worker');
  await p.close();
  await blocker;
});

test('a job running past its deadline has its worker killed and replaced, and fails with TIMEOUT (504)', async () => {
  let n = 0;
  const { p, spawned } = pool(() => (n++ === 0 ? 'hang' : 'answer'), { size: 1 });
  await p.start();
  const r = await rejection(p.run([1], { deadline: performance.now() + 30 }));
  assert.equal(r, { code: 'TIMEOUT', status: 504 });
  await waitFor('a replacement to be spawned', () => spawned.length === 2);
  assert.equal(p.stats().restarts, 1);
  assert.equal((await p.run([21])).results, [42], 'the replacement serves');
  await p.close();
});

test('an aborted signal drops a queued job (CANCELLED) and leaves running ones alone', async () => {
  const { p, spawned } = pool(() => 'answer', { size: 1 });
  await p.start();
  const ac = new AbortController();
  const first = p.run([1]);
  const second = rejection(p.run([2], { signal: ac.signal }));
  ac.abort();
  assert.equal((await second).code, 'CANCELLED');
  assert.equal((await first).results, [2]);
  assert.equal(spawned[0]!.tasks, 1);
  assert.equal(p.stats().outcomes, { cancelled: 1, ok: 1 });
  await p.close();
});

test('a task on a dying worker is retried once on another worker', async () => {
  let n = 0;
  const { p } = pool(() => (n++ === 0 ? 'hang' : 'answer'), { size: 2 });
  await p.start();
  // dispatched inside run(), to the first worker, which hangs
  const job = p.run([5]);
  assert.is(p.stats().busy, 1);
  const killed = await p.killWorker();
  assert.ok(killed !== undefined);
  assert.equal((await job).results, [10]);
  assert.is(p.stats().restarts, 1);
  await p.close();
});

test('a task whose worker dies twice fails the job with WORKER_FAILED (503), other jobs are untouched', async () => {
  let n = 0;
  const { p } = pool(() => (n++ < 3 ? 'hang' : 'answer'), { size: 3 });
  await p.start();
  // each kill hits the one busy worker: the task's first worker, then the one it was retried on
  const doomed = rejection(p.run([7]));
  assert.is(p.stats().busy, 1);
  await p.killWorker();
  assert.is(p.stats().busy, 1, 'retried at once on another worker');
  await p.killWorker();
  assert.equal(await doomed, { code: 'WORKER_FAILED', status: 503 });
  await waitFor('the pool back to 3 workers', () => p.workerIds().length === 3);
  await p.close();
});

test('workers that keep dying at start make the pool fatal instead of looping', async () => {
  const { p, spawned } = pool(() => 'die-starting', { size: 1, maxStartFailures: 3 });
  const fatal = new Promise<Error>((resolve) => p.once('fatal', resolve));
  await p.start().catch(() => {});
  const error = await fatal;
  assert.match(error.message, /failed to start 3 times/);
  assert.equal(spawned.length, 3);
  assert.equal((await rejection(p.run([1]))).code, 'WORKER_FAILED');
  await p.close();
});

test('workers killed from outside while starting back off but never make the pool fatal', async () => {
  let n = 0;
  const { p, spawned } = pool(() => (n++ < 4 ? 'killed-starting' : 'answer'), { size: 1, maxStartFailures: 3 });
  let fatal = false;
  p.on('fatal', () => (fatal = true));
  await p.start().catch(() => {});
  const t0 = performance.now();
  assert.equal((await p.run([21])).results, [42]);
  assert.not.ok(fatal);
  assert.is(spawned.length, 5);
  // a lower bound only: timers never fire early, so a slow machine cannot fail it
  assert.ok(performance.now() - t0 >= 600, 'the respawns backed off (100 + 200 + 400 ms)');
  await p.close();
});

test('with maxTasksPerWorker a worker is replaced after N tasks without failing any job', async () => {
  const { p, spawned } = pool(() => 'answer', { size: 1, maxTasksPerWorker: 3 });
  await p.start();
  for (let i = 0; i < 10; i++) assert.equal((await p.run([i])).results, [2 * i]);
  assert.ok(spawned.length >= 3, `recycled: ${spawned.length} workers for 10 tasks`);
  assert.ok(spawned.every((t) => t.tasks <= 3));
  await p.close();
});

test('close() fails waiting jobs with POOL_CLOSED and later runs are refused', async () => {
  const { p } = pool(() => 'hang', { size: 1 });
  await p.start();
  const running = p.run([1]).catch(() => {});
  const waiting = rejection(p.run([2]));
  await p.close();
  assert.equal((await waiting).code, 'POOL_CLOSED');
  await running;
  assert.equal((await rejection(p.run([3]))).code, 'POOL_CLOSED');
});

test.run();
