// Every answer is checked: status 200 and the checksum expected for its seed.
// A case with a single wrong answer is failed, so a fast wrong answer never wins.

import type { MatrixArray } from '../../src/kernels/dtype.js';
import type { BenchCase, CaseRequest } from './cases.js';

/** Response headers as autocannon hands them: names as the server wrote them. */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

const CHECKSUM_FIELD = /"checksum"\s*:\s*"([0-9a-fA-F]{8})"/;

/**
 * The checksum an answer claims: the JSON field `checksum` for JSON answers,
 * the response header whose name ends in `checksum` for raw (octet-stream)
 * answers. Only the small field is matched, never the whole body parsed: the
 * load generator shares the CPU with the server.
 */
export function claimedChecksum(body: string, headers: ResponseHeaders, raw: boolean): string | undefined {
  if (raw) {
    for (const [name, value] of Object.entries(headers)) {
      if (name.toLowerCase().endsWith('checksum')) return (Array.isArray(value) ? value[0] : value)?.toLowerCase();
    }
    return undefined;
  }
  return CHECKSUM_FIELD.exec(body)?.[1]?.toLowerCase();
}

/** Why one answer is wrong, or undefined when it is right. */
export function checkAnswer(request: CaseRequest, raw: boolean, status: number, body: string, headers: ResponseHeaders): string | undefined {
  if (status !== 200) return `status ${status}`;
  const claimed = claimedChecksum(body, headers, raw);
  if (claimed === undefined) return 'no checksum in the answer';
  if (claimed !== request.expected) return `checksum ${claimed}, expected ${request.expected} (seed ${request.seed})`;
  return undefined;
}

/** The tally of one case: answers checked, right, wrong, and why (a few examples). */
export class Verification {
  checked = 0;
  wrong = 0;
  readonly reasons = new Map<string, number>();

  record(problem: string | undefined): void {
    this.checked++;
    if (problem === undefined) return;
    this.wrong++;
    // group by reason without the seed, so a table of reasons stays short
    const key = problem.replace(/ \(seed \d+\)$/, '');
    this.reasons.set(key, (this.reasons.get(key) ?? 0) + 1);
  }

  /** Answers checked elsewhere (wrk's Lua script): `right` + `wrong`, with the first wrong one's reason. */
  recordCounts(right: number, wrong: number, reason: string): void {
    this.checked += right + wrong;
    if (wrong === 0) return;
    this.wrong += wrong;
    const key = reason || 'wrong answer';
    this.reasons.set(key, (this.reasons.get(key) ?? 0) + wrong);
  }

  get ok(): number {
    return this.checked - this.wrong;
  }

  toJSON(): { checked: number; ok: number; wrong: number; reasons: Record<string, number> } {
    return { checked: this.checked, ok: this.ok, wrong: this.wrong, reasons: Object.fromEntries(this.reasons) };
  }
}

/** True when the kind answers raw bytes (checksum in a header). */
export function answersRaw(c: Pick<BenchCase, 'kind'>): boolean {
  return c.kind === 'post-binary';
}

/** Compares a full result with the reference, element by element, bit for bit (as stored in the dtype). */
export function firstDifference(actual: ArrayLike<number>, expected: MatrixArray): string | undefined {
  if (actual.length !== expected.length) return `${actual.length} elements, expected ${expected.length}`;
  // storing into the dtype's array rounds exactly as the dtype does (float32), then bytes compare
  const got = new (expected.constructor as new (values: ArrayLike<number>) => MatrixArray)(actual);
  const gotBytes = new Uint8Array(got.buffer);
  const wantBytes = new Uint8Array(expected.buffer, expected.byteOffset, expected.byteLength);
  for (let i = 0; i < gotBytes.length; i++) {
    if (gotBytes[i] !== wantBytes[i]) {
      const e = Math.floor(i / expected.BYTES_PER_ELEMENT);
      return `element ${e} is ${got[e]}, expected ${expected[e]}`;
    }
  }
  return undefined;
}
