// `npm run bench`: every mode of the HTTP service against the pure-TS
// baseline, with every answer checked, CPU and memory of the whole service,
// the kernel benchmark folded in, and a report with charts.
//
//   node dist/bench/run.js [--quick] [--duration 10] [--connections 20] [--sizes 500,2048]
//        [--modes ts,wasm,...] [--url http://127.0.0.1:8000] [--server-args "-w 2"] ...
//
// See bench/http/options.ts for every option. Progress goes to stderr, the
// table to stdout, the files to bench/results/<date>-<hostname>/.

import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { buildCase, fixedSeeds, planCases, type BenchCase } from './http/cases.js';
import { runCase } from './http/case-runner.js';
import { allCharts } from './http/charts.js';
import { commandLine, interruptOnCtrlC, parseOrExit } from './http/cli.js';
import { conclusions, targets } from './http/conclusions.js';
import { runKernelBench, type KernelsSection } from './http/kernels-section.js';
import { describeMachine } from './http/machine.js';
import { parseBenchArgs, USAGE, type BenchOptions } from './http/options.js';
import { refreshLatest, resultsDirName, RESULTS_ROOT, writeResults } from './http/output.js';
import { findListeningPid } from './http/proc.js';
import { clock, Progress } from './http/progress.js';
import { Reference } from './http/reference.js';
import { addRatios, unmeasuredResult, type BenchRun, type CaseResult, type ServerInfo } from './http/results.js';
import { ServerProcess } from './http/server-process.js';
import { resultsText } from './http/table.js';
import { proxySectionText, runProxySection, type ProxySection } from './cluster/bench-section.js';
import { BENCH_STALL, measureStall, type StallResult } from './http/stall.js';
import { runClusterSection, type ClusterSection } from './cluster/cluster-bench.js';
import { clusterSectionText } from './cluster/cluster-bench-report.js';
import { LAB_CONFIGS, runLabJob, type LabJobSection } from './http/lab-job.js';
import { labJobText } from './http/lab-job-report.js';
import { wrkPresent } from './http/generator.js';
import { wholeSeconds } from './http/wrk.js';
import { LAB_JOB, LAB_JOB_QUICK } from './http/options.js';
import { MAIN_THREAD_CPU_FILE, mainThreadCpuText, measureMainThreadCpu, type MainThreadCpuResult } from './http/main-thread-cpu.js';

/** Seconds a case takes besides its load: the full check, connection set-up, the gap. */
const CASE_OVERHEAD_S = 0.5;
/** Seconds to start and stop the hosts and the proxy of one "through HAProxy" case, for the estimate only. */
const PROXY_SETUP_S = 4;
/** Rough length of the cluster section (its own processes started and stopped), for the estimate only. */
const CLUSTER_ESTIMATE_S = { full: 110, quick: 25 };
/** Seconds to start a server of "the lab's job" section and check its first answer, for the estimate only. */
const LAB_SETUP_S = 2;
/** Rough length of the kernel section, for the time-left estimate only. */
const KERNELS_ESTIMATE_S = { full: 335, quick: 5 };

/** Seconds one case takes, for the estimates: wrk runs whole seconds. */
const caseSeconds = (o: BenchOptions): number => (wrkPresent() && o.generator === 'auto' ? wholeSeconds(o.warmup) + wholeSeconds(o.duration) : o.warmup + o.duration) + CASE_OVERHEAD_S;

const progress = new Progress();
const controller = new AbortController();
let server: ServerProcess | undefined;

async function startServer(options: BenchOptions, info: ServerInfo): Promise<void> {
  progress.log(`starting the server: node dist/src/cli/main.js -b 127.0.0.1:0 ${options.serverArgs.join(' ')}`);
  try {
    server = await ServerProcess.start({ args: options.serverArgs });
    Object.assign(info, { url: server.url, pid: server.pid, start_line: server.startLine, simd: server.simd, problem: null });
    progress.log(`  ${server.startLine}`);
  } catch (e) {
    server = undefined;
    info.problem = (e as Error).message;
    progress.log(`the server did not start: ${info.problem}`);
  }
}

async function runCases(options: BenchOptions, cases: BenchCase[], info: ServerInfo, kernelsEstimate: number): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const perCase = caseSeconds(options);
  for (const [i, c] of cases.entries()) {
    if (controller.signal.aborted) break;
    const label = `[${i + 1}/${cases.length}] ${c.label} n=${c.n}`;
    const after = (cases.length - i - 1) * perCase + kernelsEstimate;
    // a server that died in an earlier case is reported there and started again here
    if (info.started_by_bench && !server?.alive) {
      if (server) progress.log(`  the server ended (${server.exitDescription}); starting it again`);
      await startServer(options, info);
    }
    const url = info.url;
    if (!url || (info.started_by_bench && !server)) {
      results.push(unmeasuredResult(c, [`no server: ${info.problem ?? 'not running'}`]));
      continue;
    }
    const result = await runCase(c, {
      url,
      serverPid: info.pid ?? undefined,
      connections: options.connections,
      warmup: options.warmup,
      duration: options.duration,
      timeout: options.timeout,
      signal: controller.signal,
      generator: options.generator,
      onPhase: (phase, seconds) => progress.phase(`${label} ${phase}`, seconds, after + (phase === 'warm-up' ? options.duration : 0)),
    });
    if (info.started_by_bench && server && !server.alive) {
      result.status = 'failed';
      result.problems.push(`the server ended during the case (${server.exitDescription}): ${server.outputTail(5)}`);
    }
    progress.done();
    progress.log(
      `${label}: ${result.status === 'ok' ? 'ok' : 'FAILED'} ${Math.round(result.requests_per_sec)} req/s, ` +
        `p99 ${result.latency?.p99_ms.toFixed(2) ?? '-'} ms, ${result.verification.checked} answers checked` +
        (result.problems.length ? ` (${result.problems[0]})` : ''),
    );
    results.push(result);
  }
  return results;
}

