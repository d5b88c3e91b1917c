// The failover run: 3 hosts behind HAProxy under sustained load, every answer
// verified against the pure-TS reference (the soak's ledger and checks), while
// one host's whole process group is SIGKILLed and restarted, another host's
// link is taken down and back up (network namespaces only), and every host is
// restarted in turn (SIGTERM, drain, out of the check, start, back in).
// Before each fault the host's pool is held until a request is in flight on
// it (test hooks), so each fault surely hits requests in flight. Each phase
// keeps its own ledger: requests sent, verified 200s, the proxy's retries and
// 5xx, connection errors and requests never answered. Nothing may fail.

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LatencyRecorder } from '../http/latency.js';
import { Reference } from '../http/reference.js';
import type { LedgerSummary } from '../soak/ledger.js';
import { Ledger } from '../soak/ledger.js';
import { buildMix, picker, seededRandom, type Mix, type RouteSpec } from '../soak/mix.js';
import { runWindow } from '../soak/window.js';
import { proxyVersion } from './proxy.js';
import { isDown, isUp, Replicas, type Host } from './replicas.js';

/**
 * Every route of the service, small jobs (ms each on 2 shared cores), and
 * uploads that fit HAProxy's buffer (16 kB: tune.bufsize), which is what a
 * request must fit for HAProxy to send it again (L7 retries).
 */
export const FAILOVER_ROUTES: RouteSpec[] = [
  { kind: 'threading', sizes: [64, 256] },
  { kind: 'multiprocessing', sizes: [64, 256] },
  { kind: 'wasm', sizes: [64, 256] },
  { kind: 'post-binary', sizes: [8, 16] },
  { kind: 'post-json', sizes: [8, 16] },
];

/** The hosts' --timeout: a job past it is a 504 (a failure here); the proxy waits 5 s longer for a host. */
export const HOST_TIMEOUT_S = 3;
export const HOST_ARGS = ['--threads', '1', '--processes', '1', '--timeout', String(HOST_TIMEOUT_S), '--graceful-timeout', '10'];
const HOSTS = 3;
const WARMUP_S = 3;
const COOLDOWN_S = 2;
/** Target seconds of one load window (a fixed number of requests). */
const WINDOW_S = 1;
/** Bound of every wait for an observable state (a check state, a hold, an exit). */
const STEP_MS = 40_000;

export interface FailoverOptions {
  netns: boolean;
  connections: number;
  seed: number;
  log: (line: string) => void;
  signal: AbortSignal;
}

/** One phase's share of the run. */
export interface PhaseRecord {
  name: string;
  seconds: number;
  /** Requests sent and answers received during the phase (a request may be answered in the next one). */
  sent: number;
  verified: number;
  /** Answers that were not a verified 200 (wrong, a 5xx, any other status). */
  failed: number;
  unanswered: number;
  connectionErrors: number;
  /** The proxy's retries and redispatches, and its 5xx answers. */
  retries: number;
  responses5xx: number;
  /** What happened, e.g. "host2: DOWN 2.1 s after the kill". */
  facts: string[];
  problems: string[];
}

export interface FailoverRun {
  schema: 1;
  started_at: string;
  finished_at: string;
  command: string;
  network: 'netns' | 'loopback';
  proxy: { kind: 'haproxy'; version: string | null };
  hosts: number;
  host_args: string[];
  connections: number;
  load_seconds: number;
  answers_per_sec: number;
  phases: PhaseRecord[];
  ledger: LedgerSummary;
  /** The proxy's totals over the run. */
  proxy_totals: { requests: number; retries: number; responses5xx: number };
  failures: string[];
  passed: boolean;
}

interface Snapshot {
  t: number;
  ledger: LedgerSummary;
  retries: number;
  responses5xx: number;
}

const requests = (n: number): string => `${n} request${n === 1 ? '' : 's'}`;
const failedOf = (l: LedgerSummary): number => l.wrong + l.undocumented + Object.values(l.documented).reduce((a, b) => a + b, 0);

class Scenario {
  readonly phases: PhaseRecord[] = [];
  readonly #r: Replicas;
  readonly #ledger: Ledger;
  readonly #log: (line: string) => void;

  constructor(r: Replicas, ledger: Ledger, log: (line: string) => void) {
    this.#r = r;
    this.#ledger = ledger;
    this.#log = log;
  }

  async #snapshot(): Promise<Snapshot> {
    const stats = await this.#r.proxy.stats();
    return { t: performance.now(), ledger: this.#ledger.summary(), retries: stats.retries, responses5xx: stats.responses5xx };
  }

