// What the HTTP benchmark sends: one case per (endpoint and mode, size), each
// with a small set of fixed seeds so that the expected checksum of every
// request is known before the load starts.

import type { Dtype, MatrixArray } from '../../src/kernels/dtype.js';
import type { Reference } from './reference.js';

/**
 * Case kinds, named as --modes takes them. `X:ts` is mode X running the pure-TS
 * kernel inside the same pool (the like-for-like baseline); `threading` and
 * `multiprocessing` are the lab's endpoints; `post-*` upload A and B.
 */
export const CASE_KINDS = [
  'ts',
  'wasm',
  'threads',
  'threads:ts',
  'processes',
  'processes:ts',
  'auto',
  'threading',
  'multiprocessing',
  'post-binary',
  'post-json',
  'matmul-wasm',
  'matmul-threads',
  'matmul-processes',
  'matmul-auto',
] as const;
export type CaseKind = (typeof CASE_KINDS)[number];

/** matmul cases (`GET /matmul?mode=X`, square n) run only at sizes up to this: n^3 work per request, and the TS reference computes each seed's answer first. */
export const MATMUL_MAX_N = 512;

/** True for the cases that do the lab's job (GET /add and friends), whose throughput compares with the baseline's; POST uploads and matmul do other work. */
export function comparesWithBaseline(kind: CaseKind): boolean {
  return !kind.startsWith('post-') && !kind.startsWith('matmul-');
}

/** The baseline every ratio is taken against: GET /add?mode=ts at the same size. */
export const BASELINE_KIND: CaseKind = 'ts';
/** POST cases upload n x n matrices twice per request: they run only at sizes up to this. */
export const POST_MAX_N = 1024;

export interface CaseRequest {
  seed: number;
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** The checksum a correct answer carries (8 hex digits). */
  expected: string;
}

export interface BenchCase {
  /** Unique and stable: `<kind>@<n>`. */
  id: string;
  kind: CaseKind;
  n: number;
  dtype: Dtype;
  /** What a reader sees in tables, e.g. "GET /add?mode=threads&kernel=ts". */
  label: string;
  requests: CaseRequest[];
  /** For POST: the exact result of each seed's upload (checked in full once before the load). */
  expectedOutput?: Map<number, MatrixArray>;
}

export function isCaseKind(s: string): s is CaseKind {
  return (CASE_KINDS as readonly string[]).includes(s);
}

/** The fixed seeds of every case: a few, so responses differ, all known in advance. */
export function fixedSeeds(count: number): number[] {
  return Array.from({ length: count }, (_, i) => (0x9e3779b9 * (i + 1)) >>> 0);
}

/** The GET path of a kind (without the per-request part). */
function getRoute(kind: CaseKind): { path: string; query: string } {
  switch (kind) {
    case 'threading':
    case 'multiprocessing':
      return { path: `/${kind}`, query: '' };
    case 'matmul-wasm':
    case 'matmul-threads':
    case 'matmul-processes':
    case 'matmul-auto':
      return { path: '/matmul', query: `mode=${kind.slice('matmul-'.length)}` };
    default: {
      const [mode, kernel] = kind.split(':');
      return { path: '/add', query: `mode=${mode}${kernel ? `&kernel=${kernel}` : ''}` };
    }
  }
}

export function caseLabel(kind: CaseKind): string {
  if (kind === 'post-binary') return 'POST /add (octet-stream)';
  if (kind === 'post-json') return 'POST /add (JSON)';
  const { path, query } = getRoute(kind);
  return query ? `GET ${path}?${query}` : `GET ${path}`;
}

/** Which cases to run: every kind asked for at every size, POST only up to POST_MAX_N. */
export function planCases(kinds: readonly CaseKind[], sizes: readonly number[]): { kind: CaseKind; n: number }[] {
  const plan: { kind: CaseKind; n: number }[] = [];
  for (const n of sizes) {
    for (const kind of kinds) {
      if (kind.startsWith('post-') && n > POST_MAX_N) continue;
      if (kind.startsWith('matmul-') && n > MATMUL_MAX_N) continue;
      plan.push({ kind, n });
    }
  }
  return plan;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Little-endian bytes of A then B (the octet-stream body). Typed arrays are host-endian. */
export function binaryBody(a: MatrixArray, b: MatrixArray): Buffer {
  if (!LITTLE_ENDIAN_HOST) throw new Error('bench: big-endian hosts are not supported');
  const bytes = (m: MatrixArray): Buffer => Buffer.from(m.buffer, m.byteOffset, m.byteLength);
  return Buffer.concat([bytes(a), bytes(b)]);
}

/** {"a": [[...]], "b": [[...]], "dtype": ...}: rows of plain numbers. */
export function jsonBody(a: MatrixArray, b: MatrixArray, rows: number, cols: number, dtype: Dtype): Buffer {
  const nested = (m: MatrixArray): number[][] => Array.from({ length: rows }, (_, r) => Array.from(m.subarray(r * cols, (r + 1) * cols)));
  return Buffer.from(JSON.stringify({ a: nested(a), b: nested(b), dtype }));
}

/** Builds a case: its requests, their bodies and their expected checksums. */
export function buildCase(kind: CaseKind, n: number, dtype: Dtype, seeds: readonly number[], ref: Reference): BenchCase {
  const base = { id: `${kind}@${n}`, kind, n, dtype, label: caseLabel(kind) };
  if (kind === 'post-binary' || kind === 'post-json') {
    const expectedOutput = new Map<number, MatrixArray>();
    const requests = seeds.map((seed): CaseRequest => {
      const a = ref.matrix(dtype, n, n, seed, 0);
      const b = ref.matrix(dtype, n, n, seed, 1);
      const { output, checksum } = ref.add(dtype, n, n, a, b);
      expectedOutput.set(seed, output);
      return kind === 'post-binary'
        ? {
            seed,
            method: 'POST',
            path: `/add?rows=${n}&cols=${n}&dtype=${dtype}`,
            headers: { 'content-type': 'application/octet-stream' },
            body: binaryBody(a, b),
            expected: checksum,
          }
        : { seed, method: 'POST', path: '/add', headers: { 'content-type': 'application/json' }, body: jsonBody(a, b, n, n, dtype), expected: checksum };
    });
    return { ...base, requests, expectedOutput };
  }
  const { path, query } = getRoute(kind);
  const requests = seeds.map((seed): CaseRequest => {
    const q = [query, `n=${n}`, `dtype=${dtype}`, `seed=${seed}`].filter(Boolean).join('&');
    const op = path === '/matmul' ? 'matmul' : 'add';
    return { seed, method: 'GET', path: `${path}?${q}`, expected: ref.randomChecksum(dtype, n, n, seed, op) };
  });
  return { ...base, requests };
}
