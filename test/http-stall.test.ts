// No request can stall the server: the thread that accepts connections and
// answers /healthz never runs a large kernel (ts and wasm jobs above the inline
// limit run on the dedicated `local` kernel thread), and --timeout bounds every
// job in every mode with the same 504.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { INLINE_MAX_ELEMENTS } from '../src/engines/local-engine.ts';
import { startServer, waitFor, type Problem } from './fixtures/http-server.ts';
import { scrapeMetric } from './fixtures/server-inspect.ts';

const LARGE = 1024; // 1024 x 1024 elements: above the inline limit
const SMALL = 64;
const MATMUL_LARGE = 128; // 128^3 multiply-adds: above the inline limit too
assert.ok(LARGE * LARGE > INLINE_MAX_ELEMENTS && SMALL * SMALL <= INLINE_MAX_ELEMENTS && MATMUL_LARGE ** 3 > INLINE_MAX_ELEMENTS);

for (const mode of ['ts', 'wasm'] as const) {
  test(`${mode}: a large job runs on the local kernel thread, a small one on the calling thread, with the same answer`, async () => {
    const server = await startServer();
    const local = (name: string, labels: Record<string, string> = {}) => scrapeMetric(server.url, name, { pool: 'local', ...labels });
    try {
      await server.hold();
      const large = fetch(`${server.url}/add?mode=${mode}&n=${LARGE}&dtype=float64&seed=3`);
      await waitFor('the large job to be taken by the local thread', async () => (await local('wasmatrix_pool_busy_workers')) === 1);
      // held there, it holds nothing else: the calling thread still answers at once
      assert.is((await fetch(`${server.url}/healthz`)).status, 200);
      const small = (await (await fetch(`${server.url}/add?mode=${mode}&n=${SMALL}&seed=3`)).json()) as { status: string; mode: string };
      assert.is(small.status, 'ok', 'a small job runs while the local thread is held: it never went there');
      assert.is(small.mode, mode);
      await server.release();
      const body = (await (await large).json()) as { status: string; mode: string; workers: number; kernel: string; checksum: string };
      assert.is(body.status, 'ok');
      assert.is(body.mode, mode, 'the answer names the mode asked for');
      assert.is(body.workers, 1);
      assert.is(body.kernel, mode);
      assert.is(await local('wasmatrix_pool_jobs_total', { outcome: 'ok' }), 1, 'only the large job ran on the local thread');
      // the same bits as the thread pool with the same kernel
      const threads = (await (await fetch(`${server.url}/add?mode=threads&kernel=${mode}&n=${LARGE}&dtype=float64&seed=3`)).json()) as { checksum: string };
      assert.is(body.checksum, threads.checksum);
    } finally {
      await server.stop();
    }
  });
}

for (const mode of ['ts', 'wasm', 'threads', 'processes', 'auto'] as const) {
  test(`--timeout bounds a ${mode} job of add and of matmul: 504 TIMEOUT, logged as a worker timeout, and the server keeps serving`, async () => {
    const server = await startServer(['--timeout', '0.2']);
    try {
      // add n x n, and matmul with as many multiply-adds (128^3 > the inline limit: ts/wasm run it on the local thread)
      const timeouts = (): number => (server.output().stderr.match(/WORKER TIMEOUT/g) ?? []).length;
      for (const job of [`add?n=${LARGE}`, `matmul?n=${MATMUL_LARGE}`]) {
        const before = timeouts();
        // held: the job certainly runs past its deadline, however fast the machine
        await server.hold();
        const r = await fetch(`${server.url}/${job}&mode=${mode}&dtype=float64&seed=1${mode === 'auto' ? '&workers=2' : ''}`);
        const problem = (await r.json()) as Problem;
        assert.is(r.status, 504, job);
        assert.is(problem.code, 'TIMEOUT', job);
        await server.release();
        // the first job's stopped workers may still be starting again: then the second job times out while
        // it waits for one (the same 504, no worker to stop), so only the first job's log is awaited
        if (job.startsWith('add')) await waitFor(`the timeout of the ${job} job to be logged`, () => timeouts() > before);
      }
      assert.not.match(server.output().stderr, /died and is being replaced/, 'a deadline kill is a timeout, not a crash');
      // the calling thread serves on (the stopped worker's replacement starts in the background; the
      // worker-crash tests cover that pools recover)
      assert.is((await fetch(`${server.url}/healthz`)).status, 200);
      assert.is((await fetch(`${server.url}/add?mode=wasm&n=${SMALL}&seed=1`)).status, 200);
    } finally {
      await server.stop();
    }
  });
}

test('/healthz stays fast while 8 connections flood the largest ts and wasm jobs the server accepts', async () => {
  const server = await startServer(['--timeout', '120']);
  let flooding = true;
  try {
    const flood = Array.from({ length: 8 }, async (_, c) => {
      const statuses: number[] = [];
      for (let i = 0; flooding; i++) {
        const r = await fetch(`${server.url}/add?mode=${c % 2 ? 'wasm' : 'ts'}&n=4096&dtype=float64&seed=${c * 1000 + i}`);
        await r.arrayBuffer();
        statuses.push(r.status);
      }
      return statuses;
    });
    await waitFor('the local thread to be busy', async () => (await scrapeMetric(server.url, 'wasmatrix_pool_busy_workers', { pool: 'local' })) === 1);
    const ms: number[] = [];
    const lab: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t0 = performance.now();
      const r = await fetch(`${server.url}/healthz`);
      await r.arrayBuffer();
      ms.push(performance.now() - t0);
      if (i % 10 === 0) lab.push((await fetch(`${server.url}/threading?n=10&seed=${i}`)).status);
      await new Promise((r) => setTimeout(r, 5));
    }
    flooding = false;
    const statuses = (await Promise.all(flood)).flat();
    ms.sort((a, b) => a - b);
    const p99 = ms[98]!;
    console.log(`  [stall] /healthz during a flood of ${statuses.length} n=4096 float64 ts/wasm jobs: p50 ${ms[49]!.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${ms[99]!.toFixed(1)} ms`);
    // the goal is 20 ms (the bench reports the real figure); the bound is generous for a loaded machine.
    // Before the local thread, a job on the calling thread held /healthz for its whole run (135 ms each, 8 queued)
    assert.ok(p99 < 400, `/healthz p99 ${p99.toFixed(1)} ms under the flood`);
    assert.ok(statuses.every((s) => s === 200), `every flood job answered 200 (got ${[...new Set(statuses)].join(', ')})`);
    assert.equal(lab, lab.map(() => 200), 'lab jobs in the thread pool are answered during the flood');
    assert.is(await scrapeMetric(server.url, 'wasmatrix_pool_worker_restarts'), 0, 'no worker replaced');
  } finally {
    flooding = false;
    await server.stop();
  }
});

test.run();
