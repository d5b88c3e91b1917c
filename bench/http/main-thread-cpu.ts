// The server's CPU per request, its main thread apart: the cost of the HTTP
// path and the hand-off to the kernels, measured from outside the server so
// that measuring costs it nothing. For each -w, a fresh server answers GET
// /threading for --seconds (wrk, 20 connections; wrk's Lua thread:stop() leaves
// wrk waiting out its duration, so a fixed count is not used) and the CPU its
// threads used meanwhile is read
// from /proc/PID/task/TID/schedstat (nanoseconds on a CPU, per thread; the
// main thread's TID is the PID), divided by the answers wrk counted. Servers of
// each -w run interleaved, --repeats times; the medians and the spread are
// printed (a shared machine is noisy).
//
//   node dist/bench/http/main-thread-cpu.js [--seconds 5] [--repeats 3] [--workers 1,2]
//        [--path /threading] [--connections 20] [--json FILE]
//
// `npm run bench` runs it too (bench/run.ts) and keeps its JSON with the run.

import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { ServerProcess } from './server-process.js';

const run = promisify(execFile);
export const WRK = '/usr/bin/wrk';
/** The file of a bench run (next to results.json) that holds this measurement. */
export const MAIN_THREAD_CPU_FILE = 'main-thread-cpu.json';

export interface MainThreadCpuOptions {
  seconds: number;
  repeats: number;
  workers: number[];
  path: string;
  connections: number;
}

export const DEFAULTS: MainThreadCpuOptions = { seconds: 5, repeats: 3, workers: [1, 2], path: '/threading', connections: 20 };

/** One server's figures: CPU per request in microseconds. */
export interface CpuSample {
  workers: number;
  requests: number;
  seconds: number;
  mainMicrosPerRequest: number;
  processMicrosPerRequest: number;
  requestsPerSecond: number;
}

export interface CpuSummary {
  workers: number;
  runs: number;
  /** Median, then min and max, of each figure over the runs. */
  mainMicrosPerRequest: Spread;
  processMicrosPerRequest: Spread;
  requestsPerSecond: Spread;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface MainThreadCpuResult {
  generator: string;
  path: string;
  seconds: number;
  connections: number;
  samples: CpuSample[];
  summary: CpuSummary[];
}

/** Nanoseconds thread `tid` of `pid` has run (the first field of schedstat). */
function threadNanos(pid: number, tid: number): number {
  return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
}

/** Nanoseconds of every thread of `pid` alive now, by TID. */
function allThreadNanos(pid: number): Map<number, number> {
  const times = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      times.set(Number(tid), threadNanos(pid, Number(tid)));
    } catch {
      // the thread ended meanwhile
    }
  }
  return times;
}

function sumNanos(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [tid, t] of after) sum += t - (before.get(tid) ?? 0);
  return sum;
}

/** "12345 requests in 2.01s" from wrk's output. */
export function parseWrkCount(text: string): { requests: number; seconds: number } {
  const m = /(\d+) requests in ([\d.]+)(ms|s|m)\b/.exec(text);
  if (!m) throw new Error(`wrk printed no request count:\n${text}`);
  const scale = m[3] === 'ms' ? 1e-3 : m[3] === 'm' ? 60 : 1;
  return { requests: Number(m[1]), seconds: Number(m[2]) * scale };
}

export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

async function measureOnce(workers: number, o: MainThreadCpuOptions): Promise<CpuSample> {
  const server = await ServerProcess.start({ args: ['-w', String(workers), '--log-level', 'warning'] });
  try {
    const url = server.url + o.path;
    const wrk = (args: string[]) => run(WRK, ['-t1', `-c${o.connections}`, ...args, url], { maxBuffer: 1 << 20 });
    await wrk(['-d2s']); // warm-up: JIT, pools, connections
    const mainBefore = threadNanos(server.pid, server.pid);
    const allBefore = allThreadNanos(server.pid);
    const { stdout } = await wrk([`-d${o.seconds}s`]);
    const mainNanos = threadNanos(server.pid, server.pid) - mainBefore;
    const allNanos = sumNanos(allBefore, allThreadNanos(server.pid));
    const { requests, seconds } = parseWrkCount(stdout);
    return { workers, requests, seconds, mainMicrosPerRequest: mainNanos / 1000 / requests, processMicrosPerRequest: allNanos / 1000 / requests, requestsPerSecond: requests / seconds };
  } finally {
    await server.stop();
  }
}

