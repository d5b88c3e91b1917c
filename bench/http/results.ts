// The shape of a run's raw JSON (results.json) and the rules that turn one
// case's measurements into a verdict and a ratio. Everything the report and
// the charts show is computed from these records.

import type { Dtype } from '../../src/kernels/dtype.js';
import type { ProxySection } from '../cluster/bench-section.js';
import type { StallResult } from './stall.js';
import type { ClusterSection } from '../cluster/cluster-bench.js';
import type { LabJobSection } from './lab-job.js';
import { BASELINE_KIND, comparesWithBaseline, type BenchCase, type CaseKind } from './cases.js';
import type { KernelsSection } from './kernels-section.js';
import type { LatencySummary } from './latency.js';
import type { MachineInfo } from './machine.js';
import type { BenchOptions } from './options.js';
import type { ServedBy } from './preflight.js';
import type { ResourceSummary } from './resource-sampler.js';

export interface VerificationTally {
  checked: number;
  ok: number;
  wrong: number;
  reasons: Record<string, number>;
}

export interface CaseResult {
  id: string;
  kind: CaseKind;
  label: string;
  n: number;
  dtype: Dtype;
  /** 'failed': a wrong or missing answer, an error, or the case could not run. */
  status: 'ok' | 'failed';
  problems: string[];
  served_by: ServedBy | null;
  /** One of its request paths (the others differ only in the seed). */
  example_path: string;
  seeds: number[];
  /** Answers per second over the measured window (every answer, checked). */
  requests_per_sec: number;
  responses: number;
  seconds: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  status_codes: Record<string, number>;
  latency: LatencySummary | null;
  /** Warm-up and measured answers together: every one is checked. */
  verification: VerificationTally;
  resources: ResourceSummary | null;
  /** requests_per_sec / that of GET /add?mode=ts at the same n in this run. */
  ratio_vs_ts: number | null;
  /** Which load generator ran the case, its CPU and how the answers were checked (absent in results written before it was recorded). */
  generator?: GeneratorInfo;
}

export interface GeneratorInfo {
  tool: 'wrk' | 'autocannon';
  /** Why this one: "wrk: GET with a JSON answer", "autocannon: POST bodies", "autocannon: wrk not installed". */
  why: string;
  /** The generator's own CPU over the measured run, % of one core (wrk: the process; autocannon: the benchmark's process). */
  cpu_pct: number | null;
  /** How every answer was checked. */
  check: string;
}

export interface ServerInfo {
  started_by_bench: boolean;
  url: string | null;
  pid: number | null;
  args: string[];
  start_line: string | null;
  simd: boolean | null;
  /** Why it could not start, or how it ended early. */
  problem: string | null;
}

export interface Target {
  name: string;
  goal: string;
  measured: string;
  /** null: not measured in this run. */
  met: boolean | null;
}

export interface BenchRun {
  schema: 1;
  started_at: string;
  finished_at: string;
  /** True when Ctrl-C stopped it: the cases after that point are missing. */
  interrupted: boolean;
  command: string;
  options: BenchOptions;
  machine: MachineInfo;
  server: ServerInfo;
  cases: CaseResult[];
  kernels: KernelsSection | null;
  /** "Through HAProxy": /threading direct and through the proxy with 1, 2, 3 hosts (null: not run). */
  proxy: ProxySection | null;
  /** /healthz and lab-job latency while 8 connections flood the largest ts and wasm jobs (null: not run; absent in older results). */
  stall?: StallResult | null;
  /** mode=cluster on 1, 2, 3 worker hosts beside the local modes, and its model (null: not run; absent in older results). */
  cluster?: ClusterSection | null;
  /** "The lab's job, like with like" (null: not run; absent in older results). */
  lab_job?: LabJobSection | null;
  conclusions: string[];
  targets: Target[];
}

/** The problems that fail a case, from what its phases saw. */
export function caseProblems(
  preflightProblems: readonly string[],
  verification: VerificationTally,
  load: { errors: number; timeouts: number } | null,
): string[] {
  const problems = [...preflightProblems];
  if (verification.wrong > 0) {
    const why = Object.entries(verification.reasons)
      .map(([reason, count]) => `${count} x ${reason}`)
      .join('; ');
    problems.push(`${verification.wrong} of ${verification.checked} answers wrong: ${why}`);
  }
  if (load && load.errors > 0) problems.push(`${load.errors} request errors (${load.timeouts} timeouts)`);
  if (load && verification.checked === 0) problems.push('no answers');
  return problems;
}

/** Sets ratio_vs_ts on every case that has a passing baseline at its size. */
export function addRatios(cases: CaseResult[]): CaseResult[] {
  return cases.map((c) => {
    const base = cases.find((b) => b.kind === BASELINE_KIND && b.n === c.n && b.status === 'ok');
    // an upload is not the baseline's job: no ratio for POST cases
    const comparable = base && base.requests_per_sec > 0 && c.status === 'ok' && comparesWithBaseline(c.kind);
    const ratio = comparable ? c.requests_per_sec / base.requests_per_sec : null;
    return { ...c, ratio_vs_ts: ratio };
  });
}

/** A case that has not (yet) produced any answer: failed with `problems` until measurements fill it in. */
export function unmeasuredResult(c: BenchCase, problems: string[]): CaseResult {
  return {
    id: c.id,
    kind: c.kind,
    label: c.label,
    n: c.n,
    dtype: c.dtype,
    status: problems.length ? 'failed' : 'ok',
    problems,
    served_by: null,
    example_path: c.requests[0]?.path ?? '',
    seeds: c.requests.map((r) => r.seed),
    requests_per_sec: 0,
    responses: 0,
    seconds: 0,
    errors: 0,
    timeouts: 0,
    non2xx: 0,
    status_codes: {},
    latency: null,
    verification: { checked: 0, ok: 0, wrong: 0, reasons: {} },
    resources: null,
    ratio_vs_ts: null,
  };
}
