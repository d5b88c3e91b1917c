// With -w 2 or more, every HTTP thread runs the small one-band jobs of the
// threads and wasm modes itself (no pool hand-off); larger jobs and jobs that
// ask for more workers still go to the pool. Same answers either way; which
// path ran is counted on /metrics.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer, type RunningServer } from './fixtures/http-server.ts';

let two: RunningServer;
let one: RunningServer;

test.before(async () => {
  [two, one] = await Promise.all([startServer(['-w', '2']), startServer(['-w', '1'])]);
});
test.after(async () => {
  await Promise.all([two?.stop(), one?.stop()]);
});

async function metric(server: RunningServer, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return Number(pattern.exec(text)?.[1] ?? 0);
}
const INLINE = /^wasmatrix_http_inline_jobs_total (\d+)$/m;
const POOL_OK = /^wasmatrix_pool_jobs_total\{pool="threads",outcome="ok"\} (\d+)$/m;

async function answer(server: RunningServer, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(server.url + path);
  assert.is(res.status, 200, path);
  return (await res.json()) as Record<string, unknown>;
}

test('-w 2: small /threading jobs run on the HTTP threads, with the answers the pool gives', async () => {
  const inlineBefore = await metric(two, INLINE);
  const poolBefore = await metric(two, POOL_OK);
  const seeds = [1, 2, 3, 4, 5, 6, 7, 8];
  const answers = await Promise.all(seeds.map((s) => answer(two, `/threading?n=300&seed=${s}`)));
  const pooled = await Promise.all(seeds.map((s) => answer(one, `/threading?n=300&seed=${s}`)));
  for (const [i, a] of answers.entries()) {
    assert.is(a.mode, 'threads');
    assert.is(a.method, 'Multithreading');
    assert.is(a.workers, 1);
    assert.is(a.checksum, pooled[i]!.checksum);
    assert.equal(a.sample, pooled[i]!.sample);
  }
  assert.is((await metric(two, INLINE)) - inlineBefore, seeds.length);
  assert.is(await metric(two, POOL_OK), poolBefore);
});

test('-w 2: a job that asks for 2 workers, or is over 512 x 512, goes to the pool', async () => {
  const inlineBefore = await metric(two, INLINE);
  const poolBefore = await metric(two, POOL_OK);
  const split = await answer(two, '/threading?n=300&seed=9&workers=2');
  assert.is(split.workers, 2);
  await answer(two, '/threading?n=600&seed=9&workers=1');
  assert.is(await metric(two, INLINE), inlineBefore);
  assert.is((await metric(two, POOL_OK)) - poolBefore, 2);
});

test('-w 1: every /threading job goes to the pool (it alone uses both cores)', async () => {
  await answer(one, '/threading?n=300&seed=10');
  assert.is(await metric(one, INLINE), 0);
  assert.ok((await metric(one, POOL_OK)) > 0);
});

test.run();
