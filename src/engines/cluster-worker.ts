// A worker host of the cluster mode (`wasmatrix worker`): takes bands from the
// work-queue stream, computes each on its own thread pool with the same
// kernels and layout as the server's threads mode, answers it on the job's
// result subject, then acks it. One pull per free thread: a worker never holds
// a band it cannot start (a held band's ack_wait would run out and JetStream
// would give it to another host as well). While a band runs, the worker tells
// JetStream it is working on it, well within ack_wait; a worker that dies stops
// doing so and JetStream redelivers the band to another host.

import { availableParallelism, hostname } from 'node:os';
import { jetstream, type Consumer, type JsMsg } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import type { Service } from '@nats-io/services';
import { connectNats, ensureWorkQueue, operandStore, type NatsConnection } from '../cluster/connection.js';
import { announceWorker } from '../cluster/discovery.js';
import { CONSUMER, STREAM, aligned, decodeFrame, encodeFrame, resultSubject, type BandMessage, type BandResult } from '../cluster/protocol.js';
import { isWasmatrixError } from '../errors.js';
import { ARRAY_OF, ELEMENT_BYTES, type MatrixArray } from '../kernels/dtype.js';
import { compileKernels } from '../kernels/wasm-kernels.js';
import { Arena } from '../memory/arena.js';
import type { Gate } from '../pools/gate.js';
import type { JobSpec } from './job.js';
import { operandsOf } from './job-layout.js';
import { DEFAULT_ACK_WAIT_SECONDS } from './cluster-engine.js';
import { ThreadsEngine } from './threads-engine.js';

export interface ClusterWorkerOptions {
  url: string;
  /** Kernel threads, and so bands computed at once. Default os.availableParallelism(). */
  threads?: number;
  /** Default: host name and pid. */
  name?: string;
  version: string;
  /** Test-only: holds bands before they run (WASMATRIX_TEST_HOOKS=1). */
  gate?: Gate;
  /** Told of every band taken, with its JetStream delivery count (test hooks print it). */
  onBand?(band: BandMessage, deliveries: number): void;
  log: { info(m: string): void; warning(m: string): void; error(m: string): void; debug(m: string): void };
}

/** How long one pull waits for a band before it asks again (it also bounds how long a stop waits for idle pulls). */
const PULL_EXPIRES_MS = 2000;
/** Caller B matrices kept per host (one per job in flight, fetched once per job). */
const OPERAND_CACHE = 4;

export class ClusterWorker {
  readonly name: string;
  readonly threads: number;
  readonly #options: ClusterWorkerOptions;
  readonly #engine: ThreadsEngine;
  #nc: NatsConnection | undefined;
  #consumer: Promise<Consumer> | undefined;
  #operands: Promise<ObjectStore> | undefined;
  #service: Service | undefined;
  #stopping = false;
  #slots: Promise<void>[] = [];
  readonly #operandCache = new Map<string, Promise<MatrixArray>>();

  constructor(options: ClusterWorkerOptions) {
    this.#options = options;
    this.threads = options.threads ?? availableParallelism();
    this.name = options.name ?? `${hostname()}-${process.pid}`;
    const { module } = compileKernels();
    this.#engine = new ThreadsEngine(module, new Arena({ shared: true }), { size: this.threads, maxQueue: 1024, maxTasksPerWorker: 0, maxTasksJitter: 0, spinMicros: 0, gate: options.gate });
  }

