// A kernel worker thread: instantiates the shared compiled module over the one
// shared memory, then loops: wait for a task in its control block, run the band,
// answer. It never returns to its event loop while serving, so the loop is
// entirely Atomics (see thread-protocol.ts).

import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { operation } from '../ops/index.js';
import { TsKernels } from '../kernels/ts-kernels.js';
import { WasmKernels } from '../kernels/wasm-kernels.js';
import { A, B, CODE, COLS, decode, FIRST_ROW, INNER, OUT, RESULT, ROWS, SCRATCH, SEED, State, STATE, type ThreadWorkerData } from './thread-protocol.js';

const { module, memory, control, spinMicros } = workerData as ThreadWorkerData;
const ctrl = new Int32Array(control);
const u32 = new Uint32Array(control);
const kernels = { wasm: new WasmKernels(module, memory), ts: new TsKernels(memory) };

/** Waits until the state is Task or Exit: a short spin first (cheap wake-ups under load), then sleep. */
function nextState(): number {
  let state = Atomics.load(ctrl, STATE);
  if (state === State.Task || state === State.Exit) return state;
  if (spinMicros > 0) {
    const until = performance.now() + spinMicros / 1000;
    do {
      state = Atomics.load(ctrl, STATE);
      if (state === State.Task || state === State.Exit) return state;
    } while (performance.now() < until);
  }
  for (;;) {
    Atomics.wait(ctrl, STATE, state);
    state = Atomics.load(ctrl, STATE);
    if (state === State.Task || state === State.Exit) return state;
  }
}

parentPort!.postMessage({ type: 'ready' });
while (nextState() === State.Task) {
  const { op, dtype, kernel, random } = decode(u32[CODE]!);
  try {
    u32[RESULT] = operation(op).runBand(kernels[kernel], {
      op,
      dtype,
      cols: u32[COLS]!,
      inner: u32[INNER]!,
      scratch: u32[SCRATCH]!,
      firstRow: u32[FIRST_ROW]!,
      rows: u32[ROWS]!,
      a: u32[A]!,
      b: u32[B]!,
      out: u32[OUT]!,
      seed: random ? u32[SEED]! : undefined,
    });
    Atomics.store(ctrl, STATE, State.Done);
  } catch (error) {
    parentPort!.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    Atomics.store(ctrl, STATE, State.Error);
  }
  Atomics.notify(ctrl, STATE);
}
process.exit(0);
