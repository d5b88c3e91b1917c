// A kernel worker thread: instantiates the shared compiled module over the one
// shared memory, then loops: wait for a task in its control block, run the band,
// answer. It never returns to its event loop while serving, so the loop is
// entirely Atomics (see thread-protocol.ts).

import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { operation } from '../ops/index.js';
import { TsKernels } from '../kernels/ts-kernels.js';
import { WasmKernels } from '../kernels/wasm-kernels.js';
import { A, B, CODE, COLS, decode, FIRST_ROW, INNER, OUT, RESULT, ROWS, SCRATCH, SEED, SPIN_MISSED, SPIN_PAID, SPIN_PREEMPTED, SPIN_SKIPPED, State, STATE, type ThreadWorkerData } from './thread-protocol.js';

const { module, memory, control, spinMicros } = workerData as ThreadWorkerData;
const ctrl = new Int32Array(control);
const u32 = new Uint32Array(control);
const kernels = { wasm: new WasmKernels(module, memory), ts: new TsKernels(memory) };

/**
 * A spin is bounded and adaptive, so that it is fair to a loaded machine:
 * - it happens only right after a task ended (the moment a queued task is
 *   likeliest to come), for at most spinMicros;
 * - it stops at once when the thread was preempted while spinning (a gap of
 *   PREEMPTED_MS between two looks at the clock: another thread wanted this
 *   core, so the core is not burnt while others wait);
 * - after `misses` spins in a row that ended with no task (missed or
 *   preempted), the next 2^misses (at most MAX_SKIP) idle moments sleep at
 *   once; a spin that catches a task resets that. When tasks rarely come
 *   within spinMicros, spinning all but stops.
 * Each outcome is counted in the control block (SPIN_OUTCOMES), for /metrics.
 */
const PREEMPTED_MS = 0.02;
const MAX_SKIP = 64;
let misses = 0;
let skip = 0;

function count(slot: number): void {
  Atomics.store(u32, slot, u32[slot]! + 1);
}

function isNext(state: number): boolean {
  return state === State.Task || state === State.Exit;
}

/** A spin that caught no task: sleep at once for the next 2^misses idle moments. */
function backOff(): void {
  misses++;
  skip = Math.min(MAX_SKIP, 2 ** misses);
}

/** Spins up to spinMicros for the next state; returns it, or undefined when the spin gave up. */
function spin(): number | undefined {
  if (skip > 0) {
    skip--;
    count(SPIN_SKIPPED);
    return undefined;
  }
  let now = performance.now();
  const until = now + spinMicros / 1000;
  for (;;) {
    const state = Atomics.load(ctrl, STATE);
    if (isNext(state)) {
      misses = 0;
      count(SPIN_PAID);
      return state;
    }
    const then = now;
    now = performance.now();
    if (now - then > PREEMPTED_MS || now >= until) {
      backOff();
      count(now - then > PREEMPTED_MS ? SPIN_PREEMPTED : SPIN_MISSED);
      return undefined;
    }
  }
}

/** Waits until the state is Task or Exit: after a task, perhaps a short spin (see spin()), then sleep. */
function nextState(afterTask: boolean): number {
  let state = Atomics.load(ctrl, STATE);
  if (isNext(state)) return state;
  if (afterTask && spinMicros > 0) {
    const spun = spin();
    if (spun !== undefined) return spun;
  }
  for (;;) {
    state = Atomics.load(ctrl, STATE);
    if (isNext(state)) return state;
    Atomics.wait(ctrl, STATE, state);
  }
}

parentPort!.postMessage({ type: 'ready' });
let afterTask = false;
while (nextState(afterTask) === State.Task) {
  afterTask = true;
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
