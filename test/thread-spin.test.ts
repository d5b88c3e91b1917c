// --spin: a kernel thread may spin for its next task after one ended, and backs
// off when its spins do not pay. What it did is counted (Pool stats and
// wasmatrix_pool_spins_total), so the back-off is observable without timing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngines } from '../src/engines/index.js';
import type { JobSpec } from '../src/engines/job.js';
import { runCli, startServer, waitFor } from './fixtures/http-server.ts';

const job = (seed: number): JobSpec => ({ op: 'add', dtype: 'int32', rows: 64, cols: 64, source: { kind: 'random', seed }, output: 'summary', workers: 1 });

const spins = (c: Record<string, number>): number => (c.spin_paid ?? 0) + (c.spin_missed ?? 0) + (c.spin_skipped ?? 0) + (c.spin_preempted ?? 0);

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
  // one job at a time: when a task ends the next one is not queued yet, so a 1 us spin (all but) never pays
  const engines = await createEngines({ threads: 1, processes: 1, spinMicros: 1 });
  const jobs = 20;
  try {
    for (let i = 0; i < jobs; i++) await engines.threads.run(job(i));
    // an idle moment is counted once its (1 us) spin ends; one may find the next task already there (not counted)
    const c = await waitFor('the idle moments to be counted', () => {
      const counters = engines.threads.stats().counters;
      return spins(counters) >= jobs - 2 ? counters : undefined;
    });
    // misses back off exponentially: 1 spin, 2 skipped, 1 spin, 4 skipped, 1 spin, 8 skipped, ...
    assert.ok(c!.spin_skipped! > (c!.spin_missed ?? 0) + (c!.spin_preempted ?? 0), JSON.stringify(c));
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
  try {
    for (let i = 0; i < 6; i++) assert.is((await fetch(`${server.url}/threading?n=64&seed=${i}`)).status, 200);
    const skipped = await waitFor('a skipped spin on /metrics', async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const n = Number(/wasmatrix_pool_spins_total\{pool="threads",outcome="skipped"\} (\d+)/.exec(text)?.[1] ?? 0);
      return n > 0 ? n : undefined;
    });
    assert.ok(skipped! > 0);
  } finally {
    await server.stop();
  }
});

test.run();
