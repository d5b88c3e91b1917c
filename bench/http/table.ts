// The results table, built once as cells and rendered as aligned text (stdout)
// or as Markdown (the report, the README).

import { int, mb, ms, pct, ratio } from './format.js';
import type { CaseResult } from './results.js';

export const RESULT_HEADER = ['case', 'n', 'req/s', 'x ts', 'avg ms', 'p50', 'p90', 'p99', 'max', 'errors', 'server CPU', 'loadgen CPU', 'load', 'RSS start/peak', 'PSS peak', 'check'];
/** Columns right-aligned in text. */
const NUMERIC = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14]);

export function resultCells(c: CaseResult): string[] {
  const l = c.latency;
  const r = c.resources;
  const served = c.served_by?.mode && c.kind === 'auto' ? ` (>${c.served_by.mode})` : '';
  return [
    c.label + served,
    String(c.n),
    c.responses ? int(c.requests_per_sec) : '-',
    ratio(c.ratio_vs_ts),
    l?.count ? ms(l.avg_ms) : '-',
    l?.count ? ms(l.p50_ms) : '-',
    l?.count ? ms(l.p90_ms) : '-',
    l?.count ? ms(l.p99_ms) : '-',
    l?.count ? ms(l.max_ms) : '-',
    `${c.errors}/${c.timeouts}/${c.non2xx}`,
    r ? pct(r.server_cpu_pct) : '-',
    r ? pct(r.loadgen_cpu_pct) : '-',
    c.generator?.tool ?? '-',
    r ? `${mb(r.rss_start_mb ?? null)} / ${mb(r.rss_peak_mb)}` : '-',
    r ? mb(r.pss_peak_mb) : '-',
    c.status === 'ok' ? `ok ${c.verification.checked}` : 'FAILED',
  ];
}

export function textTable(header: string[], rows: string[][], rightAligned: ReadonlySet<number> = NUMERIC): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]): string => cells.map((s, i) => (rightAligned.has(i) ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function markdownTable(header: string[], rows: string[][], rightAligned: ReadonlySet<number> = NUMERIC): string {
  const escape = (s: string): string => s.replaceAll('|', '\\|');
  const line = (cells: string[]): string => `| ${cells.map(escape).join(' | ')} |`;
  return [line(header), `|${header.map((_, i) => (rightAligned.has(i) ? ' ---: ' : ' --- ')).join('|')}|`, ...rows.map(line)].join('\n');
}

export function resultsText(cases: readonly CaseResult[]): string {
  return textTable(RESULT_HEADER, cases.map(resultCells));
}

export function resultsMarkdown(cases: readonly CaseResult[]): string {
  return markdownTable(RESULT_HEADER, cases.map(resultCells));
}
