// -w N: N - 1 acceptor threads next to the main thread, each with its own uWS
// app listening on the same port (SO_REUSEPORT), all sharing the ONE set of
// kernel pools that lives in the main thread. An acceptor parses and validates
// requests itself and hands the main thread only the job:
// - a random job (the lab's) is a small message, and so is its answer
//   (sample + checksum): nothing large crosses;
// - caller matrices (POST) travel by transfer: the body's ArrayBuffer moves to
//   the main thread without a copy, and the result's buffer moves back.
// Deadlines cross as wall-clock times (performance.now() differs per thread).

import { performance } from 'node:perf_hooks';
import { Worker, type MessagePort } from 'node:worker_threads';
import { WasmatrixError, errors, isWasmatrixError, type ProblemFields } from '../errors.js';
import type { JobResult, JobSpec, Mode } from '../engines/job.js';
import type { MetricsJson } from '../metrics/metrics.js';
import { threadEntry } from '../paths.js';
import type { JobRunner } from './job-runner.js';
import type { LogLevel, Logger } from './logger.js';

/** The settings of the HTTP layer an acceptor thread needs (the CLI's ServerConfig has them). */
export interface HttpSettings {
  host: string;
  maxN: number;
  maxBody: number;
  /** Seconds; 0: none. */
  timeout: number;
  maxInflightBytes: number;
  accessLog: string | null;
  logLevel: LogLevel;
}

/** What an acceptor thread starts with. */
export interface AcceptorData {
  config: HttpSettings;
  /** The port the main thread actually listens on (resolves port 0). */
  port: number;
  maxWorkers: Record<Mode, number>;
  name: string;
  version: string;
  /** The counter of the in-flight memory budget (shared with the main thread). */
  budget: SharedArrayBuffer;
}

type WireJob = Omit<JobSpec, 'signal' | 'deadline'> & { deadlineAt?: number };
interface WireError {
  code: string;
  status: number;
  title: string;
  message: string;
  fields: ProblemFields;
}

/** Acceptor to main. */
export type ToMain =
  | { t: 'listening' }
  | { t: 'listen-failed'; message: string }
  | { t: 'job'; id: number; mode: Mode; job: WireJob }
  | { t: 'cancel'; id: number }
  | { t: 'metrics'; id: number }
  | { t: 'metrics-json'; id: number; json: MetricsJson }
  | { t: 'drained'; idle: boolean };

/** Main to acceptor. */
export type ToAcceptor =
  | { t: 'done'; id: number; result: JobResult }
  | { t: 'fail'; id: number; error: WireError }
  | { t: 'metrics-text'; id: number; text: string }
  | { t: 'collect'; id: number }
  | { t: 'health'; fields: Record<string, unknown> }
  | { t: 'drain'; gracefulMs: number };

/** Buffers a job's data lives in, each listed once (A and B may share the body buffer). */
function buffersOf(arrays: (ArrayBufferView | undefined)[]): ArrayBuffer[] {
  const set = new Set<ArrayBuffer>();
  for (const a of arrays) if (a && !(a.buffer instanceof SharedArrayBuffer)) set.add(a.buffer as ArrayBuffer);
  return [...set];
}

function toWire(e: unknown): WireError {
  const w = isWasmatrixError(e) ? e : errors.internal('the server failed to handle this request; the failure was logged');
  return { code: w.code, status: w.status, title: w.title, message: w.message, fields: w.fields };
}

/** Acceptor side: runs jobs by asking the main thread. */
export class RemoteRunner implements JobRunner {
  readonly #port: MessagePort;
  readonly #maxWorkers: Record<Mode, number>;
  readonly #pending = new Map<number, { resolve(r: JobResult): void; reject(e: Error): void }>();
  readonly #metrics = new Map<number, (text: string) => void>();
  #nextId = 1;

  constructor(port: MessagePort, maxWorkers: Record<Mode, number>) {
    this.#port = port;
    this.#maxWorkers = maxWorkers;
  }

  maxWorkers(mode: Mode): number {
    return this.#maxWorkers[mode];
  }

  run(mode: Mode, spec: JobSpec): Promise<JobResult> {
    const id = this.#nextId++;
    const { signal, deadline, ...job } = spec;
    const wire: WireJob = job;
    if (deadline !== undefined) wire.deadlineAt = performance.timeOrigin + deadline;
    const transfer = job.source.kind === 'data' ? buffersOf([job.source.a, job.source.b]) : [];
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#port.postMessage({ t: 'job', id, mode, job: wire } satisfies ToMain, transfer);
      signal?.addEventListener('abort', () => this.#port.postMessage({ t: 'cancel', id } satisfies ToMain), { once: true });
    });
  }

  metricsText(): Promise<string> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#metrics.set(id, resolve);
      this.#port.postMessage({ t: 'metrics', id } satisfies ToMain);
    });
  }

  /** Handles the main thread's answers; returns false for messages it does not own. */
  receive(m: ToAcceptor): boolean {
    if (m.t === 'done' || m.t === 'fail') {
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (m.t === 'done') p?.resolve(m.result);
      else p?.reject(new WasmatrixError(m.error.code, m.error.status, m.error.title, m.error.message, m.error.fields));
      return true;
    }
    if (m.t === 'metrics-text') {
      this.#metrics.get(m.id)?.(m.text);
      this.#metrics.delete(m.id);
      return true;
    }
    return false;
  }
}

