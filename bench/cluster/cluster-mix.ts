// What a cluster run sends: jobs of every op and dtype in `mode=cluster`
// (random jobs by GET, caller data by POST octet-stream) and, beside them,
// jobs of other modes that must keep serving while the cluster is down. Each
// request carries its expected answer from the pure-TS reference (computed
// here, never by the service under test).

import { DTYPES, OPS, type Dtype, type MatrixArray, type Op } from '../../src/kernels/dtype.js';
import { binaryBody, fixedSeeds } from '../http/cases.js';
import type { Reference } from '../http/reference.js';
import { DOCUMENTED_PROBLEMS } from '../soak/answers.js';
import type { Mix, SoakRequest } from '../soak/mix.js';

/** What a cluster job may answer besides a 200: the service's documented problems, and 503 with no live worker or NATS down. */
const CLUSTER_DOCUMENTED = { ...DOCUMENTED_PROBLEMS, 503: [...DOCUMENTED_PROBLEMS[503]!, 'CLUSTER_UNAVAILABLE'] };

export interface ClusterRoute {
  op: Op;
  /** GET: a random job of the seed; POST: caller data (A then B, raw bytes). */
  method: 'GET' | 'POST';
  mode: string;
  /** Square sizes: n x n (matmul: n x n times n x n). */
  sizes: number[];
}

/** A request with its exact expected result (POST) or checksum (GET). */
export interface ExactRequest extends SoakRequest {
  dtype: Dtype;
  /** POST: the whole result the raw answer must equal, byte for byte. */
  output?: MatrixArray;
}

export const routeLabel = (r: Pick<ClusterRoute, 'op' | 'method' | 'mode'>): string =>
  `${r.method} /${r.op}?mode=${r.mode}${r.method === 'POST' ? ' (octet-stream)' : ''}`;

/** The job a request runs, for the reference. */
function spec(op: Op, dtype: Dtype, n: number) {
  return { op, dtype, rows: n, cols: n, ...(op === 'matmul' && { inner: n }) };
}

/** One request of `route` at size n, dtype and seed, with its expected answer. */
export function exactRequest(ref: Reference, route: ClusterRoute, n: number, dtype: Dtype, seed: number): ExactRequest {
  const label = routeLabel(route);
  const shape = route.op === 'matmul' ? `n=${n}` : `rows=${n}&cols=${n}`;
  if (route.method === 'GET') {
    const path = `/${route.op}?mode=${route.mode}&${shape}&dtype=${dtype}&seed=${seed}`;
    const expected = ref.run({ ...spec(route.op, dtype, n), source: { kind: 'random', seed }, output: 'summary' }).checksum;
    const request = { seed, method: 'GET' as const, path, expected };
    return { route: label, what: `GET ${path}`, method: 'GET', path, dtype, expect: { request, raw: false, lab: route.op !== 'matmul', documented: CLUSTER_DOCUMENTED } };
  }
  const a = ref.matrix(dtype, n, n, seed, 0);
  const b = ref.matrix(dtype, n, n, seed, 1);
  const { output, checksum } = ref.run({ ...spec(route.op, dtype, n), source: { kind: 'data', a, b }, output: 'full' });
  const path = `/${route.op}?mode=${route.mode}&${shape}&dtype=${dtype}`;
  const headers = { 'content-type': 'application/octet-stream' };
  const body = binaryBody(a, b);
  const request = { seed, method: 'POST' as const, path, headers, body, expected: checksum };
  return { route: label, what: `POST ${path} (seed ${seed})`, method: 'POST', path, headers, body, dtype, output: output!, expect: { request, raw: true, lab: false, documented: CLUSTER_DOCUMENTED } };
}

/** A load mix of these routes: every size, dtype and `seeds` seeds each. */
export function clusterMix(ref: Reference, routes: readonly ClusterRoute[], seeds = 2): Mix {
  const map = new Map<string, SoakRequest[]>();
  for (const route of routes) {
    const list: SoakRequest[] = [];
    for (const n of route.sizes) for (const dtype of DTYPES) for (const seed of fixedSeeds(seeds)) list.push(exactRequest(ref, route, n, dtype, seed));
    map.set(routeLabel(route), list);
  }
  return { routes: map, cases: [] };
}

/** Every op and dtype in `mode`, by GET and by POST, at size n: the bit-for-bit check. */
export function everyOpAndDtype(ref: Reference, mode: string, n: number): ExactRequest[] {
  const out: ExactRequest[] = [];
  for (const op of OPS) for (const method of ['GET', 'POST'] as const) for (const dtype of DTYPES) out.push(exactRequest(ref, { op, method, mode, sizes: [n] }, n, dtype, fixedSeeds(1)[0]!));
  return out;
}
