// `npm run bench` options: parsed and validated up front, each with a default
// that makes the full run take about ten minutes on two cores (six of HTTP
// cases, then the whole kernel benchmark, matmul included).

import { parseArgs } from 'node:util';
import { isDtype, type Dtype } from '../../src/kernels/dtype.js';
import { CASE_KINDS, isCaseKind, type CaseKind } from './cases.js';

export interface BenchOptions {
  quick: boolean;
  /** Measured seconds per case. */
  duration: number;
  /** Unmeasured (but checked) seconds of load per case before it is measured. */
  warmup: number;
  connections: number;
  sizes: number[];
  modes: CaseKind[];
  dtype: Dtype;
  /** Fixed seeds per case. */
  seeds: number;
  /** Seconds before autocannon counts a request as timed out. */
  timeout: number;
  /** Measure this already running server instead of starting one. */
  url: string | null;
  /** Extra flags for the server the benchmark starts. */
  serverArgs: string[];
  /** Run the kernel benchmark (bench:kernels) and fold it into the report. */
  kernels: boolean;
  /** Measure /healthz and the lab's job while the largest ts and wasm jobs flood the server (bench/http/stall.ts). */
  stall: boolean;
  /** Extra flags for the kernel benchmark. */
  kernelsArgs: string[];
  /** 'autocannon': every case with autocannon; 'auto': wrk for the GET cases when installed (bench/http/generator.ts). */
  generator: 'auto' | 'autocannon';
  /** Rounds of "the lab's job, like with like" (bench/http/lab-job.ts); 0: not run. */
  labRounds: number;
  /** Host counts of the "through HAProxy" section (empty: not run). */
  proxyHosts: number[];
  /** The cluster section: mode=cluster over 1, 2, 3 worker hosts and NATS (bench/cluster/cluster-bench.ts). */
  cluster: boolean;
  /** Results folder; default bench/results/<date>-<hostname>/. */
  out: string | null;
  /** Also refresh bench/results/latest/ (the copy the README links to). */
  latest: boolean;
  help: boolean;
}

export const DEFAULTS = { duration: 5, warmup: 2, connections: 20, sizes: [500, 2048], dtype: 'int32', seeds: 4, timeout: 10, proxyHosts: [1, 2, 3] } as const;
export const QUICK = { duration: 2, warmup: 0.5, sizes: [500] } as const;
/** "The lab's job, like with like": rounds, seconds per measured run, warm-up, seconds per configuration of the lab search (wrk: whole seconds). */
export const LAB_JOB = { rounds: 3, seconds: 5, warmup: 1, searchSeconds: 3 } as const;
export const LAB_JOB_QUICK = { rounds: 1, seconds: 1, warmup: 1, searchSeconds: 1 } as const;
/** The whole kernel benchmark (its defaults: every op, mode, dtype and size, 3 rounds, matmul included): the docs quote its tables from the committed run. */
export const KERNELS_ARGS: string[] = [];
export const KERNELS_QUICK_ARGS = ['--quick', '--dtypes', 'int32', '--sizes', '500,2048', '--ops', 'random+add', '--only-table'];

export const USAGE = `usage: npm run bench -- [options]

  --quick               short run (about a minute and a half): n=${QUICK.sizes.join(',')}, ${QUICK.duration} s per case, one round of the lab's job, short kernel table
  --duration SEC        measured seconds per case (default ${DEFAULTS.duration})
  --warmup SEC          checked but unmeasured load before each case (default ${DEFAULTS.warmup})
  --connections N       concurrent connections, pipelining 1 (default ${DEFAULTS.connections})
  --sizes LIST          matrix sizes n (n x n), e.g. 64,500,2048 (default ${DEFAULTS.sizes.join(',')})
  --modes LIST          cases, from: ${CASE_KINDS.join(',')} (default: all)
  --dtype D             int32, float32 or float64 (default ${DEFAULTS.dtype})
  --seeds N             fixed seeds per case (default ${DEFAULTS.seeds})
  --timeout SEC         request timeout (default ${DEFAULTS.timeout})
  --url URL             measure a server already running there (not started or stopped by the benchmark)
  --server-args="ARGS" extra flags for the server it starts, e.g. --server-args="-w 2" (with =: they start with a dash)
  --proxy-hosts LIST    the "through HAProxy" section: /threading direct, then through HAProxy with these
                        host counts (default 1,2,3 when the run has the threading case; not with --quick)
  --no-proxy            skip the "through HAProxy" section
  --cluster             run the cluster section (mode=cluster on 1, 2, 3 worker hosts; needs nats-server) even
                        with --quick (its short cases then); --no-cluster skips it (default: on, except --quick or --url)
  --no-kernels          skip the kernel benchmark section
  --generator G         auto (wrk for the GET cases when /usr/bin/wrk is installed, autocannon for uploads) or
                        autocannon (every case, as before wrk; for comparisons) (default auto)
  --lab-rounds N        rounds of "the lab's job, like with like": /threading n=500 on wasmatrix -w 1 and -w 2,
                        the lab's best Gunicorn configuration and plain node:http, with wrk, interleaved
                        (default ${LAB_JOB.rounds}, --quick ${LAB_JOB_QUICK.rounds}; 0 or --no-lab: not run; never with --url)
  --no-lab              skip it
  --no-stall            skip the stall measurement (/healthz while 8 connections flood the largest ts and wasm jobs)
  --kernels-args="ARGS" flags for bench:kernels (default: none, its full run; with --quick "${KERNELS_QUICK_ARGS.join(' ')}")
  --out DIR             results folder (default bench/results/<date>-<hostname>/)
  --no-latest           do not refresh bench/results/latest/ (never refreshed by --quick, --url or --out)
  -h, --help            this text`;

