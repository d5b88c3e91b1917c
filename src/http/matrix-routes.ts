// The matrix endpoints: the lab's random job (GET /threading, /multiprocessing,
// /add) and caller matrices (POST /add, JSON or raw little-endian bytes).
// Each handler validates everything it can synchronously (before any body is
// read or memory allocated), then runs one job and answers.

import { performance } from 'node:perf_hooks';
import { errors } from '../errors.js';
import { ELEMENT_BYTES, viewOf, type Dtype } from '../kernels/dtype.js';
import type { ConcreteMode, JobResult, JobSpec, Mode } from '../engines/job.js';
import { readBody } from './body.js';
import type { Exchange } from './exchange.js';
import { firstNonFinite, matrixJsonChunks, parseJsonMatrices } from './json-matrix.js';
import type { JobRunner } from './job-runner.js';
import { parseDtype, parseRandomJob, parseRunParams, parseShape, type RequestLimits, type RunParams } from './request.js';
import { JSON_TYPE, send, sendChunks, sendLarge } from './respond.js';

export interface MatrixRouteContext {
  runner: JobRunner;
  limits: RequestLimits;
  /** --max-body in bytes. */
  maxBody: number;
  /** --timeout in seconds; 0: none. */
  timeout: number;
}

/** The lab's "method" field for the mode that ran the job. */
const METHOD: Record<ConcreteMode, string> = {
  ts: 'TypeScript',
  wasm: 'WebAssembly',
  threads: 'Multithreading',
  processes: 'Multiprocessing',
};

/** Results up to this many elements are answered in one write; larger ones stream. */
const ONE_WRITE_ELEMENTS = 32 * 1024;

async function run(ctx: MatrixRouteContext, ex: Exchange, mode: Mode, job: Omit<JobSpec, 'signal' | 'deadline'>): Promise<JobResult> {
  ex.mode = mode;
  const spec: JobSpec = { ...job, signal: ex.signal };
  if (ctx.timeout > 0) spec.deadline = performance.now() + ctx.timeout * 1000;
  const result = await ctx.runner.run(mode, spec);
  ex.mode = result.mode;
  ex.workers = result.workers;
  ex.kernelSeconds = result.kernelSeconds;
  ex.dtype = result.dtype;
  return result;
}

/**
 * Charges the memory a job will hold to the in-flight budget, in matrices of
 * rows x cols: a random job generates A and B on the fly and holds only its
 * output (1); caller matrices hold A, B and the output in the arena plus the
 * result copied out (4), and for JSON also the parsed A and B (6). Request
 * bodies are charged by readBody as they arrive.
 */
function chargeJob(ex: Exchange, rows: number, cols: number, dtype: Dtype, matrices: number): void {
  ex.charge(matrices * rows * cols * ELEMENT_BYTES[dtype], `a ${rows}x${cols} ${dtype} job`, (detail) => errors.shapeTooLarge(detail));
}

/** GET /threading, /multiprocessing (fixed mode) and /add (?mode=). */
export async function randomJob(ctx: MatrixRouteContext, ex: Exchange, fixedMode: Mode | undefined): Promise<void> {
  const p = parseRandomJob(ex.query, ctx.limits, fixedMode);
  chargeJob(ex, p.rows, p.cols, p.dtype, 1);
  const r = await run(ctx, ex, p.mode, {
    op: 'add',
    dtype: p.dtype,
    rows: p.rows,
    cols: p.cols,
    source: { kind: 'random', seed: p.seed },
    output: 'summary',
    kernel: p.kernel,
    workers: p.workers,
  });
  const method = fixedMode === 'threads' || fixedMode === 'processes' ? METHOD[fixedMode] : METHOD[r.mode];
  // built by hand: a handful of known fields, no per-request JSON.stringify of an object
  const shape = (p.rows === p.cols ? `"n":${p.rows},` : '') + `"rows":${p.rows},"cols":${p.cols}`;
  send(
    ex,
    200,
    JSON_TYPE,
    `{"status":"ok","method":"${method}","execution_time_sec":${r.kernelSeconds},"sample":[${r.sample.join(',')}],${shape},` +
      `"dtype":"${r.dtype}","mode":"${r.mode}","kernel":"${r.kernel}","workers":${r.workers},"seed":${p.seed},"checksum":"${r.checksum}"}`,
  );
}

