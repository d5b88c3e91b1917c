// `npm run bench:kernels`: the kernels and execution modes without HTTP.
//
// For each mode (and kernel=ts inside the pools) x dtype x n: ns per element,
// GB/s and the ratio against the ts baseline of the same run, for 'add' (caller
// data in place) and 'random+add' (the lab's per-request work); see cases.ts for
// exactly what each cell times. Then matmul (GFLOPS per mode and kernel, with
// NumPy's a @ b in the same run when python3 has NumPy; see matmul.ts), the bare
// add kernel against C (-O3 -march=native), and the cost of a fresh process or
// thread per request.
//
//   node dist/bench/kernels.js [--json] [--quick] [--sizes 64,500] [--modes wasm,threads]
//        [--dtypes int32] [--ops add,random+add,matmul,data-passes] [--matmul-sizes 64,512]
//        [--pass-sizes 500,2048] [--clock wall|cpu]
//        [--workers 2] [--rounds 3] [--only-table] [--markdown] [--write-thresholds]
//
// --clock cpu times the matmul rows by this process's CPU time and keeps only
// the one-core cells (ts, wasm, NumPy on one thread, the C ceiling): on a
// shared, loaded machine it leaves out the time spent descheduled.
//
// The machine is shared: the whole table is measured --rounds times (default 3,
// 1 with --quick), so each cell's samples are spread over the run, and a cell
// reports the median of its round medians, with the min and max of all batches.
// matmul cells are measured once (each with its own repeats; a call of a second
// or more, the TS baseline at large n, is timed once). --json prints one JSON
// object to stdout (KernelBenchJson in report.ts: the element-wise rows, the
// matmul rows {op: "matmul", mode, kernel, dtype, n, workers, gflops}, the
// data-passes rows, the roofline and the spawn costs); everything else goes to
// stderr.
//
// --ops data-passes: the add on caller data, bare against fused with its
// checksum (and the old two passes), per kernel, dtype and n (--pass-sizes,
// default 64,500,1024,2048,4096); see data-passes.ts.

import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { createEngines } from '../src/engines/index.js';
import { MODES, type KernelKind, type Mode } from '../src/engines/job.js';
import { DTYPES, ELEMENT_BYTES, isDtype, type Dtype, type MatrixArray } from '../src/kernels/dtype.js';
import { BENCH_OPS, callerData, LocalKernels, prepareCase, type BenchOp } from './cases.js';
import { PASS_KERNELS, PASS_MEASURE, PASS_SIZES, measurePasses, passesText, type PassRow } from './data-passes.js';
import { findPythonWithNumpy } from './numpy.js';
import { CEILING_FLAGS, matmulCeiling } from './matmul-ceiling.js';
import { formatMatmul, MATMUL_DTYPES, MATMUL_MODES, MATMUL_SIZES, matmulTargets, measureMatmul, runNumpy, type MatmulClock, type MatmulRow } from './matmul.js';
import { DEFAULT_MEASURE, measure, QUICK_MEASURE, summarize, SWEEP_MEASURE, type Timing } from './measure.js';
import { runC, timeAddKernel, type RooflineRow } from './roofline.js';
import { measureSpawnCost, SPAWN_N } from './spawn-cost.js';
import { formatMarkdown, formatReport, type KernelBenchJson, type Row, type SpawnCostLine } from './report.js';
import { measureThresholds, writeThresholds } from './thresholds.js';

const DEFAULT_SIZES = [64, 256, 500, 1024, 2048, 4096];
/** Fresh processes and threads started per spawn-cost sample. */
const SPAWN_REPEATS = 7;
/** The modes this bench measures: all but cluster, which needs NATS and worker hosts (the HTTP bench's cluster rows measure it). */
const IN_PROCESS_MODES = MODES.filter((m) => m !== 'cluster');
/** The kernels each mode is run with: the pools also run the baseline, like for like. */
const KERNELS_OF: Record<Mode, KernelKind[]> = { ts: ['ts'], wasm: ['wasm'], threads: ['wasm', 'ts'], processes: ['wasm', 'ts'], cluster: ['wasm', 'ts'], auto: ['wasm'] };