export class BenchUsageError extends Error {
  override name = 'BenchUsageError';
}

/** A positive number (or integer) flag value; `fallback` when absent. */
export function positive(flag: string, value: string | undefined, fallback: number, integer: boolean): number {
  if (value === undefined) return fallback;
  const x = Number(value);
  if (!Number.isFinite(x) || x <= 0 || (integer && !Number.isInteger(x))) throw new BenchUsageError(`--${flag}: "${value}" is not a ${integer ? 'positive integer' : 'positive number'}`);
  return x;
}

const words = (s: string | undefined): string[] => (s ?? '').split(/\s+/).filter(Boolean);

export function parseBenchArgs(argv: string[]): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean', default: false },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        connections: { type: 'string' },
        sizes: { type: 'string' },
        modes: { type: 'string' },
        dtype: { type: 'string' },
        seeds: { type: 'string' },
        timeout: { type: 'string' },
        url: { type: 'string' },
        'server-args': { type: 'string' },
        'no-kernels': { type: 'boolean', default: false },
        'no-stall': { type: 'boolean', default: false },
        'lab-rounds': { type: 'string' },
        generator: { type: 'string' },
        'no-lab': { type: 'boolean', default: false },
        'proxy-hosts': { type: 'string' },
        'no-proxy': { type: 'boolean', default: false },
        cluster: { type: 'boolean', default: false },
        'no-cluster': { type: 'boolean', default: false },
        'kernels-args': { type: 'string' },
        out: { type: 'string' },
        'no-latest': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    throw new BenchUsageError((e as Error).message);
  }
  const quick = values.quick!;
  const sizes = values.sizes === undefined ? [...(quick ? QUICK.sizes : DEFAULTS.sizes)] : values.sizes.split(',').map((s) => positive('sizes', s.trim(), 0, true));
  const modes = values.modes === undefined ? [...CASE_KINDS] : values.modes.split(',').map((s) => s.trim());
  for (const m of modes) if (!isCaseKind(m)) throw new BenchUsageError(`--modes: unknown case "${m}" (one of ${CASE_KINDS.join(', ')})`);
  const dtype = values.dtype ?? DEFAULTS.dtype;
  if (!isDtype(dtype)) throw new BenchUsageError(`--dtype: "${dtype}" is not int32, float32 or float64`);
  const url = values.url?.replace(/\/$/, '') ?? null;
  const proxyHosts = values['no-proxy']
    ? []
    : values['proxy-hosts'] !== undefined
      ? values['proxy-hosts'].split(',').map((s) => positive('proxy-hosts', s.trim(), 0, true))
      : !quick && url === null && modes.includes('threading')
        ? [...DEFAULTS.proxyHosts]
        : [];
  const generator = values.generator ?? 'auto';
  if (generator !== 'auto' && generator !== 'autocannon') throw new BenchUsageError(`--generator: "${generator}" is not auto or autocannon`);
  if (url !== null && !/^http:\/\/[^/]+$/.test(url)) throw new BenchUsageError(`--url: "${values.url}" is not http://HOST:PORT`);
  return {
    quick,
    duration: positive('duration', values.duration, quick ? QUICK.duration : DEFAULTS.duration, false),
    warmup: values.warmup === '0' ? 0 : positive('warmup', values.warmup, quick ? QUICK.warmup : DEFAULTS.warmup, false),
    connections: positive('connections', values.connections, DEFAULTS.connections, true),
    sizes,
    modes: modes as CaseKind[],
    dtype,
    seeds: positive('seeds', values.seeds, DEFAULTS.seeds, true),
    timeout: positive('timeout', values.timeout, DEFAULTS.timeout, false),
    url,
    serverArgs: words(values['server-args']),
    kernels: !values['no-kernels'],
    stall: !values['no-stall'],
    kernelsArgs: values['kernels-args'] === undefined ? (quick ? KERNELS_QUICK_ARGS : KERNELS_ARGS) : words(values['kernels-args']),
    proxyHosts,
    cluster: !values['no-cluster'] && (values.cluster! || (!quick && url === null)),
    generator,
    labRounds:
      values['no-lab'] || url !== null || values['lab-rounds'] === '0'
        ? 0
        : positive('lab-rounds', values['lab-rounds'], quick ? LAB_JOB_QUICK.rounds : LAB_JOB.rounds, true),
    out: values.out ?? null,
    latest: !values['no-latest'] && !quick && url === null && values.out === undefined,
    help: values.help!,
  };
}