/** The media type of a Content-Type header, lower case, without parameters. */
function mediaType(header: string): string {
  const semi = header.indexOf(';');
  return (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
}

/**
 * POST /add. Called synchronously from the handler: it reads the headers and
 * registers onData before returning.
 */
export function postAdd(ctx: MatrixRouteContext, ex: Exchange, contentType: string, contentLength: string): Promise<void> {
  const q = new URLSearchParams(ex.query);
  const type = mediaType(contentType);
  if (type === 'application/json') {
    const runParams = parseRunParams(q, ctx.limits, undefined);
    const body = readBody(ex, { contentLength, maxBytes: ctx.maxBody });
    return body.then((bytes) => postJson(ctx, ex, runParams, bytes));
  }
  if (type === 'application/octet-stream') {
    const shape = parseShape(q, ctx.limits.maxN, undefined);
    const dtype = parseDtype(q, 'float64');
    const runParams = parseRunParams(q, ctx.limits, undefined);
    const expected = 2 * shape.rows * shape.cols * ELEMENT_BYTES[dtype];
    if (expected > ctx.maxBody) throw errors.bodyTooLarge(`${shape.rows}x${shape.cols} ${dtype} matrices take ${expected} bytes; the limit is ${ctx.maxBody}`, { param: 'body' });
    if (contentLength !== '' && Number(contentLength) !== expected && Number(contentLength) <= ctx.maxBody) throw wrongLength(Number(contentLength), expected, shape, dtype);
    const body = readBody(ex, { contentLength, maxBytes: ctx.maxBody, expectedBytes: expected });
    return body.then((bytes) => {
      if (bytes.byteLength !== expected) throw wrongLength(bytes.byteLength, expected, shape, dtype);
      return postBinary(ctx, ex, runParams, shape.rows, shape.cols, dtype, bytes);
    });
  }
  throw errors.unsupportedMediaType(`POST /add takes application/json or application/octet-stream (got "${contentType.slice(0, 80)}")`, { param: 'content-type' });
}

function wrongLength(got: number, expected: number, shape: { rows: number; cols: number }, dtype: Dtype) {
  return errors.invalidMatrix(`the body has ${got} bytes; A then B as ${shape.rows}x${shape.cols} ${dtype} take ${expected}`, { param: 'body' });
}

async function postJson(ctx: MatrixRouteContext, ex: Exchange, runParams: RunParams, bytes: Uint8Array): Promise<void> {
  const m = parseJsonMatrices(bytes, ctx.limits.maxN);
  chargeJob(ex, m.rows, m.cols, m.dtype, 6);
  const r = await run(ctx, ex, runParams.mode, {
    op: 'add',
    dtype: m.dtype,
    rows: m.rows,
    cols: m.cols,
    source: { kind: 'data', a: m.a, b: m.b },
    output: 'full',
    kernel: runParams.kernel,
    workers: runParams.workers,
  });
  const out = r.output!;
  const bad = firstNonFinite(out, r.cols);
  if (bad) throw errors.invalidMatrix(`${bad} overflowed to a value JSON cannot carry; use application/octet-stream`, { element: bad });
  const head = `{"status":"ok","shape":[${r.rows},${r.cols}],"dtype":"${r.dtype}","execution_time_sec":${r.kernelSeconds},"mode":"${r.mode}","kernel":"${r.kernel}","workers":${r.workers},"checksum":"${r.checksum}","result":`;
  if (out.length <= ONE_WRITE_ELEMENTS) {
    send(ex, 200, JSON_TYPE, head + [...matrixJsonChunks(out, r.rows, r.cols)].join('') + '}');
    return;
  }
  sendChunks(ex, JSON_TYPE, chain(head, matrixJsonChunks(out, r.rows, r.cols), '}'));
}

function* chain(head: string, body: Iterable<string>, tail: string): Generator<string> {
  yield head;
  yield* body;
  yield tail;
}

async function postBinary(ctx: MatrixRouteContext, ex: Exchange, runParams: RunParams, rows: number, cols: number, dtype: Dtype, bytes: Uint8Array): Promise<void> {
  chargeJob(ex, rows, cols, dtype, 4);
  const count = rows * cols;
  // A and B are views of the one body buffer: no copy (little-endian, like the host)
  const a = viewOf(dtype, bytes.buffer, bytes.byteOffset, count);
  const b = viewOf(dtype, bytes.buffer, bytes.byteOffset + count * ELEMENT_BYTES[dtype], count);
  const r = await run(ctx, ex, runParams.mode, {
    op: 'add',
    dtype,
    rows,
    cols,
    source: { kind: 'data', a, b },
    output: 'full',
    kernel: runParams.kernel,
    workers: runParams.workers,
  });
  const out = r.output!;
  sendLarge(ex, 'application/octet-stream', new Uint8Array(out.buffer, out.byteOffset, out.byteLength), {
    'x-shape': `${rows},${cols}`,
    'x-dtype': dtype,
    'x-execution-time-sec': String(r.kernelSeconds),
    'x-mode': r.mode,
    'x-kernel': r.kernel,
    'x-workers': String(r.workers),
    'x-checksum': r.checksum,
  });
}
