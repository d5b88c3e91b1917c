// A pool of workers that runs jobs made of independent tasks (bands of rows),
// over any Transport. Everything that makes a pool trustworthy lives here once,
// for threads and processes alike:
// - a FIFO of tasks, bounded by the number of jobs waiting (maxQueue);
// - a job settles only when none of its tasks is still running, so its memory
//   is never released under a worker that is still writing it;
// - a worker that dies mid-task is replaced and the task retried once on
//   another worker (tasks are pure); a second death fails the job;
// - a job past its deadline never starts; one running past it has its workers
//   killed (and replaced) and fails with TIMEOUT;
// - a job whose signal aborts before it started is dropped;
// - respawns back off, and a worker that keeps failing at start makes the pool
//   fatal (the server stops and says why) instead of looping;
// - optional recycling after N tasks (Gunicorn's --max-requests with jitter).

import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { errors, type WasmatrixError } from '../errors.js';
import type { Gate } from './gate.js';
import { WorkerExitError, type Transport } from './transport.js';

export interface PoolOptions<Task, Result> {
  /** For messages: "thread" or "process". */
  name: string;
  size: number;
  spawn(): Transport<Task, Result>;
  /** Jobs allowed to wait for a worker; beyond it run() fails at once with QUEUE_FULL. */
  maxQueue?: number;
  /** Replace a worker after this many tasks (0: never). */
  maxTasksPerWorker?: number;
  /** Up to this many extra tasks, drawn per worker, so workers do not all recycle at once. */
  maxTasksJitter?: number;
  /** Consecutive failed starts (the worker dying by itself, not killed from outside) before the pool gives up. */
  maxStartFailures?: number;
  /** Test-only: while held, a worker that took a task waits before running it (see gate.ts). */
  gate?: Gate | undefined;
}

/**
 * What a job needs of a cancellation signal: AbortSignal has this shape, and so
 * does the HTTP layer's Exchange, which cancels a request's job without an
 * AbortController per request.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface JobOptions {
  signal?: CancelSignal | undefined;
  /** performance.now() milliseconds. */
  deadline?: number | undefined;
}

export interface JobOutcome<Result> {
  results: Result[];
  /** From the dispatch of the first task to the end of the last one. */
  seconds: number;
}

interface Job<Task, Result> {
  tasks: Task[];
  results: Result[];
  remaining: number;
  running: number;
  started: boolean;
  t0: number;
  error: WasmatrixError | undefined;
  settle: (error: WasmatrixError | undefined) => void;
  deadline: number | undefined;
  timer: NodeJS.Timeout | undefined;
}

interface QueuedTask<Task, Result> {
  job: Job<Task, Result>;
  index: number;
  attempts: number;
}

interface Slot<Task, Result> {
  transport: Transport<Task, Result>;
  ready: boolean;
  running: QueuedTask<Task, Result> | undefined;
  tasksDone: number;
  taskLimit: number;
  retiring: boolean;
  /** Killed by the pool because its task's job passed its deadline. */
  expired: boolean;
}

function addCounts(into: Record<string, number>, counts: Record<string, number> | undefined): void {
  if (counts) for (const [name, n] of Object.entries(counts)) into[name] = (into[name] ?? 0) + n;
}

/** Why a worker is being replaced: it died by itself or was killed from outside, or the pool stopped it at a deadline. */
export type RestartReason = 'crash' | 'timeout';

export class Pool<Task, Result> extends EventEmitter {
  readonly #options: Required<Omit<PoolOptions<Task, Result>, 'gate'>> & Pick<PoolOptions<Task, Result>, 'gate'>;
  readonly #slots = new Set<Slot<Task, Result>>();
  readonly #queue: QueuedTask<Task, Result>[] = [];
  #waitingJobs = 0;
  #restarts = 0;
  /** Jobs ended, by outcome, since start. */
  readonly #outcomes: Record<string, number> = {};
  /** Deaths before ready in a row, whatever the cause: they set the respawn back-off. */
  #startFailures = 0;
  /** Of those, the ones the worker did itself (not killed from outside): they make the pool fatal. */
  #startCrashes = 0;
  #closed = false;
  #fatal: Error | undefined;
  readonly #respawns = new Set<NodeJS.Timeout>();
  /** The workers' own counters (Transport.counters) of workers already gone. */
  readonly #pastCounters: Record<string, number> = {};

