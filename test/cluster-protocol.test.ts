// The cluster's pieces that need no NATS: frames keep matrix bytes aligned and
// intact, bands are sized to NATS's message limit, a band's window computes
// the same checksum part as the whole job's rows, and auto picks the cluster
// only above its threshold and only while workers are live.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { liveWorkers } from '../src/cluster/discovery.ts';
import { decodeFrame, encodeFrame } from '../src/cluster/protocol.ts';
import { AutoEngine } from '../src/engines/auto-engine.ts';
import { bandCount } from '../src/engines/cluster-engine.ts';
import { createEngines } from '../src/engines/index.ts';
import type { Engine, JobSpec } from '../src/engines/job.ts';
import { combineChecksums, splitRows } from '../src/engines/job-layout.ts';

const job = (extra: Partial<JobSpec> = {}): JobSpec => ({ op: 'add', dtype: 'float64', rows: 400, cols: 400, source: { kind: 'random', seed: 1 }, output: 'summary', ...extra });

test('a frame carries its head and its bytes, the bytes 8-byte aligned even inside a larger buffer', () => {
  const data = new Float64Array([1.5, -0, Number.MAX_VALUE, 2 ** -1074]);
  for (const name of ['', 'x', 'a-longer-name-of-odd-length']) {
    const frame = encodeFrame({ name }, new Uint8Array(data.buffer));
    const shifted = new Uint8Array(frame.byteLength + 3);
    shifted.set(frame, 3);
    const { head, body } = decodeFrame<{ name: string }>(shifted.subarray(3));
    assert.is(head.name, name);
    assert.is(body.byteOffset % 8, 0);
    assert.equal(Array.from(new Float64Array(body.buffer, body.byteOffset, 4)), Array.from(data));
  }
  assert.throws(() => decodeFrame(new Uint8Array([200, 0, 0, 0, 1])), /shorter than its head/);
});

test('bands: one per live thread at least, more when a band would not fit one message, never more than the rows', () => {
  const MiB = 1024 * 1024;
  assert.is(bandCount(job(), 3, MiB), 3, 'random, summary: nothing but the seed travels');
  // 400 x 400 float64 caller data: 6400 bytes of A and B a row, 163 rows a message
  assert.is(bandCount(job({ source: { kind: 'data', a: new Float64Array(160000), b: new Float64Array(160000) } }), 1, MiB), 3);
  // a full result of 400 x 400 float64 comes back in bands of at most 1 MiB
  assert.is(bandCount(job({ output: 'full' }), 1, MiB), 2);
  assert.is(bandCount(job({ rows: 2 }), 8, MiB), 2);
  assert.throws(() => bandCount(job({ cols: 200000, output: 'full' }), 1, MiB), /more than a NATS message may carry/);
});

test("a band's window on a host gives the same checksum parts as the whole job split the same way", async () => {
  const engines = await createEngines({ threads: 2, processes: 1 });
  try {
    for (const spec of [job({ rows: 65, cols: 17, dtype: 'int32' }), job({ op: 'matmul', rows: 17, cols: 3, inner: 65 })]) {
      const whole = await engines.wasm.run(spec);
      const parts = await Promise.all(splitRows(spec.rows, 3).map((w) => engines.threads.runWindow(spec, w)));
      assert.is(combineChecksums(parts.map((p) => p.checksum)), whole.checksum);
      assert.equal(parts[0]!.sample.slice(0, whole.sample.length), whole.sample);
    }
  } finally {
    await engines.close();
  }
});

test('a worker missing from one ping stays listed; missing from two in a row, it is gone; answering again, it is back', () => {
  const a = { name: 'a', id: 'A', threads: 1 };
  const b = { name: 'b', id: 'B', threads: 2 };
  const missed = new Set<string>();
  let live = liveWorkers([], [a, b], missed);
  assert.equal(live, [a, b]);
  live = liveWorkers(live, [a], missed);
  assert.equal(live, [a, b], 'b missed one ping');
  live = liveWorkers(live, [a], missed);
  assert.equal(live, [a], 'b missed two');
  live = liveWorkers(live, [a, b], missed);
  assert.equal(live, [a, b]);
  live = liveWorkers(live, [a], missed);
  assert.equal(live, [a, b], 'a fresh miss after answering again is one miss');
  assert.equal(liveWorkers(live, [], missed), [a], 'a misses one, b its second');
});

test('auto sends a job to the cluster only at or above thresholds.cluster for its op, and only while workers are live', () => {
  const table = { int32: 1e12, float32: 1e12, float64: 1e12 };
  const local = { wasm: { mode: 'wasm', maxWorkers: 1 } as Engine, ts: { mode: 'ts', maxWorkers: 1 } as Engine };
  const threads = { mode: 'threads', maxWorkers: 2, freeWorkers: () => 2 } as Engine & { freeWorkers(): number };
  const cluster = { mode: 'cluster', maxWorkers: 32, live: true } as Engine & { live: boolean };
  const auto = new AutoEngine(local, threads, { wasm: { random: table, data: table }, ts: { random: table, data: table }, cluster: { add: 10_000 } }, cluster);
  assert.is(auto.choose(job({ rows: 100, cols: 100 })).engine, cluster);
  assert.is(auto.choose(job({ rows: 99, cols: 100 })).engine, local.wasm, 'below the threshold');
  assert.is(auto.choose(job({ op: 'sub', rows: 100, cols: 100 })).engine, local.wasm, 'an op without a cluster threshold never goes there');
  assert.is(auto.choose(job({ rows: 100, cols: 100, workers: 2 })).engine, threads, 'a job naming its workers stays on this host');
  cluster.live = false;
  assert.is(auto.choose(job({ rows: 100, cols: 100 })).engine, local.wasm, 'no live worker');
});

test.run();
