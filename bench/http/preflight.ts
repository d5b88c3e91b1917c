// Before any load: one request per seed of a case, checked in full (every
// field of the JSON answer, or every element of an uploaded result), so the
// per-response checksum check under load stands on a result known to be right.

import { ARRAY_OF, ELEMENT_BYTES, type MatrixArray } from '../../src/kernels/dtype.js';
import type { BenchCase, CaseRequest } from './cases.js';
import { checkAnswer, firstDifference } from './verify.js';

/** What the server said about how it ran the job (from the first answer). */
export interface ServedBy {
  mode: string | null;
  workers: number | null;
  method: string | null;
}

export interface Preflight {
  /** Every problem found; empty when all answers were right. */
  problems: string[];
  servedBy: ServedBy;
}

const LAB_FIELDS: [string, string][] = [
  ['status', 'string'],
  ['execution_time_sec', 'number'],
  ['sample', 'object'],
  ['dtype', 'string'],
  ['mode', 'string'],
  ['workers', 'number'],
  ['checksum', 'string'],
];

/** Problems with a GET answer's JSON beyond its checksum: the lab's fields and their types. */
export function labFieldProblems(json: Record<string, unknown>, request: CaseRequest): string[] {
  const problems: string[] = [];
  for (const [field, type] of LAB_FIELDS) {
    if (typeof json[field] !== type) problems.push(`field ${field} is ${JSON.stringify(json[field])}, expected a ${type}`);
  }
  if (json.status !== 'ok') problems.push(`status is ${JSON.stringify(json.status)}`);
  if (json.seed !== request.seed) problems.push(`seed is ${JSON.stringify(json.seed)}, expected ${request.seed}`);
  return problems;
}

function headerEndingWith(headers: Headers, suffix: string): string | null {
  for (const [name, value] of headers) if (name.endsWith(suffix)) return value;
  return null;
}

async function checkOne(c: BenchCase, request: CaseRequest, url: string, servedBy: ServedBy): Promise<string[]> {
  const res = await fetch(url + request.path, { method: request.method, headers: request.headers, body: request.body && new Uint8Array(request.body) });
  const raw = c.kind === 'post-binary';
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = raw ? '' : bytes.toString('utf8');
  const headers = Object.fromEntries(res.headers);
  const basic = checkAnswer(request, raw, res.status, text, headers);
  if (basic) return [basic + (res.status === 200 ? '' : `: ${text.slice(0, 200)}`)];
  const expectedOutput = c.expectedOutput?.get(request.seed);
  if (raw) {
    servedBy.mode ??= headerEndingWith(res.headers, 'mode');
    servedBy.workers ??= Number(headerEndingWith(res.headers, 'workers')) || null;
    const got = new ARRAY_OF[c.dtype](bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / ELEMENT_BYTES[c.dtype]));
    const diff = expectedOutput && firstDifference(got, expectedOutput);
    return diff ? [`result ${diff}`] : [];
  }
  const json = JSON.parse(text) as Record<string, unknown>;
  servedBy.mode ??= typeof json.mode === 'string' ? json.mode : null;
  servedBy.workers ??= typeof json.workers === 'number' ? json.workers : null;
  servedBy.method ??= typeof json.method === 'string' ? json.method : null;
  if (c.kind === 'post-json') {
    const result = json.result as number[][] | undefined;
    if (!Array.isArray(result)) return ['no result array'];
    const diff = expectedOutput && firstDifference(result.flat(), expectedOutput as MatrixArray);
    return diff ? [`result ${diff}`] : [];
  }
  return labFieldProblems(json, request);
}

/** Sends each seed's request once and checks the whole answer. Never throws: problems are returned. */
export async function preflight(c: BenchCase, url: string): Promise<Preflight> {
  const servedBy: ServedBy = { mode: null, workers: null, method: null };
  const problems: string[] = [];
  for (const request of c.requests) {
    try {
      problems.push(...(await checkOne(c, request, url, servedBy)).map((p) => `seed ${request.seed}: ${p}`));
    } catch (e) {
      problems.push(`seed ${request.seed}: ${(e as Error).message}`);
    }
  }
  return { problems, servedBy };
}