  constructor(options: PoolOptions<Task, Result>) {
    super();
    if (!Number.isInteger(options.size) || options.size < 1) throw new TypeError(`${options.name} pool size must be an integer >= 1`);
    this.#options = { maxQueue: Infinity, maxTasksPerWorker: 0, maxTasksJitter: 0, maxStartFailures: 5, ...options };
  }

  get size(): number {
    return this.#options.size;
  }

  /** Starts every worker; resolves when all are ready. */
  async start(): Promise<void> {
    const slots = Array.from({ length: this.#options.size }, () => this.#spawn());
    await Promise.all(slots.map((s) => s.transport.ready));
  }

  stats(): { size: number; busy: number; queued: number; restarts: number; outcomes: Record<string, number>; counters: Record<string, number> } {
    let busy = 0;
    const counters = { ...this.#pastCounters };
    for (const s of this.#slots) {
      if (s.running) busy++;
      addCounts(counters, s.transport.counters?.());
    }
    return { size: this.#options.size, busy, queued: this.#waitingJobs, restarts: this.#restarts, outcomes: { ...this.#outcomes }, counters };
  }

  /** Counts how a job ended: 'ok', or its error code in lower case ('cancelled', 'timeout', 'queue_full', ...). */
  #ended(error: WasmatrixError | undefined): void {
    const outcome = error === undefined ? 'ok' : error.code.toLowerCase();
    this.#outcomes[outcome] = (this.#outcomes[outcome] ?? 0) + 1;
  }

  #refuse(error: WasmatrixError): Promise<never> {
    this.#ended(error);
    return Promise.reject(error);
  }

  /**
   * Workers that would take a task at once: ready, idle and not retiring; 0
   * while tasks wait in the queue (they are first in line for any worker).
   */
  freeWorkers(): number {
    if (this.#queue.length > 0) return 0;
    let free = 0;
    for (const s of this.#slots) if (s.ready && !s.running && !s.retiring) free++;
    return free;
  }

  /** Worker ids (thread ids or pids), for chaos tests and leak checks. */
  workerIds(): number[] {
    return [...this.#slots].map((s) => s.transport.id);
  }

  /**
   * Kills one worker as a crash would (chaos tests, the soak script): a random
   * busy one if there is one, else any. Resolves with its id, or undefined if
   * the pool has no worker.
   */
  async killWorker(id?: number): Promise<number | undefined> {
    const slots = [...this.#slots].filter((s) => !s.retiring);
    const busy = slots.filter((s) => s.running);
    const pick = id !== undefined ? slots.find((s) => s.transport.id === id) : (busy.length ? busy : slots)[Math.floor(Math.random() * (busy.length || slots.length))];
    if (!pick) return undefined;
    await pick.transport.kill();
    return pick.transport.id;
  }

  /** Runs the tasks of one job; resolves with their results in order. */
  run(tasks: Task[], options: JobOptions = {}): Promise<JobOutcome<Result>> {
    if (this.#fatal) return this.#refuse(errors.workerFailed(`the ${this.#options.name} pool is down: ${this.#fatal.message}`));
    if (this.#closed) return this.#refuse(errors.poolClosed(`the ${this.#options.name} pool is closed`));
    if (options.signal?.aborted) return this.#refuse(errors.cancelled('the client went away before the job started'));
    if (this.#waitingJobs >= this.#options.maxQueue) {
      return this.#refuse(errors.queueFull(`${this.#waitingJobs} jobs are already waiting for the ${this.#options.name} pool`, { retryAfter: 1 }));
    }
    return new Promise<JobOutcome<Result>>((resolve, reject) => {
      const job: Job<Task, Result> = {
        tasks,
        results: new Array(tasks.length),
        remaining: tasks.length,
        running: 0,
        started: false,
        t0: 0,
        error: undefined,
        deadline: options.deadline,
        timer: undefined,
        settle: (error) => {
          if (job.timer) clearTimeout(job.timer);
          options.signal?.removeEventListener('abort', onAbort);
          if (!job.started) this.#waitingJobs--;
          this.#ended(error);
          if (error) reject(error);
          else resolve({ results: job.results, seconds: (performance.now() - job.t0) / 1000 });
        },
      };
      const onAbort = (): void => {
        if (!job.started) this.#fail(job, errors.cancelled('the client went away before the job started'));
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (job.deadline !== undefined) {
        job.timer = setTimeout(() => this.#expire(job), Math.max(0, job.deadline - performance.now()));
      }
      this.#waitingJobs++;
      tasks.forEach((_, index) => this.#queue.push({ job, index, attempts: 0 }));
      if (tasks.length === 0) {
        job.started = true;
        this.#waitingJobs--;
        this.#finish(job);
      }
      this.#dispatch();
    });
  }

  /** Stops taking jobs, fails the waiting ones, stops every worker. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#respawns) clearTimeout(t);
    this.#respawns.clear();
    for (const q of this.#queue.splice(0)) this.#fail(q.job, errors.poolClosed(`the ${this.#options.name} pool is closing`));
    await Promise.all([...this.#slots].map((s) => this.#stop(s)));
  }

  async #stop(slot: Slot<Task, Result>): Promise<void> {
    const closing = slot.transport.close();
    const timeout = new Promise<'timeout'>((r) => setTimeout(r, 2000, 'timeout').unref());
    if ((await Promise.race([closing, timeout])) === 'timeout') await slot.transport.kill();
  }

  #spawn(): Slot<Task, Result> {
    const jitter = this.#options.maxTasksJitter > 0 ? Math.floor(Math.random() * (this.#options.maxTasksJitter + 1)) : 0;
    const transport = this.#options.spawn();
    const slot: Slot<Task, Result> = {
      transport,
      ready: false,
      running: undefined,
      tasksDone: 0,
      taskLimit: this.#options.maxTasksPerWorker > 0 ? this.#options.maxTasksPerWorker + jitter : Infinity,
      retiring: false,
      expired: false,
    };
    this.#slots.add(slot);
    transport.onExit((error) => this.#onExit(slot, error));
    transport.ready.then(
      () => {
        slot.ready = true;
        this.#startFailures = 0;
        this.#startCrashes = 0;
        this.#dispatch();
      },
      () => {
        /* the exit listener handles it */
      },
    );
    return slot;
  }

  #onExit(slot: Slot<Task, Result>, error: Error): void {
    this.#slots.delete(slot);
    addCounts(this.#pastCounters, slot.transport.counters?.());
    const task = slot.running;
    slot.running = undefined;
    if (task) this.#taskCrashed(task, error);
    if (this.#closed || slot.retiring) return;
    if (!slot.ready) {
      this.#startFailures++;
      if (!(error instanceof WorkerExitError && error.killed)) this.#startCrashes++;
    }
    if (this.#startCrashes >= this.#options.maxStartFailures) {
      this.#fatal = new Error(`${this.#options.name} workers failed to start ${this.#startCrashes} times in a row (last: ${error.message})`);
      for (const q of this.#queue.splice(0)) this.#fail(q.job, errors.workerFailed(this.#fatal.message));
      this.emit('fatal', this.#fatal);
      return;
    }
    this.#restarts++;
    this.emit('restart', error, slot.expired ? 'timeout' : 'crash');
    const backoff = Math.min(5000, this.#startFailures === 0 ? 0 : 100 * 2 ** (this.#startFailures - 1));
    const timer = setTimeout(() => {
      this.#respawns.delete(timer);
      if (!this.#closed && !this.#fatal) this.#spawn();
    }, backoff);
    this.#respawns.add(timer);
  }

  #taskCrashed(task: QueuedTask<Task, Result>, error: Error): void {
    const job = task.job;
    job.running--;
    if (job.error) return this.#maybeSettle(job);
    if (this.#closed) return this.#fail(job, errors.poolClosed(`the ${this.#options.name} pool closed while the job ran`));
    if (this.#fatal) return this.#fail(job, errors.workerFailed(`the ${this.#options.name} pool is down: ${this.#fatal.message}`));
    if (task.attempts < 2) {
      // the work is pure: run it again, first in line
      this.#queue.unshift(task);
      this.#dispatch();
      return;
    }
    this.#fail(job, errors.workerFailed(`a ${this.#options.name} worker died twice running this job (${error.message})`));
  }

  #dispatch(): void {
    if (this.#closed) return;
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) return;
      if (!slot.ready || slot.running || slot.retiring) continue;
      const task = this.#next();
      if (!task) return;
      this.#runOn(slot, task);
    }
  }

  /** The next task whose job is still alive and in time. */
  #next(): QueuedTask<Task, Result> | undefined {
    for (;;) {
      const task = this.#queue.shift();
      if (!task) return undefined;
      const job = task.job;
      if (job.error) continue;
      if (job.deadline !== undefined && performance.now() >= job.deadline && !job.started) {
        this.#fail(job, errors.timeout('the job waited in the queue past its deadline and was not started'));
        continue;
      }
      return task;
    }
  }

  #runOn(slot: Slot<Task, Result>, task: QueuedTask<Task, Result>): void {
    const job = task.job;
    if (!job.started) {
      job.started = true;
      job.t0 = performance.now();
      this.#waitingJobs--;
    }
    task.attempts++;
    job.running++;
    slot.running = task;
    const gate = this.#options.gate;
    const run = gate?.held ? gate.pass().then(() => slot.transport.run(job.tasks[task.index]!)) : slot.transport.run(job.tasks[task.index]!);
    run.then(
      (result) => {
        if (slot.running !== task) return; // the worker was declared dead meanwhile
        slot.running = undefined;
        job.running--;
        job.results[task.index] = result;
        job.remaining--;
        if (job.remaining === 0 && !job.error) this.#finish(job);
        else this.#maybeSettle(job);
        this.#afterTask(slot);
      },
      (error: Error) => {
        if (error instanceof WorkerExitError) return; // #onExit retries or fails the task
        if (slot.running !== task) return;
        slot.running = undefined;
        job.running--;
        this.#fail(job, errors.internal(`a ${this.#options.name} worker failed a task: ${error.message}`));
        this.#afterTask(slot);
      },
    );
  }

  #afterTask(slot: Slot<Task, Result>): void {
    slot.tasksDone++;
    if (slot.tasksDone >= slot.taskLimit && !this.#closed) {
      // recycle: the replacement starts first, so capacity never drops by more than one
      slot.retiring = true;
      this.#restarts++;
      this.#spawn();
      void this.#stop(slot);
    }
    this.#dispatch();
  }

  #finish(job: Job<Task, Result>): void {
    job.settle(undefined);
  }

  #fail(job: Job<Task, Result>, error: WasmatrixError): void {
    if (job.error) return;
    job.error = error;
    if (!job.started) {
      // never started: it leaves the queue now
      for (let i = this.#queue.length - 1; i >= 0; i--) if (this.#queue[i]!.job === job) this.#queue.splice(i, 1);
    }
    this.#maybeSettle(job);
  }

  /** A failed job settles once none of its tasks is still running (its memory is then safe to free). */
  #maybeSettle(job: Job<Task, Result>): void {
    if (job.error && job.running === 0) {
      for (let i = this.#queue.length - 1; i >= 0; i--) if (this.#queue[i]!.job === job) this.#queue.splice(i, 1);
      const error = job.error;
      job.error = error;
      job.settle(error);
      job.settle = () => {};
    }
  }

  /** Deadline reached: a waiting job fails; a running one has its workers killed. */
  #expire(job: Job<Task, Result>): void {
    if (job.error || job.remaining === 0) return;
    const error = errors.timeout(job.started ? 'the job ran past its deadline; its workers were stopped and replaced' : 'the job waited in the queue past its deadline');
    this.#fail(job, error);
    for (const slot of this.#slots) {
      if (slot.running?.job !== job) continue;
      slot.expired = true;
      void slot.transport.kill();
    }
  }
}
