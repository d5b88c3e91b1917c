// A kernel worker thread behind the Transport contract. Tasks travel through a
// shared control block (thread-protocol.ts); matrix data never moves: the band
// is read and written in place in the shared memory.

import { Worker } from 'node:worker_threads';
import { threadEntry } from '../paths.js';
import type { OpBand } from '../ops/index.js';
import type { KernelKind } from '../vocabulary.js';
import { A, B, CODE, COLS, encode, FIRST_ROW, INNER, OUT, RESULT, ROWS, SCRATCH, SEED, SLOTS, SPIN_OUTCOMES, State, STATE, type ThreadWorkerData } from './thread-protocol.js';
import { WorkerExitError, type Transport } from './transport.js';

export interface ThreadTask {
  band: OpBand;
  kernel: KernelKind;
}

export interface ThreadTransportOptions {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  spinMicros: number;
}

const entry = threadEntry(import.meta.url, 'thread-worker');

export class ThreadTransport implements Transport<ThreadTask, number> {
  readonly id: number;
  readonly ready: Promise<void>;
  readonly #worker: Worker;
  readonly #ctrl: Int32Array;
  readonly #u32: Uint32Array;
  readonly #exited: Promise<void>;
  #exitError: Error | undefined;
  #exitListeners: ((error: Error) => void)[] = [];
  #lastError = '';
  #killed = false;
  #closing = false;
  /** The task being handed off, if any (the pool runs one task at a time per worker). */
  #running: Promise<number> | undefined;

  constructor(options: ThreadTransportOptions) {
    const control = new SharedArrayBuffer(SLOTS * 4);
    this.#ctrl = new Int32Array(control);
    this.#u32 = new Uint32Array(control);
    const workerData: ThreadWorkerData = { module: options.module, memory: options.memory, control, spinMicros: options.spinMicros };
    this.#worker = new Worker(entry.file, { workerData, argv: entry.argv });
    this.id = this.#worker.threadId;
    let onReady: () => void;
    let onFail: (e: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onFail = reject;
    });
    this.ready.catch(() => {});
    this.#worker.on('message', (m: { type: string; message?: string }) => {
      if (m.type === 'ready') onReady();
      else if (m.type === 'error') this.#lastError = m.message ?? 'unknown error';
    });
    this.#worker.on('error', (e) => {
      this.#lastError = e.message;
    });
    this.#exited = new Promise<void>((resolve) => {
      this.#worker.on('exit', (code) => {
        const error = new WorkerExitError(`worker thread ${this.id} exited (code ${code})${this.#lastError ? `: ${this.#lastError}` : ''}`, this.#killed);
        this.#exitError = error;
        onFail(error);
        // wake a pending waitAsync so run() sees the death
        Atomics.notify(this.#ctrl, STATE);
        for (const l of this.#exitListeners) l(error);
        resolve();
      });
    });
  }

  onExit(listener: (error: Error) => void): void {
    this.#exitListeners.push(listener);
  }

  /**
   * The hand-off's states, and who writes them: the pool writes Task (from
   * Idle); the worker answers Done or Error; run() takes the answer and writes
   * Idle again; close() writes Exit, only once no run() is pending, so it never
   * overwrites an answer nobody has read. Every state run() can see ends it:
   * Done and Error answer, the worker's exit rejects, and anything else (a
   * broken invariant) fails the task instead of spinning on a state that will
   * never change.
   */
  run(task: ThreadTask): Promise<number> {
    if (this.#exitError) return Promise.reject(this.#exitError);
    const running = this.#handOff(task);
    this.#running = running;
    return running;
  }

  async #handOff({ band, kernel }: ThreadTask): Promise<number> {
    const u = this.#u32;
    u[CODE] = encode(band.op, band.dtype, kernel, band.seed !== undefined);
    u[A] = band.a;
    u[B] = band.b;
    u[OUT] = band.out;
    u[COLS] = band.cols;
    u[INNER] = band.inner;
    u[SCRATCH] = band.scratch;
    u[FIRST_ROW] = band.firstRow;
    u[ROWS] = band.rows;
    u[SEED] = band.seed ?? 0;
    Atomics.store(this.#ctrl, STATE, State.Task);
    Atomics.notify(this.#ctrl, STATE);
    let state: number;
    do {
      const wait = Atomics.waitAsync(this.#ctrl, STATE, State.Task);
      if (wait.async) await wait.value;
      if (this.#exitError) throw this.#exitError;
      state = Atomics.load(this.#ctrl, STATE);
    } while (state === State.Task);
    Atomics.store(this.#ctrl, STATE, State.Idle);
    if (state === State.Done) return u[RESULT]!;
    if (state === State.Error) {
      // the message was posted before the state changed; let it arrive
      await new Promise((r) => setImmediate(r));
      throw new Error(this.#lastError || 'kernel error');
    }
    throw new Error(`worker thread ${this.id}: the hand-off ended in state ${state} without an answer`);
  }

  /** The worker's spin outcomes so far (paid, missed, skipped, preempted; see thread-worker.ts). */
  counters(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const [outcome, slot] of Object.entries(SPIN_OUTCOMES)) counts[`spin_${outcome}`] = Atomics.load(this.#u32, slot);
    return counts;
  }

  async kill(): Promise<void> {
    this.#killed = true;
    await this.#worker.terminate();
    await this.#exited;
  }

  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      // never overwrite a running task or its unread answer: let run() take it first
      await this.#running?.catch(() => {});
      if (!this.#exitError) {
        Atomics.store(this.#ctrl, STATE, State.Exit);
        Atomics.notify(this.#ctrl, STATE);
      }
    }
    await this.#exited;
  }
}
