// The bench's cluster section: mode=cluster with 1, 2 and 3 worker hosts
// (network namespaces as root, else 127.0.0.x) against the same jobs in
// mode=wasm (one thread) and mode=threads on the server itself, every answer
// checked. Per case: the request time, the bands per job, each band's trip
// (publish to result, the server's histogram) and its compute on the worker
// (the worker's kernel time, reported with the result), so the per-band
// overhead is trip minus compute; and the bytes through NATS per band (its
// /varz counters). On one machine the hosts share its cores, so adding hosts
// adds no compute: the model (clusterModel) turns the measured costs into the
// time of a job on N real hosts.

import { performance } from 'node:perf_hooks';
import { availableParallelism } from 'node:os';
import type { Dtype, Op } from '../../src/kernels/dtype.js';
import { binaryBody } from '../http/cases.js';
import { metricSum } from '../http/prometheus.js';
import { Reference } from '../http/reference.js';
import { ClusterHosts } from './cluster-hosts.js';
import { canUseNamespaces } from './network.js';
import { natsServerBinary } from './cluster-hosts.js';

export interface ClusterBenchCase {
  op: Op;
  method: 'GET' | 'POST';
  dtype: Dtype;
  n: number;
  /** Requests per measurement (each mode and host count), sequential, one connection. */
  requests: number;
}

/** Where cluster can pay (large matmul) and where it cannot (add), by GET (seed jobs) and POST (caller data). */
export const CLUSTER_CASES: ClusterBenchCase[] = [
  { op: 'add', method: 'GET', dtype: 'int32', n: 500, requests: 30 },
  { op: 'add', method: 'GET', dtype: 'int32', n: 4096, requests: 6 },
  { op: 'add', method: 'POST', dtype: 'int32', n: 1024, requests: 8 },
  { op: 'matmul', method: 'GET', dtype: 'float32', n: 1024, requests: 4 },
  { op: 'matmul', method: 'GET', dtype: 'float64', n: 1024, requests: 3 },
  { op: 'matmul', method: 'GET', dtype: 'float32', n: 2048, requests: 2 },
];
export const CLUSTER_QUICK_CASES: ClusterBenchCase[] = [
  { op: 'add', method: 'GET', dtype: 'int32', n: 500, requests: 10 },
  { op: 'add', method: 'POST', dtype: 'int32', n: 256, requests: 4 },
  { op: 'matmul', method: 'GET', dtype: 'float32', n: 512, requests: 2 },
];
export const CLUSTER_HOSTS = [1, 2, 3];
/** Threads of each worker host: a job is split into (hosts x this) bands. */
const WORKER_THREADS = 1;
/** Network speeds the model is given, in Gbit/s. */
export const MODEL_GBITS = [1, 10];
/** Host counts the model is computed for. */
export const MODEL_HOSTS = [2, 4, 8, 16];

export const caseLabel = (c: Pick<ClusterBenchCase, 'op' | 'method' | 'dtype' | 'n'>): string =>
  `${c.method === 'GET' ? `random+${c.op}` : `data ${c.op} (POST)`} ${c.dtype} n=${c.n}`;

export interface ClusterRow {
  case: string;
  /** 'wasm' and 'threads': the server alone (hosts 0); 'cluster': over `hosts` worker hosts. */
  mode: 'wasm' | 'threads' | 'cluster';
  hosts: number;
  requests: number;
  median_ms: number;
  min_ms: number;
  max_ms: number;
  /** Cluster only: bands per job, mean band trip (publish to result) and compute, and NATS bytes per band (publish + result). */
  bands_per_job: number | null;
  band_trip_ms: number | null;
  band_kernel_ms: number | null;
  bytes_per_band: number | null;
}

export interface ClusterSection {
  status: 'ok' | 'failed' | 'skipped';
  problem: string | null;
  /** Cases that failed (an answer not 200 or not the expected checksum): the section goes on without them. */
  case_problems: string[];
  network: 'netns' | 'loopback' | null;
  cores: number;
  worker_threads: number;
  rows: ClusterRow[];
  seconds: number;
}

