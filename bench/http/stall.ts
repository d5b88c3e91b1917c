// "No request can stall the server", measured: while `connections` clients
// flood the largest ts and wasm jobs the server accepts (they run on its local
// kernel thread, not on the thread that accepts connections), one client asks
// /healthz again and again and a second one the lab's job; their latency is
// what any other client of a busy server sees. The goal is /healthz p99 under
// 20 ms; test/http-stall checks a generous bound, this reports the figure.

import { performance } from 'node:perf_hooks';
import { int, ms } from './format.js';
import { markdownTable } from './table.js';

/** What npm run bench measures: 8 flooding connections, the largest job (--max-n 4096), 300 probes. */
export const BENCH_STALL = { connections: 8, n: 4096, probes: 300 } as const;
/** The goal for /healthz while the flood runs. */
export const STALL_TARGET_P99_MS = 20;

export interface StallOptions {
  url: string;
  /** Flooding clients, half on mode=ts, half on mode=wasm. */
  connections: number;
  /** The flood's job: n x n float64, the largest the server accepts by default (--max-n 4096). */
  n: number;
  /** Probes of /healthz. */
  probes: number;
  signal?: AbortSignal;
}

export interface ProbeSummary {
  count: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Answers that were not 200. */
  failed: number;
}

export interface StallResult {
  connections: number;
  flood_path: string;
  flood_jobs: number;
  flood_failed: number;
  healthz: ProbeSummary;
  /** GET /threading?n=500 in the thread pool, one in ten probes. */
  lab: ProbeSummary;
}

function summarize(ms: number[], failed: number): ProbeSummary {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { count: ms.length, p50_ms: at(0.5), p99_ms: at(0.99), max_ms: sorted[sorted.length - 1] ?? 0, failed };
}

async function timed(url: string): Promise<{ ms: number; ok: boolean }> {
  const t0 = performance.now();
  const r = await fetch(url);
  await r.arrayBuffer();
  return { ms: performance.now() - t0, ok: r.status === 200 };
}

export async function measureStall({ url, connections, n, probes, signal }: StallOptions): Promise<StallResult> {
  let flooding = true;
  let floodJobs = 0;
  let floodFailed = 0;
  const path = (mode: string, seed: number) => `/add?mode=${mode}&n=${n}&dtype=float64&seed=${seed}`;
  const flood = Array.from({ length: connections }, async (_, c) => {
    for (let i = 0; flooding && !signal?.aborted; i++) {
      const { ok } = await timed(url + path(c % 2 ? 'wasm' : 'ts', c * 100000 + i));
      floodJobs++;
      if (!ok) floodFailed++;
    }
  });
  // let the flood reach the server before probing
  await new Promise((r) => setTimeout(r, 500));
  const health: number[] = [];
  const lab: number[] = [];
  let healthFailed = 0;
  let labFailed = 0;
  try {
    for (let i = 0; i < probes && !signal?.aborted; i++) {
      const h = await timed(`${url}/healthz`);
      health.push(h.ms);
      if (!h.ok) healthFailed++;
      if (i % 10 === 0) {
        const l = await timed(`${url}/threading?n=500&seed=${i}`);
        lab.push(l.ms);
        if (!l.ok) labFailed++;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    flooding = false;
    await Promise.all(flood);
  }
  return {
    connections,
    flood_path: `${path('ts|wasm', 0).replace(/&seed=0$/, '')}`,
    flood_jobs: floodJobs,
    flood_failed: floodFailed,
    healthz: summarize(health, healthFailed),
    lab: summarize(lab, labFailed),
  };
}

/** The stall measurement as Markdown (report.md and docs/benchmarks.md). */
export function stallMarkdown(stall: StallResult | null | undefined): string[] {
  if (stall === undefined) return ['Not in this result (it predates the stall measurement): run `npm run bench`.'];
  if (stall === null) return ['Not run (`--no-stall`, or no server).'];
  const row = (what: string, p: ProbeSummary): string[] => [what, int(p.count), ms(p.p50_ms), ms(p.p99_ms), ms(p.max_ms), int(p.failed)];
  return [
    `While ${stall.connections} connections flood \`${stall.flood_path}\` (half \`ts\`, half \`wasm\`: the local kernel thread; ${int(stall.flood_jobs)} flood jobs, ${int(stall.flood_failed)} not 200), one client asks \`/healthz\` again and again, and one in ten probes \`GET /threading?n=500\`:`,
    '',
    markdownTable(['probe', 'count', 'p50 ms', 'p99 ms', 'max ms', 'not 200'], [row('/healthz', stall.healthz), row('/threading n = 500', stall.lab)], new Set([1, 2, 3, 4, 5])),
  ];
}
