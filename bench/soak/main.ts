// `npm run soak`: the service under sustained load on every route and mode at
// once while a chaos loop kills one kernel worker a second, with a ledger of
// every request sent. It fails (exit 1) on any wrong answer, any status
// outside the documented 503/504 set, any connection error or unanswered
// request, a non-zero server exit on SIGTERM, a process of the server that
// outlives it, or RSS growth past RSS_GROWTH_LIMIT_BYTES (verdict.ts).
//
//   node dist/bench/soak/main.js [--duration 60] [--connections 4] [--seed 1] ...
//
// Progress goes to stderr, the table to stdout, the summary to
// bench/results/soak-latest.{json,md}.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { commandLine, interruptOnCtrlC, parseOrExit } from '../http/cli.js';
import type { LatencyRecorder, LatencySummary } from '../http/latency.js';
import { preflight } from '../http/preflight.js';
import { readMemory } from '../http/proc.js';
import { Progress } from '../http/progress.js';
import { Reference } from '../http/reference.js';
import { ResourceSampler, type ResourceSummary } from '../http/resource-sampler.js';
import { ServerProcess } from '../http/server-process.js';
import { Chaos, ProcessWatch } from './chaos.js';
import { Ledger } from './ledger.js';
import { buildMix, picker, seededRandom, type Mix } from './mix.js';
import { GRACEFUL_TIMEOUT_S, JOB_TIMEOUT_S, parseSoakArgs, SERVER_ARGS, USAGE, WARMUP_S, type SoakOptions } from './options.js';
import { soakMarkdown, soakText, toMb, type SoakRun } from './report.js';
import { fetchRestarts, type Restarts } from './restarts.js';
import { rssLimitText, verdict } from './verdict.js';
import { runWindow } from './window.js';

/** Requests per second assumed for the first window's size, before any is measured. */
const FIRST_GUESS_RPS = 40;
/** After the load, time for the pools to replace the last workers killed, before /metrics is read. */
const SETTLE_MS = 1000;
/** After the server exits, time its pool processes get to notice and exit too. */
const CHILD_EXIT_GRACE_MS = 2000;

const progress = new Progress();
const controller = new AbortController();
let server: ServerProcess | undefined;

/** One answer per request of the mix, checked in full, before any load or kill. */
async function checkFirstAnswers(mix: Mix, url: string): Promise<string[]> {
  const problems: string[] = [];
  for (const c of mix.cases) {
    const pre = await preflight(c, url);
    problems.push(...pre.problems.map((p) => `first answer of ${c.id}: ${p}`));
  }
  return problems;
}

interface LoadOutcome {
  seconds: number;
  rssWarm: number | undefined;
  /** Server RSS in MB after each window: [seconds since the load started, MB]. */
  rssTimeline: [number, number][];
  kills: Chaos['kills'];
  /** The hard deadline cut the load short. */
  cut: boolean;
}

/** Windows of a fixed number of requests until `duration` has passed; the chaos starts after WARMUP_S. */
async function runLoad(o: SoakOptions, mix: Mix, url: string, pid: number, ledger: Ledger, latency: Map<string, LatencyRecorder>, watch: ProcessWatch): Promise<LoadOutcome> {
  const random = seededRandom(o.seed);
  const next = picker(mix, random);
  const chaos = new Chaos(pid, watch, random, o.chaosInterval * 1000);
  const t0 = performance.now();
  const elapsed = (): number => (performance.now() - t0) / 1000;
  // a hung server cannot hold the soak forever: each request times out, and the whole load is cut here
  const deadline = AbortSignal.timeout((o.duration + 4 * JOB_TIMEOUT_S + 30) * 1000);
  const signal = AbortSignal.any([controller.signal, deadline]);
  let rate = FIRST_GUESS_RPS;
  let seconds = 0;
  let rssWarm: number | undefined;
  const rssTimeline: [number, number][] = [];
  try {
    let chaosOn = false;
    while (!signal.aborted) {
      const left = o.duration - elapsed();
      if (left <= 0.05) break;
      if (!chaosOn && elapsed() >= WARMUP_S) {
        rssWarm = readMemory(pid)?.rss;
        progress.log(`warm-up done: ${Math.round(rate)} answers/s, server RSS ${Math.round((rssWarm ?? 0) / 2 ** 20)} MB; chaos on`);
        chaos.start();
        chaosOn = true;
      }
      const target = Math.round(Math.min(chaosOn ? o.window : WARMUP_S - elapsed(), left) * 10) / 10;
      const amount = Math.max(o.connections, Math.round(rate * target));
      progress.phase(`${chaosOn ? 'chaos' : 'warm-up'}: window ${ledger.summary().windows + 1}, ${amount} requests`, target, Math.max(0, left - target));
      const w = await runWindow({ url, connections: o.connections, amount, timeoutSeconds: JOB_TIMEOUT_S + 5, signal, next, ledger, latency });
      seconds += w.seconds;
      if (w.answered > 0) rate = w.answered / w.seconds;
      if (w.unanswered || w.errors) progress.log(`  window: ${w.unanswered} unanswered, ${w.errors} connection errors (${w.timeouts} timeouts)`);
      const rss = readMemory(pid)?.rss;
      if (rss !== undefined) rssTimeline.push([Math.round(elapsed() * 10) / 10, Math.round(rss / 2 ** 20)]);
      watch.sample();
    }
  } finally {
    chaos.stop();
    progress.done();
  }
  return { seconds, rssWarm, rssTimeline, kills: chaos.kills, cut: deadline.aborted };
}

