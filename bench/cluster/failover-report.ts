// The failover run's ledger, per phase and in all: an aligned text table for
// the terminal, Markdown for bench/results/failover-latest.md (and the
// failure table in docs/deployment.md).

import { int } from '../http/format.js';
import { markdownTable, textTable } from '../http/table.js';
import type { FailoverRun, PhaseRecord } from './failover.js';

const HEADER = ['phase', 's', 'requests', 'verified 200', 'not 200', 'unanswered', 'conn. errors', 'proxy retries', 'proxy 5xx'];
const NUMERIC = new Set([1, 2, 3, 4, 5, 6, 7, 8]);

function row(p: Pick<PhaseRecord, 'name' | 'sent' | 'verified' | 'failed' | 'unanswered' | 'connectionErrors' | 'retries' | 'responses5xx'> & { seconds: number | null }): string[] {
  return [p.name, p.seconds === null ? '' : p.seconds.toFixed(1), int(p.sent), int(p.verified), int(p.failed), int(p.unanswered), int(p.connectionErrors), int(p.retries), int(p.responses5xx)];
}

function rows(run: FailoverRun): string[][] {
  const l = run.ledger;
  const failed = l.wrong + l.undocumented + Object.values(l.documented).reduce((a, b) => a + b, 0);
  return [
    ...run.phases.map((p) => row(p)),
    row({ name: 'all', seconds: null, sent: l.sent, verified: l.ok, failed, unanswered: l.unanswered, connectionErrors: l.connectionErrors, retries: run.proxy_totals.retries, responses5xx: run.proxy_totals.responses5xx }),
  ];
}

function facts(run: FailoverRun): string[] {
  return [
    `${run.hosts} hosts (${run.network === 'netns' ? 'each in a network namespace of its own, on a bridge' : 'on 127.0.0.x, no namespaces: the link phase needs --netns and root'}), HAProxy ${run.proxy.version ?? '?'} on deploy/haproxy.cfg`,
    `host flags: ${run.host_args.join(' ')}; load: ${run.connections} connections (autocannon), ${int(run.answers_per_sec)} answers/s over ${run.load_seconds.toFixed(1)} s`,
    `requests sent after a Connection: close answer, never delivered (not a request): ${run.ledger.undelivered}; answers to no open request: ${run.ledger.strayAnswers}`,
  ];
}

function phaseFacts(run: FailoverRun): string[] {
  return run.phases.filter((p) => p.facts.length || p.problems.length).flatMap((p) => [`${p.name}:`, ...p.facts.map((f) => `  - ${f}`), ...p.problems.map((f) => `  - PROBLEM: ${f}`)]);
}

const verdictLines = (run: FailoverRun): string[] => (run.passed ? ['PASSED'] : ['FAILED:', ...run.failures.map((f) => `  - ${f}`)]);

/** The ledger in Markdown: the table, the run's facts and what happened in each phase. */
const ledgerLines = (run: FailoverRun): string[] => [
  markdownTable(HEADER, rows(run), NUMERIC),
  '',
  ...facts(run).map((f) => `- ${f}`),
  '',
  ...phaseFacts(run).map((l) => (l.startsWith('  - ') ? l : `- ${l}`)),
];

/** docs/deployment.md's ledger: the table, the run's facts and what happened in each phase. */
export function failoverLedgerMarkdown(run: FailoverRun): string {
  return ledgerBlockMarkdown(run, ledgerLines(run));
}

export function failoverText(run: FailoverRun): string {
  return [textTable(HEADER, rows(run), NUMERIC), '', ...facts(run), '', ...phaseFacts(run), '', ...verdictLines(run)].join('\n');
}

/** What every run's record has, for the shared parts of its report. */
export interface RunRecord {
  command: string;
  started_at: string;
  finished_at: string;
  passed: boolean;
  failures: string[];
}

/** A run's whole record in Markdown: title, command and times, what counts, the ledger, the verdict. */
export function recordMarkdown(title: string, rule: string, run: RunRecord, ledger: string[]): string {
  return [`# ${title}`, '', `\`${run.command}\`, ${run.started_at} to ${run.finished_at}.`, '', rule, '', ...ledger, '', `**${run.passed ? 'PASSED' : 'FAILED'}**`, ...run.failures.map((f) => `- ${f}`), ''].join('\n');
}

/** The docs' block of a run: its command, date and verdict, then the ledger and the failures. */
export function ledgerBlockMarkdown(run: RunRecord, ledger: string[]): string {
  return [`\`${run.command}\` on ${run.started_at.slice(0, 10)}: **${run.passed ? 'passed' : 'failed'}**.`, '', ...ledger, ...run.failures.map((f) => `- FAILURE: ${f}`)].join('\n');
}

export function failoverMarkdown(run: FailoverRun): string {
  return recordMarkdown(
    'Failover run: 3 hosts behind HAProxy',
    'Every request of the load must be a 200 whose answer matches the pure-TS reference; any other status, a connection error or a request never answered fails the run. Requests are counted in the phase they were sent in, answers in the phase they arrived in.',
    run,
    ledgerLines(run),
  );
}
