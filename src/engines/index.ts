// Builds the five engines of one process around one compiled module and one
// shared memory, and closes them together.

import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import type { Gate } from '../pools/gate.js';
import { TsKernels } from '../kernels/ts-kernels.js';
import { WasmKernels, compileKernels } from '../kernels/wasm-kernels.js';
import { Arena } from '../memory/arena.js';
import { AutoEngine } from './auto-engine.js';
import { ClusterEngine, type ClusterOptions } from './cluster-engine.js';
import { loadThresholds, type Thresholds } from './auto-thresholds.js';
import type { Engine, Mode } from './job.js';
import { INLINE_MAX_ELEMENTS, LocalEngine } from './local-engine.js';
import type { RestartReason } from '../pools/pool.js';
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
  /** ts and wasm jobs of more elements run on the local pool's dedicated thread (default INLINE_MAX_ELEMENTS). */
  inlineMaxElements?: number;
  /** Test-only: holds pool tasks before they run (WASMATRIX_TEST_HOOKS=1, see pools/gate.ts). */
  gate?: Gate;
  /** The cluster mode's NATS server and settings (none: every cluster job is 503). */
  cluster?: ClusterOptions;
}

/** The pools, by the name /metrics gives them. */
export type PoolName = 'threads' | 'processes' | 'local';

/** A worker of a pool is being replaced ('restart' event). */
export interface RestartEvent {
  pool: PoolName;
  reason: RestartReason;
  error: Error;
}

/**
 * Events: 'restart' (RestartEvent), 'fatal' (Error: a pool cannot keep workers alive).
 */
export class Engines extends EventEmitter {
  readonly ts: LocalEngine;
  readonly wasm: LocalEngine;
  readonly threads: ThreadsEngine;
  readonly processes: ProcessesEngine;
  readonly cluster: ClusterEngine;
  readonly auto: AutoEngine;
  /** The ts and wasm modes' dedicated kernel thread for jobs too large for the calling thread. */
  readonly local: ThreadsEngine;
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
    const pool = (size: number | undefined): PoolSettings => ({
      size: size ?? availableParallelism(),
      maxQueue: options.maxQueue ?? 1024,
      maxTasksPerWorker: options.maxTasksPerWorker ?? 0,
      maxTasksJitter: options.maxTasksJitter ?? 0,
      spinMicros: options.spinMicros ?? 0,
      gate: options.gate,
    });
    // one thread: the ts and wasm modes are single-threaded by definition, and a flood of large jobs
    // in them then holds at most one core, never the thread that accepts connections
    this.local = new ThreadsEngine(module, this.arena, pool(1), 'local thread');
    const inline = options.inlineMaxElements ?? INLINE_MAX_ELEMENTS;
    this.ts = new LocalEngine(new TsKernels(tsArena.memory), tsArena, this.local, inline);
    this.wasm = new LocalEngine(new WasmKernels(module, this.arena.memory), this.arena, this.local, inline);
    this.threads = new ThreadsEngine(module, this.arena, pool(options.threads));
    this.processes = new ProcessesEngine(pool(options.processes));
    this.cluster = new ClusterEngine(options.cluster);
    this.auto = new AutoEngine({ wasm: this.wasm, ts: this.ts }, this.threads, options.thresholds ?? loadThresholds(), this.cluster);
    for (const [name, engine] of this.pools()) {
      engine.onFatal((e: Error) => this.emit('fatal', e));
      engine.onRestart((error: Error, reason: RestartReason) => this.emit('restart', { pool: name, reason, error } satisfies RestartEvent));
    }
  }

  /** The kernel pools by name. */
  pools(): [PoolName, ThreadsEngine | ProcessesEngine][] {
    return [
      ['threads', this.threads],
      ['processes', this.processes],
      ['local', this.local],
    ];
  }

  /** Starts every pool; resolves when every worker is ready. */
  async start(): Promise<this> {
    await Promise.all(this.pools().map(([, engine]) => engine.start()));
    // connects in the background: the other modes serve while NATS is away
    await this.cluster.start();
    return this;
  }

  get(mode: Mode): Engine {
    return this[mode];
  }

  close(): Promise<void> {
    this.#closed ??= Promise.all([...this.pools().map(([, engine]) => engine.close()), this.cluster.close()]).then(() => {});
    return this.#closed;
  }
}

/** Creates and starts the engines. */
export function createEngines(options: EnginesOptions = {}): Promise<Engines> {
  return new Engines(options).start();
}

export type { Engine, JobResult, JobSpec, Mode } from './job.js';