  /** Starts the pool, connects (waiting for NATS if it is not there yet), announces itself and starts taking bands. */
  async start(): Promise<void> {
    await this.#engine.start();
    const nc = await connectNats(this.#options.url, `wasmatrix worker ${this.name}`);
    this.#nc = nc;
    await this.#bind(nc);
    this.#service = await announceWorker(nc, { name: this.name, threads: this.threads }, this.#options.version);
    void this.#watch(nc);
    this.#slots = Array.from({ length: this.threads }, () => this.#slot());
  }

  /** The stream, the consumer and the operand bucket (again after NATS came back: a restarted NATS has none of them). */
  #bind(nc: NatsConnection): Promise<Consumer> {
    const consumer = ensureWorkQueue(nc, DEFAULT_ACK_WAIT_SECONDS * 1000, false).then(() => jetstream(nc).consumers.get(STREAM, CONSUMER));
    this.#consumer = consumer;
    this.#operands = operandStore(nc);
    this.#operands.catch(() => {});
    return consumer;
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') this.#options.log.warning(`lost NATS at ${this.#options.url}; reconnecting`);
      else if (s.type === 'reconnect') {
        this.#options.log.info(`reconnected to NATS at ${this.#options.url}`);
        this.#bind(nc).catch(() => {});
      }
    }
  }

  /** One thread's loop: pull one band, compute it, answer it; again until stopped. */
  async #slot(): Promise<void> {
    while (!this.#stopping) {
      let msg: JsMsg | null;
      try {
        msg = await (await this.#consumer!).next({ expires: PULL_EXPIRES_MS });
      } catch (e) {
        if (this.#stopping) return;
        // NATS away, or the consumer gone with a restarted NATS: bind again, then pull again
        this.#options.log.debug(`pull failed (${(e as Error).message}); binding again`);
        await new Promise((r) => setTimeout(r, 250));
        if (this.#nc && !this.#nc.isClosed()) await this.#bind(this.#nc).catch(() => {});
        continue;
      }
      if (!msg) continue;
      if (this.#stopping) {
        // taken while stopping: give it back at once instead of waiting for ack_wait
        msg.nak();
        return;
      }
      await this.#serve(msg);
    }
  }

  async #serve(msg: JsMsg): Promise<void> {
    let band: BandMessage;
    let body: Uint8Array;
    try {
      ({ head: band, body } = decodeFrame<BandMessage>(msg.data));
    } catch (e) {
      this.#options.log.error(`dropped a malformed band: ${(e as Error).message}`);
      return msg.term();
    }
    this.#options.onBand?.(band, msg.info.deliveryCount);
    if (band.expiresAt !== undefined && Date.now() > band.expiresAt) {
      // its job is already answered (504): nobody waits for this band
      this.#options.log.debug(`band ${band.job}/${band.band} expired before it ran; dropped`);
      return msg.term();
    }
    const progress = setInterval(() => msg.working(), Math.max(50, Math.floor(band.ackWaitMs / 3)));
    let result: BandResult;
    let output: Uint8Array | undefined;
    try {
      const r = await this.#engine.runWindow(await this.#job(band, body), { firstRow: band.firstRow, rows: band.bandRows });
      result = { job: band.job, band: band.band, checksum: r.checksum, seconds: r.seconds, deliveries: msg.info.deliveryCount, worker: this.name, ...(band.band === 0 ? { sample: r.sample } : {}) };
      output = r.output && new Uint8Array(r.output.buffer, r.output.byteOffset, r.output.byteLength);
    } catch (e) {
      const code = isWasmatrixError(e) ? e.code : 'WORKER_FAILED';
      result = { job: band.job, band: band.band, checksum: 0, seconds: 0, deliveries: msg.info.deliveryCount, worker: this.name, error: { code, message: (e as Error).message } };
    } finally {
      clearInterval(progress);
    }
    if (band.expiresAt !== undefined && Date.now() > band.expiresAt) return msg.term();
    try {
      // answer first, then ack: a worker dying in between makes a duplicate answer, which the server ignores
      this.#nc!.publish(resultSubject(band.job), encodeFrame(result, output));
      msg.ack();
    } catch (e) {
      // NATS went away under us: the band was not acked, so JetStream gives it to a worker again
      this.#options.log.warning(`could not answer band ${band.job}/${band.band}: ${(e as Error).message}`);
    }
  }

  /** The band as a job over its window: caller data comes from the message (rows of A, then of B or all of a small B) or, for a large matmul B, the operand store. */
  async #job(band: BandMessage, body: Uint8Array): Promise<JobSpec> {
    const base = { op: band.op, dtype: band.dtype, rows: band.rows, cols: band.cols, inner: band.inner, output: band.output, kernel: band.kernel } as const;
    if (band.seed !== undefined) return { ...base, source: { kind: 'random', seed: band.seed } };
    const size = ELEMENT_BYTES[band.dtype];
    const need = operandsOf({ ...base, source: { kind: 'random', seed: 0 } }, { firstRow: band.firstRow, rows: band.bandRows });
    const view = (offset: number, n: number): MatrixArray => new ARRAY_OF[band.dtype](body.buffer, body.byteOffset + offset, n);
    if (band.operands !== undefined) {
      if (body.byteLength !== need.a * size) throw new Error(`band ${band.band} carries ${body.byteLength} bytes of A, not ${need.a * size}`);
      return { ...base, source: { kind: 'data', a: view(0, need.a), b: await this.#operand(band.operands, band.dtype, need.b) } };
    }
    if (body.byteLength !== (need.a + need.b) * size) throw new Error(`band ${band.band} carries ${body.byteLength} bytes, not ${(need.a + need.b) * size}`);
    return { ...base, source: { kind: 'data', a: view(0, need.a), b: view(need.a * size, need.b) } };
  }

  /** A job's B from the object store, fetched once per host and job. */
  #operand(name: string, dtype: BandMessage['dtype'], elements: number): Promise<MatrixArray> {
    let b = this.#operandCache.get(name);
    if (!b) {
      b = this.#operands!.then((store) => store.getBlob(name)).then((bytes) => {
        if (!bytes || bytes.byteLength !== elements * ELEMENT_BYTES[dtype]) throw new Error(`operand ${name} is missing or not ${elements} ${dtype} values`);
        const b = aligned(bytes);
        return new ARRAY_OF[dtype](b.buffer, b.byteOffset, elements);
      });
      b.catch(() => this.#operandCache.delete(name));
      this.#operandCache.set(name, b);
      for (const old of this.#operandCache.keys()) if (this.#operandCache.size > OPERAND_CACHE) this.#operandCache.delete(old);
    }
    return b;
  }

  /** Stops taking bands, finishes the ones running, leaves the cluster. */
  async close(): Promise<void> {
    this.#stopping = true;
    await this.#service?.stop().catch(() => {});
    await Promise.all(this.#slots);
    const nc = this.#nc;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
    await this.#engine.close();
  }
}
