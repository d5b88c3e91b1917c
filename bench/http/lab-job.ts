// "The lab's job, like with like": GET /threading at n = 500 with 20
// connections, in one run and with one load generator, served by
//
//   - wasmatrix -w 1 and wasmatrix -w 2 (the production server),
//   - the lab's best Gunicorn configuration (Flask + NumPy, bench/lab/*.py),
//     found first by measuring the small set of configurations the lab
//     describes (its two commands, and more Gunicorn workers),
//   - a plain node:http + typed-array server (bench/lab/node-http.ts),
//
// each measured `rounds` times, interleaved (every server is started once and
// stays up, idle, while the others are measured), reported as the median with
// the spread. The ratios "x the lab" come from this one run.

import { join } from 'node:path';
import { ROOT } from '../../src/paths.js';
import { buildCase, fixedSeeds } from './cases.js';
import { runCase } from './case-runner.js';
import { WRK_CHECK, wrkPresent } from './generator.js';
import type { Reference } from './reference.js';
import { ResourceSampler, type ResourceSummary } from './resource-sampler.js';
import { ForeignServer, track, untrack } from './foreign-server.js';
import { ServerProcess } from './server-process.js';
import { runWrk, wrkLatency, wrkPhase, type WrkRun } from './wrk.js';

export const LAB_JOB_N = 500;
export const GUNICORN = '/usr/bin/gunicorn';
export const LAB_DIR = join(ROOT, 'bench', 'lab');
export const NODE_HTTP_ENTRY = join(ROOT, 'dist', 'bench', 'lab', 'node-http.js');

/** The lab's own published figures (its ApacheBench example output, ab -n 100 -c 10, on the lab's machine): quoted, never compared with. */
export const LAB_PUBLISHED = 'the lab\'s own ApacheBench example (ab -n 100 -c 10, its machine): 46.85 req/s for /threading and 95.06 for /multiprocessing';

/** The configurations the lab describes: its two commands, and more sync/threaded workers (gunicorn -w). */
export const LAB_CONFIGS: { id: string; app: 'threading' | 'multiprocessing'; args: string[] }[] = [
  { id: 'threading -w 1 --threads 4', app: 'threading', args: ['-w', '1', '--threads', '4'] },
  { id: 'threading -w 2 --threads 4', app: 'threading', args: ['-w', '2', '--threads', '4'] },
  { id: 'threading -w 4 --threads 4', app: 'threading', args: ['-w', '4', '--threads', '4'] },
  { id: 'multiprocessing -w 1', app: 'multiprocessing', args: ['-w', '1'] },
  { id: 'multiprocessing -w 2', app: 'multiprocessing', args: ['-w', '2'] },
];

export type ContenderId = 'wasmatrix-w1' | 'wasmatrix-w2' | 'lab' | 'node-http';

export interface LabJobRun {
  requests_per_sec: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  /** Socket errors and timeouts / non-200 answers / answers that failed their check. */
  errors: number;
  non2xx: number;
  wrong: number;
  checked: number;
  generator_cpu_pct: number | null;
  server_cpu_pct: number | null;
  problem: string | null;
}

export interface Contender {
  id: ContenderId;
  label: string;
  command: string;
  /** How its answers were checked. */
  check: string;
  runs: LabJobRun[];
  /** Over the runs without a problem; null when none. */
  median_rps: number | null;
  min_rps: number | null;
  max_rps: number | null;
  median_p99_ms: number | null;
  median_p50_ms: number | null;
  median_generator_cpu_pct: number | null;
  median_server_cpu_pct: number | null;
  problem: string | null;
}

export interface LabSearchRow {
  config: string;
  command: string;
  requests_per_sec: number | null;
  p99_ms: number | null;
  problem: string | null;
}

export interface LabJobSection {
  n: number;
  connections: number;
  rounds: number;
  warmup_s: number;
  seconds: number;
  /** 'wrk' (whole seconds), or why not. */
  generator: string;
  search_seconds: number;
  lab_search: LabSearchRow[];
  /** The configuration the rounds measured (the search's fastest), or null when none ran. */
  lab_best: string | null;
  lab_published: string;
  contenders: Contender[];
  problem: string | null;
}

