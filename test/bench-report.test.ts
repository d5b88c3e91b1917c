// The report from fixed inputs: the Markdown sections, the tables, the charts
// (SVG that parses), and the results folder.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allCharts, latencyChart, requestsChart } from '../bench/http/charts.ts';
import { conclusions, targets } from '../bench/http/conclusions.ts';
import { resultsDirName, writeResults } from '../bench/http/output.ts';
import { markdownReport } from '../bench/http/report.ts';
import { labJobText } from '../bench/http/lab-job-report.ts';
import { resultsText } from '../bench/http/table.ts';
import { proxySectionText } from '../bench/cluster/bench-section.ts';
import type { BenchRun } from '../bench/http/results.ts';
import { fakeLabJob, fakeProxySection, fakeRun, fakeStall } from './fixtures/bench-results.ts';

function completeRun() {
  const run = fakeRun();
  return { ...run, conclusions: conclusions(run), targets: targets(run) };
}

test('the Markdown report states machine, command, method, results, conclusions, targets, the lab and the kernels', () => {
  const md = markdownReport(completeRun(), allCharts(completeRun().cases));
  for (const heading of ['## Machine', '## Command', '## Method', '## Results', '## Conclusions (computed from the table)', '## Targets', "## The lab's conclusion, measured", '## Kernels without HTTP', '## Failed cases']) {
    assert.ok(md.includes(`\n${heading}\n`), heading);
  }
  assert.match(md, /Test CPU, 2 cores/);
  assert.match(md, /WebAssembly SIMD on/);
  assert.match(md, /```sh\nnpm run bench\n```/);
  assert.match(md, /\| GET \/threading \| 500 \| 6,500 \| 6\.50x \|/);
  assert.match(md, /\| GET \/add\?mode=threads \| 500 \| 9,000 \| .* \| FAILED \|/);
  assert.match(md, /!\[Requests per second[^\]]*\]\(requests\.svg\)/);
  assert.match(md, /threads beat processes, the opposite of the lab/);
  assert.match(md, /\| random\+add \| threads \| wasm \| int32 \| 2048 \| 2 \| 0\.250 \| 48\.00 \| 12\.00x \|/);
  assert.match(md, /- `GET \/add\?mode=threads` n = 500: 3 of 100 answers wrong/);
  assert.ok(md.includes("\n## The lab's job, like with like\n"));
  assert.match(md, /\| wasmatrix -w 1 \| 10,500 \| 10,400 to 10,700 \| 1\.33 \| 4\.00 \| 25\.00x \| 180% \| 8% \| 189,600 \|/);
  assert.match(md, /\*\*threading -w 2 --threads 4\*\*/);
  assert.match(labJobText(fakeLabJob()), /lab = threading -w 2 --threads 4\):\nserver .*\n-+.*\nwasmatrix -w 1 +10,500 +10,400 to 10,700 .* 25\.00x/);
  assert.match(md, /\| multiprocessing -w 1 \| `gunicorn -w 1 -b 127\.0\.0\.1:0 app_multiprocessing:app` \| failed: status 500 \|/);
});

