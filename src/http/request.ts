// Query parameters of the matrix endpoints, parsed and validated before any
// work or allocation. Unknown parameters are ignored (like most HTTP APIs and
// like the lab's Flask apps); every known one is checked strictly: nothing is
// rounded, clamped or coerced.

import { errors } from '../errors.js';
import type { Geometry, Operation } from '../ops/index.js';
import { DTYPES, KERNELS, MODES, type Dtype, type KernelKind, type Mode } from '../vocabulary.js';

export interface RequestLimits {
  /** Largest rows or cols (--max-n). */
  maxN: number;
  /** Largest `workers` for a mode (the pool size, 1 on the calling thread). */
  maxWorkers(mode: Mode): number;
}

/** How the job runs: shared by every matrix endpoint. */
export interface RunParams {
  mode: Mode;
  workers: number | undefined;
  kernel: KernelKind | undefined;
}

export interface Shape {
  rows: number;
  cols: number;
}

export interface RandomJobParams extends RunParams {
  geometry: Geometry;
  dtype: Dtype;
  seed: number;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A query parameter as a number; undefined when absent. Throws 400 when it is not a number at all. */
function numberParam(q: URLSearchParams, name: string): number | undefined {
  const s = q.get(name);
  if (s === null) return undefined;
  if (!NUMBER.test(s)) throw errors.badParameter(`${name} must be a number (got "${s.slice(0, 40)}")`, { param: name });
  return Number(s);
}

function integerParam(q: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const v = numberParam(q, name);
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw errors.badParameter(`${name} must be an integer from ${min} to ${max} (got ${q.get(name)})`, { param: name });
  }
  return v;
}

function choiceParam<T extends string>(q: URLSearchParams, name: string, choices: readonly T[]): T | undefined {
  const s = q.get(name);
  if (s === null) return undefined;
  if (!(choices as readonly string[]).includes(s)) {
    throw errors.badParameter(`${name} must be one of ${choices.join(', ')} (got "${s.slice(0, 40)}")`, { param: name });
  }
  return s as T;
}

/** One side of a shape: an integer >= 1; over --max-n is 413, not 400. */
function sideParam(q: URLSearchParams, name: string, maxN: number): number | undefined {
  const v = numberParam(q, name);
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < 1) throw errors.badParameter(`${name} must be an integer >= 1 (got ${q.get(name)})`, { param: name });
  if (v > maxN) throw errors.shapeTooLarge(`${name} = ${v} is over the limit of ${maxN} (--max-n)`, { param: name });
  return v;
}

/** `n` (square) or `rows` and `cols`; `fallback` when none is given (undefined: required). */
export function parseShape(q: URLSearchParams, maxN: number, fallback: number | undefined): Shape {
  const n = sideParam(q, 'n', maxN);
  const rows = sideParam(q, 'rows', maxN);
  const cols = sideParam(q, 'cols', maxN);
  if (n !== undefined) {
    if (rows !== undefined || cols !== undefined) throw errors.badParameter('give either n or rows and cols, not both', { param: 'n' });
    return { rows: n, cols: n };
  }
  if (rows !== undefined && cols !== undefined) return { rows, cols };
  if (rows !== undefined || cols !== undefined) throw errors.badParameter('rows and cols go together', { param: rows === undefined ? 'rows' : 'cols' });
  if (fallback === undefined) throw errors.badParameter('the shape is required: n, or rows and cols', { param: 'n' });
  return { rows: fallback, cols: fallback };
}

/**
 * The geometry of a job of `op` from the query: element-wise ops take n (square) or rows and cols;
 * matmul takes n (square: n x n times n x n) or m, k and n (A m x k, B k x n, C m x n).
 */
export function parseGeometry(q: URLSearchParams, op: Operation, maxN: number, fallback: number | undefined): Geometry {
  if (op.bandNeedsOfB === 'rows') {
    const s = parseShape(q, maxN, fallback);
    return { ...s, inner: s.cols };
  }
  for (const name of ['rows', 'cols']) if (q.has(name)) throw errors.badParameter(`${op.op} takes n, or m, k and n (not ${name})`, { param: name });
  const m = sideParam(q, 'm', maxN);
  const k = sideParam(q, 'k', maxN);
  const n = sideParam(q, 'n', maxN);
  if (m === undefined && k === undefined) {
    const side = n ?? fallback;
    if (side === undefined) throw errors.badParameter('the shape is required: n, or m, k and n', { param: 'n' });
    return { rows: side, cols: side, inner: side };
  }
  if (m === undefined || k === undefined || n === undefined) throw errors.badParameter('m, k and n go together (A is m x k, B is k x n)', { param: m === undefined ? 'm' : k === undefined ? 'k' : 'n' });
  return { rows: m, cols: n, inner: k };
}

export function parseDtype(q: URLSearchParams, fallback: Dtype): Dtype {
  return choiceParam(q, 'dtype', DTYPES) ?? fallback;
}

/** mode (unless the route fixes it), workers, kernel. */
export function parseRunParams(q: URLSearchParams, limits: RequestLimits, fixedMode: Mode | undefined): RunParams {
  const mode = fixedMode ?? choiceParam(q, 'mode', MODES) ?? 'auto';
  // a mode this server does not offer (cluster without --nats: no workers at all) says so itself when it runs
  const max = limits.maxWorkers(mode);
  const workers = max > 0 ? integerParam(q, 'workers', 1, max) : undefined;
  const kernel = choiceParam(q, 'kernel', KERNELS);
  return { mode, workers, kernel };
}

export const DEFAULT_N = 500;
export const MAX_SEED = 0xffffffff;

/** The lab's job from a query: GET /threading, /multiprocessing, /<op>. */
export function parseRandomJob(query: string, limits: RequestLimits, fixedMode: Mode | undefined, op: Operation): RandomJobParams {
  const q = new URLSearchParams(query);
  const geometry = parseGeometry(q, op, limits.maxN, DEFAULT_N);
  const dtype = parseDtype(q, 'int32');
  const seed = integerParam(q, 'seed', 0, MAX_SEED) ?? randomSeed();
  return { geometry, dtype, seed, ...parseRunParams(q, limits, fixedMode) };
}

function randomSeed(): number {
  return Math.floor(Math.random() * (MAX_SEED + 1));
}