function listOf<T extends string>(flag: string, value: string | undefined, all: readonly T[], valid: (s: string) => boolean): T[] {
  if (value === undefined) return [...all];
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of items) if (!valid(s)) throw new TypeError(`--${flag}: unknown value "${s}" (one of ${all.join(', ')})`);
  return items as T[];
}

/** The element-wise ops of the table, matmul, and the data add's passes (bare, fused, two-pass). */
const ALL_OPS = [...BENCH_OPS, 'matmul', 'data-passes'] as const;
type AnyOp = (typeof ALL_OPS)[number];

function sizesOf(flag: string, value: string): number[] {
  const sizes = value.split(',').map(Number);
  for (const n of sizes) if (!Number.isInteger(n) || n < 1) throw new TypeError(`--${flag}: "${n}" is not an integer >= 1`);
  return sizes;
}

function clockOf(value: string | undefined): MatmulClock {
  if (value === undefined || value === 'wall' || value === 'cpu') return value ?? 'wall';
  throw new TypeError(`--clock: "${value}" is not wall or cpu`);
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      sizes: { type: 'string' },
      modes: { type: 'string' },
      dtypes: { type: 'string' },
      ops: { type: 'string' },
      'matmul-sizes': { type: 'string' },
      'pass-sizes': { type: 'string' },
      clock: { type: 'string' },
      workers: { type: 'string' },
      rounds: { type: 'string' },
      'only-table': { type: 'boolean', default: false },
      markdown: { type: 'boolean', default: false },
      'write-thresholds': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const sizes = values.sizes === undefined ? DEFAULT_SIZES : sizesOf('sizes', values.sizes);
  const ops = listOf<AnyOp>('ops', values.ops, ALL_OPS, (s) => (ALL_OPS as readonly string[]).includes(s));
  const dtypes = listOf<Dtype>('dtypes', values.dtypes, DTYPES, isDtype);
  const workers = values.workers === undefined ? 2 : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) throw new TypeError(`--workers must be an integer >= 1`);
  const rounds = values.rounds === undefined ? (values.quick ? 1 : 3) : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new TypeError(`--rounds must be an integer >= 1`);
  return {
    help: values.help,
    rounds,
    json: values.json,
    measure: values.quick ? QUICK_MEASURE : DEFAULT_MEASURE,
    sweep: values.quick ? QUICK_MEASURE : SWEEP_MEASURE,
    sizes,
    modes: listOf<Mode>('modes', values.modes, IN_PROCESS_MODES, (s) => (IN_PROCESS_MODES as readonly string[]).includes(s)),
    dtypes,
    ops: ops.filter((op): op is BenchOp => (BENCH_OPS as readonly string[]).includes(op)),
    quick: values.quick,
    /** undefined: no matmul rows. Its dtypes default to float32 and float64; --dtypes applies when given. */
    matmul: ops.includes('matmul')
      ? {
          sizes: values['matmul-sizes'] === undefined ? MATMUL_SIZES : sizesOf('matmul-sizes', values['matmul-sizes']),
          dtypes: values.dtypes === undefined ? MATMUL_DTYPES : dtypes,
          clock: clockOf(values.clock),
        }
      : undefined,
    /** undefined: no data-passes rows. --dtypes applies; --quick measures one round of each. */
    dataPasses: ops.includes('data-passes')
      ? { sizes: values['pass-sizes'] === undefined ? PASS_SIZES : sizesOf('pass-sizes', values['pass-sizes']), dtypes, kernels: PASS_KERNELS, rounds, measure: values.quick ? QUICK_MEASURE : PASS_MEASURE }
      : undefined,
    workers,
    extras: !values['only-table'],
    markdown: values.markdown,
    writeThresholds: values['write-thresholds'],
  };
}

