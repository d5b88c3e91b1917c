// The cluster faults run: nats-server, 3 worker hosts and the server, each in
// a network namespace of its own (as root), under sustained load of every op
// in mode=cluster beside other modes, every answer verified against the
// pure-TS reference (the soak's ledger). First every op and dtype in cluster
// mode is checked bit for bit; then, each under load:
// - a worker host SIGKILLed while it holds a band (its test hooks keep it at
//   the gate): JetStream redelivers the band to another host,
// - a worker host's link taken down while it holds a band (the same),
// - no worker at all (cluster 503 at once, the other modes 200),
// - nats-server SIGKILLed (cluster 503 at once), then restarted (everything
//   reconnects, cluster 200 again),
// - jobs past --timeout (504, their bands abandoned).
// Each phase keeps its own ledger and says which answers it allows: a verified
// 200 everywhere, and in the outage phases also the documented 503 (504) for
// cluster routes. Nothing wrong, nothing unanswered.

import { performance } from 'node:perf_hooks';
import { ELEMENT_BYTES, viewOf } from '../../src/kernels/dtype.js';
import { LatencyRecorder } from '../http/latency.js';
import { Reference } from '../http/reference.js';
import { firstDifference } from '../http/verify.js';
import { classifyAnswer, type Outcome } from '../soak/answers.js';
import { Ledger, type LedgerSummary, type RouteTally } from '../soak/ledger.js';
import { picker, seededRandom } from '../soak/mix.js';
import { runWindow } from '../soak/window.js';
import { ClusterHosts, type BandTaken, type WorkerHost } from './cluster-hosts.js';
import type { RunSettings } from './run-main.js';
import { clusterMix, everyOpAndDtype, exactRequest, routeLabel, type ClusterRoute, type ExactRequest } from './cluster-mix.js';

/** The server's --timeout (a job past it is 504) and the JetStream ack wait of a band (redelivery after it). */
export const SERVER_TIMEOUT_S = 8;
export const ACK_WAIT_S = 2;
export const SERVER_ARGS = ['--threads', '1', '--processes', '1', '--timeout', String(SERVER_TIMEOUT_S), '--ack-wait', String(ACK_WAIT_S)];
const WORKERS = 3;
const WORKER_THREADS = 1;
/** Bound of every wait for an observable state. */
const STEP_MS = 60_000;
/** Cluster answers the outage phases must see under load before they end. */
const OUTAGE_ANSWERS = 3;
/**
 * Past --timeout: this many matmul float64 jobs of n = 4096 at once (137 GFLOP
 * each; all of them need well over twice SERVER_TIMEOUT_S on two cores at the
 * WASM kernel's best measured speed), so the last ones must time out.
 */
const TIMEOUT_JOBS = 6;
const TIMEOUT_PATH = '/matmul?mode=cluster&n=4096&dtype=float64&seed=1';

/** The load: cluster jobs of every op (matmul large enough that bands last a while), and other modes beside them. */
export const LOAD_ROUTES: ClusterRoute[] = [
  { op: 'add', method: 'GET', mode: 'cluster', sizes: [256] },
  { op: 'matmul', method: 'GET', mode: 'cluster', sizes: [320] },
  { op: 'mul', method: 'POST', mode: 'cluster', sizes: [48] },
  { op: 'sub', method: 'GET', mode: 'wasm', sizes: [256] },
  { op: 'matmul', method: 'GET', mode: 'threads', sizes: [96] },
];
const isClusterRoute = (route: string): boolean => route.includes('mode=cluster');


/** The documented problems a phase accepts from cluster routes besides a verified 200 (other modes: always only a 200). */
type Allowed = readonly ('503 CLUSTER_UNAVAILABLE' | '504 TIMEOUT')[];
const ONLY_200: Allowed = [];
const UNAVAILABLE: Allowed = ['503 CLUSTER_UNAVAILABLE'];
const UNAVAILABLE_OR_TIMEOUT: Allowed = ['503 CLUSTER_UNAVAILABLE', '504 TIMEOUT'];