  /** Runs `body` as a phase; whatever it throws becomes a problem of the phase. */
  async phase(name: string, body: (facts: string[], problems: string[]) => Promise<void>): Promise<void> {
    this.#log(`phase: ${name}`);
    const facts: string[] = [];
    const problems: string[] = [];
    const a = await this.#snapshot();
    try {
      await body(facts, problems);
    } catch (e) {
      problems.push((e as Error).message);
    }
    const b = await this.#snapshot();
    const record: PhaseRecord = {
      name,
      seconds: (b.t - a.t) / 1000,
      sent: b.ledger.sent - a.ledger.sent,
      verified: b.ledger.ok - a.ledger.ok,
      failed: failedOf(b.ledger) - failedOf(a.ledger),
      unanswered: b.ledger.unanswered - a.ledger.unanswered,
      connectionErrors: b.ledger.connectionErrors - a.ledger.connectionErrors,
      retries: b.retries - a.retries,
      responses5xx: b.responses5xx - a.responses5xx,
      facts,
      problems,
    };
    for (const f of facts) this.#log(`  ${f}`);
    for (const p of problems) this.#log(`  PROBLEM: ${p}`);
    this.phases.push(record);
  }

  /** Seconds since `t0` (performance.now()), one decimal. */
  static since(t0: number): string {
    return ((performance.now() - t0) / 1000).toFixed(1);
  }

  /** Holds the host's pool until a request of the load is in flight on it; returns how many it holds. */
  async holdInFlight(host: Host): Promise<number> {
    await host.server!.hold();
    const deadline = Date.now() + STEP_MS;
    for (;;) {
      const held = await host.heldJobs();
      if (held > 0) return held;
      if (Date.now() > deadline) throw new Error(`${host.name}: no request in flight within ${STEP_MS} ms`);
      await sleep(5);
    }
  }

  /** Until the proxy's check says `what` for the host; returns the seconds it took. */
  async waitFor(host: Host, what: 'UP' | 'DOWN'): Promise<string> {
    const t0 = performance.now();
    await this.#r.waitForHost(host.slot.index, what, what === 'UP' ? isUp : isDown, STEP_MS);
    return Scenario.since(t0);
  }

  /** Until the host answers requests of the load again (its own request counter grows). */
  async rejoined(host: Host): Promise<string> {
    const before = await host.answered();
    const t0 = performance.now();
    const deadline = Date.now() + STEP_MS;
    while ((await host.answered()) <= before + 5) {
      if (Date.now() > deadline) throw new Error(`${host.name} is UP but answered no request of the load within ${STEP_MS} ms`);
      await sleep(50);
    }
    return `${host.name} answers the load again (${Scenario.since(t0)} s after UP)`;
  }

