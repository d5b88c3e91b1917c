// The matrix endpoints, one pair per operation of the registry: the lab's
// random job (GET /threading, /multiprocessing, /<op>) and caller matrices
// (POST /<op>, JSON or raw little-endian bytes).
// Each handler validates everything it can synchronously (before any body is
// read or memory allocated), then runs one job and answers.

import { performance } from 'node:perf_hooks';
import { errors } from '../errors.js';
import { ELEMENT_BYTES, viewOf, type Dtype } from '../kernels/dtype.js';
import type { ConcreteMode, JobResult, JobSpec, Mode } from '../engines/job.js';
import type { Geometry, Operation } from '../ops/index.js';
import { readBody } from './body.js';
import type { Exchange } from './exchange.js';
import { firstNonFinite, matrixJsonChunks, parseJsonMatrices } from './json-matrix.js';
import type { JobRunner } from './job-runner.js';
import { parseDtype, parseGeometry, parseRandomJob, parseRunParams, type RequestLimits, type RunParams } from './request.js';
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
  cluster: 'Cluster',
};

/** Results up to this many elements are answered in one write; larger ones stream. */
const ONE_WRITE_ELEMENTS = 32 * 1024;

/**
 * Runs one job. `job` is built by the caller with every field of JobSpec (signal and deadline
 * included), in one literal: every job object then has the same shape, so the engines' reads of
 * it stay monomorphic.
 */
async function run(ctx: MatrixRouteContext, ex: Exchange, mode: Mode, job: JobSpec): Promise<JobResult> {
  ex.mode = mode;
  const result = await ctx.runner.run(mode, job);
  ex.mode = result.mode;
  ex.workers = result.workers;
  ex.kernelSeconds = result.kernelSeconds;
  ex.dtype = result.dtype;
  return result;
}

/** The deadline of a job starting now (performance.now() milliseconds), undefined without --timeout. */
function deadlineOf(ctx: MatrixRouteContext): number | undefined {
  return ctx.timeout > 0 ? performance.now() + ctx.timeout * 1000 : undefined;
}

/**
 * Charges the memory a job will hold to the in-flight budget: a random job
 * generates A and B on the fly and holds only its output; caller matrices hold
 * A, B and the output in the arena plus the result copied out, and for JSON
 * also the parsed A and B. Request bodies are charged by readBody as they arrive.
 */
function chargeJob(ex: Exchange, op: Operation, g: Geometry, dtype: Dtype, source: 'random' | 'binary' | 'json'): void {
  const { a, b } = op.operands(g);
  const operands = a.rows * a.cols + b.rows * b.cols;
  const out = g.rows * g.cols;
  const elements = source === 'random' ? out : (source === 'json' ? 2 : 1) * operands + 2 * out;
  ex.charge(elements * ELEMENT_BYTES[dtype], `a ${describeShape(op, g)} ${dtype} job`, (detail) => errors.shapeTooLarge(detail));
}

/** "300x700" (element-wise) or "300x200 x 200x700" (matmul). */
function describeShape(op: Operation, g: Geometry): string {
  const { a, b } = op.operands(g);
  return op.bandNeedsOfB === 'rows' ? `${g.rows}x${g.cols}` : `${a.rows}x${a.cols} x ${b.rows}x${b.cols}`;
}

/** The shape fields of a GET answer: n for square, rows and cols (element-wise) or m, k, n (matmul). */
function shapeFields(op: Operation, g: Geometry): string {
  if (op.bandNeedsOfB === 'all') return `"m":${g.rows},"k":${g.inner},"n":${g.cols},"rows":${g.rows},"cols":${g.cols}`;
  return (g.rows === g.cols ? `"n":${g.rows},` : '') + `"rows":${g.rows},"cols":${g.cols}`;
}

/** GET /threading, /multiprocessing (fixed mode, add) and /<op> (?mode=). */
export async function randomJob(ctx: MatrixRouteContext, ex: Exchange, fixedMode: Mode | undefined, op: Operation): Promise<void> {
  const p = parseRandomJob(ex.query, ctx.limits, fixedMode, op);
  const g = p.geometry;
  chargeJob(ex, op, g, p.dtype, 'random');
  const r = await run(ctx, ex, p.mode, {
    op: op.op,
    dtype: p.dtype,
    rows: g.rows,
    cols: g.cols,
    inner: g.inner,
    source: { kind: 'random', seed: p.seed },
    output: 'summary',
    kernel: p.kernel,
    workers: p.workers,
    signal: ex,
    deadline: deadlineOf(ctx),
  });
  const method = fixedMode === 'threads' || fixedMode === 'processes' ? METHOD[fixedMode] : METHOD[r.mode];
  // built by hand: a handful of known fields, no per-request JSON.stringify of an object
  send(
    ex,
    200,
    JSON_TYPE,
    `{"status":"ok","method":"${method}","execution_time_sec":${r.kernelSeconds},"sample":[${r.sample.join(',')}],"op":"${op.op}",${shapeFields(op, g)},` +
      `"dtype":"${r.dtype}","mode":"${r.mode}","kernel":"${r.kernel}","workers":${r.workers},"seed":${p.seed},"checksum":"${r.checksum}"}`,
  );
}