/** SIGTERM, then the wait for the exit and for its pool processes to go; returns what was left. */
async function stopServer(s: ServerProcess, watch: ProcessWatch): Promise<{ seconds: number | null; serverAlive: boolean; leaked: string[] }> {
  const t0 = performance.now();
  s.child.kill('SIGTERM');
  await Promise.race([s.exited, sleep((GRACEFUL_TIMEOUT_S + 5) * 1000, undefined, { ref: false })]);
  const seconds = s.alive ? null : (performance.now() - t0) / 1000;
  const deadline = performance.now() + CHILD_EXIT_GRACE_MS;
  let leaked = watch.survivors();
  while (leaked.length && performance.now() < deadline) {
    await sleep(100);
    leaked = watch.survivors();
  }
  const serverAlive = s.alive;
  await s.stop(); // cleans up whatever is left (SIGKILL to its process group), after it was counted
  return { seconds, serverAlive, leaked };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const o = parseOrExit('soak', USAGE, parseSoakArgs, argv);
  if (!o) return;
  interruptOnCtrlC(controller, () => server, progress, 'the load');
  const started = new Date();
  progress.log(`soak: ${o.duration} s of load, ${o.connections} connections, a kill every ${o.chaosInterval} s after a ${WARMUP_S} s warm-up; ${rssLimitText}`);
  progress.log('computing the expected answers with the pure-TS reference');
  const mix = buildMix(new Reference());

  const args = [...SERVER_ARGS, ...o.serverArgs];
  const ledger = new Ledger();
  const latency = new Map<string, LatencyRecorder>();
  const setupProblems: string[] = [];
  let load: LoadOutcome = { seconds: 0, rssWarm: undefined, rssTimeline: [], kills: { thread: 0, process: 0 }, cut: false };
  let rssStart: number | undefined;
  let rssEnd: number | undefined;
  let restarts: Restarts | undefined;
  let resources: ResourceSummary | null = null;
  let stop: Awaited<ReturnType<typeof stopServer>> = { seconds: null, serverAlive: false, leaked: [] };
  let watch: ProcessWatch | undefined;

  progress.log(`starting the server: node dist/src/cli/main.js -b 127.0.0.1:0 ${args.join(' ')}`);
  try {
    server = await ServerProcess.start({ args, graceMs: (GRACEFUL_TIMEOUT_S + 5) * 1000 });
  } catch (e) {
    setupProblems.push(`the server did not start: ${(e as Error).message}`);
  }
  if (server) {
    progress.log(`  ${server.startLine}`);
    watch = new ProcessWatch(server.pid);
    watch.sample();
    rssStart = readMemory(server.pid)?.rss;
    progress.log(`checking one answer of each of the ${mix.cases.length} cases in full`);
    setupProblems.push(...(await checkFirstAnswers(mix, server.url)));
    const sampler = new ResourceSampler(server.pid, 500);
    sampler.start();
    try {
      load = await runLoad(o, mix, server.url, server.pid, ledger, latency, watch);
    } catch (e) {
      setupProblems.push(`the load failed: ${(e as Error).stack}`);
    } finally {
      resources = sampler.stop();
    }
    await sleep(SETTLE_MS);
    watch.sample();
    restarts = await fetchRestarts(server.url);
    rssEnd = readMemory(server.pid)?.rss;
    if (!server.alive) setupProblems.push(`the server ended during the soak (${server.exitDescription}): ${server.outputTail(10)}`);
    progress.log('stopping the server (SIGTERM)');
    stop = await stopServer(server, watch);
  }
  if (controller.signal.aborted) setupProblems.push('interrupted (Ctrl-C)');
  if (load.cut) setupProblems.push('the load was cut short by the hard deadline (the server stopped answering?)');

  const summary = ledger.summary();
  const exit = server?.exitStatus;
  const facts = {
    ledger: summary,
    exit: stop.seconds === null ? undefined : exit,
    serverAlive: stop.serverAlive,
    leaked: stop.leaked,
    rss: load.rssWarm !== undefined && rssEnd !== undefined ? { warm: load.rssWarm, end: rssEnd } : undefined,
    kills: load.kills,
    restarts,
    setupProblems,
  };
  const failures = verdict(facts);
  const run: SoakRun = {
    schema: 1,
    started_at: started.toISOString(),
    finished_at: new Date().toISOString(),
    command: commandLine('soak', argv),
    options: o,
    server: {
      args,
      start_line: server?.startLine ?? null,
      pid: server?.pid ?? null,
      exit: server ? (stop.seconds === null ? 'still running after the graceful timeout' : server.exitDescription) : 'not started',
      stop_seconds: stop.seconds,
    },
    load_seconds: load.seconds,
    requests_per_sec: load.seconds > 0 ? summary.answered / load.seconds : 0,
    ledger: summary,
    latency: Object.fromEntries([...latency].map(([route, r]): [string, LatencySummary] => [route, r.summary()])),
    kills: load.kills,
    restarts: restarts ?? null,
    rss_mb: { start: toMb(rssStart), warm: toMb(load.rssWarm), end: toMb(rssEnd), after_each_window: load.rssTimeline },
    rss_rule: rssLimitText,
    resources,
    processes_seen: watch?.seenCount ?? 0,
    leaked: stop.leaked,
    failures,
    passed: failures.length === 0,
  };
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(`${o.out}.json`, `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(`${o.out}.md`, soakMarkdown(run));
  process.stdout.write(`\n${soakText(run)}\n\nsummary: ${o.out}.md, ${o.out}.json\n`);
  if (server && !run.passed) process.stderr.write(`\nlast lines of the server:\n${server.outputTail(15)}\n`);
  process.exitCode = controller.signal.aborted ? 130 : run.passed ? 0 : 1;
}

main().catch(async (error: unknown) => {
  progress.done();
  console.error(error instanceof Error ? error.stack : error);
  await server?.stop();
  process.exitCode = 1;
});
