// The Markdown report of a run (report.md in the results folder): machine,
// command, method, the table, the charts, the computed conclusions and targets,
// the lab's claim against the data, and the kernel benchmark.

import { proxySectionMarkdown } from '../cluster/bench-section.js';
import { stallMarkdown } from './stall.js';
import { labJobMarkdown } from './lab-job-report.js';
import { labComparisons } from './conclusions.js';
import { fixed, int, ms, ratio } from './format.js';
import type { KernelsSection } from './kernels-section.js';
import type { BenchRun } from './results.js';
import { markdownTable, resultsMarkdown } from './table.js';

function machineLines(run: BenchRun): string[] {
  const m = run.machine;
  const other = run.cases.filter((c) => c.resources).map((c) => c.resources!.other_cpu_pct);
  const otherAvg = other.length ? other.reduce((s, x) => s + x, 0) / other.length : null;
  return [
    `- CPU: ${m.cpu_model}, ${m.cores} cores (CPU figures are % of one core: ${m.cores * 100}% is the whole machine)`,
    `- Memory: ${m.memory_gb} GB; Node.js ${m.node}; WebAssembly SIMD ${m.wasm_simd ? 'on' : 'off'}`,
    `- Load average when the run started: ${m.load_at_start.join(', ')}` +
      (otherAvg === null ? '' : `; other processes used ${Math.round(otherAvg)}% of a core on average during the cases`),
    `- Host: ${m.hostname}; run from ${run.started_at} to ${run.finished_at}${run.interrupted ? ' (interrupted with Ctrl-C: later cases missing)' : ''}`,
  ];
}

function methodLines(run: BenchRun): string[] {
  const o = run.options;
  const s = run.server;
  return [
    s.started_by_bench
      ? `- Server: started by the benchmark from the production build (\`node dist/src/cli/main.js -b 127.0.0.1:0${s.args.length ? ` ${s.args.join(' ')}` : ''}\`), stopped at the end. Start line: \`${s.start_line ?? '-'}\``
      : `- Server: already running at ${s.url} (not started by the benchmark)${s.pid ? `, pid ${s.pid} found by its listening socket` : ', pid unknown: CPU and memory not measured'}`,
    `- Load: ${o.connections} connections, pipelining 1; per case ${o.warmup} s warm-up then ${o.duration} s measured (wrk: whole seconds, rounded up). ` +
      `Generators: ${generatorSummary(run)}. wrk's CPU is its own process's (from the shell that waits for it); autocannon's is the benchmark's process. The column "load" names each case's.`,
    `- Answers: ${o.seeds} fixed seeds per case (dtype ${o.dtype}); one request per seed checked in full first (every JSON field, or every element of an uploaded result against the TS reference), then every answer of the warm-up and the measured run checked for status 200 and the checksum the pure-TS reference computed for its seed (with wrk, by its Lua response() hook, against the seed the answer names). One wrong answer fails the case.`,
    `- Latency: wrk's own histogram (microseconds); with autocannon, every response time recorded in a nanosecond histogram (perf_hooks), not autocannon's whole-millisecond one.`,
    `- CPU and memory: /proc sampled every 250 ms during the measured run over the server's pid (its threads included) and every process below it; PSS shares pages that several processes map. Requests per second = answers / measured wall-clock seconds.`,
    `- One server serves every case, in the order of the table: memory an earlier case made it grow (the shared WASM memory only grows) is still counted in later cases. So "RSS start" is what the server and its pool processes held when the case began (before its checks and warm-up), and peak minus start is what the case itself added.`,
    `- Ratios (x ts) are against \`GET /add?mode=ts\` at the same n in this same run.`,
  ];
}

/** "wrk for 9 cases (wrk: a GET with a JSON answer), autocannon for 2 (autocannon: POST bodies ...)". */
function generatorSummary(run: BenchRun): string {
  const groups = new Map<string, number>();
  for (const c of run.cases) {
    const why = c.generator?.why ?? 'autocannon (not recorded)';
    groups.set(why, (groups.get(why) ?? 0) + 1);
  }
  return [...groups].map(([why, count]) => `${why} (${count} case${count > 1 ? 's' : ''})`).join('; ') || 'none ran';
}