export interface FaultPhase {
  name: string;
  allowed: Allowed;
  seconds: number;
  sent: number;
  verified: number;
  /** Documented problems answered in the phase: "503 CLUSTER_UNAVAILABLE" -> count. */
  documented: Record<string, number>;
  /** Wrong answers, other statuses, documented problems the phase does not allow. */
  failed: number;
  unanswered: number;
  connectionErrors: number;
  /** wasmatrix_cluster_bands_total over the phase. */
  bands: { sent: number; done: number; redelivered: number; failed: number; abandoned: number };
  facts: string[];
  problems: string[];
}

export interface FaultsRun {
  schema: 1;
  started_at: string;
  finished_at: string;
  command: string;
  network: 'netns' | 'loopback';
  workers: number;
  worker_threads: number;
  server_args: string[];
  connections: number;
  load_routes: string[];
  /** The bit-for-bit check of every op and dtype in cluster mode before the load. */
  exact: { checked: number; equal: number; problems: string[] };
  load_seconds: number;
  phases: FaultPhase[];
  ledger: LedgerSummary;
  failures: string[];
  passed: boolean;
}

const BAND_OUTCOMES = ['sent', 'done', 'redelivered', 'failed', 'abandoned'] as const;
type Bands = FaultPhase['bands'];
const failedOf = (t: RouteTally): number => t.wrong + t.undocumented + Object.values(t.documented).reduce((a, b) => a + b, 0);

/** One request sent outside the load: its status, time, and whether it was right. */
interface Probe {
  status: number;
  ms: number;
  outcome: Outcome;
  code?: string;
}

/** Sends one request and judges its answer (POST: the whole raw result byte for byte). */
export async function probe(url: string, r: ExactRequest, timeoutMs = STEP_MS): Promise<Probe> {
  const t0 = performance.now();
  const res = await fetch(url + r.path, { method: r.method, headers: r.headers, body: r.body && new Uint8Array(r.body), signal: AbortSignal.timeout(timeoutMs) });
  const bytes = Buffer.from(await res.arrayBuffer());
  const ms = performance.now() - t0;
  const headers = Object.fromEntries(res.headers);
  const text = r.expect.raw && res.status === 200 ? '' : bytes.toString('utf8');
  let outcome = classifyAnswer(r.expect, res.status, text, headers);
  if (outcome.kind === 'ok' && r.output) {
    const got = viewOf(r.dtype, bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / ELEMENT_BYTES[r.dtype]));
    const diff = firstDifference(got, r.output);
    if (diff) outcome = { kind: 'wrong', reason: `result ${diff}` };
  }
  let code: string | undefined;
  if (res.status !== 200) code = (JSON.parse(text || '{}') as { code?: string }).code;
  return { status: res.status, ms, outcome, ...(code && { code }) };
}

const describe = (p: Probe): string => `${p.status}${p.code ? ` ${p.code}` : ''} in ${p.ms.toFixed(1)} ms`;

class Scenario {
  readonly phases: FaultPhase[] = [];
  readonly #c: ClusterHosts;
  readonly #ledger: Ledger;
  readonly #log: (line: string) => void;

  constructor(c: ClusterHosts, ledger: Ledger, log: (line: string) => void) {
    this.#c = c;
    this.#ledger = ledger;
    this.#log = log;
  }

