// The hand-off between the pool (main thread) and a kernel worker thread: one
// small SharedArrayBuffer per worker, written by one side at a time. No
// postMessage on the hot path: the main thread writes a task and wakes the
// worker with Atomics.notify; the worker answers the same way and the main
// thread hears it through Atomics.waitAsync (no blocking of its event loop).
// Measured here: a postMessage round trip costs ~75 us, this one ~10-60 us.

import { DTYPES, KERNELS, OPS, type Dtype, type KernelKind, type Op } from '../vocabulary.js';

export const STATE = 0;
export const enum State {
  Idle = 0,
  Task = 1,
  Done = 2,
  Error = 3,
  Exit = 4,
}

// slot indices (Uint32)
export const CODE = 1;
export const A = 2;
export const B = 3;
export const OUT = 4;
export const COLS = 5;
export const FIRST_ROW = 6;
export const ROWS = 7;
export const SEED = 8;
export const RESULT = 9;
export const INNER = 10;
export const SCRATCH = 11;
// The worker's spin counters (only the worker writes them; see thread-worker.ts, nextState)
export const SPIN_PAID = 12;
export const SPIN_MISSED = 13;
export const SPIN_SKIPPED = 14;
export const SPIN_PREEMPTED = 15;
export const SLOTS = 16; // 64 bytes: one cache line per worker

/** How a worker's idle moments after a task ended, by the slot that counts them. */
export const SPIN_OUTCOMES = { paid: SPIN_PAID, missed: SPIN_MISSED, skipped: SPIN_SKIPPED, preempted: SPIN_PREEMPTED } as const;
export type SpinOutcome = keyof typeof SPIN_OUTCOMES;

// The codes are the positions in the vocabulary's lists, four bits each.
for (const list of [OPS, DTYPES, KERNELS]) if (list.length > 16) throw new Error('thread-protocol: a list outgrew its 4 bits');

/** op, dtype, kernel and "random" packed in one word. */
export function encode(op: Op, dtype: Dtype, kernel: KernelKind, random: boolean): number {
  return OPS.indexOf(op) | (DTYPES.indexOf(dtype) << 4) | (KERNELS.indexOf(kernel) << 8) | (random ? 1 << 12 : 0);
}

export function decode(code: number): { op: Op; dtype: Dtype; kernel: KernelKind; random: boolean } {
  return { op: OPS[code & 15]!, dtype: DTYPES[(code >> 4) & 15]!, kernel: KERNELS[(code >> 8) & 15]!, random: (code & (1 << 12)) !== 0 };
}

export interface ThreadWorkerData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  /** At most this many microseconds a worker spins for the next task after one ended, before it sleeps (0: never spins). */
  spinMicros: number;
}