export interface LabJobOptions {
  rounds: number;
  warmup: number;
  seconds: number;
  searchSeconds: number;
  connections: number;
  timeout: number;
  /** Flags for every wasmatrix server (besides -w). */
  serverArgs: string[];
  /** Only the lab's own two commands in the search (quick runs). */
  shortSearch: boolean;
  signal: AbortSignal;
  log: (line: string) => void;
}

const median = (xs: number[]): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** A contender's medians and spread over its runs without a problem. */
export function summarise(c: Omit<Contender, 'median_rps' | 'min_rps' | 'max_rps' | 'median_p99_ms' | 'median_p50_ms' | 'median_generator_cpu_pct' | 'median_server_cpu_pct'>): Contender {
  const good = c.runs.filter((r) => r.problem === null);
  const rps = good.map((r) => r.requests_per_sec);
  const nums = (f: (r: LabJobRun) => number | null): number[] => good.map(f).filter((x): x is number => x !== null);
  return {
    ...c,
    median_rps: median(rps),
    min_rps: rps.length ? Math.min(...rps) : null,
    max_rps: rps.length ? Math.max(...rps) : null,
    median_p99_ms: median(nums((r) => r.p99_ms)),
    median_p50_ms: median(nums((r) => r.p50_ms)),
    median_generator_cpu_pct: median(nums((r) => r.generator_cpu_pct)),
    median_server_cpu_pct: median(nums((r) => r.server_cpu_pct)),
    problem: c.problem ?? (good.length ? null : (c.runs.find((r) => r.problem)?.problem ?? 'not measured')),
  };
}

/** Problems with one answer of the lab's shape: {"status": "ok", "sample": ten integers in 0..198, ...}. */
export function labAnswerProblems(status: number, text: string): string[] {
  if (status !== 200) return [`status ${status}: ${text.slice(0, 120)}`];
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return [`not JSON: ${text.slice(0, 120)}`];
  }
  const problems: string[] = [];
  if (json.status !== 'ok') problems.push(`status is ${JSON.stringify(json.status)}`);
  const sample = json.sample;
  if (!Array.isArray(sample) || sample.length !== 10 || !sample.every((x) => Number.isInteger(x) && x >= 0 && x <= 198)) {
    problems.push(`sample is ${JSON.stringify(sample)}, expected ten sums of two integers in 0..99`);
  }
  if (typeof json.execution_time_sec !== 'number') problems.push('no execution_time_sec');
  return problems;
}

/** One checked, measured run on a foreign server: one answer checked in full, a wrk warm-up, then the measured wrk run with /proc sampling of its process tree. */
async function measureForeign(server: ForeignServer, path: string, o: LabJobOptions, seconds: number): Promise<LabJobRun> {
  const res = await fetch(server.url + path, { signal: AbortSignal.timeout(o.timeout * 1000) });
  const pre = labAnswerProblems(res.status, await res.text());
  const empty: LabJobRun = { requests_per_sec: 0, p50_ms: 0, p90_ms: 0, p99_ms: 0, errors: 0, non2xx: 0, wrong: 0, checked: 1, generator_cpu_pct: null, server_cpu_pct: null, problem: null };
  if (pre.length) return { ...empty, problem: `the full check of one answer: ${pre.join('; ')}` };
  const script = { paths: [path], check: { kind: 'status-ok' as const } };
  const load = { url: server.url, connections: o.connections, timeoutSeconds: o.timeout, signal: o.signal };
  const warm = await runWrk(script, { ...load, seconds: o.warmup });
  const sampler = new ResourceSampler(server.pid);
  sampler.start();
  let run: WrkRun;
  let resources: ResourceSummary;
  try {
    run = await runWrk(script, { ...load, seconds });
  } finally {
    resources = sampler.stop();
  }
  const r = run.report;
  const phase = wrkPhase(r);
  const lat = wrkLatency(r);
  const wrong = r.wrong + warm.report.wrong;
  const problem = wrong ? `${wrong} wrong answers (${r.example || warm.report.example})` : phase.errors ? `${phase.errors} request errors (${phase.timeouts} timeouts)` : r.requests === 0 ? 'no answers' : null;
  return {
    requests_per_sec: phase.seconds > 0 ? phase.responses / phase.seconds : 0,
    p50_ms: lat.p50_ms,
    p90_ms: lat.p90_ms,
    p99_ms: lat.p99_ms,
    errors: phase.errors,
    non2xx: phase.non2xx,
    wrong,
    checked: 1 + r.answers + warm.report.answers,
    generator_cpu_pct: run.cpu_pct,
    server_cpu_pct: resources.server_cpu_pct,
    problem,
  };
}

