// The `cluster` mode: one job's bands of output rows computed by worker hosts
// (`wasmatrix worker`, cluster-worker.ts) through NATS JetStream. The job
// becomes one message per band on a work-queue stream (explicit ack; a band
// whose worker dies is redelivered by JetStream at ack_wait); each worker
// answers a band on the job's result subject; the answers are combined here in
// band order, as the pools combine theirs. Random jobs send only the seed and
// the band; caller data travels once per band, and matmul's B once per job
// through the object store (each host fetches it once per job; a B of up to
// INLINE_B_BYTES travels with every band instead).
//
// Faults: without --nats, with NATS unreachable, or with no live worker, a job
// fails at once with CLUSTER_UNAVAILABLE (503); past its deadline it fails with
// TIMEOUT (504) and its bands are abandoned: purged from the stream, and
// dropped by a worker that still takes one (they carry their expiry); losing
// NATS fails the jobs in flight with 503 (their answers can no longer come).

import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import { connectNats, ensureWorkQueue, operandStore, purgeBands, type NatsConnection } from '../cluster/connection.js';
import { liveWorkers, pingWorkers, type WorkerInfo } from '../cluster/discovery.js';
import { FRAME_OVERHEAD_BYTES, bandSubject, decodeFrame, encodeFrame, jobBandsFilter, resultSubject, type BandMessage, type BandResult } from '../cluster/protocol.js';
import { WasmatrixError, errors, isWasmatrixError } from '../errors.js';
import { ARRAY_OF, ELEMENT_BYTES, type MatrixArray } from '../kernels/dtype.js';
import { operation } from '../ops/index.js';
import type { Engine, EngineStats, JobResult, JobSpec } from './job.js';
import { checkStillWanted, geometryOf, jobResult, operandsOf, splitRows, validateJob } from './job-layout.js';

/** The most bands a caller may ask for (`workers`); the default is one band per live worker thread (and more when a band would not fit one message). */
export const MAX_CLUSTER_BANDS = 32;
/** Default ack_wait: a band whose worker neither answers nor reports progress for this long goes to another worker. */
export const DEFAULT_ACK_WAIT_SECONDS = 30;
/** How often the list of live workers is refreshed while connected. */
const DISCOVERY_INTERVAL_MS = 1000;
/** How soon a failed set-up of the stream (NATS without JetStream, or not ready) is tried again. */
const READY_RETRY_MS = 1000;

export const BAND_OUTCOMES = ['sent', 'done', 'redelivered', 'failed', 'abandoned'] as const;
export type BandOutcome = (typeof BAND_OUTCOMES)[number];

export interface ClusterOptions {
  /** nats://HOST:PORT; undefined: no cluster (every cluster job is 503). */
  url?: string | undefined;
  ackWaitSeconds?: number;
  /** The connection's name in NATS's monitoring. */
  name?: string;
  log?: { info(m: string): void; warning(m: string): void; error(m: string): void };
}

export interface ClusterStatus {
  configured: boolean;
  connected: boolean;
  url: string | null;
  workers: number;
  threads: number;
  names: string[];
}

/** A band's trip: publish to result (seconds), and its kernel time on the worker. */
export type BandListener = (roundTripSeconds: number, kernelSeconds: number) => void;

interface RunningJob {
  fail(error: WasmatrixError): void;
}

