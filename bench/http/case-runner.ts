// One case, start to end: a full check of one answer per seed, a checked
// warm-up, then the measured run with latency and /proc sampling. Never
// throws: whatever goes wrong becomes the case's problems.

import type { BenchCase } from './cases.js';
import { pickGenerator, wrkPresent } from './generator.js';
import { LatencyRecorder, type LatencySummary } from './latency.js';
import { runLoad, type LoadPhase } from './load.js';
import { preflight, type Preflight } from './preflight.js';
import { ResourceSampler, treeRssMb, type ResourceSummary } from './resource-sampler.js';
import { caseProblems, unmeasuredResult, type CaseResult, type GeneratorInfo } from './results.js';
import { Verification } from './verify.js';
import { runWrk, wrkLatency, wrkPhase, type WrkCheck } from './wrk.js';

export interface CaseSettings {
  url: string;
  /** The server's pid, for /proc sampling; undefined when unknown. */
  serverPid: number | undefined;
  connections: number;
  warmup: number;
  duration: number;
  timeout: number;
  signal: AbortSignal;
  /** Called as each phase starts. */
  onPhase: (phase: 'warm-up' | 'measure', seconds: number) => void;
  /** 'autocannon': never wrk (default: wrk for the GET cases when it is installed, see generator.ts). */
  generator?: 'auto' | 'autocannon';
}

/** One phase with the case's generator: what it measured, its latency (measured phase) and its CPU. */
interface Measured {
  phase: LoadPhase;
  latency: LatencySummary | null;
  /** wrk's CPU, % of one core (null for autocannon: it is the benchmark's own process). */
  wrkCpuPct: number | null;
}

async function phaseWith(
  tool: GeneratorInfo['tool'],
  c: BenchCase,
  load: { url: string; connections: number; timeoutSeconds: number; signal: AbortSignal; seconds: number },
  verification: Verification,
  latency: LatencyRecorder | undefined,
): Promise<Measured> {
  if (tool === 'autocannon') {
    const phase = await runLoad(c, load, verification, latency);
    return { phase, latency: latency ? latency.summary() : null, wrkCpuPct: null };
  }
  const check: WrkCheck = { kind: 'checksum', expected: new Map(c.requests.map((r) => [r.seed, r.expected])) };
  const run = await runWrk({ paths: c.requests.map((r) => r.path), check }, load);
  const r = run.report;
  verification.recordCounts(r.right, r.wrong, r.example);
  return { phase: wrkPhase(r), latency: wrkLatency(r), wrkCpuPct: run.cpu_pct };
}

/** The sampler's summary with wrk's CPU counted as the load generator's, not as "other processes". */
function withWrkCpu(summary: ResourceSummary, wrkCpuPct: number | null): ResourceSummary {
  if (wrkCpuPct === null) return summary;
  const loadgen = summary.loadgen_cpu_pct + wrkCpuPct;
  return { ...summary, loadgen_cpu_pct: loadgen, other_cpu_pct: Math.max(0, summary.machine_cpu_pct - summary.server_cpu_pct - loadgen) };
}

export async function runCase(c: BenchCase, s: CaseSettings): Promise<CaseResult> {
  const verification = new Verification();
  const latency = new LatencyRecorder(); // autocannon's response times (wrk keeps its own histogram)
  let pre: Preflight = { problems: [], servedBy: { mode: null, workers: null, method: null } };
  let phase: LoadPhase | null = null;
  let measuredLatency: LatencySummary | null = null;
  const picked = pickGenerator(c, s.generator !== 'autocannon' && wrkPresent());
  const generator: GeneratorInfo = { ...picked, cpu_pct: null };
  let resources: CaseResult['resources'] = null;
  const problems: string[] = [];
  // the level this case starts from: what earlier cases left the one server holding
  const rssBefore = s.serverPid === undefined ? null : treeRssMb(s.serverPid);
  try {
    pre = await preflight(c, s.url);
    if (pre.problems.length === 0) {
      const load = { url: s.url, connections: s.connections, timeoutSeconds: s.timeout, signal: s.signal };
      if (s.warmup > 0 && !s.signal.aborted) {
        s.onPhase('warm-up', s.warmup);
        await phaseWith(generator.tool, c, { ...load, seconds: s.warmup }, verification, undefined);
      }
      if (!s.signal.aborted) {
        s.onPhase('measure', s.duration);
        const sampler = new ResourceSampler(s.serverPid);
        sampler.start();
        let wrkCpu: number | null = null;
        try {
          const m = await phaseWith(generator.tool, c, { ...load, seconds: s.duration }, verification, latency);
          ({ phase, latency: measuredLatency } = m);
          wrkCpu = m.wrkCpuPct;
        } finally {
          const summary = withWrkCpu(sampler.stop(), wrkCpu);
          generator.cpu_pct = wrkCpu ?? summary.loadgen_cpu_pct;
          // the start reading is a sample of the case too: its peak is never below it
          resources = s.serverPid === undefined ? null : { ...summary, rss_start_mb: rssBefore ?? summary.rss_start_mb, rss_peak_mb: Math.max(summary.rss_peak_mb, rssBefore ?? 0) };
        }
      }
    }
  } catch (e) {
    problems.push(`the case could not run: ${(e as Error).message}`);
  }
  if (s.signal.aborted) problems.push('interrupted');
  const tally = verification.toJSON();
  problems.unshift(...caseProblems(pre.problems, tally, phase));
  return {
    ...unmeasuredResult(c, problems),
    served_by: pre.servedBy,
    requests_per_sec: phase && phase.seconds > 0 ? phase.responses / phase.seconds : 0,
    responses: phase?.responses ?? 0,
    seconds: phase?.seconds ?? 0,
    errors: phase?.errors ?? 0,
    timeouts: phase?.timeouts ?? 0,
    non2xx: phase?.non2xx ?? 0,
    status_codes: phase?.statusCodes ?? {},
    latency: phase ? measuredLatency : null,
    verification: tally,
    resources,
    generator,
  };
}