const failedRun = (problem: string): LabJobRun => ({ requests_per_sec: 0, p50_ms: 0, p90_ms: 0, p99_ms: 0, errors: 0, non2xx: 0, wrong: 0, checked: 0, generator_cpu_pct: null, server_cpu_pct: null, problem });

const gunicornArgs = (config: (typeof LAB_CONFIGS)[number]): string[] => [...config.args, '-b', '127.0.0.1:0', `app_${config.app}:app`];

/** Measures the lab configurations briefly; the fastest one with every answer right is the lab's baseline. */
async function searchLab(o: LabJobOptions): Promise<LabSearchRow[]> {
  const rows: LabSearchRow[] = [];
  const configs = o.shortSearch ? LAB_CONFIGS.filter((c) => c.args.join(' ') === (c.app === 'threading' ? '-w 1 --threads 4' : '-w 1')) : LAB_CONFIGS;
  for (const config of configs) {
    if (o.signal.aborted) break;
    const command = `gunicorn ${gunicornArgs(config).join(' ')}`;
    const server = new ForeignServer(GUNICORN, gunicornArgs(config), LAB_DIR);
    try {
      await server.ready(`/${config.app}`);
      const run = await measureForeign(server, `/${config.app}`, o, o.searchSeconds);
      rows.push({ config: config.id, command, requests_per_sec: run.problem ? null : run.requests_per_sec, p99_ms: run.problem ? null : run.p99_ms, problem: run.problem });
    } catch (e) {
      rows.push({ config: config.id, command, requests_per_sec: null, p99_ms: null, problem: (e as Error).message });
    } finally {
      await server.stop();
    }
    const last = rows.at(-1)!;
    o.log(`lab search: ${config.id}: ${last.problem ?? `${Math.round(last.requests_per_sec!)} req/s, p99 ${last.p99_ms!.toFixed(1)} ms`}`);
  }
  return rows;
}

/** The fastest configuration without a problem. */
export function bestLabConfig(rows: readonly LabSearchRow[]): LabSearchRow | undefined {
  return rows.filter((r) => r.requests_per_sec !== null).sort((a, b) => b.requests_per_sec! - a.requests_per_sec!)[0];
}