async function main(): Promise<void> {
  const options = parseOptions();
  if (options.help) {
    console.log('usage: node dist/bench/kernels.js [--json] [--quick] [--sizes 64,500] [--modes ts,wasm,threads,processes,auto] [--dtypes int32,float32,float64] [--ops add,random+add,matmul,data-passes] [--matmul-sizes 64,128,256,512,1024,2048] [--pass-sizes 64,500,1024,2048,4096] [--clock wall|cpu] [--workers 2] [--rounds 3] [--only-table] [--markdown] [--write-thresholds]');
    return;
  }
  // progress and tables go to stderr under --json, so stdout holds only the JSON
  const say = (line: string): void => void (options.json ? process.stderr : process.stdout).write(`${line}\n`);
  const progress = (line: string): void => void process.stderr.write(`${line}\n`);
  const engines = await createEngines({ threads: options.workers, processes: options.workers });
  const local = new LocalKernels(engines);
  try {
    const context = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, kernels ${engines.simd ? 'SIMD' : 'scalar'}, pools of ${options.workers}`;
    if (options.writeThresholds) {
      progress(`measuring auto thresholds (${context})`);
      // --ops matmul alone measures only matmul's table (the other is kept from the file)
      const tables = options.matmul && options.ops.length === 0 ? (['matmul'] as const) : (['elementwise', 'matmul'] as const);
      const crossings = await measureThresholds(engines, local, options.sweep, progress, [...tables]);
      const file = writeThresholds(crossings);
      say(JSON.stringify(file, null, 2));
      return;
    }
    const passes: Row[][] = [];
    if (options.ops.length > 0)
      for (let round = 1; round <= options.rounds; round++) {
        progress(`round ${round} of ${options.rounds}`);
        passes.push(await measureTable(engines, local, options, progress));
      }
    const rows = passes.length > 0 ? combineRounds(passes) : [];
    let passRows: PassRow[] = [];
    if (options.dataPasses) {
      progress('data add: bare, fused, two-pass');
      passRows = measurePasses(local, options.dataPasses, progress);
    }
    const matmul = options.matmul ? await matmulSection(engines, local, options, options.matmul, progress) : undefined;
    const date = new Date().toISOString();
    say(`\nbench:kernels: ${context}, ${date.slice(0, 10)}, median of ${options.rounds} round(s)\n`);
    if (rows.length > 0) say(formatReport(rows));
    if (options.markdown && rows.length > 0) say(`\n${formatMarkdown(rows)}`);
    if (passRows.length > 0) say(passesText(passRows));
    if (matmul) say(matmul.text);
    let extras: Extras = { roofline: [], roofline_skipped: 'not run (--only-table)', spawn_costs: [] };
    // the roofline and spawn costs are about element-wise ops: only when one is measured
    if (options.extras && options.ops.length > 0) {
      extras = { ...(await roofline(local, options)), spawn_costs: await spawnCosts(engines, rows) };
      say(rooflineText(extras));
      say(spawnText(extras.spawn_costs));
    }
    if (options.json) {
      const result: KernelBenchJson = {
        context: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, simd: engines.simd, workers: options.workers, rounds: options.rounds, date },
        rows: rows.map(({ min: _min, max: _max, ...row }) => row),
        matmul: (matmul?.rows ?? []).map(({ min: _min, max: _max, ...row }) => row),
        passes: passRows,
        ...extras,
      };
      console.log(JSON.stringify(result, null, 2));
    }
  } finally {
    await engines.close();
  }
}

/** The matmul rows (ts, wasm, and NumPy on one thread and on all cores when found), and their printed table. */
async function matmulSection(
  engines: Awaited<ReturnType<typeof createEngines>>,
  local: LocalKernels,
  options: ReturnType<typeof parseOptions>,
  matmul: { sizes: number[]; dtypes: Dtype[]; clock: MatmulClock },
  progress: (line: string) => void,
): Promise<{ rows: MatmulRow[]; text: string }> {
  progress('matmul');
  const modes = MATMUL_MODES.filter((m) => options.modes.includes(m));
  const rows = await measureMatmul(engines, local, { ...matmul, modes, quick: options.quick }, progress);
  const lines = [
    '',
    matmul.clock === 'cpu'
      ? `matmul C = A x B, square n, GFLOPS = 2 n^3 / CPU seconds of this process (--clock cpu): the one-core cells only (ts and wasm on caller data in place, NumPy on one thread, the C ceiling)`
      : `matmul C = A x B, square n, GFLOPS = 2 n^3 / s: ts, wasm, threads (1..${engines.threads.maxWorkers} workers) and auto on caller data in place, processes on random jobs (each child draws its rows of A and all of B from the seed)`,
  ];
  const python = findPythonWithNumpy();
  if (!python) lines.push('  NumPy: no python3 with NumPy found, skipped');
  else
    for (const threads of matmul.clock === 'cpu' ? [1] : [...new Set([1, cpus().length])]) {
      progress(`  NumPy a @ b with ${threads} thread(s)`);
      const run = runNumpy(python, matmul.sizes, matmul.dtypes, threads, options.quick, matmul.clock);
      if ('problem' in run) {
        lines.push(`  NumPy (${threads} thread(s)): skipped, ${run.problem}`);
        continue;
      }
      rows.push(...run.rows);
      const i = run.info;
      lines.push(`  NumPy ${i.numpy} (${i.python}), BLAS ${i.blas}, kernel ${i.corename ?? 'unknown'}, ${i.threads ?? threads} thread(s), OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset; ${i.libraries.join(', ')}`);
    }
  lines.push('', formatMatmul(rows), '', 'Targets (issue 9, measured, never asserted):', ...matmulTargets(rows).map((t) => `  ${t}`));
  if (options.extras) lines.push('', ceilingLine(rows, matmul.clock));
  return { rows, text: lines.join('\n') };
}

/** What the micro-tile's instruction mix reaches in C on this core, and wasm's best cell against it. */
function ceilingLine(rows: MatmulRow[], clock: MatmulClock): string {
  const ceiling = matmulCeiling(clock);
  if ('skipped' in ceiling) return `Ceiling (the micro-tile in C): skipped, ${ceiling.skipped}`;
  const parts = (['float32', 'float64'] as const).map((dtype) => {
    const best = rows.filter((r) => r.mode === 'wasm' && r.dtype === dtype).reduce<MatmulRow | undefined>((x, y) => (!x || y.gflops > x.gflops ? y : x), undefined);
    const share = best ? `, wasm's best cell (n=${best.n}) ${((best.gflops / ceiling.gflops[dtype]) * 100).toFixed(0)}% of it` : '';
    return `${dtype} ${ceiling.gflops[dtype]} GFLOPS${share}`;
  });
  return `Ceiling: the same 4-row x 2-vector micro-tile in C (gcc ${CEILING_FLAGS.join(' ')}), panels in L1, one core: ${parts.join('; ')}`;
}

