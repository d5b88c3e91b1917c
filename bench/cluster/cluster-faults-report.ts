// The cluster faults run's ledger, per phase and in all: an aligned text table
// for the terminal, Markdown for bench/results/cluster-faults-latest.md and for
// the failure table of docs/cluster.md (its generated block).

import { int } from '../http/format.js';
import { markdownTable, textTable } from '../http/table.js';
import type { FaultPhase, FaultsRun } from './cluster-faults.js';
import { ledgerBlockMarkdown, recordMarkdown } from './failover-report.js';

const HEADER = ['phase', 'allowed on mode=cluster besides a verified 200', 's', 'requests', 'verified 200', '503', '504', 'failed', 'unanswered', 'conn. errors', 'bands sent', 'redelivered'];
const NUMERIC = new Set([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);

const byStatus = (documented: Record<string, number>, status: string): number =>
  Object.entries(documented)
    .filter(([k]) => k.startsWith(status))
    .reduce((s, [, n]) => s + n, 0);

function row(p: FaultPhase): string[] {
  const allowed = p.allowed.length ? p.allowed.join(', ') : '-';
  return [p.name, allowed, p.seconds.toFixed(1), int(p.sent), int(p.verified), int(byStatus(p.documented, '503')), int(byStatus(p.documented, '504')), int(p.failed), int(p.unanswered), int(p.connectionErrors), int(p.bands.sent), int(p.bands.redelivered)];
}

function rows(run: FaultsRun): string[][] {
  const l = run.ledger;
  const sum = (f: (p: FaultPhase) => number): number => run.phases.reduce((s, p) => s + f(p), 0);
  const all = ['all', '', run.phases.reduce((s, p) => s + p.seconds, 0).toFixed(1), int(l.sent), int(l.ok), int(byStatus(l.documented, '503')), int(byStatus(l.documented, '504')), int(sum((p) => p.failed)), int(l.unanswered), int(l.connectionErrors), int(sum((p) => p.bands.sent)), int(sum((p) => p.bands.redelivered))];
  return [...run.phases.map(row), all];
}

function facts(run: FaultsRun): string[] {
  const e = run.exact;
  return [
    `nats-server, ${run.workers} worker hosts (\`worker --threads ${run.worker_threads}\`) and the server, ${run.network === 'netns' ? 'each in a network namespace of its own on one bridge' : 'on 127.0.0.x (no namespaces: the link phase needs root)'}; server flags \`${run.server_args.join(' ')}\``,
    `before the load, every op and dtype in mode=cluster, GET (random) and POST (caller data, the whole result compared byte for byte): ${e.equal} of ${e.checked} equal to the pure-TS reference${e.problems.length ? ` (${e.problems.slice(0, 3).join('; ')})` : ''}`,
    `load: ${run.connections} connections (autocannon) over ${run.load_seconds.toFixed(1)} s, uniformly over ${run.load_routes.join('; ')}; every 200 verified against the reference`,
    `answers to no open request: ${run.ledger.strayAnswers}; requests sent on a connection the server had closed (never delivered): ${run.ledger.undelivered}`,
  ];
}

function phaseFacts(run: FaultsRun): string[] {
  return run.phases.filter((p) => p.facts.length || p.problems.length).flatMap((p) => [`${p.name}:`, ...p.facts.map((f) => `  - ${f}`), ...p.problems.map((f) => `  - PROBLEM: ${f}`)]);
}

const ledgerLines = (run: FaultsRun): string[] => [markdownTable(HEADER, rows(run), NUMERIC), '', ...facts(run).map((f) => `- ${f}`), '', ...phaseFacts(run).map((l) => (l.startsWith('  - ') ? l : `- ${l}`))];

/** docs/cluster.md's failure table: the ledger, the run's facts and what happened in each phase. */
export function faultsLedgerMarkdown(run: FaultsRun): string {
  return ledgerBlockMarkdown(run, ledgerLines(run));
}

export function faultsText(run: FaultsRun): string {
  return [textTable(HEADER, rows(run), NUMERIC), '', ...facts(run), '', ...phaseFacts(run), '', ...(run.passed ? ['PASSED'] : ['FAILED:', ...run.failures.map((f) => `  - ${f}`)])].join('\n');
}

export function faultsMarkdown(run: FaultsRun): string {
  return recordMarkdown(
    'Cluster faults run: nats-server, 3 worker hosts and the server',
    'Every answer must be a 200 whose result matches the pure-TS reference, or a 503/504 problem+json in a phase that allows it on mode=cluster (the other modes must answer 200 throughout); a wrong answer, any other status, a connection error or a request never answered fails the run. Requests are counted in the phase they were sent in, answers in the phase they arrived in.',
    run,
    ledgerLines(run),
  );
}
