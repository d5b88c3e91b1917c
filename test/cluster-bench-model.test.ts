// The cluster section's model and its docs blocks, on fixture data: the model
// reads its terms off the measured rows (compute from the 1-host band compute,
// overhead = trip - compute, bytes per job fitted as a + b N), says "never"
// when the floor is above the local time and the least N otherwise; the
// blocks come from the bench run's section, else from npm run cluster-bench's
// record (saying so), else say clearly that neither exists.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ClusterRow, ClusterSection } from '../bench/cluster/cluster-bench.ts';
import { clusterModel } from '../bench/cluster/cluster-bench-report.ts';
import { cluster, clusterFaults, clusterSummary, loadSources } from '../bench/docs/figures.ts';
import { ROOT } from '../src/paths.ts';

const local = (c: string, mode: 'wasm' | 'threads', median: number): ClusterRow => ({ case: c, mode, hosts: 0, requests: 3, median_ms: median, min_ms: median, max_ms: median, bands_per_job: null, band_trip_ms: null, band_kernel_ms: null, bytes_per_band: null });
const remote = (c: string, hosts: number, median: number, computePerBand: number, overhead: number, bytesPerBand: number): ClusterRow => ({
  case: c,
  mode: 'cluster',
  hosts,
  requests: 3,
  median_ms: median,
  min_ms: median,
  max_ms: median,
  bands_per_job: hosts,
  band_trip_ms: computePerBand + overhead,
  band_kernel_ms: computePerBand,
  bytes_per_band: bytesPerBand,
});

/** matmul: 100 ms of compute, 2 ms overhead, 500 B per band; data add: 1 ms of compute, 12 MB per job whatever N. */
function section(): ClusterSection {
  const mm = 'random+matmul float32 n=1024';
  const add = 'data add (POST) int32 n=1024';
  return {
    status: 'ok',
    problem: null,
    case_problems: [],
    network: 'netns',
    cores: 2,
    worker_threads: 1,
    seconds: 1,
    rows: [
      local(mm, 'wasm', 100),
      local(mm, 'threads', 60),
      remote(mm, 1, 103, 100, 2, 500),
      remote(mm, 2, 104, 50, 2, 500),
      remote(mm, 3, 105, 33.3, 2, 500),
      local(add, 'wasm', 20),
      local(add, 'threads', 15),
      remote(add, 1, 40, 1, 20, 12e6),
      remote(add, 2, 40, 0.5, 20, 6e6),
      remote(add, 3, 40, 1 / 3, 20, 4e6),
    ],
  };
}

test('the model: matmul pays from the first N whose estimate beats the local best; data add never does', () => {
  const [mm, add] = clusterModel(section());
  assert.is(mm!.compute_ms, 100);
  assert.ok(Math.abs(mm!.overhead_ms - 2) < 1e-9);
  assert.ok(Math.abs(mm!.bytes_b - 500) < 1e-6 && mm!.bytes_a < 1e-6, `${mm!.bytes_a} + ${mm!.bytes_b} N`);
  // fixed = 103 - 100 - 2 = 1; at 4 hosts: 1 + 25 + 2 + ~0 = 28 < 60, at 2 hosts 53 < 60
  assert.equal(mm!.pays_from, [2, 2]);
  assert.is(add!.pays_from.every((n) => n === null), true);
  // floor at 1 Gbit/s: fixed 19 + overhead 20 + 12 MB at 125 MB/s = 96 ms
  assert.ok(Math.abs(add!.floor_ms[0]! - (19 + 20 + 96)) < 0.5, String(add!.floor_ms[0]));
});

test('the cluster blocks: from the bench run, else from cluster-bench alone (saying so), else a clear "not in this result"', () => {
  const s = loadSources(ROOT);
  const record = { command: 'npm run cluster-bench', started_at: '2026-12-01T17:00:00Z', section: section() };
  const fromRun = cluster({ ...s, run: { ...s.run, cluster: section() } });
  assert.match(fromRun, /^From `bench\/results\/latest\/results\.json`/);
  assert.match(fromRun, /\| random\+matmul float32 n=1024 \| 100 \(100-100\) \| 60\.0 \(60\.0-60\.0\) \| 103 \(103-103\) \|/);
  assert.match(cluster({ ...s, run: { ...s.run, cluster: undefined }, clusterBench: record }), /has no cluster section .* `npm run cluster-bench`, the section run alone/);
  const neither = { ...s, run: { ...s.run, cluster: undefined }, clusterBench: undefined };
  assert.match(cluster(neither), /^Not in this result: .* no cluster section/);
  assert.match(clusterSummary(neither), /^Not in this result/);
  assert.match(clusterSummary({ ...s, run: { ...s.run, cluster: section() } }), /data add \(POST\) int32 n=1024: never/);
  assert.match(clusterFaults({ ...s, clusterFaults: undefined }), /^Not recorded yet: .*npm run cluster-faults/);
});

test.run();
