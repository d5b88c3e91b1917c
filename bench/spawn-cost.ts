// What the lab pays per request and we do not: a fresh child process, or a
// fresh worker thread, started for one job and stopped after it. Each sample is
// start + ready (Node booted, kernels compiled and instantiated) + one job
// (random+add int32, n = 500, summary) + exit, wall-clock.

import { performance } from 'node:perf_hooks';
import type { Engines } from '../src/engines/index.js';
import { placeJob } from '../src/engines/job-layout.js';
import { compileKernels } from '../src/kernels/wasm-kernels.js';
import { ProcessTransport } from '../src/pools/process-transport.js';
import { ThreadTransport } from '../src/pools/thread-transport.js';
import { summarize } from './measure.js';

export const SPAWN_N = 500;

export interface SpawnCost {
  what: 'fresh child process' | 'fresh worker thread';
  /** Seconds per request (spawn + job + exit). */
  median: number;
  min: number;
  max: number;
  repeats: number;
}

async function sample(repeats: number, once: () => Promise<void>): Promise<{ median: number; min: number; max: number }> {
  await once(); // warm the file cache and the compiled module
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await once();
    samples.push((performance.now() - t0) / 1000);
  }
  return summarize(samples);
}

export async function measureSpawnCost(engines: Engines, repeats: number): Promise<SpawnCost[]> {
  const n = SPAWN_N;
  const processOnce = async (): Promise<void> => {
    const child = new ProcessTransport();
    await child.ready;
    await child.run({ op: 'add', dtype: 'int32', kernel: 'wasm', cols: n, inner: n, firstRow: 0, rows: n, seed: 1, wantOutput: false, wantSample: 10 });
    await child.close();
  };
  const { module } = compileKernels();
  const threadOnce = async (): Promise<void> => {
    const placed = placeJob(engines.arena, { op: 'add', dtype: 'int32', rows: n, cols: n, source: { kind: 'random', seed: 1 }, output: 'summary' }, 1);
    try {
      const thread = new ThreadTransport({ module, memory: engines.arena.memory, spinMicros: 0 });
      await thread.ready;
      await thread.run({ band: placed.bands[0]!, kernel: 'wasm' });
      await thread.close();
    } finally {
      placed.free();
    }
  };
  return [
    { what: 'fresh child process', ...(await sample(repeats, processOnce)), repeats },
    { what: 'fresh worker thread', ...(await sample(repeats, threadOnce)), repeats },
  ];
}