test('through HAProxy: CPU per request per component, the proxy\'s cost against direct, and the model of N hosts from it', () => {
  const section = fakeProxySection();
  assert.is(section.status, 'ok');
  const m = section.model!;
  assert.is(m.service_cpu_ms, 0.3, 'direct: 120% of a core for 4,000 req/s');
  assert.ok(Math.abs(m.proxy_cpu_ms - 0.1) < 1e-12, 'HAProxy: 30% of a core for 3,000 req/s');
  assert.is(Math.round(m.host_capacity_rps), 6667, '2 cores / 0.3 ms');
  assert.is(Math.round(m.proxy_capacity_rps), 20000, '2 threads / 0.1 ms');
  assert.equal(m.rows.slice(0, 4).map((r) => [r.hosts, Math.round(r.req_per_sec), r.limited_by]), [
    [1, 6667, 'hosts'],
    [2, 13333, 'hosts'],
    [3, 20000, 'hosts'],
    [4, 20000, 'proxy'],
  ]);
  const [cost, many, model] = section.conclusions;
  assert.match(cost!, /3,000 req\/s against 4,000 direct \(25% fewer\)/);
  assert.match(cost!, /HAProxy used 0\.100 ms of CPU per request, the host 0\.300 ms/);
  assert.match(many!, /2 hosts: 2,900 req\/s \(1 host: 3,000\)/);
  assert.match(many!, /cannot serve more here/);
  assert.match(model!, /serves up to 6,667 req\/s/);
  assert.match(model!, /saturates at 20,000 req\/s, so from about 4 hosts on the proxy is the limit/);
  const md = markdownReport(completeRun(), []);
  assert.match(md, /\n## Through HAProxy: the proxy's cost, and several hosts\n/);
  assert.match(md, /\| HAProxy, 1 host \| 3,000 \|/);
  assert.match(md, /\| 4 \| 20,000 \| the proxy \|/);
  assert.match(proxySectionText(section), /direct, 1 host\s+4,000/);
});

test('the stall measurement: report section and target, met or missed from the /healthz p99, absent when not run', () => {
  const run: BenchRun = { ...fakeRun(), stall: fakeStall() };
  const md = markdownReport(run, []);
  assert.ok(md.includes('\n## Stall: /healthz while the largest jobs flood the server\n'));
  assert.match(md, /While 8 connections flood `\/add\?mode=ts\|wasm&n=4096&dtype=float64`[^\n]*1,234 flood jobs, 0 not 200/);
  assert.match(md, /\| \/healthz \| 300 \| 1\.25 \| 12\.5 \| 30\.0 \| 0 \|/);
  const target = (r: BenchRun) => targets(r).find((t) => t.name.startsWith('/healthz while 8 connections'))!;
  assert.is(target(run).met, true);
  assert.match(target(run).measured, /p99 12\.5 ms over 300 probes/);
  assert.is(target({ ...run, stall: fakeStall(25) }).met, false);
  assert.is(target({ ...run, stall: null }).met, null);
  assert.match(markdownReport({ ...run, stall: null }, []), /Not run \(`--no-stall`/);
});

test('the stdout table aligns one row per case with its verdict', () => {
  const lines = resultsText(completeRun().cases).split('\n');
  assert.is(lines.length, 2 + 5);
  assert.match(lines[0]!, /^case\s+n\s+req\/s\s+x ts/);
  assert.match(lines.find((l) => l.startsWith('GET /add?mode=threads'))!, /FAILED$/);
  assert.match(lines.find((l) => l.startsWith('GET /add?mode=ts'))!, /ok 12000$/);
});

test('charts are standalone SVG with every checked case and no failed one', () => {
  const run = completeRun();
  const charts = allCharts(run.cases);
  assert.equal(charts.map((c) => c.file), ['requests.svg', 'latency.svg', 'resources.svg']);
  for (const c of charts) {
    assert.match(c.svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(c.svg, /<\/svg>$/);
  }
  const bars = requestsChart(run.cases).svg;
  assert.ok(bars.includes('6,500') && bars.includes('/threading'));
  assert.not.ok(bars.includes('9,000'), 'the failed case has no bar');
  assert.ok(latencyChart(run.cases, 500).svg.includes('/multiprocessing'));
});

test('the results folder holds results.json, report.md and the charts; the name is date then host', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
  try {
    const run = completeRun();
    const files = writeResults(dir, run, allCharts(run.cases));
    assert.equal(files.map((f) => f.slice(dir.length + 1)), ['results.json', 'report.md', 'requests.svg', 'latency.svg', 'resources.svg']);
    const back = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
    assert.is(back.cases.length, 5);
    assert.is(back.targets.length, 6);
    assert.is(back.stall.healthz.p99_ms, 12.5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.is(resultsDirName(new Date(2026, 0, 2, 3, 4), 'my host'), '2026-01-02-0304-my_host');
});

test.run();