export interface AcceptorHost {
  runner: JobRunner;
  log: Logger;
  /** The whole service's metrics text (the main thread aggregates). */
  metricsText(): Promise<string>;
}

/** Main side: the acceptor threads, and the jobs they forward. */
export class AcceptorGroup {
  readonly #workers: Worker[] = [];
  readonly #host: AcceptorHost;
  readonly #collecting = new Map<number, (json: MetricsJson) => void>();
  /** Jobs forwarded by acceptors, by "threadId:id": a cancel message aborts them. */
  readonly #cancels = new Map<string, AbortController>();
  #nextId = 1;

  constructor(host: AcceptorHost) {
    this.#host = host;
  }

  /** Starts `count` acceptors; resolves once every one listens. */
  async start(count: number, data: AcceptorData): Promise<void> {
    const entry = threadEntry(import.meta.url, 'acceptor-worker');
    const starts: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const worker = new Worker(entry.file, { workerData: data, argv: entry.argv });
      this.#workers.push(worker);
      starts.push(
        new Promise<void>((resolve, reject) => {
          worker.once('error', reject);
          worker.once('exit', (code) => reject(new Error(`acceptor thread exited during start (code ${code})`)));
          worker.on('message', (m: ToMain) => {
            if (m.t === 'listening') resolve();
            else if (m.t === 'listen-failed') reject(new Error(m.message));
            else this.#receive(worker, m);
          });
        }),
      );
    }
    await Promise.all(starts);
    for (const w of this.#workers) {
      w.removeAllListeners('error').removeAllListeners('exit');
      w.on('error', (e) => this.#host.log.error(`acceptor thread ${w.threadId} failed: ${e.stack}`));
    }
  }

  #receive(worker: Worker, m: ToMain): void {
    switch (m.t) {
      case 'job':
        return this.#runJob(worker, m.id, m.mode, m.job);
      case 'cancel':
        return this.#cancels.get(`${worker.threadId}:${m.id}`)?.abort();
      case 'metrics':
        void this.#host.metricsText().then((text) => worker.postMessage({ t: 'metrics-text', id: m.id, text } satisfies ToAcceptor));
        return;
      case 'metrics-json':
        this.#collecting.get(m.id)?.(m.json);
        this.#collecting.delete(m.id);
        return;
      default:
        return;
    }
  }

  #runJob(worker: Worker, id: number, mode: Mode, wire: WireJob): void {
    const key = `${worker.threadId}:${id}`;
    const controller = new AbortController();
    this.#cancels.set(key, controller);
    // every field in one literal: the same shape as the main thread's own jobs
    const spec: JobSpec = {
      op: wire.op,
      dtype: wire.dtype,
      rows: wire.rows,
      cols: wire.cols,
      inner: wire.inner,
      source: wire.source,
      output: wire.output,
      kernel: wire.kernel,
      workers: wire.workers,
      signal: controller.signal,
      deadline: wire.deadlineAt === undefined ? undefined : wire.deadlineAt - performance.timeOrigin,
    };
    let answer: Promise<void>;
    try {
      answer = this.#host.runner.run(mode, spec).then((result) => {
        worker.postMessage({ t: 'done', id, result } satisfies ToAcceptor, result.output ? buffersOf([result.output]) : []);
      });
    } catch (e) {
      answer = Promise.reject(e);
    }
    answer
      .catch((e: unknown) => {
        if (!isWasmatrixError(e)) this.#host.log.error(`a job from an acceptor failed: ${(e as Error)?.stack ?? String(e)}`);
        worker.postMessage({ t: 'fail', id, error: toWire(e) } satisfies ToAcceptor);
      })
      .finally(() => this.#cancels.delete(key));
  }

  /** The main thread's extra /healthz fields (the cluster's state), for every acceptor to answer with; sent when they change. */
  shareHealth(fields: Record<string, unknown>): void {
    for (const w of this.#workers) w.postMessage({ t: 'health', fields } satisfies ToAcceptor);
  }

  /** Every acceptor's request metrics, as JSON, for aggregation. */
  collectMetrics(): Promise<MetricsJson[]> {
    return Promise.all(
      this.#workers.map(
        (w) =>
          new Promise<MetricsJson>((resolve) => {
            const id = this.#nextId++;
            this.#collecting.set(id, resolve);
            w.postMessage({ t: 'collect', id } satisfies ToAcceptor);
          }),
      ),
    );
  }

  /** Drains every acceptor (stop accepting, finish in-flight, close); resolves when all threads exited. */
  async drain(gracefulMs: number): Promise<void> {
    await Promise.all(
      this.#workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              this.#host.log.warning(`acceptor thread ${w.threadId} did not exit after draining; terminating it`);
              void w.terminate();
            }, gracefulMs + 2000);
            w.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            w.postMessage({ t: 'drain', gracefulMs } satisfies ToAcceptor);
          }),
      ),
    );
  }
}
