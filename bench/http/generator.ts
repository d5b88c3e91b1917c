// Which load generator runs a case: wrk (bench/http/wrk.ts) for every GET case
// when it is installed, autocannon (bench/http/load.ts) for what only it does
// here (POST uploads: a different 2 to 8 MB body per seed, and raw answers
// whose checksum is in a header), and for everything when wrk is missing.

import type { BenchCase } from './cases.js';
import type { GeneratorInfo } from './results.js';
import { answersRaw } from './verify.js';
import { wrkAvailable } from './wrk.js';

export const WRK_CHECK = "every answer in wrk's Lua response(): status 200 and the checksum the TS reference computed for the seed it names";
export const AUTOCANNON_CHECK = 'every answer in the benchmark process: status 200 and the checksum the TS reference computed for its seed';

/** The generator for a case, and why; `wrk` says whether wrk is installed. */
export function pickGenerator(c: Pick<BenchCase, 'kind' | 'requests'>, wrk: boolean): Omit<GeneratorInfo, 'cpu_pct'> {
  if (c.requests.some((r) => r.method !== 'GET')) return { tool: 'autocannon', why: 'autocannon: POST bodies (a different upload per seed)', check: AUTOCANNON_CHECK };
  if (answersRaw(c)) return { tool: 'autocannon', why: 'autocannon: raw answers (checksum in a header)', check: AUTOCANNON_CHECK };
  if (!wrk) return { tool: 'autocannon', why: 'autocannon: wrk not installed (/usr/bin/wrk)', check: AUTOCANNON_CHECK };
  return { tool: 'wrk', why: 'wrk: a GET with a JSON answer', check: WRK_CHECK };
}

/** Memoised: is wrk installed here? */
let present: boolean | undefined;
export function wrkPresent(): boolean {
  present ??= wrkAvailable();
  return present;
}
