// Overload and slow jobs: a full queue answers 503 with Retry-After at once, a
// job past --timeout answers 504, and the server goes on serving; a 500 never
// shows its cause to the client. The busy pool and the job still running at
// its deadline are made with the test hold (server.hold()), not with a job
// assumed slow enough.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { problemBody, toClientError } from '../src/http/problem.ts';
import { startServer, waitFor } from './fixtures/http-server.ts';
import { childPids, scrapeMetric } from './fixtures/server-inspect.ts';

/** A lab job in a one-process pool: with the pool held (server.hold()) it stays there until release. */
const JOB = '/multiprocessing?n=200&dtype=float64&workers=1';

test('a full queue answers 503 with Retry-After at once; the others are served', async () => {
  const server = await startServer(['--processes', '1', '--max-queue', '1']);
  const pool = (name: string, labels: Record<string, string> = {}) => scrapeMetric(server.url, name, { pool: 'processes', ...labels });
  const get = (seed: number) =>
    fetch(`${server.url}${JOB}&seed=${seed}`).then(async (r) => ({ status: r.status, retryAfter: r.headers.get('retry-after'), body: (await r.json()) as { code?: string } }));
  try {
    // the one process holds the first job, the second fills the queue (--max-queue 1)
    await server.hold();
    const running = get(1);
    await waitFor('the first job to occupy the only process', async () => (await pool('wasmatrix_pool_busy_workers')) === 1);
    const queued = get(2);
    await waitFor('the second job to queue', async () => (await pool('wasmatrix_pool_queue_length')) === 1);
    // three more while both are held: each is refused without waiting for them
    const refused = await Promise.all([3, 4, 5].map(get));
    for (const a of refused) {
      assert.is(a.status, 503);
      assert.is(a.retryAfter, '1');
      assert.is(a.body.code, 'QUEUE_FULL');
    }
    assert.is(await pool('wasmatrix_pool_jobs_total', { outcome: 'queue_full' }), 3);
    await server.release();
    assert.equal([(await running).status, (await queued).status], [200, 200]);
    assert.is(await pool('wasmatrix_pool_jobs_total', { outcome: 'ok' }), 2);
    assert.is((await fetch(`${server.url}/threading?n=10`)).status, 200);
  } finally {
    await server.stop();
  }
});

test('a job past --timeout answers 504, its process is replaced, and the next request is served', async () => {
  const server = await startServer(['--processes', '1', '--timeout', '0.3']);
  const pool = (name: string, labels: Record<string, string> = {}) => scrapeMetric(server.url, name, { pool: 'processes', ...labels });
  try {
    const children = childPids(server.pid);
    // held: the job is still running at its deadline however fast the machine is
    await server.hold();
    const answer = fetch(server.url + JOB);
    await waitFor('the job to occupy the only process', async () => (await pool('wasmatrix_pool_busy_workers')) === 1);
    const r = await answer;
    assert.is(r.status, 504);
    assert.is(((await r.json()) as { code: string }).code, 'TIMEOUT');
    assert.is(await pool('wasmatrix_pool_jobs_total', { outcome: 'timeout' }), 1);
    await server.release();
    // the process that ran past the deadline was killed and is replaced (a fork may take longer than the
    // 0.3 s deadline on a busy machine, so no job is sent to it here); meanwhile the thread pool serves
    assert.is((await fetch(`${server.url}/threading?n=10`)).status, 200);
    await waitFor('the process to be replaced', async () => (await pool('wasmatrix_pool_worker_restarts')) === 1);
    await waitFor('a new kernel process', () => childPids(server.pid).length === 1 && !children.includes(childPids(server.pid)[0]!));
  } finally {
    await server.stop();
  }
});

test('a 500 tells the client nothing about its cause', () => {
  const secret = new Error('secret detail');
  const body = problemBody(toClientError(secret), '/add');
  const p = JSON.parse(body) as { status: number; detail: string };
  assert.is(p.status, 500);
  assert.not.ok(body.includes('secret'));
  assert.not.ok(body.includes('.ts:'));
});

test.run();
