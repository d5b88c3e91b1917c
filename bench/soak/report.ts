// The soak's record (soak-latest.json) and its two renderings: an aligned
// text table for the terminal and Markdown for soak-latest.md.

import { int, mb, ms, pct } from '../http/format.js';
import type { LatencySummary } from '../http/latency.js';
import type { ResourceSummary } from '../http/resource-sampler.js';
import { markdownTable, textTable } from '../http/table.js';
import { DOCUMENTED_PROBLEMS } from './answers.js';
import type { KillKind } from './chaos.js';
import type { LedgerSummary, RouteTally } from './ledger.js';
import type { SoakOptions } from './options.js';
import type { Restarts } from './restarts.js';
import { rssLimitText } from './verdict.js';

export interface SoakRun {
  schema: 1;
  started_at: string;
  finished_at: string;
  command: string;
  options: SoakOptions;
  server: { args: string[]; start_line: string | null; pid: number | null; exit: string; stop_seconds: number | null };
  /** Seconds of load (the windows together) and answers per second over them. */
  load_seconds: number;
  requests_per_sec: number;
  ledger: LedgerSummary;
  latency: Record<string, LatencySummary>;
  kills: Record<KillKind, number>;
  restarts: Restarts | null;
  /** Server process RSS (its threads included), MiB. */
  rss_mb: { start: number | null; warm: number | null; end: number | null; after_each_window: [number, number][] };
  rss_rule: string;
  /** Server and pool processes together, over the whole load. */
  resources: ResourceSummary | null;
  processes_seen: number;
  leaked: string[];
  failures: string[];
  passed: boolean;
}

const MB = 1024 * 1024;
export const toMb = (bytes: number | undefined): number | null => (bytes === undefined ? null : bytes / MB);

/** Problem columns: every documented one, then anything else. */
const PROBLEM_KEYS = Object.entries(DOCUMENTED_PROBLEMS).flatMap(([status, codes]) => codes.map((c) => `${status} ${c}`));
const HEADER = ['route', 'sent', '200 ok', 'wrong', ...PROBLEM_KEYS, 'other', 'unanswered', 'p50 ms', 'p99 ms', 'max ms'];
const NUMERIC = new Set(HEADER.map((_, i) => i).filter((i) => i > 0));

function row(label: string, t: RouteTally, l: LatencySummary | undefined): string[] {
  return [
    label,
    int(t.sent),
    int(t.ok),
    int(t.wrong),
    ...PROBLEM_KEYS.map((k) => int(t.documented[k] ?? 0)),
    int(t.undocumented),
    int(t.unanswered),
    l?.count ? ms(l.p50_ms) : '-',
    l?.count ? ms(l.p99_ms) : '-',
    l?.count ? ms(l.max_ms) : '-',
  ];
}

function rows(run: SoakRun): string[][] {
  const l = run.ledger;
  const routes = Object.entries(l.routes).sort(([a], [b]) => a.localeCompare(b));
  return [...routes.map(([route, t]) => row(route, t, run.latency[route])), row('all', l, undefined)];
}

/** The facts below the table, one line each. */
function facts(run: SoakRun): string[] {
  const r = run.rss_mb;
  const res = run.resources;
  const l = run.ledger;
  return [
    `load: ${run.load_seconds.toFixed(1)} s in ${l.windows} windows, ${run.options.connections} connections, ${int(run.requests_per_sec)} answers/s`,
    `connection errors: ${l.connectionErrors} (timeouts ${l.timeouts}); answers to no open request: ${l.strayAnswers}; ` +
      `sent after a Connection: close answer, never delivered (not a failure): ${l.undelivered}`,
    `kills: ${run.kills.thread} threads (SIGUSR2), ${run.kills.process} processes (SIGKILL), one every ${run.options.chaosInterval} s after the warm-up`,
    `worker restarts in /metrics: ${run.restarts ? `threads ${run.restarts.threads}, processes ${run.restarts.processes}` : 'unread'}`,
    `server RSS: ${mb(r.start)} at start, ${mb(r.warm)} after the warm-up, ${mb(r.end)} at the end (rule: ${run.rss_rule})`,
    `server RSS after each window, MiB: ${r.after_each_window.map(([, m]) => m).join(' ') || '-'}`,
    res
      ? `CPU in % of one core: server + pool processes ${pct(res.server_cpu_pct)} (RSS peak ${mb(res.rss_peak_mb)}), load generator ${pct(res.loadgen_cpu_pct)}, ` +
        `other processes on the machine ${pct(res.other_cpu_pct)}`
      : 'server + pool processes: not sampled',
    `server stop: ${run.server.exit}${run.server.stop_seconds === null ? '' : ` after ${run.server.stop_seconds.toFixed(1)} s`}; processes seen below it: ${run.processes_seen}, alive after it: ${run.leaked.length}`,
  ];
}

function verdictLines(run: SoakRun): string[] {
  return run.passed ? ['PASSED'] : ['FAILED:', ...run.failures.map((f) => `  - ${f}`)];
}

export function soakText(run: SoakRun): string {
  return [textTable(HEADER, rows(run), NUMERIC), '', ...facts(run), '', ...verdictLines(run)].join('\n');
}

/** The ledger table by route and the facts under it, as Markdown (the report, and the docs quoting it). */
export function soakSummaryMarkdown(run: SoakRun): string {
  return [markdownTable(HEADER, rows(run), NUMERIC), '', ...facts(run).map((f) => `- ${f}`)].join('\n');
}

export function soakMarkdown(run: SoakRun): string {
  return [
    '# Soak and chaos run',
    '',
    `\`${run.command}\`, ${run.started_at} to ${run.finished_at}. Server: \`${run.server.start_line ?? '(did not start)'}\` with \`${run.server.args.join(' ')}\`.`,
    '',
    `Every request must end as a verified 200 (checksum, and for uploads the result, against the pure-TS reference) or as documented problem+json: ${PROBLEM_KEYS.join(', ')}. Unanswered requests, connection errors and any other status fail the run; so do a non-zero server exit, a process of the server alive after it, and RSS growth past the rule: ${rssLimitText}.`,
    '',
    soakSummaryMarkdown(run),
    '',
    `**${run.passed ? 'PASSED' : 'FAILED'}**`,
    ...run.failures.map((f) => `- ${f}`),
    '',
  ].join('\n');
}