  /** Until the proxy has no request in progress with the host. */
  async drainedAtProxy(host: Host): Promise<string> {
    const t0 = performance.now();
    const deadline = Date.now() + STEP_MS;
    while (((await this.#r.proxy.stats()).hostSessions[host.name] ?? 0) > 0) {
      if (Date.now() > deadline) throw new Error(`the proxy still has requests in progress with ${host.name} after ${STEP_MS} ms`);
      await sleep(100);
    }
    return Scenario.since(t0);
  }
}

/** Runs the whole scenario; never throws for a failure of the service (it is in the record), only for a broken set-up. */
export async function runFailover(o: FailoverOptions, command: string): Promise<FailoverRun> {
  const started = new Date();
  o.log('computing the expected answers with the pure-TS reference');
  const mix: Mix = buildMix(new Reference(), FAILOVER_ROUTES);
  const r = await Replicas.start({ hosts: HOSTS, proxy: 'haproxy', port: 0, netns: o.netns, serverArgs: HOST_ARGS, testHooks: true, graceSeconds: 15, log: o.log });
  const ledger = new Ledger();
  const latency = new Map<string, LatencyRecorder>();
  const scenario = new Scenario(r, ledger, o.log);
  const failures: string[] = [];
  let loadSeconds = 0;
  try {
    o.log(`${HOSTS} hosts (${r.network.kind}) behind HAProxy at ${r.url}: ${r.hosts.map((h) => h.url).join(', ')}`);
    // the load: windows of about WINDOW_S back to back, until the scenario is over (the last
    // window then ends by itself: cutting it would leave its requests unanswered)
    let stopping = false;
    const next = picker(mix, seededRandom(o.seed));
    const load = (async () => {
      let rate = 50;
      while (!stopping && !o.signal.aborted) {
        const w = await runWindow({ url: r.url, connections: o.connections, amount: Math.max(o.connections, Math.round(rate * WINDOW_S)), timeoutSeconds: 30, signal: o.signal, next, ledger, latency });
        loadSeconds += w.seconds;
        if (w.answered > 0) rate = w.answered / w.seconds;
      }
    })();
    try {
      await scenario.phase('warm-up', async () => void (await sleep(WARMUP_S * 1000, undefined, { signal: o.signal })));
      const [host1, host2, host3] = r.hosts as [Host, Host, Host];

      await scenario.phase('host2 killed: SIGKILL to its whole process group, then started again', async (facts, problems) => {
        const held = await scenario.holdInFlight(host2);
        const retries0 = (await r.proxy.stats()).retries;
        const t0 = performance.now();
        await host2.kill();
        facts.push(`${requests(held)} in flight on host2 (held in its pool) when its process group was killed`);
        facts.push(`host2 DOWN ${await scenario.waitFor(host2, 'DOWN')} s after the kill`);
        const retries = (await r.proxy.stats()).retries - retries0;
        facts.push(`the proxy retried ${retries} times`);
        if (retries < held) problems.push(`${held} requests were in flight on host2, but the proxy retried only ${retries}`);
        await host2.start();
        facts.push(`host2 started again, UP ${await scenario.waitFor(host2, 'UP')} s later (${Scenario.since(t0)} s after the kill)`);
        facts.push(await scenario.rejoined(host2));
      });

      if (r.network.kind === 'netns') {
        await scenario.phase("host3's link taken down (process alive, unreachable), then up again", async (facts, problems) => {
          const held = await scenario.holdInFlight(host3);
          const retries0 = (await r.proxy.stats()).retries;
          const t0 = performance.now();
          r.network.setLink(3, false);
          await host3.server!.release(); // its jobs finish, their answers cannot leave
          facts.push(`${requests(held)} in flight on host3 when its link went down`);
          facts.push(`host3 DOWN ${await scenario.waitFor(host3, 'DOWN')} s after the link went down`);
          facts.push(`its requests in flight timed out at the proxy and were sent elsewhere ${await scenario.drainedAtProxy(host3)} s after that`);
          const retries = (await r.proxy.stats()).retries - retries0;
          facts.push(`the proxy retried ${retries} times`);
          if (retries < held) problems.push(`${held} requests were in flight on host3, but the proxy retried only ${retries}`);
          r.network.setLink(3, true);
          facts.push(`link up after ${Scenario.since(t0)} s; host3 UP ${await scenario.waitFor(host3, 'UP')} s later`);
          facts.push(await scenario.rejoined(host3));
        });
      }

      await scenario.phase('rolling restart of host1, host2, host3: SIGTERM, drain, out of the check, start, back in', async (facts, problems) => {
        for (const host of [host1, host2, host3]) {
          const held = await scenario.holdInFlight(host);
          const t0 = performance.now();
          const ended = host.terminate(STEP_MS);
          await host.server!.release();
          const exit = await ended;
          if (exit !== 'exit code 0') problems.push(`${host.name} ended with ${exit} after SIGTERM, not exit code 0`);
          const down = await scenario.waitFor(host, 'DOWN');
          await host.start();
          const up = await scenario.waitFor(host, 'UP');
          facts.push(`${host.name}: ${requests(held)} in flight at SIGTERM, drained and ${exit}; DOWN ${down} s, started, UP ${up} s later (${Scenario.since(t0)} s in all)`);
          facts.push(await scenario.rejoined(host));
        }
      });

      await scenario.phase('cool-down', async () => void (await sleep(COOLDOWN_S * 1000, undefined, { signal: o.signal })));
    } finally {
      stopping = true;
      await load;
    }
  } catch (e) {
    failures.push(`the run failed: ${(e as Error).stack}`);
  }
  const proxyStats = await r.proxy.stats().catch(() => undefined);
  await r.stop();

  const l = ledger.summary();
  for (const p of scenario.phases) for (const problem of p.problems) failures.push(`${p.name}: ${problem}`);
  if (o.signal.aborted) failures.push('interrupted');
  if (l.sent === 0) failures.push('no request was sent');
  // (undelivered: written by the load generator on a connection already closed, never sent: not a request)
  if (l.ok + l.undelivered !== l.sent) failures.push(`${l.sent - l.ok - l.undelivered} of ${l.sent} requests were not a verified 200`);
  if (l.wrong) failures.push(`${l.wrong} wrong answers (e.g. ${l.examples.wrong[0]})`);
  if (l.undocumented || failedOf(l) > l.wrong) failures.push(`${failedOf(l) - l.wrong} answers were not 200 (e.g. ${l.examples.undocumented[0] ?? JSON.stringify(l.documented)})`);
  if (l.unanswered) failures.push(`${l.unanswered} requests never answered (e.g. ${l.examples.unanswered[0]})`);
  if (l.connectionErrors) failures.push(`${l.connectionErrors} connection errors`);
  if (l.strayAnswers) failures.push(`${l.strayAnswers} answers to no open request`);
  if (!proxyStats) failures.push("the proxy's stats could not be read at the end");
  else if (proxyStats.responses5xx) failures.push(`the proxy answered ${proxyStats.responses5xx} requests with a 5xx`);
  return {
    schema: 1,
    started_at: started.toISOString(),
    finished_at: new Date().toISOString(),
    command,
    network: r.network.kind,
    proxy: { kind: 'haproxy', version: proxyVersion('haproxy') ?? null },
    hosts: HOSTS,
    host_args: HOST_ARGS,
    connections: o.connections,
    load_seconds: loadSeconds,
    answers_per_sec: loadSeconds > 0 ? l.answered / loadSeconds : 0,
    phases: scenario.phases,
    ledger: l,
    proxy_totals: { requests: proxyStats?.requests ?? 0, retries: proxyStats?.retries ?? 0, responses5xx: proxyStats?.responses5xx ?? 0 },
    failures,
    passed: failures.length === 0,
  };
}
