// One case, start to end: a full check of one answer per seed, a checked
// warm-up, then the measured run with latency and /proc sampling. Never
// throws: whatever goes wrong becomes the case's problems.

import type { BenchCase } from './cases.js';
import { LatencyRecorder } from './latency.js';
import { runLoad, type LoadPhase } from './load.js';
import { preflight, type Preflight } from './preflight.js';
import { ResourceSampler, treeRssMb } from './resource-sampler.js';
import { caseProblems, unmeasuredResult, type CaseResult } from './results.js';
import { Verification } from './verify.js';

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
}

export async function runCase(c: BenchCase, s: CaseSettings): Promise<CaseResult> {
  const verification = new Verification();
  const latency = new LatencyRecorder();
  let pre: Preflight = { problems: [], servedBy: { mode: null, workers: null, method: null } };
  let phase: LoadPhase | null = null;
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
        await runLoad(c, { ...load, seconds: s.warmup }, verification);
      }
      if (!s.signal.aborted) {
        s.onPhase('measure', s.duration);
        const sampler = new ResourceSampler(s.serverPid);
        sampler.start();
        try {
          phase = await runLoad(c, { ...load, seconds: s.duration }, verification, latency);
        } finally {
          const summary = sampler.stop();
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
    latency: phase ? latency.summary() : null,
    verification: tally,
    resources,
  };
}
