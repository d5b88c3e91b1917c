// The page's behaviour. Everything it offers comes from the catalogue the
// server embeds (ops, modes, dtypes, kernels, limits), so a new op or mode
// appears here without a change to this file. Jobs run one at a time (never
// in parallel: the page must not be the load it measures); every API error
// is shown as its problem's title and detail.

const CAT = JSON.parse(document.getElementById('catalogue').textContent);
const $ = (id) => document.getElementById(id);
// Okabe-Ito: told apart with the common colour-vision deficiencies
const PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#999999', '#f0e442'];
const colourOf = (mode) => PALETTE[CAT.modes.indexOf(mode) % PALETTE.length];
const SWEEP_FROM = 16;
const METRICS_EVERY_MS = 5000;
const METRICS_MAX_MS = 60000;

// ---------- formatting

function fmtTime(s) {
  if (!Number.isFinite(s)) return '–';
  if (s < 1e-3) return `${(s * 1e6).toPrecision(3)} µs`;
  if (s < 1) return `${(s * 1e3).toPrecision(3)} ms`;
  return `${s.toPrecision(3)} s`;
}
const fmtTimes = (s) => `${+s.toPrecision(2)}×`;
function fmtBytes(b) {
  if (b < 1024) return `${b} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let i = -1;
  do { b /= 1024; i++; } while (b >= 1024 && i < units.length - 1);
  return `${b.toPrecision(3)} ${units[i]}`;
}
const fmtCount = (n) => Math.round(n).toLocaleString('en');

// ---------- the form, built from the catalogue

function options(select, values, label = (v) => v) {
  for (const v of values) select.add(new Option(label(v), v));
}
options($('op'), CAT.ops.map((o) => o.path), (path) => CAT.ops.find((o) => o.path === path).op);
options($('dtype'), CAT.dtypes);
options($('mode'), CAT.modes);
options($('kernel'), CAT.kernels);
options($('reference'), CAT.modes);
$('reference').value = CAT.modes.includes('wasm') ? 'wasm' : CAT.modes[0];
$('n').value = Math.min(CAT.defaultN, CAT.maxN);
$('n').max = $('sweep-max').max = CAT.maxN;
$('sweep-max').value = Math.min(2048, CAT.maxN);
$('origin').textContent = location.origin;
const newSeed = () => ($('seed').value = Math.floor(Math.random() * (CAT.maxSeed + 1)));
newSeed();

const currentOp = () => CAT.ops.find((o) => o.path === $('op').value);

function showDims() {
  const op = currentOp();
  $('shape').hidden = !op || op.dims.length === 0;
  $('dims').replaceChildren();
  for (const d of op ? op.dims : []) {
    const label = Object.assign(document.createElement('label'), { htmlFor: `dim-${d}`, textContent: d });
    const input = Object.assign(document.createElement('input'), { id: `dim-${d}`, type: 'number', inputMode: 'numeric', min: 1, max: CAT.maxN, placeholder: 'n' });
    input.dataset.param = d;
    $('dims').append(label, input);
  }
}
function showWorkersHint() {
  const max = CAT.maxWorkers[$('mode').value];
  $('workers').max = max;
  $('workers-hint').textContent = max > 1 ? `1 to ${max}; empty: the workers free at dispatch` : `${$('mode').value} runs on one thread`;
}
$('op').addEventListener('change', showDims);
$('mode').addEventListener('change', showWorkersHint);
$('new-seed').addEventListener('click', newSeed);
if (CAT.ops.length === 0) $('op').add(new Option('(no op route)', ''));
showDims();
showWorkersHint();

/** A failure to show: an API problem (title, detail, param) or the page's own. */
function problem(title, detail, param) {
  return Object.assign(new Error(detail), { title, detail, param });
}

/** A number field's text ('' when empty); a field the browser cannot read as a number is refused here. */
function numberField(input, name) {
  if (input.validity.badInput) throw problem('Invalid input', `${name} must be a number`, input.id);
  return input.value.trim();
}

/** The job the form describes: op, shape and dtype, seed, kernel, workers; the mode is added per run. */
function readJob() {
  const op = currentOp();
  if (!op) throw problem('No operation', 'this server offers no op route');
  const shape = {};
  const dims = [...$('dims').querySelectorAll('input')];
  if (!$('shape').hidden && $('shape').open && dims.some((i) => i.value !== '')) {
    for (const i of dims) shape[i.dataset.param] = numberField(i, i.dataset.param);
  } else {
    shape.n = numberField($('n'), 'n');
  }
  if (numberField($('seed'), 'seed') === '') newSeed();
  const job = { op, shape, dtype: $('dtype').value, seed: $('seed').value, kernel: $('kernel').value, workers: numberField($('workers'), 'workers') };
  return job;
}

function repeats() {
  const r = Number(numberField($('repeats'), 'repeats') || 1);
  if (!Number.isInteger(r) || r < 1 || r > 20) throw problem('Invalid input', 'best of must be a whole number from 1 to 20', 'repeats');
  return r;
}

/** The query of one run: `workers` only where the mode can take it (compare and sweep), or as given (Run: the server judges). */
function query(job, mode, { shape = job.shape, workers = job.workers, strictWorkers = false } = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(shape)) if (v !== '') q.set(k, v);
  q.set('dtype', job.dtype);
  q.set('seed', job.seed);
  q.set('mode', mode);
  if (job.kernel) q.set('kernel', job.kernel);
  if (workers !== '' && (strictWorkers || Number(workers) <= CAT.maxWorkers[mode])) q.set('workers', workers);
  return q;
}

// ---------- the API

/**
 * Seconds from sending the request to its last byte, from Resource Timing (the
 * network's clock: the page's own rendering between two runs is not counted),
 * else from `t0`.
 */
function wallTime(url, t0) {
  const entries = performance.getEntriesByName(url, 'resource');
  const e = entries[entries.length - 1];
  performance.clearResourceTimings(); // one entry per run; the buffer would fill up in a sweep
  return (e && e.responseEnd > 0 ? e.responseEnd - e.startTime : performance.now() - t0) / 1000;
}

/** One job over HTTP; resolves with the answer and its wall time (seconds). */
async function call(job, q, signal) {
  const url = new URL(`${job.op.path}?${q}`, location.href).href;
  const t0 = performance.now();
  let res;
  try {
    res = await fetch(url, { signal, cache: 'no-store', headers: { accept: 'application/json' } });
  } catch (e) {
    if (signal.aborted) throw e;
    throw problem('No answer', `the server could not be reached (${e.message})`);
  }
  const text = await res.text();
  const wall = wallTime(url, t0);
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON: shown below */ }
  if (!res.ok || !body || body.status !== 'ok') {
    throw problem(body?.title ?? `HTTP ${res.status}`, body?.detail ?? (text.slice(0, 200) || res.statusText), body?.param);
  }
  return { ...body, wall };
}

// ---------- results: the table and the time chart

/** mode -> {asked, ran, kernel, kernelTime, wall, workers, checksums: Set, runs} (best times of its runs). */
let results = new Map();
let caption = '';

const rows = new Map();
for (const mode of CAT.modes) {
  const tr = document.createElement('tr');
  tr.dataset.mode = mode;
  tr.innerHTML = '<th scope="row"></th><td class="num"></td><td class="num"></td><td class="num"></td><td><code></code> <span class="mark"></span></td>';
  $('rows').append(tr);
  rows.set(mode, tr);
}

function describe(job, answer) {
  const shape = answer ? `${answer.rows}×${answer.cols}` : Object.values(job.shape).join('×');
  return `${job.op.op} ${shape} ${job.dtype}, seed ${job.seed}${job.kernel ? `, ${job.kernel} kernel` : ''}`;
}

function record(mode, r) {
  const prev = results.get(mode);
  const best = prev ?? { asked: mode, checksums: new Set(), runs: 0, kernelTime: Infinity, wall: Infinity };
  best.ran = r.mode;
  best.kernel = r.kernel;
  best.workers = r.workers;
  best.kernelTime = Math.min(best.kernelTime, r.execution_time_sec);
  best.wall = Math.min(best.wall, r.wall);
  best.checksums.add(r.checksum);
  best.runs++;
  results.set(mode, best);
}

function renderTable() {
  $('caption').textContent = caption || 'No job has run yet.';
  const all = new Set([...results.values()].flatMap((r) => [...r.checksums]));
  const reference = [...results.values()][0]?.checksums.values().next().value;
  for (const [mode, tr] of rows) {
    const r = results.get(mode);
    const [th, kt, wt, wk, sum] = tr.children;
    th.textContent = mode;
    const detail = r ? `${r.ran !== mode ? `ran as ${r.ran}, ` : ''}${r.kernel} kernel` : '';
    // always one line (nowrap in CSS), empty or not: a row keeps its height when results arrive
    th.append(Object.assign(document.createElement('small'), { textContent: r ? (r.ran !== mode ? `→ ${r.ran}` : `${r.kernel} kernel`) : '\u00a0', title: detail }));
    kt.textContent = r ? fmtTime(r.kernelTime) : '–';
    wt.textContent = r ? fmtTime(r.wall) : '–';
    wk.textContent = r ? r.workers : '–';
    sum.firstChild.textContent = r ? [...r.checksums].join(' ') : '–';
    const mark = sum.lastChild;
    const same = r && r.checksums.size === 1 && r.checksums.has(reference);
    mark.className = r ? `mark ${same ? 'ok' : 'bad'}` : 'mark';
    mark.textContent = r ? (same ? '✓' : '✗') : '';
    mark.title = r ? (same ? 'same checksum as the first mode' : 'checksum differs') : '';
  }
  const agree = $('agree');
  const runs = [...results.values()].reduce((n, r) => n + r.runs, 0);
  if (results.size < 2) {
    agree.dataset.state = 'none';
    agree.textContent = 'Compare all modes to see that every mode computes the same bits.';
  } else if (all.size === 1) {
    agree.dataset.state = 'agree';
    agree.textContent = `✓ Checksums agree: ${results.size} modes, ${runs} runs, every result is ${reference}.`;
  } else {
    agree.dataset.state = 'differ';
    agree.textContent = `✗ Checksums differ across modes: ${[...all].join(', ')}.`;
  }
  renderTimeChart();
}

function renderTimeChart() {
  Charts.bars($('time-chart'), {
    rows: CAT.modes.map((mode) => {
      const r = results.get(mode);
      return { key: mode, label: mode, colour: colourOf(mode), value: r?.kernelTime, back: r?.wall };
    }),
    format: fmtTime,
    empty: 'Run a job or compare all modes',
  });
}
// one row per mode: the chart's height is known before any result arrives
$('time-chart').style.height = `${CAT.modes.length * 34 + 12}px`;

// ---------- speed-up against workers, and the sweep over sizes

const measure = () => $('measure').value;
const timeOf = (t) => (measure() === 'wall' ? t.wall : t.kernel);
const parallelModes = () => CAT.modes.filter((m) => CAT.maxWorkers[m] > 1);
/** {workers: [1..W], times: Map(mode -> [{kernel, wall} | undefined per worker count])} */
let speedup = null;
/** {sizes: [n], times: Map(mode -> [{kernel, wall} | undefined per size])} */
let sweep = null;

function legend(el, modes) {
  el.replaceChildren();
  for (const mode of modes) {
    const span = document.createElement('span');
    const swatch = document.createElement('i');
    swatch.style.background = colourOf(mode);
    span.append(swatch, mode);
    el.append(span);
  }
}

function renderSpeedup() {
  const modes = parallelModes();
  const maxW = Math.max(1, ...modes.map((m) => CAT.maxWorkers[m]));
  const workers = Array.from({ length: maxW }, (_, i) => String(i + 1));
  Charts.lines($('speedup-chart'), {
    x: workers,
    series: modes.map((mode) => {
      const t = speedup?.times.get(mode) ?? [];
      const one = t[0] && timeOf(t[0]);
      return { key: mode, label: mode, colour: colourOf(mode), points: workers.map((_, i) => (t[i] && one ? one / timeOf(t[i]) : null)) };
    }),
    guide: 'diagonal',
    xTitle: 'workers',
    format: fmtTimes,
    empty: modes.length ? 'Press “Speed-up vs workers”' : 'No mode has more than one worker here',
  });
}

function renderSweep() {
  const sizes = sweep?.sizes ?? sweepSizes(Number($('sweep-max').value) || CAT.maxN);
  const ref = $('reference').value;
  const refTimes = sweep?.times.get(ref) ?? [];
  const ratio = (mode, i) => {
    const t = sweep?.times.get(mode)?.[i];
    return t && refTimes[i] ? timeOf(refTimes[i]) / timeOf(t) : null;
  };
  Charts.lines($('sweep-chart'), {
    x: sizes.map(String),
    series: CAT.modes.map((mode) => ({ key: mode, label: mode, colour: colourOf(mode), points: sizes.map((_, i) => ratio(mode, i)) })),
    guide: 1,
    xTitle: 'n (n × n)',
    format: fmtTimes,
    empty: 'Press “Sweep sizes”',
  });
  const items = $('pays').children;
  CAT.modes.filter((m) => m !== ref).forEach((mode, k) => {
    const li = items[k];
    if (!sweep) return void (li.textContent = `${mode}: –`);
    const r = sizes.map((_, i) => ratio(mode, i));
    // the smallest size from which the mode is faster than the reference at every larger size measured
    let from = -1;
    for (let i = r.length - 1; i >= 0 && r[i] !== null && r[i] > 1; i--) from = i;
    const last = r[r.length - 1];
    li.textContent = r.every((v) => v === null)
      ? `${mode}: –`
      : from < 0
        ? `${mode}: not faster than ${ref} at n = ${sizes[sizes.length - 1]} (${last === null ? '–' : fmtTimes(last)})`
        : `${mode}: pays from n = ${sizes[from]} (${fmtTimes(last)} at n = ${sizes[sizes.length - 1]})`;
  });
}
for (const mode of CAT.modes.slice(1)) $('pays').append(document.createElement('li'));
legend($('speedup-legend'), parallelModes());
legend($('sweep-legend'), CAT.modes);

function sweepSizes(max) {
  const sizes = [];
  for (let n = SWEEP_FROM; n <= max; n *= 2) sizes.push(n);
  if (sizes.length === 0 || sizes[sizes.length - 1] !== max) sizes.push(max);
  return sizes;
}

function renderCharts() {
  renderTimeChart();
  renderSpeedup();
  renderSweep();
}
$('measure').addEventListener('change', renderCharts);
$('reference').addEventListener('change', renderSweep);
let redraw = 0;
new ResizeObserver(() => {
  cancelAnimationFrame(redraw);
  redraw = requestAnimationFrame(renderCharts);
}).observe($('results'));

// ---------- running: one task at a time, stoppable

let running = null;
let tasksDone = 0;
const ACTIONS = ['run', 'compare', 'speedup', 'sweep'];

function say(text) {
  $('status').textContent = text;
}
function progress(done, total) {
  $('progress').max = total || 1;
  $('progress').value = done;
}
function showError(e) {
  $('error').hidden = false;
  $('error-title').textContent = e.title ?? 'Error';
  $('error-detail').textContent = e.detail ?? e.message;
  if (e.param) {
    const input = $(e.param) ?? $(`dim-${e.param}`);
    if (input) input.setAttribute('aria-invalid', 'true');
  }
}
function clearError() {
  $('error').hidden = true;
  for (const i of document.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
}

async function task(name, work) {
  if (running) return;
  running = new AbortController();
  document.body.dataset.busy = 'true';
  for (const id of ACTIONS) $(id).setAttribute('aria-disabled', 'true');
  $('stop').setAttribute('aria-disabled', 'false');
  clearError();
  try {
    await work(running.signal);
  } catch (e) {
    if (e.name === 'AbortError') say(`${name}: stopped.`);
    else {
      say(`${name}: failed.`);
      showError(e);
    }
  } finally {
    running = null;
    for (const id of ACTIONS) $(id).setAttribute('aria-disabled', 'false');
    $('stop').setAttribute('aria-disabled', 'true');
    progress(0, 1);
    document.body.dataset.busy = 'false';
    document.body.dataset.done = String(++tasksDone); // tells a watcher (the browser test) that a task ended
    scrapeMetrics();
  }
}

/**
 * Lets the browser paint what the last run changed before the next request
 * starts, so its rendering does not compete with the job it times (the server
 * may share the machine). Nothing paints in a hidden tab: no wait there.
 */
function painted() {
  if (document.hidden) return Promise.resolve();
  return new Promise((resolve) => {
    requestAnimationFrame(() => setTimeout(resolve, 0));
    setTimeout(resolve, 100); // the tab may be hidden meanwhile (no frame comes then)
  });
}

function newResults(job, answer) {
  results = new Map();
  caption = describe(job, answer);
}

async function runOne(signal) {
  const job = readJob();
  const mode = $('mode').value;
  say(`Running in ${mode}…`);
  const r = await call(job, query(job, mode, { strictWorkers: true }), signal);
  newResults(job, r);
  record(mode, r);
  renderTable();
  say(`${mode}: ${fmtTime(r.execution_time_sec)} of kernel time.`);
}

async function compareAll(signal) {
  const job = readJob();
  const reps = repeats();
  const total = reps * CAT.modes.length;
  let done = 0;
  say(`Comparing ${CAT.modes.length} modes, best of ${reps}…`);
  let first = true;
  // round-robin over modes, so a drift of the machine touches every mode alike
  for (let rep = 0; rep < reps; rep++) {
    for (const mode of CAT.modes) {
      const r = await call(job, query(job, mode), signal);
      if (first) newResults(job, r);
      first = false;
      record(mode, r);
      renderTable();
      progress(++done, total);
      await painted();
    }
  }
  say(`Compared ${CAT.modes.length} modes, best of ${reps}.`);
}

async function measureSpeedup(signal) {
  const job = readJob();
  const reps = repeats();
  const modes = parallelModes();
  if (modes.length === 0) throw problem('Nothing to measure', 'no mode has more than one worker on this server');
  const times = new Map(modes.map((m) => [m, []]));
  speedup = { times };
  const total = reps * modes.reduce((n, m) => n + CAT.maxWorkers[m], 0);
  let done = 0;
  say(`Speed-up against workers, best of ${reps}…`);
  for (let rep = 0; rep < reps; rep++) {
    for (const mode of modes) {
      for (let w = 1; w <= CAT.maxWorkers[mode]; w++) {
        const r = await call(job, query(job, mode, { workers: String(w), strictWorkers: true }), signal);
        const t = times.get(mode);
        const prev = t[w - 1];
        t[w - 1] = { kernel: Math.min(prev?.kernel ?? Infinity, r.execution_time_sec), wall: Math.min(prev?.wall ?? Infinity, r.wall) };
        renderSpeedup();
        progress(++done, total);
        await painted();
      }
    }
  }
  say(`Speed-up measured for ${modes.join(', ')}.`);
}

async function sweepSizesTask(signal) {
  const job = readJob();
  const reps = repeats();
  const max = Number(numberField($('sweep-max'), 'sweep up to n') || CAT.maxN);
  if (!Number.isInteger(max) || max < 1 || max > CAT.maxN) throw problem('Invalid input', `sweep up to n must be a whole number from 1 to ${CAT.maxN} (--max-n)`, 'sweep-max');
  const sizes = sweepSizes(max);
  const times = new Map(CAT.modes.map((m) => [m, []]));
  sweep = { sizes, times };
  const total = sizes.length * reps * CAT.modes.length;
  let done = 0;
  say(`Sweeping n = ${sizes[0]} to ${sizes[sizes.length - 1]}, best of ${reps}…`);
  for (let i = 0; i < sizes.length; i++) {
    for (let rep = 0; rep < reps; rep++) {
      for (const mode of CAT.modes) {
        const r = await call(job, query(job, mode, { shape: { n: String(sizes[i]) } }), signal);
        const prev = times.get(mode)[i];
        times.get(mode)[i] = { kernel: Math.min(prev?.kernel ?? Infinity, r.execution_time_sec), wall: Math.min(prev?.wall ?? Infinity, r.wall) };
        progress(++done, total);
      }
    }
    renderSweep();
    await painted();
  }
  say(`Swept n = ${sizes[0]} to ${sizes[sizes.length - 1]}, best of ${reps}.`);
}

$('job').addEventListener('submit', (e) => {
  e.preventDefault();
  void task('Run', runOne);
});
$('run').addEventListener('click', (e) => {
  // a click while busy must not submit a second job (aria-disabled keeps the button focusable)
  if (running) e.preventDefault();
});
$('compare').addEventListener('click', () => void task('Compare', compareAll));
$('speedup').addEventListener('click', () => void task('Speed-up', measureSpeedup));
$('sweep').addEventListener('click', () => void task('Sweep', sweepSizesTask));
$('stop').addEventListener('click', () => running?.abort());

// ---------- live figures from /metrics: slow, one scrape at a time, paused while the tab is hidden

const live = { timer: 0, delay: METRICS_EVERY_MS, pending: false, last: null };

/** Sums of every sample of each metric in a Prometheus text exposition. */
function metricSums(text) {
  const sums = {};
  for (const line of text.split('\n')) {
    if (line === '' || line[0] === '#') continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{.*\})?\s+(\S+)/.exec(line);
    if (m) sums[m[1]] = (sums[m[1]] ?? 0) + Number(m[2]);
  }
  return sums;
}

function showFigures(sums, at) {
  const requests = sums.wasmatrix_http_requests_total ?? 0;
  let rate = '';
  if (live.last && at > live.last.at) rate = ` (${((requests - live.last.requests) / ((at - live.last.at) / 1000)).toFixed(1)}/s)`;
  live.last = { requests, at };
  $('m-requests').textContent = fmtCount(requests) + rate;
  $('m-queue').textContent = fmtCount(sums.wasmatrix_pool_queue_length ?? 0);
  $('m-inflight').textContent = fmtBytes(sums.wasmatrix_inflight_bytes ?? 0);
  $('m-restarts').textContent = fmtCount(sums.wasmatrix_pool_worker_restarts ?? 0);
}

async function scrapeMetrics() {
  clearTimeout(live.timer);
  if (document.hidden) {
    $('m-state').textContent = 'Paused while this tab is hidden.';
    return;
  }
  if (live.pending) return;
  live.pending = true;
  const t0 = performance.now();
  try {
    const res = await fetch('/metrics', { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const text = await res.text();
    const took = performance.now() - t0;
    showFigures(metricSums(text), performance.now());
    // a slow answer means a loaded server: ask less often until it is quick again
    live.delay = took > 250 ? Math.min(live.delay * 2, METRICS_MAX_MS) : METRICS_EVERY_MS;
    $('m-state').textContent = `Live from /metrics, every ${live.delay / 1000} s while this tab is visible.`;
  } catch (e) {
    live.delay = Math.min(live.delay * 2, METRICS_MAX_MS);
    $('m-state').textContent = `No figures (${e.message}); trying again in ${live.delay / 1000} s.`;
  } finally {
    live.pending = false;
    if (!document.hidden) live.timer = setTimeout(scrapeMetrics, live.delay);
  }
}
document.addEventListener('visibilitychange', scrapeMetrics);

renderTable();
renderCharts();
scrapeMetrics();
