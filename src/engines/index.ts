// Builds the five engines of one process around one compiled module and one
// shared memory, and closes them together.

import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import type { Gate } from '../pools/gate.js';
import { TsKernels } from '../kernels/ts-kernels.js';
import { WasmKernels, compileKernels } from '../kernels/wasm-kernels.js';
import { Arena } from '../memory/arena.js';
import { AutoEngine } from './auto-engine.js';
import { loadThresholds, type Thresholds } from './auto-thresholds.js';
import type { Engine, Mode } from './job.js';
import { LocalEngine } from './local-engine.js';
import type { PoolSettings } from './pool-settings.js';
import { ProcessesEngine } from './processes-engine.js';
import { ThreadsEngine } from './threads-engine.js';

export interface EnginesOptions {
  /** Thread pool size; default os.availableParallelism(). */
  threads?: number;
  /** Process pool size; default os.availableParallelism(). */
  processes?: number;
  /** Jobs allowed to wait per pool. Default 1024. */
  maxQueue?: number;
  maxTasksPerWorker?: number;
  maxTasksJitter?: number;
  /** Default 0: workers sleep at once (fair to a shared machine). */
  spinMicros?: number;
  /** Cap of the shared matrix memory in bytes (default and maximum 4 GiB). */
  maxMemoryBytes?: number;
  thresholds?: Thresholds;
  /** Test-only: holds pool tasks before they run (WASMATRIX_TEST_HOOKS=1, see pools/gate.ts). */
  gate?: Gate;
}

export class Engines extends EventEmitter {
  readonly ts: LocalEngine;
  readonly wasm: LocalEngine;
  readonly threads: ThreadsEngine;
  readonly processes: ProcessesEngine;
  readonly auto: AutoEngine;
  /** True when the SIMD build of the kernels is in use. */
  readonly simd: boolean;
  /** The one shared memory of the wasm and threads modes. */
  readonly arena: Arena;
  #closed: Promise<void> | undefined;

  constructor(options: EnginesOptions = {}) {
    super();
    const { module, simd } = compileKernels();
    this.simd = simd;
    this.arena = new Arena({ shared: true, maxBytes: options.maxMemoryBytes });
    // the baseline gets a plain (unshared) memory of its own, as a TS program would use
    const tsArena = new Arena({ shared: false, maxBytes: options.maxMemoryBytes });
    this.ts = new LocalEngine(new TsKernels(tsArena.memory), tsArena);
    this.wasm = new LocalEngine(new WasmKernels(module, this.arena.memory), this.arena);
    const pool = (size: number | undefined): PoolSettings => ({
      size: size ?? availableParallelism(),
      maxQueue: options.maxQueue ?? 1024,
      maxTasksPerWorker: options.maxTasksPerWorker ?? 0,
      maxTasksJitter: options.maxTasksJitter ?? 0,
      spinMicros: options.spinMicros ?? 0,
      gate: options.gate,
    });
    this.threads = new ThreadsEngine(module, this.arena, pool(options.threads));
    this.processes = new ProcessesEngine(pool(options.processes));
    this.auto = new AutoEngine({ wasm: this.wasm, ts: this.ts }, this.threads, options.thresholds ?? loadThresholds());
    for (const engine of [this.threads, this.processes]) engine.pool.on('fatal', (e: Error) => this.emit('fatal', e));
  }

  /** Starts both pools; resolves when every worker is ready. */
  async start(): Promise<this> {
    await Promise.all([this.threads.start(), this.processes.start()]);
    return this;
  }

  get(mode: Mode): Engine {
    return this[mode];
  }

  close(): Promise<void> {
    this.#closed ??= Promise.all([this.threads.close(), this.processes.close()]).then(() => {});
    return this.#closed;
  }
}

/** Creates and starts the engines. */
export function createEngines(options: EnginesOptions = {}): Promise<Engines> {
  return new Engines(options).start();
}

export type { Engine, JobResult, JobSpec, Mode } from './job.js';