export class ClusterEngine implements Engine {
  readonly mode = 'cluster' as const;
  /** MAX_CLUSTER_BANDS; 0 without --nats: the mode is not offered (the web page leaves it out). */
  readonly maxWorkers: number;
  readonly #url: string | undefined;
  readonly #ackWaitMs: number;
  readonly #name: string;
  readonly #log: ClusterOptions['log'];
  #nc: NatsConnection | undefined;
  #js: JetStreamClient | undefined;
  #operands: Promise<ObjectStore> | undefined;
  #connected = false;
  /** Why the cluster is not usable although NATS answers (no JetStream), for the 503's detail. */
  #unusable: string | undefined;
  #closed = false;
  #workers: WorkerInfo[] = [];
  /** Workers that missed the last ping (kept listed until they miss a second one). */
  readonly #missedPing = new Set<string>();
  #discovery: NodeJS.Timeout | undefined;
  readonly #running = new Set<RunningJob>();
  readonly #bands: Record<BandOutcome, number> = { sent: 0, done: 0, redelivered: 0, failed: 0, abandoned: 0 };
  readonly #outcomes: Record<string, number> = {};
  readonly #bandListeners: BandListener[] = [];
  readonly #statusListeners: ((status: ClusterStatus) => void)[] = [];
  #lastStatus = '';
  #inFlightBands = 0;

  constructor(options: ClusterOptions = {}) {
    this.#url = options.url;
    this.maxWorkers = options.url === undefined ? 0 : MAX_CLUSTER_BANDS;
    this.#ackWaitMs = Math.round((options.ackWaitSeconds ?? DEFAULT_ACK_WAIT_SECONDS) * 1000);
    this.#name = options.name ?? 'wasmatrix server';
    this.#log = options.log;
  }