  async #bands(): Promise<Bands> {
    const out = { sent: 0, done: 0, redelivered: 0, failed: 0, abandoned: 0 };
    for (const o of BAND_OUTCOMES) out[o] = await this.#c.bands(o).catch(() => 0);
    return out;
  }

  /** Runs `body` as a phase; whatever it throws becomes a problem of the phase; then judges the phase's answers. */
  async phase(name: string, allowed: Allowed, body: (facts: string[], problems: string[]) => Promise<void>): Promise<void> {
    this.#log(`phase: ${name}`);
    const facts: string[] = [];
    const problems: string[] = [];
    const t0 = performance.now();
    const a = this.#ledger.summary();
    const bandsA = await this.#bands();
    try {
      await body(facts, problems);
    } catch (e) {
      problems.push((e as Error).message);
    }
    const b = this.#ledger.summary();
    const bandsB = await this.#bands();
    let failed = 0;
    const documented: Record<string, number> = {};
    for (const [route, tb] of Object.entries(b.routes)) {
      const ta = a.routes[route];
      for (const [key, n] of Object.entries(tb.documented)) {
        const d = n - (ta?.documented[key] ?? 0);
        if (!d) continue;
        documented[key] = (documented[key] ?? 0) + d;
        const ok = isClusterRoute(route) && (allowed as readonly string[]).includes(key);
        if (!ok) {
          failed += d;
          problems.push(`${d} answers ${key} on ${route}, which this phase does not allow`);
        }
      }
      failed += tb.wrong - (ta?.wrong ?? 0) + tb.undocumented - (ta?.undocumented ?? 0);
    }
    const record: FaultPhase = {
      name,
      allowed,
      seconds: (performance.now() - t0) / 1000,
      sent: b.sent - a.sent,
      verified: b.ok - a.ok,
      documented,
      failed,
      unanswered: b.unanswered - a.unanswered,
      connectionErrors: b.connectionErrors - a.connectionErrors,
      bands: Object.fromEntries(BAND_OUTCOMES.map((k) => [k, bandsB[k] - bandsA[k]])) as Bands,
      facts,
      problems,
    };
    for (const f of facts) this.#log(`  ${f}`);
    for (const p of problems) this.#log(`  PROBLEM: ${p}`);
    this.phases.push(record);
  }

  /** Until the load has answered `n` more documented problems on cluster routes than now. */
  async clusterProblemsUnderLoad(n: number): Promise<number> {
    const count = (): number =>
      Object.entries(this.#ledger.summary().routes)
        .filter(([route]) => isClusterRoute(route))
        .reduce((s, [, t]) => s + failedOf(t) - t.wrong - t.undocumented, 0);
    const before = count();
    return this.#c.until(`${n} cluster answers of the load during the outage`, async () => count() - before >= n, STEP_MS);
  }

  /** Until wasmatrix_cluster_bands_total{outcome="redelivered"} exceeds `before`; the seconds it took. */
  redelivered(before: number): Promise<number> {
    return this.#c.until('a band redelivered to another host', async () => (await this.#c.bands('redelivered')) > before, STEP_MS);
  }
}

const seconds = (s: number): string => `${s.toFixed(1)} s`;

/**
 * The fault on one worker host while it holds a band of the load: its test
 * hooks keep the bands it takes at its gate, so the fault surely hits a band
 * in flight; then that band's redelivery to another host (which its hooks
 * print, with the delivery count), and the host back. The load's requests must
 * all be verified 200s meanwhile (the phase allows nothing else).
 */
async function hostFault(c: ClusterHosts, s: Scenario, host: WorkerHost, fault: 'kill' | 'link', facts: string[], problems: string[]): Promise<void> {
  const redelivered0 = await c.bands('redelivered');
  const from = await host.hold();
  let held: BandTaken;
  try {
    held = await host.bandTaken(from, STEP_MS);
  } catch (e) {
    await host.release();
    throw e;
  }
  const others = c.workers.filter((w) => w !== host);
  const seen = new Map(others.map((w) => [w, w.bandsTaken().length]));
  if (fault === 'kill') await host.kill();
  else {
    c.network.setLink(host.slot.index, false);
    await host.release(); // it computes the band; its answer cannot leave
  }
  const t0 = performance.now();
  facts.push(`${host.name} held band ${held.band} of job ${held.job} (delivery ${held.delivery}) when it was ${fault === 'kill' ? 'SIGKILLed (its whole process group)' : 'cut off (its link down, the process alive)'}`);
  let again: { w: WorkerHost; b: BandTaken } | undefined;
  await c.until(`band ${held.band} of job ${held.job} taken again by another host`, async () => {
    for (const w of others) {
      const b = w.bandsTaken().slice(seen.get(w)).find((x) => x.job === held.job && x.band === held.band);
      if (b) again = { w, b };
    }
    return again !== undefined;
  }, STEP_MS);
  facts.push(`redelivered by JetStream to ${again!.w.name} (delivery ${again!.b.delivery}) ${seconds((performance.now() - t0) / 1000)} later (ack wait ${ACK_WAIT_S} s)`);
  try {
    await s.redelivered(redelivered0);
    facts.push(`its answer came back from there: outcome="redelivered" +${(await c.bands('redelivered')) - redelivered0}`);
  } catch (e) {
    problems.push((e as Error).message);
  }
  if (fault === 'kill') {
    await host.start();
    facts.push(`${host.name} started again`);
  } else {
    c.network.setLink(host.slot.index, true);
    facts.push(`${host.name}'s link up again`);
  }
  facts.push(`the server sees ${c.workers.length} live workers ${seconds(await c.waitForWorkers(c.workers.length, STEP_MS))} later`);
}