interface Metered {
  times: number[];
  bands: number;
  tripSeconds: number;
  kernelSeconds: number;
  tripCount: number;
  natsBytes: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Request {
  path: string;
  init: RequestInit;
}

function requestOf(c: ClusterBenchCase, mode: string, ref: Reference): { req: Request; expected: string | null } {
  const shape = c.op === 'matmul' ? `n=${c.n}` : `rows=${c.n}&cols=${c.n}`;
  if (c.method === 'GET') return { req: { path: `/${c.op}?mode=${mode}&${shape}&dtype=${c.dtype}&seed=7`, init: {} }, expected: null };
  const a = ref.matrix(c.dtype, c.n, c.n, 7, 0);
  const b = ref.matrix(c.dtype, c.n, c.n, 7, 1);
  const expected = ref.run({ op: c.op, dtype: c.dtype, rows: c.n, cols: c.n, source: { kind: 'data', a, b }, output: 'summary' }).checksum;
  const body = new Uint8Array(binaryBody(a, b));
  return { req: { path: `/${c.op}?mode=${mode}&${shape}&dtype=${c.dtype}`, init: { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body } }, expected };
}

/** The checksum of an answer: the JSON field, or the header of a raw answer. */
async function checksumOf(res: Response): Promise<string | undefined> {
  const header = [...res.headers].find(([k]) => k.endsWith('checksum'))?.[1];
  const bytes = await res.arrayBuffer();
  if (header) return header;
  try {
    return (JSON.parse(Buffer.from(bytes).toString('utf8')) as { checksum?: string }).checksum;
  } catch {
    return undefined;
  }
}

async function histogram(c: ClusterHosts): Promise<{ trip: number; kernel: number; count: number; bands: number }> {
  const text = await c.metrics();
  return {
    trip: metricSum(text, 'wasmatrix_cluster_band_round_trip_seconds_sum') ?? 0,
    kernel: metricSum(text, 'wasmatrix_cluster_band_kernel_seconds_sum') ?? 0,
    count: metricSum(text, 'wasmatrix_cluster_band_round_trip_seconds_count') ?? 0,
    bands: metricSum(text, 'wasmatrix_cluster_bands_total', { outcome: 'sent' }) ?? 0,
  };
}

/** `count` sequential requests, each answer's checksum equal to `expected`; with the cluster's counters over them. */
async function meter(c: ClusterHosts, r: Request, expected: string, count: number, signal: AbortSignal): Promise<Metered> {
  const h0 = await histogram(c);
  const n0 = await c.natsTraffic();
  const times: number[] = [];
  for (let i = 0; i < count && !signal.aborted; i++) {
    const t0 = performance.now();
    const res = await fetch(c.url + r.path, { ...r.init, signal: AbortSignal.timeout(300_000) });
    const sum = await checksumOf(res);
    times.push(performance.now() - t0);
    if (res.status !== 200 || sum !== expected) throw new Error(`${r.path}: ${res.status}, checksum ${sum}, expected ${expected}`);
  }
  const h1 = await histogram(c);
  const n1 = await c.natsTraffic();
  return { times, bands: h1.bands - h0.bands, tripSeconds: h1.trip - h0.trip, kernelSeconds: h1.kernel - h0.kernel, tripCount: h1.count - h0.count, natsBytes: n1.in_bytes - n0.in_bytes };
}

function row(label: string, mode: ClusterRow['mode'], hosts: number, m: Metered): ClusterRow {
  const cluster = mode === 'cluster' && m.bands > 0;
  return {
    case: label,
    mode,
    hosts,
    requests: m.times.length,
    median_ms: median(m.times),
    min_ms: Math.min(...m.times),
    max_ms: Math.max(...m.times),
    bands_per_job: cluster ? m.bands / m.times.length : null,
    band_trip_ms: cluster && m.tripCount ? (m.tripSeconds / m.tripCount) * 1000 : null,
    band_kernel_ms: cluster && m.tripCount ? (m.kernelSeconds / m.tripCount) * 1000 : null,
    bytes_per_band: cluster ? m.natsBytes / m.bands : null,
  };
}

export interface ClusterSectionSettings {
  quick: boolean;
  signal: AbortSignal;
  log: (line: string) => void;
}

/** Runs the section; a failure is its status and problem, never a throw. */
export async function runClusterSection(s: ClusterSectionSettings): Promise<ClusterSection> {
  const t0 = performance.now();
  const base = { network: null, cores: availableParallelism(), worker_threads: WORKER_THREADS, rows: [] as ClusterRow[], case_problems: [] as string[] };
  if (!natsServerBinary()) return { ...base, status: 'skipped', problem: 'nats-server is not installed (Debian: apt-get install nats-server)', seconds: 0 };
  const cases = s.quick ? CLUSTER_QUICK_CASES : CLUSTER_CASES;
  const ref = new Reference();
  let c: ClusterHosts | undefined;
  const rows: ClusterRow[] = [];
  const problems: string[] = [];
  try {
    c = await ClusterHosts.start({ workers: Math.max(...CLUSTER_HOSTS), startWorkers: CLUSTER_HOSTS[0], netns: canUseNamespaces(), workerThreads: WORKER_THREADS, serverArgs: ['--threads', String(availableParallelism()), '--processes', '1', '--timeout', '300'], log: s.log });
    const expected = new Map<string, string>();
    for (const bc of cases) {
      const label = caseLabel(bc);
      for (const mode of ['wasm', 'threads'] as const) {
        const { req, expected: known } = requestOf(bc, mode, ref);
        const first = await fetch(c.url + req.path, req.init);
        const sum = known ?? (await checksumOf(first));
        if (known) await first.arrayBuffer();
        if (first.status !== 200 || !sum) throw new Error(`${req.path}: ${first.status}`);
        expected.set(label, sum);
        const r = row(label, mode, 0, await meter(c, req, sum, bc.requests, s.signal));
        rows.push(r);
        s.log(`cluster section: ${label} mode=${mode}: ${r.median_ms.toFixed(2)} ms`);
      }
    }
    for (const hosts of CLUSTER_HOSTS) {
      for (const w of c.workers.slice(0, hosts)) if (!w.process?.alive) await w.start();
      await c.waitForWorkers(hosts);
      for (const bc of cases) {
        const label = caseLabel(bc);
        const { req } = requestOf(bc, 'cluster', ref);
        let r: ClusterRow;
        try {
          await meter(c, req, expected.get(label)!, 1, s.signal); // warm: each host's kernels
          r = row(label, 'cluster', hosts, await meter(c, req, expected.get(label)!, bc.requests, s.signal));
        } catch (e) {
          problems.push(`${label} on ${hosts} hosts: ${(e as Error).message}`);
          s.log(`cluster section: ${problems.at(-1)}`);
          continue;
        }
        rows.push(r);
        s.log(`cluster section: ${label} on ${hosts} host${hosts === 1 ? '' : 's'}: ${r.median_ms.toFixed(2)} ms, ${r.bands_per_job} bands, trip ${r.band_trip_ms?.toFixed(2)} ms, compute ${r.band_kernel_ms?.toFixed(2)} ms, ${Math.round(r.bytes_per_band ?? 0)} B per band`);
      }
    }
    const problem = s.signal.aborted ? 'interrupted' : problems.length ? `${problems.length} case(s) failed: ${problems[0]}` : null;
    return { ...base, network: c.network.kind, status: problem ? 'failed' : 'ok', problem, case_problems: problems, rows, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    return { ...base, network: c?.network.kind ?? null, status: 'failed', problem: (e as Error).message, case_problems: problems, rows, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await c?.stop();
  }
}
