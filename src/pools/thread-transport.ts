// A kernel worker thread behind the Transport contract. Tasks travel through a
// shared control block (thread-protocol.ts); matrix data never moves: the band
// is read and written in place in the shared memory.

import { Worker } from 'node:worker_threads';
import { threadEntry } from '../paths.js';
import type { Band } from '../kernels/kernels.js';
import type { KernelKind } from '../engines/job.js';
import { A, B, CODE, COLS, encode, FIRST_ROW, OUT, RESULT, ROWS, SEED, SLOTS, State, STATE, type ThreadWorkerData } from './thread-protocol.js';
import { WorkerExitError, type Transport } from './transport.js';

export interface ThreadTask {
  band: Band;
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

  async run({ band, kernel }: ThreadTask): Promise<number> {
    if (this.#exitError) throw this.#exitError;
    const u = this.#u32;
    u[CODE] = encode(band.op, band.dtype, kernel, band.seed !== undefined);
    u[A] = band.a;
    u[B] = band.b;
    u[OUT] = band.out;
    u[COLS] = band.cols;
    u[FIRST_ROW] = band.firstRow;
    u[ROWS] = band.rows;
    u[SEED] = band.seed ?? 0;
    Atomics.store(this.#ctrl, STATE, State.Task);
    Atomics.notify(this.#ctrl, STATE);
    for (;;) {
      const wait = Atomics.waitAsync(this.#ctrl, STATE, State.Task);
      if (wait.async) await wait.value;
      if (this.#exitError) throw this.#exitError;
      const state = Atomics.load(this.#ctrl, STATE);
      if (state === State.Done) return u[RESULT]!;
      if (state === State.Error) {
        // the message was posted before the state changed; let it arrive
        await new Promise((r) => setImmediate(r));
        throw new Error(this.#lastError || 'kernel error');
      }
    }
  }

  async kill(): Promise<void> {
    this.#killed = true;
    await this.#worker.terminate();
    await this.#exited;
  }

  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      // never overwrite a running task: let it answer first
      while (!this.#exitError && Atomics.load(this.#ctrl, STATE) === State.Task) {
        const wait = Atomics.waitAsync(this.#ctrl, STATE, State.Task);
        if (wait.async) await wait.value;
      }
      Atomics.store(this.#ctrl, STATE, State.Exit);
      Atomics.notify(this.#ctrl, STATE);
    }
    await this.#exited;
  }
}