/** Runs the whole scenario; never throws for a failure of the service (it is in the record), only for a broken set-up. */
export async function runClusterFaults(o: RunSettings, command: string): Promise<FaultsRun> {
  const started = new Date();
  o.log('computing the expected answers with the pure-TS reference');
  const ref = new Reference();
  const mix = clusterMix(ref, LOAD_ROUTES);
  const exactChecks = everyOpAndDtype(ref, 'cluster', 67);
  const clusterGet = exactRequest(ref, LOAD_ROUTES[0]!, 64, 'int32', 1);
  const otherGet = exactRequest(ref, LOAD_ROUTES[3]!, 64, 'int32', 1);
  const c = await ClusterHosts.start({ workers: WORKERS, netns: o.netns, serverArgs: SERVER_ARGS, workerThreads: WORKER_THREADS, log: o.log, signal: o.signal });
  const ledger = new Ledger();
  const scenario = new Scenario(c, ledger, o.log);
  const failures: string[] = [];
  const exact = { checked: 0, equal: 0, problems: [] as string[] };
  let loadSeconds = 0;
  try {
    o.log(`every op and dtype in mode=cluster, GET and POST, against the reference (${exactChecks.length} jobs)`);
    for (const r of exactChecks) {
      const p = await probe(c.url, r);
      exact.checked++;
      if (p.outcome.kind === 'ok') exact.equal++;
      else exact.problems.push(`${r.what}: ${p.outcome.kind === 'wrong' || p.outcome.kind === 'undocumented' ? p.outcome.reason : p.outcome.key}`);
    }
    let stopping = false;
    const next = picker(mix, seededRandom(o.seed));
    const latency = new Map<string, LatencyRecorder>();
    const load = (async () => {
      let rate = 20;
      while (!stopping && !o.signal.aborted) {
        const w = await runWindow({ url: c.url, connections: o.connections, amount: Math.max(o.connections, Math.round(rate)), timeoutSeconds: SERVER_TIMEOUT_S + 30, signal: o.signal, next, ledger, latency });
        loadSeconds += w.seconds;
        if (w.answered > 0) rate = w.answered / w.seconds;
      }
    })();
    // A phase that lets jobs queue (no worker, jobs past --timeout) may leave load requests waiting behind
    // their bands; they can end in 504 TIMEOUT, which such a phase allows and the next one does not. Such a
    // phase ends only once the load's window open at its end (holding every such request) is answered.
    const drainLoad = async (facts: string[], what: string): Promise<void> => {
      const window0 = ledger.summary().windows;
      const s = await c.until(`the load's requests sent during ${what} answered`, async () => ledger.summary().windows > window0, STEP_MS);
      facts.push(`the load's requests sent during ${what} all answered ${seconds(s)} later`);
    };
    try {
      await scenario.phase('warm-up', ONLY_200, async (facts) => {
        await c.until('200 answers of the load', async () => ledger.summary().ok >= 30, STEP_MS);
        facts.push(`${c.workers.length} workers live; the load is served`);
      });
      const [host1, , host3] = c.workers as [WorkerHost, WorkerHost, WorkerHost];
      await scenario.phase(`${host1.name} SIGKILLed mid-band, then started again`, ONLY_200, (f, p) => hostFault(c, scenario, host1, 'kill', f, p));
      if (c.network.kind === 'netns') {
        await scenario.phase(`${host3.name}'s link down mid-band (process alive), then up again`, ONLY_200, (f, p) => hostFault(c, scenario, host3, 'link', f, p));
      }
      // a job whose bands were still queued when the last worker left waits for one until --timeout: 504
      // (NATS down instead fails the jobs in flight at once: 503 only)
      await scenario.phase('no worker at all (every worker SIGTERMed), then all started again', UNAVAILABLE_OR_TIMEOUT, async (facts, problems) => {
        const ends = await Promise.all(c.workers.map((w) => w.stop(STEP_MS)));
        for (const [i, e] of ends.entries()) if (e !== 'exit code 0') problems.push(`${c.workers[i]!.name} ended with ${e} after SIGTERM, not exit code 0`);
        facts.push(`every worker drained and ended: ${ends.join(', ')}`);
        facts.push(`the server sees 0 live workers ${seconds(await c.waitForWorkers(0, STEP_MS))} later`);
        await outageProbes(c, clusterGet, otherGet, facts, problems);
        facts.push(`${OUTAGE_ANSWERS} cluster answers of the load were documented problems ${seconds(await scenario.clusterProblemsUnderLoad(OUTAGE_ANSWERS))} later`);
        await Promise.all(c.workers.map((w) => w.start()));
        facts.push(`workers started again; the server sees ${c.workers.length} live ${seconds(await c.waitForWorkers(c.workers.length, STEP_MS))} later`);
        await drainLoad(facts, 'the outage');
      });
      await scenario.phase('nats-server SIGKILLed, then restarted', UNAVAILABLE, async (facts, problems) => {
        await c.nats.kill();
        facts.push('nats-server SIGKILLed');
        facts.push(`mode=cluster answered 503 ${seconds(await c.until('a cluster 503 after the NATS kill', async () => (await probe(c.url, clusterGet)).status === 503, STEP_MS))} later`);
        await outageProbes(c, clusterGet, otherGet, facts, problems);
        facts.push(`${OUTAGE_ANSWERS} cluster answers of the load were documented problems ${seconds(await scenario.clusterProblemsUnderLoad(OUTAGE_ANSWERS))} later`);
        await c.startNats();
        const back = await c.until('a verified cluster 200 after NATS restarted', async () => (await probe(c.url, clusterGet)).outcome.kind === 'ok', STEP_MS);
        facts.push(`nats-server restarted (same store); the server and the workers reconnected, a verified cluster 200 ${seconds(back)} later`);
        facts.push(`the server sees ${c.workers.length} live workers ${seconds(await c.waitForWorkers(c.workers.length, STEP_MS))} later`);
      });
      await scenario.phase(`jobs past --timeout: ${TIMEOUT_JOBS} at once of ${TIMEOUT_PATH}`, UNAVAILABLE_OR_TIMEOUT, async (facts, problems) => {
        const abandoned0 = await c.bands('abandoned');
        const t0 = performance.now();
        const answers = await Promise.all(
          Array.from({ length: TIMEOUT_JOBS }, () =>
            fetch(c.url + TIMEOUT_PATH, { signal: AbortSignal.timeout(SERVER_TIMEOUT_S * 1000 + STEP_MS) }).then(async (res) => {
              const body = (await res.json()) as { code?: string; checksum?: string };
              return res.status === 200 ? `200 (checksum ${body.checksum})` : `${res.status} ${body.code}`;
            }),
          ),
        );
        const tally = Object.entries(answers.reduce<Record<string, number>>((m, a) => ({ ...m, [a]: (m[a] ?? 0) + 1 }), {}));
        facts.push(`answers after ${seconds((performance.now() - t0) / 1000)} (--timeout ${SERVER_TIMEOUT_S}): ${tally.map(([a, n]) => `${n} x ${a}`).join(', ')}`);
        const oks = new Set(answers.filter((a) => a.startsWith('200')));
        if (!answers.includes('504 TIMEOUT')) problems.push('no job answered 504 TIMEOUT');
        if (answers.some((a) => !a.startsWith('200') && a !== '504 TIMEOUT')) problems.push('a job answered neither 200 nor 504 TIMEOUT');
        if (oks.size > 1) problems.push('the jobs of one seed answered 200 with different checksums');
        facts.push(`bands abandoned (purged or dropped): ${(await c.bands('abandoned')) - abandoned0}`);
        const back = await c.until('a verified cluster 200 after the timeouts', async () => (await probe(c.url, clusterGet)).outcome.kind === 'ok', STEP_MS);
        facts.push(`a verified cluster 200 ${seconds(back)} after that`);
        await drainLoad(facts, 'the timeouts');
      });
      await scenario.phase('cool-down', ONLY_200, async () => {
        const ok0 = ledger.summary().ok;
        await c.until('30 more 200 answers of the load', async () => ledger.summary().ok - ok0 >= 30, STEP_MS);
      });
    } finally {
      stopping = true;
      await load;
    }
  } catch (e) {
    failures.push(`the run failed: ${(e as Error).stack}`);
  }
  await c.stop();

  const l = ledger.summary();
  if (exact.equal !== exact.checked || exact.checked === 0) failures.push(`every op and dtype in cluster mode: ${exact.checked - exact.equal} of ${exact.checked} differ from the reference (${exact.problems[0]})`);
  for (const p of scenario.phases) for (const problem of p.problems) failures.push(`${p.name}: ${problem}`);
  for (const p of scenario.phases) if (p.verified === 0) failures.push(`${p.name}: no verified 200 (not under load)`);
  if (o.signal.aborted) failures.push('interrupted');
  if (l.wrong) failures.push(`${l.wrong} wrong answers (e.g. ${l.examples.wrong[0]})`);
  if (l.undocumented) failures.push(`${l.undocumented} answers neither 200 nor documented (e.g. ${l.examples.undocumented[0]})`);
  if (l.unanswered) failures.push(`${l.unanswered} requests never answered (e.g. ${l.examples.unanswered[0]})`);
  if (l.connectionErrors) failures.push(`${l.connectionErrors} connection errors`);
  if (l.strayAnswers) failures.push(`${l.strayAnswers} answers to no open request`);
  return {
    schema: 1,
    started_at: started.toISOString(),
    finished_at: new Date().toISOString(),
    command,
    network: c.network.kind,
    workers: WORKERS,
    worker_threads: WORKER_THREADS,
    server_args: SERVER_ARGS,
    connections: o.connections,
    load_routes: LOAD_ROUTES.map((r) => `${routeLabel(r)} n=${r.sizes.join(',')}`),
    exact,
    load_seconds: loadSeconds,
    phases: scenario.phases,
    ledger: l,
    failures,
    passed: failures.length === 0,
  };
}

/** During an outage: a cluster job is a 503 problem at once (not a timeout), another mode still a verified 200. */
async function outageProbes(c: ClusterHosts, clusterGet: ExactRequest, otherGet: ExactRequest, facts: string[], problems: string[]): Promise<void> {
  const cluster = await probe(c.url, clusterGet);
  const other = await probe(c.url, otherGet);
  facts.push(`${clusterGet.what}: ${describe(cluster)}; ${otherGet.what}: ${describe(other)}${other.outcome.kind === 'ok' ? ' (verified)' : ''}`);
  if (cluster.status !== 503 || cluster.outcome.kind !== 'documented') problems.push(`the cluster job answered ${describe(cluster)}, not a documented 503`);
  if (other.outcome.kind !== 'ok') problems.push(`the other mode answered ${describe(other)}, not a verified 200`);
}
