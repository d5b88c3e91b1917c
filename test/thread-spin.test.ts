// --spin: a kernel thread may spin for its next task after one ended, and backs
// off when its spins do not pay. What it did is counted (Pool stats and
// wasmatrix_pool_spins_total), so the back-off is observable without timing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngines } from '../src/engines/index.js';
import type { JobSpec } from '../src/engines/job.js';
import { runCli, startServer, waitFor } from './fixtures/http-server.ts';

const job = (seed: number): JobSpec => ({ op: 'add', dtype: 'int32', rows: 64, cols: 64, source: { kind: 'random', seed }, output: 'summary', workers: 1 });

const spins = (c: Record<string, number> = {}): number => (c.spin_paid ?? 0) + (c.spin_missed ?? 0) + (c.spin_skipped ?? 0) + (c.spin_preempted ?? 0);

test('without --spin a kernel thread never spins: every spin counter stays 0', async () => {
  const engines = await createEngines({ threads: 1, processes: 1 });
  try {
    for (let i = 0; i < 5; i++) await engines.threads.run(job(i));
    assert.is(spins(engines.threads.stats().counters), 0);
  } finally {
    await engines.close();
  }
});

test('a thread whose spins catch no task backs off: later idle moments are skipped (sleep at once)', async () => {
  // one job at a time, and the next only once the idle moment after the last one was counted: no
  // task is ever waiting when a spin starts, so none can pay, and the outcomes follow the back-off alone
  const engines = await createEngines({ threads: 1, processes: 1, spinMicros: 1 });
  const jobs = 20;
  try {
    for (let i = 0; i < jobs; i++) {
      await engines.threads.run(job(i));
      await waitFor(`the idle moment after job ${i + 1} to be counted`, () => spins(engines.threads.stats().counters) === i + 1);
    }
    const c = engines.threads.stats().counters ?? {};
    assert.is(c.spin_paid, 0, JSON.stringify(c));
    // misses (or preemptions) back off exponentially: spin, 2 skipped, spin, 4 skipped, spin, 8 skipped, spin, 2 skipped
    assert.is(c.spin_skipped, 16, JSON.stringify(c));
    assert.is((c.spin_missed ?? 0) + (c.spin_preempted ?? 0), 4, JSON.stringify(c));
  } finally {
    await engines.close();
  }
});

test('--spin is in --help, rejects a negative value, and its counters reach /metrics', async () => {
  const help = await runCli(['--help']);
  assert.match(help.stdout, /--spin MICROS/);
  const bad = await runCli(['--spin', '-5']);
  assert.is(bad.code, 2);
  const server = await startServer(['--spin', '1', '--threads', '1']);
  const outcomes = async (): Promise<Record<string, number>> => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const counts: Record<string, number> = {};
    for (const m of text.matchAll(/^wasmatrix_pool_spins_total\{pool="threads",outcome="(\w+)"\} (\d+)$/gm)) counts[`spin_${m[1]}`] = Number(m[2]);
    return counts;
  };
  try {
    // as above: one request at a time, the next once the idle moment after the last was counted
    for (let i = 0; i < 4; i++) {
      assert.is((await fetch(`${server.url}/threading?n=64&seed=${i}`)).status, 200);
      await waitFor(`idle moment ${i + 1} on /metrics`, async () => spins(await outcomes()) === i + 1);
    }
    const c = await outcomes();
    assert.is(c.spin_skipped, 2, JSON.stringify(c)); // spin, 2 skipped, spin
    assert.is(c.spin_paid, 0, JSON.stringify(c));
  } finally {
    await server.stop();
  }
});

test.run();