/** Runs the measurement; undefined when wrk is not installed. */
export async function measureMainThreadCpu(options: Partial<MainThreadCpuOptions> = {}, log: (line: string) => void = () => {}): Promise<MainThreadCpuResult | undefined> {
  const o = { ...DEFAULTS, ...options };
  if (!existsSync(WRK)) return undefined;
  const samples: CpuSample[] = [];
  for (let r = 0; r < o.repeats; r++) {
    for (const w of o.workers) {
      const s = await measureOnce(w, o);
      log(`  -w ${w} run ${r + 1}: main thread ${s.mainMicrosPerRequest.toFixed(1)} us/request, all threads ${s.processMicrosPerRequest.toFixed(1)}, ${Math.round(s.requestsPerSecond)} req/s`);
      samples.push(s);
    }
  }
  const summary = o.workers.map((workers) => {
    const mine = samples.filter((s) => s.workers === workers);
    return {
      workers,
      runs: mine.length,
      mainMicrosPerRequest: spread(mine.map((s) => s.mainMicrosPerRequest)),
      processMicrosPerRequest: spread(mine.map((s) => s.processMicrosPerRequest)),
      requestsPerSecond: spread(mine.map((s) => s.requestsPerSecond)),
    };
  });
  return { generator: `wrk -t1 -c${o.connections}`, path: o.path, seconds: o.seconds, connections: o.connections, samples, summary };
}

const us = (s: Spread): string => `${s.median.toFixed(1)} (${s.min.toFixed(1)}-${s.max.toFixed(1)})`;

/** The lab job's least server CPU per request (issue 14's profile: kernel 154 us + HTTP floor 8; wrk adds 7). */
export const IDEAL_SERVER_MICROS = 162;
const GENERATOR_MICROS = 7;

/** `cores`: the machine's, to turn the server's CPU per request into the most answers a second it allows. */
export function mainThreadCpuText(r: MainThreadCpuResult, cores?: number): string {
  const lines = [
    `Server CPU per request, GET ${r.path}, ${r.seconds} s per run, ${r.generator}; median (min-max) of ${r.summary[0]?.runs ?? 0} interleaved runs`,
    '| -w | main thread us/request | all threads us/request | req/s |',
    '|---:|---:|---:|---:|',
  ];
  for (const s of r.summary) lines.push(`| ${s.workers} | ${us(s.mainMicrosPerRequest)} | ${us(s.processMicrosPerRequest)} | ${Math.round(s.requestsPerSecond.median)} (${Math.round(s.requestsPerSecond.min)}-${Math.round(s.requestsPerSecond.max)}) |`);
  if (cores !== undefined) {
    lines.push('');
    const budget = cores * 1e6;
    for (const s of r.summary) {
      const cpu = s.processMicrosPerRequest.median;
      const bound = budget / cpu;
      lines.push(
        `- \`-w ${s.workers}\`: the server's own CPU, ${cpu.toFixed(0)} us a request, allows at most ${cores} x 1,000,000 / ${cpu.toFixed(0)} = ${Math.round(bound).toLocaleString('en-US')} answers a second on ${cores} cores (the load generator's share not counted); it served ${Math.round(s.requestsPerSecond.median).toLocaleString('en-US')} (${Math.round((100 * s.requestsPerSecond.median) / bound)}% of that bound). ` +
          `The least the server could spend is ${IDEAL_SERVER_MICROS} us (kernel 154 + HTTP floor 8; with the generator's ${GENERATOR_MICROS}, ${Math.round(budget / (IDEAL_SERVER_MICROS + GENERATOR_MICROS)).toLocaleString('en-US')} a second, the ceiling): the ${(cpu - IDEAL_SERVER_MICROS).toFixed(0)} us a request above it are what keeps this run from that ceiling.`,
      );
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string' },
      repeats: { type: 'string' },
      workers: { type: 'string' },
      path: { type: 'string' },
      connections: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const positive = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be an integer >= 1 (got ${raw})`);
    return n;
  };
  const options: MainThreadCpuOptions = {
    seconds: positive('seconds', values.seconds, DEFAULTS.seconds),
    repeats: positive('repeats', values.repeats, DEFAULTS.repeats),
    workers: values.workers ? values.workers.split(',').map((w) => positive('workers', w, 1)) : DEFAULTS.workers,
    path: values.path ?? DEFAULTS.path,
    connections: positive('connections', values.connections, DEFAULTS.connections),
  };
  const result = await measureMainThreadCpu(options, (line) => process.stderr.write(line + '\n'));
  if (!result) {
    process.stderr.write(`${WRK} is not installed: nothing measured (apt-get install -y wrk)\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(mainThreadCpuText(result) + '\n');
  if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2) + '\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = 1;
  });
}