/** The media type of a Content-Type header, lower case, without parameters. */
function mediaType(header: string): string {
  const semi = header.indexOf(';');
  return (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
}

/**
 * POST /<op>. Called synchronously from the handler: it reads the headers and
 * registers onData before returning.
 */
export function postJob(ctx: MatrixRouteContext, ex: Exchange, op: Operation, contentType: string, contentLength: string): Promise<void> {
  const q = new URLSearchParams(ex.query);
  const type = mediaType(contentType);
  if (type === 'application/json') {
    const runParams = parseRunParams(q, ctx.limits, undefined);
    const body = readBody(ex, { contentLength, maxBytes: ctx.maxBody });
    return body.then((bytes) => postJson(ctx, ex, op, runParams, bytes));
  }
  if (type === 'application/octet-stream') {
    const g = parseGeometry(q, op, ctx.limits.maxN, undefined);
    const dtype = parseDtype(q, 'float64');
    const runParams = parseRunParams(q, ctx.limits, undefined);
    const { a, b } = op.operands(g);
    const expected = (a.rows * a.cols + b.rows * b.cols) * ELEMENT_BYTES[dtype];
    const what = `${describeShape(op, g)} ${dtype}`;
    if (expected > ctx.maxBody) throw errors.bodyTooLarge(`A and B of ${what} take ${expected} bytes; the limit is ${ctx.maxBody}`, { param: 'body' });
    if (contentLength !== '' && Number(contentLength) !== expected && Number(contentLength) <= ctx.maxBody) throw wrongLength(Number(contentLength), expected, what);
    const body = readBody(ex, { contentLength, maxBytes: ctx.maxBody, expectedBytes: expected });
    return body.then((bytes) => {
      if (bytes.byteLength !== expected) throw wrongLength(bytes.byteLength, expected, what);
      return postBinary(ctx, ex, op, runParams, g, dtype, bytes);
    });
  }
  throw errors.unsupportedMediaType(`POST /${op.op} takes application/json or application/octet-stream (got "${contentType.slice(0, 80)}")`, { param: 'content-type' });
}

function wrongLength(got: number, expected: number, what: string) {
  return errors.invalidMatrix(`the body has ${got} bytes; A then B of ${what} take ${expected}`, { param: 'body' });
}

async function postJson(ctx: MatrixRouteContext, ex: Exchange, op: Operation, runParams: RunParams, bytes: Uint8Array): Promise<void> {
  const m = parseJsonMatrices(bytes, ctx.limits.maxN, op);
  const g = m.geometry;
  chargeJob(ex, op, g, m.dtype, 'json');
  const r = await run(ctx, ex, runParams.mode, {
    op: op.op,
    dtype: m.dtype,
    rows: g.rows,
    cols: g.cols,
    inner: g.inner,
    source: { kind: 'data', a: m.a, b: m.b },
    output: 'full',
    kernel: runParams.kernel,
    workers: runParams.workers,
    signal: ex,
    deadline: deadlineOf(ctx),
  });
  const out = r.output!;
  const bad = firstNonFinite(out, r.cols);
  if (bad) throw errors.invalidMatrix(`${bad} overflowed to a value JSON cannot carry; use application/octet-stream`, { element: bad });
  const head = `{"status":"ok","op":"${op.op}","shape":[${r.rows},${r.cols}],"dtype":"${r.dtype}","execution_time_sec":${r.kernelSeconds},"mode":"${r.mode}","kernel":"${r.kernel}","workers":${r.workers},"checksum":"${r.checksum}","result":`;
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

async function postBinary(ctx: MatrixRouteContext, ex: Exchange, op: Operation, runParams: RunParams, g: Geometry, dtype: Dtype, bytes: Uint8Array): Promise<void> {
  chargeJob(ex, op, g, dtype, 'binary');
  const shapes = op.operands(g);
  const countA = shapes.a.rows * shapes.a.cols;
  // A and B are views of the one body buffer: no copy (little-endian, like the host)
  const a = viewOf(dtype, bytes.buffer, bytes.byteOffset, countA);
  const b = viewOf(dtype, bytes.buffer, bytes.byteOffset + countA * ELEMENT_BYTES[dtype], shapes.b.rows * shapes.b.cols);
  const r = await run(ctx, ex, runParams.mode, {
    op: op.op,
    dtype,
    rows: g.rows,
    cols: g.cols,
    inner: g.inner,
    source: { kind: 'data', a, b },
    output: 'full',
    kernel: runParams.kernel,
    workers: runParams.workers,
    signal: ex,
    deadline: deadlineOf(ctx),
  });
  const out = r.output!;
  sendLarge(ex, 'application/octet-stream', new Uint8Array(out.buffer, out.byteOffset, out.byteLength), {
    'x-shape': `${g.rows},${g.cols}`,
    'x-dtype': dtype,
    'x-execution-time-sec': String(r.kernelSeconds),
    'x-mode': r.mode,
    'x-kernel': r.kernel,
    'x-workers': String(r.workers),
    'x-checksum': r.checksum,
  });
}