/** The whole section. Never throws: whatever goes wrong is the section's or a contender's problem. */
export async function runLabJob(o: LabJobOptions, ref: Reference): Promise<LabJobSection> {
  const section: LabJobSection = {
    n: LAB_JOB_N,
    connections: o.connections,
    rounds: o.rounds,
    warmup_s: o.warmup,
    seconds: o.seconds,
    generator: 'wrk',
    search_seconds: o.searchSeconds,
    lab_search: [],
    lab_best: null,
    lab_published: LAB_PUBLISHED,
    contenders: [],
    problem: null,
  };
  if (!wrkPresent()) {
    section.generator = 'none: wrk is not installed (/usr/bin/wrk); this section needs it (the lab and node:http answers are checked by its Lua script)';
    section.problem = 'wrk is not installed';
    return section;
  }
  section.lab_search = await searchLab(o);
  const best = bestLabConfig(section.lab_search);
  section.lab_best = best?.config ?? null;

  const labCase = buildCase('threading', LAB_JOB_N, 'int32', fixedSeeds(4), ref);
  const wasmatrix: Partial<Record<ContenderId, ServerProcess>> = {};
  const foreign: Partial<Record<ContenderId, ForeignServer>> = {};
  const problems: Partial<Record<ContenderId, string>> = {};
  const meta: Record<ContenderId, { label: string; command: string; check: string }> = {
    'wasmatrix-w1': { label: 'wasmatrix -w 1', command: ['node dist/src/cli/main.js', ...o.serverArgs, '-w 1'].join(' '), check: WRK_CHECK },
    'wasmatrix-w2': { label: 'wasmatrix -w 2', command: ['node dist/src/cli/main.js', ...o.serverArgs, '-w 2'].join(' '), check: WRK_CHECK },
    lab: {
      label: `the lab: Gunicorn ${best?.config ?? '(none ran)'}`,
      command: best?.command ?? '-',
      check: 'one answer in full (status "ok", ten sample sums in 0..198), then every answer in wrk\'s Lua response(): status 200 and "status": "ok" (its matrices are unseeded)',
    },
    'node-http': { label: 'plain node:http + typed arrays', command: 'node dist/bench/lab/node-http.js', check: 'as the lab\'s (the same JSON, unseeded matrices)' },
  };
  const order: ContenderId[] = ['wasmatrix-w1', 'wasmatrix-w2', 'lab', 'node-http'];
  try {
    for (const [id, w] of [['wasmatrix-w1', '1'], ['wasmatrix-w2', '2']] as const) {
      try {
        // -w last: it wins over any -w in --server-args
        wasmatrix[id] = await ServerProcess.start({ args: [...o.serverArgs, '-w', w] });
        track(wasmatrix[id]);
      } catch (e) {
        problems[id] = `did not start: ${(e as Error).message.split('\n')[0]}`;
      }
    }
    const lab = best && LAB_CONFIGS.find((c) => c.id === best.config)!;
    for (const [id, server] of [
      ['lab', lab ? new ForeignServer(GUNICORN, gunicornArgs(lab), LAB_DIR) : undefined],
      ['node-http', new ForeignServer(process.execPath, [NODE_HTTP_ENTRY], ROOT)],
    ] as const) {
      if (!server) {
        problems[id] = 'no lab configuration answered right in the search';
        continue;
      }
      foreign[id] = server;
      try {
        await server.ready(id === 'lab' ? `/${lab!.app}` : '/threading');
      } catch (e) {
        problems[id] = (e as Error).message;
      }
    }
    const runs: Record<ContenderId, LabJobRun[]> = { 'wasmatrix-w1': [], 'wasmatrix-w2': [], lab: [], 'node-http': [] };
    for (let round = 1; round <= o.rounds && !o.signal.aborted; round++) {
      for (const id of order) {
        if (problems[id] || o.signal.aborted) continue;
        let run: LabJobRun;
        try {
          const w = wasmatrix[id];
          if (w) {
            const r = await runCase(labCase, { url: w.url, serverPid: w.pid, connections: o.connections, warmup: o.warmup, duration: o.seconds, timeout: o.timeout, signal: o.signal, onPhase: () => {} });
            run = {
              requests_per_sec: r.requests_per_sec,
              p50_ms: r.latency?.p50_ms ?? 0,
              p90_ms: r.latency?.p90_ms ?? 0,
              p99_ms: r.latency?.p99_ms ?? 0,
              errors: r.errors,
              non2xx: r.non2xx,
              wrong: r.verification.wrong,
              checked: r.verification.checked,
              generator_cpu_pct: r.generator?.cpu_pct ?? null,
              server_cpu_pct: r.resources?.server_cpu_pct ?? null,
              problem: r.status === 'ok' ? null : r.problems.join('; '),
            };
          } else {
            run = await measureForeign(foreign[id]!, id === 'lab' ? `/${lab!.app}` : '/threading', o, o.seconds);
          }
        } catch (e) {
          run = failedRun((e as Error).message);
        }
        runs[id].push(run);
        o.log(`lab job round ${round}/${o.rounds}: ${meta[id].label}: ${run.problem ?? `${Math.round(run.requests_per_sec)} req/s, p99 ${run.p99_ms.toFixed(2)} ms, wrk ${Math.round(run.generator_cpu_pct ?? 0)}% CPU`}`);
      }
    }
    section.contenders = order.map((id) => summarise({ id, ...meta[id], runs: runs[id], problem: problems[id] ?? null }));
  } catch (e) {
    section.problem = (e as Error).message;
  } finally {
    await Promise.all([...Object.values(wasmatrix).map((s) => s.stop().then(() => untrack(s))), ...Object.values(foreign).map((s) => s.stop())]);
  }
  return section;
}