async function measureTable(
  engines: Awaited<ReturnType<typeof createEngines>>,
  local: LocalKernels,
  options: ReturnType<typeof parseOptions>,
  progress: (line: string) => void,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const op of options.ops)
    for (const dtype of options.dtypes)
      for (const n of options.sizes) {
        const data: { a: MatrixArray; b: MatrixArray } =
          op === 'add' ? { a: callerData(dtype, n * n), b: callerData(dtype, n * n) } : { a: new Int32Array(0), b: new Int32Array(0) };
        const cell: Row[] = [];
        for (const mode of options.modes)
          for (const kernel of KERNELS_OF[mode]) {
            const prepared = prepareCase(engines, local, { op, mode, kernel, dtype, n, workers: options.workers }, data);
            let t: Timing;
            try {
              t = await measure(prepared.call, options.measure);
            } finally {
              prepared.dispose();
            }
            const elements = n * n;
            const nsPerElement = (t.median * 1e9) / elements;
            cell.push({
              op,
              mode,
              kernel,
              dtype,
              n,
              workers: prepared.workers,
              ns_per_element: round(nsPerElement),
              gb_per_s: round((3 * ELEMENT_BYTES[dtype]) / nsPerElement),
              ratio_vs_ts: null,
              min: (t.min * 1e9) / elements,
              max: (t.max * 1e9) / elements,
              picked: prepared.picked,
            });
            progress(`  ${op} ${mode}/${kernel} ${dtype} n=${n}: ${nsPerElement.toFixed(3)} ns/element (${t.repeats} x ${t.batch})`);
          }
        const ts = cell.find((r) => r.mode === 'ts');
        for (const r of cell) r.ratio_vs_ts = ts ? round(ts.ns_per_element / r.ns_per_element) : null;
        rows.push(...cell);
      }
  return rows;
}

/** One row per cell: the median of the rounds' medians, the extremes of all, ratios recomputed. */
function combineRounds(passes: Row[][]): Row[] {
  const rows = passes[0]!.map((first, i) => {
    const cells = passes.map((p) => p[i]!);
    const ns = round(summarize(cells.map((c) => c.ns_per_element)).median);
    return {
      ...first,
      ns_per_element: ns,
      gb_per_s: round((3 * ELEMENT_BYTES[first.dtype]) / ns),
      min: Math.min(...cells.map((c) => c.min)),
      max: Math.max(...cells.map((c) => c.max)),
    };
  });
  for (const r of rows) {
    const ts = rows.find((t) => t.mode === 'ts' && t.op === r.op && t.dtype === r.dtype && t.n === r.n);
    r.ratio_vs_ts = ts ? round(ts.ns_per_element / r.ns_per_element) : null;
  }
  return rows;
}