/** The stall measurement on the cases' server; a failure is reported and leaves it out, the run goes on. */
async function runStall(url: string): Promise<StallResult | null> {
  progress.log(`stall: /healthz while ${BENCH_STALL.connections} connections flood the largest ts and wasm jobs (${BENCH_STALL.probes} probes)`);
  try {
    const stall = await measureStall({ url, ...BENCH_STALL, signal: controller.signal });
    progress.log(`stall: /healthz p50 ${stall.healthz.p50_ms.toFixed(2)} ms, p99 ${stall.healthz.p99_ms.toFixed(2)} ms; lab job p99 ${stall.lab.p99_ms.toFixed(2)} ms`);
    return stall;
  } catch (error) {
    progress.log(`stall: not measured (${(error as Error).message})`);
    return null;
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const options = parseOrExit('bench', USAGE, parseBenchArgs, argv);
  if (!options) return;
  interruptOnCtrlC(controller, () => server, progress, 'the current case');
  const started = new Date();
  const plan = planCases(options.modes, options.sizes);
  const kernelsEstimate = options.kernels ? (options.quick ? KERNELS_ESTIMATE_S.quick : KERNELS_ESTIMATE_S.full) : 0;
  const proxyCases = options.proxyHosts.length + (options.proxyHosts.includes(1) ? 1 : 0);
  const proxyEstimate = proxyCases * caseSeconds(options) + options.proxyHosts.length * PROXY_SETUP_S;
  const clusterEstimate = options.cluster ? (options.quick ? CLUSTER_ESTIMATE_S.quick : CLUSTER_ESTIMATE_S.full) : 0;
  const lab = options.quick ? LAB_JOB_QUICK : LAB_JOB;
  const labEstimate = options.labRounds
    ? (options.quick ? 2 : LAB_CONFIGS.length) * (lab.warmup + lab.searchSeconds + LAB_SETUP_S) + options.labRounds * 4 * (lab.warmup + lab.seconds + CASE_OVERHEAD_S) + 4 * LAB_SETUP_S
    : 0;
  const total = plan.length * caseSeconds(options) + labEstimate + proxyEstimate + clusterEstimate + kernelsEstimate;
  progress.log(`bench: ${plan.length} cases x (${options.warmup} s warm-up + ${options.duration} s), ${options.connections} connections; about ${clock(total)}`);

  progress.log('computing the expected answers with the pure-TS reference');
  const ref = new Reference();
  const seeds = fixedSeeds(options.seeds);
  const cases = plan.map(({ kind, n }) => buildCase(kind, n, options.dtype, seeds, ref));

  const info: ServerInfo = { started_by_bench: options.url === null, url: options.url, pid: null, args: options.serverArgs, start_line: null, simd: null, problem: null };
  if (options.url === null) await startServer(options, info);
  else {
    info.pid = findListeningPid(Number(new URL(options.url).port || 80)) ?? null;
    progress.log(`measuring ${options.url}${info.pid ? ` (pid ${info.pid})` : ' (its pid was not found: CPU and memory not measured)'}`);
  }

  let results: CaseResult[] = [];
  let kernels: KernelsSection | null = null;
  let proxy: ProxySection | null = null;
  let stall: StallResult | null = null;
  let cluster: ClusterSection | null = null;
  let labJob: LabJobSection | null = null;
  try {
    results = addRatios(await runCases(options, cases, info, proxyEstimate + clusterEstimate + kernelsEstimate));
    if (options.stall && info.url && !controller.signal.aborted && (!info.started_by_bench || server?.alive)) stall = await runStall(info.url);
  } finally {
    if (server) {
      progress.log('stopping the server');
      await server.stop();
    }
  }
  if (options.labRounds && !controller.signal.aborted) {
    progress.log(`the lab's job, like with like: /threading n=500 on wasmatrix -w 1 and -w 2, the lab's best Gunicorn configuration and node:http; ${options.labRounds} rounds`);
    labJob = await runLabJob(
      { ...lab, rounds: options.labRounds, connections: options.connections, timeout: options.timeout, serverArgs: options.serverArgs, shortSearch: options.quick, signal: controller.signal, log: (line) => progress.log(`  ${line}`) },
      ref,
    );
    if (labJob.problem) progress.log(`the lab's job: ${labJob.problem}`);
  }
  if (options.proxyHosts.length && !controller.signal.aborted) {
    progress.log(`through HAProxy: /threading direct, then through the proxy with ${options.proxyHosts.join(', ')} hosts`);
    proxy = await runProxySection({
      options,
      ref,
      signal: controller.signal,
      onPhase: (label, phase, seconds) => progress.phase(`through HAProxy: ${label} ${phase}`, seconds, clusterEstimate + kernelsEstimate),
      log: (line) => progress.log(`  ${line}`),
    });
    progress.done();
    progress.log(`through HAProxy: ${proxy.status}${proxy.problem ? ` (${proxy.problem.split('\n')[0]})` : ''}`);
  }
  if (options.cluster && !controller.signal.aborted) {
    progress.phase('cluster: mode=cluster on 1, 2, 3 worker hosts (they share these cores)', clusterEstimate, kernelsEstimate);
    cluster = await runClusterSection({ quick: options.quick, signal: controller.signal, log: (line) => progress.log(`  ${line}`) });
    progress.done();
    progress.log(`cluster: ${cluster.status}${cluster.problem ? ` (${cluster.problem.split('\n')[0]})` : ''}, ${Math.round(cluster.seconds)} s`);
  }
  if (options.kernels && !controller.signal.aborted) {
    progress.phase('kernels without HTTP (bench:kernels)', kernelsEstimate, 0);
    kernels = await runKernelBench(options.kernelsArgs, controller.signal, () => {});
    progress.done();
    progress.log(`kernels without HTTP: ${kernels.status}${kernels.problem ? ` (${kernels.problem.split('\n')[0]})` : ''}, ${Math.round(kernels.seconds)} s`);
  }

  // the server's CPU per request, main thread apart (bench/http/main-thread-cpu.ts): fresh servers of its own
  let cpu: MainThreadCpuResult | undefined;
  if (options.url === null && !controller.signal.aborted) {
    progress.log('CPU per request: GET /threading on -w 1 and -w 2 servers, interleaved');
    try {
      cpu = await measureMainThreadCpu(options.quick ? { repeats: 1, seconds: 2 } : {}, (line) => progress.log(line));
      if (!cpu) progress.log('CPU per request: not measured (wrk is not installed)');
    } catch (error) {
      progress.log(`CPU per request: not measured (${(error as Error).message})`);
    }
  }

  const partial = { cases: results, kernels, options, stall, lab_job: labJob };
  const run: BenchRun = {
    schema: 1,
    started_at: started.toISOString(),
    finished_at: new Date().toISOString(),
    interrupted: controller.signal.aborted,
    command: commandLine('bench', argv),
    options,
    machine: describeMachine(info.simd),
    server: info,
    cases: results,
    kernels,
    proxy,
    stall,
    cluster,
    lab_job: labJob,
    conclusions: conclusions(partial),
    targets: targets(partial),
  };
  const dir = options.out ?? join(RESULTS_ROOT, resultsDirName(started, hostname()));
  const charts = allCharts(results);
  writeResults(dir, run, charts);
  if (cpu) writeFileSync(join(dir, MAIN_THREAD_CPU_FILE), `${JSON.stringify(cpu, null, 2)}\n`);
  if (options.latest && !run.interrupted) refreshLatest(dir);

  process.stdout.write(`\n${resultsText(results)}\n\n`);
  if (labJob?.contenders.length) process.stdout.write(`${labJobText(labJob)}\n\n`);
  if (proxy) process.stdout.write(`${proxySectionText(proxy)}\n\n`);
  if (cluster) process.stdout.write(`${clusterSectionText(cluster)}\n\n`);
  if (cpu) process.stdout.write(`${mainThreadCpuText(cpu)}\n\n`);
  for (const line of run.conclusions) process.stdout.write(`- ${line}\n`);
  process.stdout.write('\n');
  for (const t of run.targets) process.stdout.write(`target ${t.met === null ? '(not measured)' : t.met ? 'MET' : 'MISSED'}: ${t.name}: ${t.goal}; measured ${t.measured}\n`);
  process.stdout.write(`\nreport: ${join(dir, 'report.md')}${options.latest && !run.interrupted ? ' (also bench/results/latest/)' : ''}\n`);
  if (options.latest && !run.interrupted) process.stdout.write('the docs quote bench/results/latest/: run npm run docs:figures to update their figures\n');
  if (run.interrupted) process.exitCode = 130;
  else if (results.some((r) => r.status === 'failed') || info.problem || proxy?.status === 'failed' || cluster?.status === 'failed') process.exitCode = 1;
}

main().then(
  // everything is written (synchronously) by now; autocannon leaves its clients' 10 s request-timeout
  // timers behind, which would keep the process alive for 10 s more doing nothing
  () => process.exit(),
  async (error: unknown) => {
    progress.done();
    console.error(error instanceof Error ? error.stack : error);
    await server?.stop();
    process.exitCode = 1;
  },
);