function kernelsMarkdown(k: KernelsSection | null): string[] {
  if (!k) return ['Not run (`--no-kernels`).'];
  const out = [`Command: \`${k.command}\` (${Math.round(k.seconds)} s, a child process of the benchmark).`, ''];
  if (k.status !== 'ok') return [...out, `**Failed**: ${k.problem ?? 'unknown'}`];
  const header = ['op', 'mode', 'kernel', 'dtype', 'n', 'workers', 'ns/element', 'GB/s', 'x ts'];
  const rows = k.rows.map((r) => [r.op, r.mode, r.kernel, r.dtype, String(r.n), String(r.workers), fixed(r.ns_per_element, 3), fixed(r.gb_per_s, 2), ratio(r.ratio_vs_ts)]);
  out.push(markdownTable(header, rows, new Set([4, 5, 6, 7, 8])), '');
  for (const c of k.crossovers) {
    out.push(
      `- ${c.op} ${c.dtype}: ${c.mode} vs single-thread wasm ${c.ratios.map(([n, x]) => `n=${n} ${ratio(x)}`).join(', ')}; ` +
        (c.from_n === null ? 'never ahead' : `ahead from n = ${c.from_n}`),
    );
  }
  for (const s of k.spawn_costs) out.push(`- ${s.what}: ${ms(s.median_ms)} ms per request${s.min_ms !== null ? ` (${ms(s.min_ms)}-${ms(s.max_ms!)})` : ''}`);
  if (k.text) out.push('', 'Its own report:', '', '```text', k.text, '```');
  return out;
}

export function markdownReport(run: BenchRun, charts: readonly { file: string; title: string }[]): string {
  const failed = run.cases.filter((c) => c.status === 'failed');
  const lab = labComparisons(run.cases);
  const lines = [
    `# wasmatrix benchmark: ${run.started_at.slice(0, 10)} on ${run.machine.hostname}`,
    '',
    '## Machine',
    '',
    ...machineLines(run),
    '',
    '## Command',
    '',
    '```sh',
    run.command,
    '```',
    '',
    '## Method',
    '',
    ...methodLines(run),
    '',
    '## Results',
    '',
    run.server.problem ? `**Server problem**: ${run.server.problem}\n` : '',
    'Latency in ms; errors = connection errors / timeouts / non-2xx; check = answers verified (warm-up and measured).',
    '',
    resultsMarkdown(run.cases),
    '',
    ...charts.map((c) => `![${c.title}](${c.file})\n`),
    '## Conclusions (computed from the table)',
    '',
    ...run.conclusions.map((l) => `- ${l}`),
    '',
    '## Targets',
    '',
    markdownTable(
      ['target', 'goal', 'measured', 'met'],
      run.targets.map((t) => [t.name, t.goal, t.measured, t.met === null ? 'not measured' : t.met ? 'yes' : '**no**']),
      new Set(),
    ),
    '',
    '## The lab\'s conclusion, measured',
    '',
    'The lab concluded that "multiprocessing gives better performance because it allows true parallel execution, while multithreading is limited by the GIL". ' +
      'JavaScript has no GIL: worker_threads run in parallel over one shared WebAssembly memory, while a child process needs its own memory and a pipe.',
    '',
    ...(lab.length ? lab.map((l) => `- ${l}`) : ['- Not measured in this run (needs both `threading` and `multiprocessing`).']),
    '',
    "## The lab's job, like with like",
    '',
    ...labJobMarkdown(run.lab_job),
    '',
    '## Through HAProxy: the proxy\'s cost, and several hosts',
    '',
    ...proxySectionMarkdown(run.proxy ?? null),
    '',
    '## Stall: /healthz while the largest jobs flood the server',
    '',
    ...stallMarkdown(run.stall),
    '',
    '## Kernels without HTTP',
    '',
    ...kernelsMarkdown(run.kernels),
    '',
  ];
  if (failed.length) {
    lines.push('## Failed cases', '');
    for (const c of failed) lines.push(`- \`${c.label}\` n = ${c.n}: ${c.problems.join('; ')}`);
    lines.push('');
  }
  lines.push(`Raw data: [results.json](results.json). ${int(run.cases.reduce((s, c) => s + c.verification.checked, 0))} answers checked in all.`, '');
  return lines.join('\n');
}
