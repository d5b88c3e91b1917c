// What one answer of the soak is: a verified-correct 200, a wrong 200, one of
// the failures the service documents for overload and crashes (503 and 504
// problem+json), or anything else. Pure: the ledger tests feed it by hand.

import type { MatrixArray } from '../../src/kernels/dtype.js';
import type { CaseRequest } from '../http/cases.js';
import { labFieldProblems } from '../http/preflight.js';
import { checkAnswer, firstDifference, type ResponseHeaders } from '../http/verify.js';

/**
 * The only non-200 answers a soak accepts, by status: what the README and
 * src/errors.ts promise under overload (a full queue, the memory cap), a
 * worker dying twice under one job, and a job past --timeout.
 */
export const DOCUMENTED_PROBLEMS: Readonly<Record<number, readonly string[]>> = {
  503: ['QUEUE_FULL', 'WORKER_FAILED', 'MEMORY_EXHAUSTED'],
  504: ['TIMEOUT'],
};
/** Overload answers tell the client when to come back. */
const NEEDS_RETRY_AFTER = new Set(['QUEUE_FULL', 'MEMORY_EXHAUSTED']);

/** What a right answer to one request is. */
export interface Expectation {
  request: CaseRequest;
  /** The answer is raw bytes with the checksum in a header (POST octet-stream). */
  raw: boolean;
  /** A GET of the lab's job: its JSON fields are checked too. */
  lab: boolean;
  /** A JSON POST: the whole result is compared with this. */
  output?: MatrixArray;
  /** The non-200 answers it may get (default DOCUMENTED_PROBLEMS). */
  documented?: Readonly<Record<number, readonly string[]>>;
}

export type Outcome =
  | { kind: 'ok' }
  | { kind: 'wrong'; reason: string }
  /** `key` is "503 WORKER_FAILED", "504 TIMEOUT"... */
  | { kind: 'documented'; key: string }
  | { kind: 'undocumented'; reason: string };

function header(headers: ResponseHeaders, name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return Array.isArray(v) ? v[0] : v;
  return undefined;
}

function parseJson(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Why a 200 is wrong, or undefined when it is right. */
function wrongness(e: Expectation, body: string, headers: ResponseHeaders): string | undefined {
  const basic = checkAnswer(e.request, e.raw, 200, body, headers);
  if (basic || e.raw) return basic;
  const json = parseJson(body);
  if (!json) return 'the body is not a JSON object';
  if (e.lab) return labFieldProblems(json, e.request)[0];
  if (e.output) {
    if (!Array.isArray(json.result)) return 'no result array';
    const diff = firstDifference((json.result as number[][]).flat(), e.output);
    return diff && `result ${diff}`;
  }
  return undefined;
}

/** A non-200: one of DOCUMENTED_PROBLEMS as well-formed problem+json, or why it is not. */
export function classifyProblem(status: number, body: string, headers: ResponseHeaders, documented = DOCUMENTED_PROBLEMS): Outcome {
  const codes = documented[status];
  const json = parseJson(body);
  const code = typeof json?.code === 'string' ? json.code : undefined;
  const what = `${status}${code ? ` ${code}` : ''}`;
  if (!codes || !code || !codes.includes(code)) return { kind: 'undocumented', reason: `${what}: ${body.slice(0, 160)}` };
  if (!header(headers, 'content-type')?.startsWith('application/problem+json')) return { kind: 'undocumented', reason: `${what} without a problem+json content type` };
  if (json!.status !== status) return { kind: 'undocumented', reason: `${what} whose body says status ${JSON.stringify(json!.status)}` };
  if (NEEDS_RETRY_AFTER.has(code) && !/^\d+$/.test(header(headers, 'retry-after') ?? '')) return { kind: 'undocumented', reason: `${what} without Retry-After` };
  return { kind: 'documented', key: what };
}

export function classifyAnswer(e: Expectation, status: number, body: string, headers: ResponseHeaders): Outcome {
  if (status !== 200) return classifyProblem(status, body, headers, e.documented);
  const reason = wrongness(e, body, headers);
  return reason === undefined ? { kind: 'ok' } : { kind: 'wrong', reason };
}