/** The extras of a run, as data (the --json object) and as the text printed after the table. */
interface Extras {
  roofline: RooflineRow[];
  /** Why the C column is empty, when it is. */
  roofline_skipped: string | null;
  spawn_costs: SpawnCostLine[];
}

async function roofline(local: LocalKernels, options: ReturnType<typeof parseOptions>): Promise<Pick<Extras, 'roofline' | 'roofline_skipped'>> {
  const c = runC(options.sizes);
  const perElement = (t: Timing, n: number): number => round((t.median * 1e9) / (n * n));
  const rows: RooflineRow[] = [];
  for (const n of options.sizes) {
    const ct = 'timings' in c ? c.timings.get(n) : undefined;
    rows.push({
      n,
      c_ns: ct ? perElement(ct, n) : null,
      wasm_ns: perElement(await timeAddKernel(local.wasm, n, options.measure), n),
      ts_ns: perElement(await timeAddKernel(local.ts, n, options.measure), n),
    });
  }
  return { roofline: rows, roofline_skipped: 'skipped' in c ? c.skipped : null };
}

function rooflineText(e: Extras): string {
  const lines = ['', 'Roofline: the bare add kernel, int32, one thread, no checksum (ns/element median, GB/s at 12 bytes/element)'];
  if (e.roofline_skipped) lines.push(`  C comparison skipped: ${e.roofline_skipped}`);
  lines.push(`  ${'n'.padStart(5)}  ${'C -O3 -march=native'.padEnd(20)}  ${'wasm'.padEnd(20)}  ${'ts'.padEnd(20)}  wasm/C  wasm/ts`);
  const cell = (ns: number | null): string => (ns === null ? '-' : `${ns.toFixed(3)} (${(12 / ns).toFixed(1)} GB/s)`).padEnd(20);
  for (const r of e.roofline) {
    const vsC = r.c_ns === null ? '-' : (r.c_ns / r.wasm_ns).toFixed(2);
    lines.push(`  ${String(r.n).padStart(5)}  ${cell(r.c_ns)}  ${cell(r.wasm_ns)}  ${cell(r.ts_ns)}  ${vsC.padStart(6)}  ${(r.ts_ns / r.wasm_ns).toFixed(1).padStart(7)}`);
  }
  return lines.join('\n');
}

async function spawnCosts(engines: Awaited<ReturnType<typeof createEngines>>, rows: Row[]): Promise<SpawnCostLine[]> {
  const costs = await measureSpawnCost(engines, SPAWN_REPEATS);
  const ms = (seconds: number): number => round(seconds * 1e3);
  const lines: SpawnCostLine[] = costs.map((c) => ({ what: c.what, median_ms: ms(c.median), min_ms: ms(c.min), max_ms: ms(c.max) }));
  const pooled = rows.find((r) => r.op === 'random+add' && r.mode === 'processes' && r.kernel === 'wasm' && r.dtype === 'int32' && r.n === SPAWN_N);
  if (pooled) lines.push({ what: 'persistent process pool, same job', median_ms: round((pooled.ns_per_element * SPAWN_N * SPAWN_N) / 1e6), min_ms: null, max_ms: null });
  return lines;
}

function spawnText(costs: SpawnCostLine[]): string {
  const lines = ['', `Per-request spawning (the lab): start, one random+add int32 job n=${SPAWN_N}, exit; median (min-max) of ${SPAWN_REPEATS}`];
  for (const c of costs) {
    lines.push(c.min_ms === null ? `  ${c.what}: ${c.median_ms.toFixed(2)} ms` : `  ${c.what.padEnd(20)} ${c.median_ms.toFixed(1)} ms (${c.min_ms.toFixed(1)}-${c.max_ms!.toFixed(1)})`);
  }
  return lines.join('\n');
}

function round(x: number): number {
  return Number(x.toPrecision(4));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