  /** Connects in the background (the server serves the other modes while NATS is away) and resolves at once. */
  start(): Promise<void> {
    if (this.#url !== undefined) void this.#connect(this.#url);
    return Promise.resolve();
  }

  async #connect(url: string): Promise<void> {
    let nc: NatsConnection;
    try {
      nc = await connectNats(url, this.#name);
    } catch (e) {
      this.#log?.error(`cluster: cannot connect to NATS at ${url}: ${(e as Error).message}`);
      return;
    }
    if (this.#closed) return void nc.close();
    this.#nc = nc;
    this.#js = jetstream(nc);
    void this.#watch(nc);
    await this.#ready(nc);
  }

  /**
   * After (re)connecting: the stream and consumer (NATS may have restarted without them), then
   * discovery. Tried again every second while it fails (NATS without JetStream, or not ready yet).
   */
  async #ready(nc: NatsConnection): Promise<void> {
    try {
      await ensureWorkQueue(nc, this.#ackWaitMs, true);
      this.#operands = operandStore(nc);
      await this.#operands;
    } catch (e) {
      const why = `NATS at ${this.#url} has no usable JetStream (start nats-server with -js): ${(e as Error).message}`;
      if (why !== this.#unusable) this.#log?.error(`cluster: ${why}`);
      this.#unusable = why;
      if (!this.#closed && !nc.isClosed()) setTimeout(() => void this.#ready(nc), READY_RETRY_MS).unref();
      return;
    }
    this.#unusable = undefined;
    this.#connected = !nc.isClosed();
    this.#log?.info(`cluster: connected to NATS at ${this.#url}`);
    await this.#refreshWorkers().catch((e: Error) => this.#log?.warning(`cluster: the worker ping failed: ${e.message}`));
    clearInterval(this.#discovery);
    this.#discovery = setInterval(() => void this.#refreshWorkers().catch(() => {}), DISCOVERY_INTERVAL_MS);
    this.#discovery.unref();
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'staleConnection') {
        if (!this.#connected) continue;
        this.#connected = false;
        this.#workers = [];
        this.#missedPing.clear();
        clearInterval(this.#discovery);
        this.#statusMayHaveChanged();
        this.#log?.warning(`cluster: lost NATS at ${this.#url}; cluster jobs get 503 until it is back`);
        for (const job of [...this.#running]) job.fail(errors.clusterUnavailable(`the connection to NATS at ${this.#url} was lost while the job ran`, { retryAfter: 1 }));
      } else if (s.type === 'reconnect') {
        void this.#ready(nc);
      }
    }
  }

  async #refreshWorkers(): Promise<WorkerInfo[]> {
    const nc = this.#nc;
    if (!nc || !this.#connected) return (this.#workers = []);
    const found = await pingWorkers(nc);
    // NATS may have gone while the ping was out
    this.#workers = this.#connected ? liveWorkers(this.#workers, found, this.#missedPing) : [];
    this.#statusMayHaveChanged();
    return this.#workers;
  }

  status(): ClusterStatus {
    return {
      configured: this.#url !== undefined,
      connected: this.#connected,
      url: this.#url ?? null,
      workers: this.#workers.length,
      threads: this.#workers.reduce((n, w) => n + w.threads, 0),
      names: this.#workers.map((w) => w.name),
    };
  }

  /** True when a job would be sent now (auto asks before it picks this mode). */
  get live(): boolean {
    return this.#connected && this.#workers.length > 0;
  }

  /** Bands by outcome since start. */
  bandCounts(): Readonly<Record<BandOutcome, number>> {
    return this.#bands;
  }

  /** Called whenever status() changes (connected or not, the live workers). */
  onStatus(listener: (status: ClusterStatus) => void): void {
    this.#statusListeners.push(listener);
  }

  #statusMayHaveChanged(): void {
    const status = this.status();
    const text = JSON.stringify(status);
    if (text === this.#lastStatus) return;
    this.#lastStatus = text;
    for (const l of this.#statusListeners) l(status);
  }

  /** Called once per band answered: its round trip (publish to result) and its kernel time. */
  onBand(listener: BandListener): void {
    this.#bandListeners.push(listener);
  }

  async run(job: JobSpec): Promise<JobResult> {
    if (this.#url === undefined) throw errors.clusterUnavailable('this server was started without --nats URL: mode=cluster needs a NATS server and worker hosts (docs/cluster.md)');
    validateJob(job, this.maxWorkers);
    checkStillWanted(job);
    const nc = this.#nc;
    if (!nc || !this.#connected || !this.#js) throw errors.clusterUnavailable(this.#unusable ?? `NATS at ${this.#url} is not reachable; the server reconnects when it is back`, { retryAfter: 1 });
    // the list may be up to a second old: when it is empty, ask again now (an empty answer is immediate)
    const workers = this.#workers.length > 0 ? this.#workers : await this.#refreshWorkers();
    if (workers.length === 0) throw errors.clusterUnavailable(`no worker host is live on NATS at ${this.#url}: start one with \`npm run worker -- --nats ${this.#url}\``, { retryAfter: 1 });
    const threads = workers.reduce((n, w) => n + w.threads, 0);
    const parts = bandCount(job, job.workers ?? threads, nc.info?.max_payload ?? 1024 * 1024);
    return this.#runJob(nc, this.#js, job, parts);
  }

  async #runJob(nc: NatsConnection, js: JetStreamClient, job: JobSpec, parts: number): Promise<JobResult> {
    const id = randomUUID().replaceAll('-', '');
    const g = geometryOf(job);
    const op = operation(job.op);
    const size = ELEMENT_BYTES[job.dtype];
    const kernel = job.kernel ?? 'wasm';
    const rows = splitRows(g.rows, parts);
    const output: MatrixArray | undefined = job.output === 'full' ? new ARRAY_OF[job.dtype](g.rows * g.cols) : undefined;
    const checksums: number[] = new Array<number>(parts).fill(0);
    const answered = new Array<boolean>(parts).fill(false);
    const sentAt = new Array<number>(parts).fill(0);
    let remaining = parts;
    let sample: number[] = [];
    let kernelSeconds = 0;
    let operandsObject: string | undefined;
    const t0 = performance.now();

    let settle!: (error: WasmatrixError | undefined) => void;
    const settled = new Promise<WasmatrixError | undefined>((resolve) => (settle = resolve));
    let done = false;
    const running: RunningJob = { fail: (e) => finish(e) };
    const finish = (error: WasmatrixError | undefined): void => {
      if (done) return;
      done = true;
      settle(error);
    };

    const onResult = (data: Uint8Array): void => {
      let head: BandResult;
      let body: Uint8Array;
      try {
        ({ head, body } = decodeFrame<BandResult>(data));
      } catch (e) {
        return this.#log?.error(`cluster: a malformed band result: ${(e as Error).message}`);
      }
      const i = head.band;
      if (done || !(i >= 0 && i < parts) || answered[i]) return;
      if (head.error) {
        this.#bands.failed++;
        return finish(new WasmatrixError(head.error.code, 503, 'Worker failed', `worker ${head.worker} failed band ${i}: ${head.error.message}`));
      }
      const expected = job.output === 'full' ? rows[i]!.rows * g.cols * size : 0;
      if (body.byteLength !== expected) {
        this.#bands.failed++;
        return finish(errors.workerFailed(`worker ${head.worker} answered band ${i} with ${body.byteLength} bytes, not ${expected}`));
      }
      answered[i] = true;
      remaining--;
      this.#inFlightBands--;
      this.#bands.done++;
      if (head.deliveries > 1) this.#bands.redelivered++;
      checksums[i] = head.checksum;
      kernelSeconds = Math.max(kernelSeconds, head.seconds);
      if (i === 0 && head.sample) sample = head.sample;
      if (output) output.set(new ARRAY_OF[job.dtype](body.buffer, body.byteOffset, body.byteLength / size), rows[i]!.firstRow * g.cols);
      const trip = (performance.now() - sentAt[i]!) / 1000;
      for (const l of this.#bandListeners) l(trip, head.seconds);
      if (remaining === 0) finish(undefined);
    };

    const sub = nc.subscribe(resultSubject(id), { callback: (err, msg) => (err ? undefined : onResult(msg.data)) });
    this.#running.add(running);
    const onAbort = (): void => finish(errors.cancelled('the client went away; the job\'s bands were abandoned'));
    job.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = job.deadline === undefined ? undefined : setTimeout(() => finish(errors.timeout('the cluster job ran past its deadline; its bands were abandoned')), Math.max(0, job.deadline - performance.now()));
    const expiresAt = job.deadline === undefined ? undefined : Date.now() + (job.deadline - performance.now());
    let publishes: Promise<unknown>[] = [];
    try {
      if (job.source.kind === 'data' && op.bandNeedsOfB === 'all' && !inlinesB(job)) {
        const store = await this.#operands!;
        operandsObject = id;
        await store.putBlob({ name: id }, bytesOf(job.source.b));
      }
      const head = (i: number): BandMessage => ({
        job: id, band: i, op: job.op, dtype: job.dtype, kernel, rows: g.rows, cols: g.cols, inner: g.inner,
        firstRow: rows[i]!.firstRow, bandRows: rows[i]!.rows, output: job.output, ackWaitMs: this.#ackWaitMs,
        ...(job.source.kind === 'random' ? { seed: job.source.seed } : {}),
        ...(operandsObject ? { operands: operandsObject } : {}),
        ...(expiresAt !== undefined ? { expiresAt } : {}),
      });
      publishes = rows.map((r, i) => {
        sentAt[i] = performance.now();
        return js.publish(bandSubject(id, i), encodeFrame(head(i), bandBody(job, r)));
      });
      this.#bands.sent += parts;
      this.#inFlightBands += parts;
      await Promise.race([Promise.all(publishes), settled]);
    } catch (e) {
      finish(isWasmatrixError(e) ? e : errors.clusterUnavailable(`could not send the job's bands through NATS at ${this.#url}: ${(e as Error).message}`, { retryAfter: 1 }));
    }
    const error = await settled;
    clearTimeout(timer);
    job.signal?.removeEventListener('abort', onAbort);
    this.#running.delete(running);
    sub.unsubscribe();
    if (error) {
      this.#inFlightBands -= remaining;
      this.#bands.abandoned += remaining;
      // purge once every band is in the stream (a band still on its way would land after the purge)
      void Promise.allSettled(publishes).then(() => this.#abandon(nc, id));
    }
    if (operandsObject) void this.#operands?.then((s) => s.delete(operandsObject!)).catch(() => {});
    this.#count(error ? error.code.toLowerCase() : 'ok');
    if (error) throw error;
    return jobResult(job, { mode: this.mode, kernel, workers: parts, checksums, seconds: kernelSeconds || (performance.now() - t0) / 1000, sample, output });
  }

  /** Purges the bands of a failed job that no worker took yet (best effort: workers also drop expired bands). */
  #abandon(nc: NatsConnection, id: string): void {
    if (!this.#connected) return;
    purgeBands(nc, jobBandsFilter(id)).catch((e: Error) => this.#log?.warning(`cluster: could not purge the bands of job ${id}: ${e.message}`));
  }

  #count(outcome: string): void {
    this.#outcomes[outcome] = (this.#outcomes[outcome] ?? 0) + 1;
  }

  stats(): EngineStats {
    const s = this.status();
    return { size: s.threads, busy: Math.max(0, this.#inFlightBands), queued: 0, restarts: 0, outcomes: { ...this.#outcomes } };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#discovery);
    for (const job of [...this.#running]) job.fail(errors.shuttingDown('the server is stopping'));
    const nc = this.#nc;
    this.#nc = undefined;
    this.#connected = false;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }
}

/** The raw little-endian bytes of a typed array (no copy). */
function bytesOf(m: MatrixArray): Uint8Array {
  return new Uint8Array(m.buffer, m.byteOffset, m.byteLength);
}

/**
 * matmul's caller B up to this many bytes travels in every band's message instead of the object
 * store: putting, fetching and deleting an object costs several round trips, more than sending a
 * small B again with each band.
 */
export const INLINE_B_BYTES = 64 * 1024;

/** True when a caller-data matmul sends its B with every band (see INLINE_B_BYTES). */
function inlinesB(job: JobSpec): boolean {
  return job.source.kind === 'data' && operation(job.op).bandNeedsOfB === 'all' && job.source.b.byteLength <= INLINE_B_BYTES;
}

/** What a band's message carries besides its head: its rows of caller A, then of B (element-wise) or all of a small B (matmul). */
function bandBody(job: JobSpec, band: { firstRow: number; rows: number }): Uint8Array | undefined {
  if (job.source.kind !== 'data') return undefined;
  const g = geometryOf(job);
  const need = operandsOf(job, band);
  const a = job.source.a.subarray(band.firstRow * g.inner, band.firstRow * g.inner + need.a);
  const matmul = operation(job.op).bandNeedsOfB === 'all';
  if (matmul && !inlinesB(job)) return bytesOf(a);
  const b = matmul ? job.source.b : job.source.b.subarray(band.firstRow * g.cols, band.firstRow * g.cols + need.b);
  const body = new Uint8Array(a.byteLength + b.byteLength);
  body.set(bytesOf(a), 0);
  body.set(bytesOf(b), a.byteLength);
  return body;
}

/**
 * Bands for a job: `wanted` (one per live worker thread, or the caller's
 * `workers`), at most one per row, and at least as many as keep every band's
 * message and answer within NATS's max_payload (1 MiB by default).
 */
export function bandCount(job: JobSpec, wanted: number, maxPayload: number): number {
  const g = geometryOf(job);
  const size = ELEMENT_BYTES[job.dtype];
  const perRow = Math.max(job.source.kind === 'data' ? (operandsOf(job, { firstRow: 0, rows: 1 }).a + (operation(job.op).bandNeedsOfB === 'rows' ? g.cols : 0)) * size : 0, job.output === 'full' ? g.cols * size : 0);
  const budget = maxPayload - FRAME_OVERHEAD_BYTES - (job.source.kind === 'data' && inlinesB(job) ? job.source.b.byteLength : 0);
  if (perRow > budget) throw errors.shapeTooLarge(`one row of this job is ${perRow} bytes, more than a NATS message may carry (${budget}); raise max_payload in nats-server's configuration`);
  const rowsPerBand = perRow === 0 ? g.rows : Math.floor(budget / perRow);
  return Math.min(g.rows, Math.max(wanted, Math.ceil(g.rows / rowsPerBand)));
}
