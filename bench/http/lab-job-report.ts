// "The lab's job, like with like" as Markdown: the contenders' medians and
// spread with their ratios to the lab's baseline from the same run, the lab
// configurations measured to pick that baseline, and how each one's answers
// were checked. Used by report.md and the docs' generated block.

import { int, ms, pct, ratio } from './format.js';
import type { LabJobSection } from './lab-job.js';
import { markdownTable, textTable } from './table.js';

const or = (x: number | null, f: (x: number) => string): string => (x === null ? '-' : f(x));

const CONTENDER_HEADER = ['server', 'req/s', 'min to max', 'p50 ms', 'p99 ms', 'x the lab', 'server CPU', 'wrk CPU', 'answers checked'];
const NUMERIC = new Set([1, 2, 3, 4, 5, 6, 7, 8]);

/** One row per server: medians, spread, ratio to the lab's median of the same run. */
function contenderRows(section: LabJobSection): string[][] {
  const lab = section.contenders.find((c) => c.id === 'lab');
  return section.contenders.map((c) => [
    c.median_rps === null ? `${c.label} (not measured: ${c.problem})` : c.label,
    or(c.median_rps, int),
    c.min_rps === null ? '-' : `${int(c.min_rps)} to ${int(c.max_rps!)}`,
    or(c.median_p50_ms, ms),
    or(c.median_p99_ms, ms),
    c.median_rps !== null && lab?.median_rps ? ratio(c.median_rps / lab.median_rps) : '-',
    or(c.median_server_cpu_pct, pct),
    or(c.median_generator_cpu_pct, pct),
    int(c.runs.reduce((s, r) => s + r.checked, 0)),
  ]);
}

/** The servers' table as aligned text, for the benchmark's stdout. */
export function labJobText(section: LabJobSection): string {
  return `The lab's job, like with like (GET /threading n=${section.n}, ${section.connections} connections, ${section.generator === 'wrk' ? 'wrk' : section.generator}, median of ${section.rounds}; lab = ${section.lab_best ?? 'none'}):\n${textTable(CONTENDER_HEADER, contenderRows(section), NUMERIC)}`;
}

export function labJobMarkdown(section: LabJobSection | null | undefined): string[] {
  if (section === undefined) return ['Not in this result (written before the section was recorded): the next `npm run bench` records it.'];
  if (section === null) return ['Not run (`--no-lab`, `--lab-rounds 0` or `--url`).'];
  const lines = [
    `GET /threading at n = ${section.n} (two random ${section.n} x ${section.n} integer matrices, added), ${section.connections} connections, ` +
      `load generator ${section.generator === 'wrk' ? 'wrk (one thread)' : section.generator}; each server measured ${section.rounds} times, interleaved ` +
      `(${section.warmup_s} s checked warm-up, then ${section.seconds} s), all servers started once and left idle while the others ran. ` +
      'req/s is the median, with the lowest and highest run; p50 and p99 are medians of the runs; CPU in % of one core.',
    '',
  ];
  if (section.problem) lines.push(`**Problem**: ${section.problem}`, '');
  if (section.contenders.length) {
    lines.push(markdownTable(CONTENDER_HEADER, contenderRows(section), NUMERIC), '');
  }
  lines.push(
    `The lab's baseline is the fastest of the configurations the lab describes, each measured first for ${section.search_seconds} s with the same settings ` +
      `(Debian's gunicorn, python3-flask and python3-numpy; the apps in \`bench/lab/\`): **${section.lab_best ?? 'none answered right'}**.`,
    '',
    markdownTable(
      ['lab configuration', 'command', 'req/s', 'p99 ms'],
      section.lab_search.map((r) => [r.config, `\`${r.command}\``, r.requests_per_sec === null ? `failed: ${r.problem}` : int(r.requests_per_sec), or(r.p99_ms, ms)]),
      new Set([2, 3]),
    ),
    '',
    'Commands and checks:',
    '',
    ...section.contenders.map((c) => `- ${c.label}: \`${c.command}\`; answers: ${c.check}.`),
    '',
    `For reference only (another machine, another tool), ${section.lab_published}.`,
  );
  return lines;
}
