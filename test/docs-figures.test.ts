// The docs' performance figures come from the committed results and nowhere
// else: every generated block of README.md and docs/*.md is what
// `npm run docs:figures` makes from bench/results/latest (and the soak and the
// auto thresholds), and no throughput, per-element or latency figure is typed
// in by hand outside those blocks.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from '../src/paths.ts';
import { blockNames, docFiles, fillBlocks, outsideBlocks } from '../bench/docs/blocks.ts';
import { failover, figureBlocks, headline, loadSources, proxy, stall } from '../bench/docs/figures.ts';
import { fakeRun, fakeStall } from './fixtures/bench-results.ts';

const sources = loadSources(ROOT);
const blocks = figureBlocks(sources);
const docs = docFiles(ROOT).map((file) => ({ file, text: readFileSync(join(ROOT, file), 'utf8') }));

test('every figures block in the README and docs/ is what the committed results give (npm run docs:figures)', () => {
  for (const { file, text } of docs) {
    const filled = fillBlocks(text, blocks, file);
    if (filled === text) continue;
    const stale = blockNames(text).filter((name) => !text.includes(`<!-- figures:${name} -->\n${blocks[name]!.trimEnd()}\n<!-- /figures:${name} -->`));
    assert.unreachable(`${file}: blocks ${stale.join(', ')} differ from the committed results: run npm run docs:figures`);
  }
});

test('every block the generator makes is quoted once, and the README quotes the headline', () => {
  const quoted = docs.flatMap(({ file, text }) => blockNames(text).map((name) => `${name} in ${file}`));
  for (const name of Object.keys(blocks)) assert.is(quoted.filter((q) => q.startsWith(`${name} in `)).length, 1, `${name}: ${quoted.join('; ')}`);
  assert.ok(quoted.includes('headline in README.md'));
});

/** Figures that only a measurement can give: throughput, time per element, bandwidth, ratios to the baseline, percentiles. */
const MEASURED = [
  /\d[\d,.]*\s*(req\/s|requests per second|answers\/s|ns\/el|ns per element|GB\/s|GFLOPS)/i,
  /\d+(\.\d+)?x (ts|the (ts|pure-ts|typescript) |faster|slower|single-thread)/i,
  /\bp(50|90|99)\b[^\n|]{0,20}?\d+(\.\d+)?\s?ms/i,
];

test('no performance figure is written by hand outside the generated blocks', () => {
  // what the README used to say by hand is caught
  for (const line of ['`/threading` serves 4,132 req/s', 'the kernel is 4.8x the TS kernel', '0.79 against 3.8 ns per element', 'at 24 to 31 GB/s', 'p99 8-9 ms', '(44-45 GFLOPS float32 measured here)']) {
    assert.ok(MEASURED.some((re) => re.test(line)), line);
  }
  for (const { file, text } of docs) {
    outsideBlocks(text)
      .split('\n')
      .forEach((line) => {
        for (const re of MEASURED) assert.not.match(line, re, `${file}: "${line.trim()}" states a measured figure by hand: generate it (bench/docs/figures.ts)`);
      });
  }
});

test('a block is filled between its markers only, and an unknown or unclosed block is an error', () => {
  const text = 'before\n<!-- figures:a -->\nold\n<!-- /figures:a -->\nafter\n';
  assert.is(fillBlocks(text, { a: 'new\n' }), 'before\n<!-- figures:a -->\nnew\n<!-- /figures:a -->\nafter\n');
  assert.throws(() => fillBlocks('<!-- figures:b -->\nx\n<!-- /figures:b -->\n', { a: '' }, 'f.md'), /f\.md: no generator for the block "figures:b"/);
  assert.throws(() => blockNames('<!-- figures:c -->\nno end\n'), /without its closing/);
  assert.is(outsideBlocks('x\n<!-- figures:a -->\n1,000 req/s\n<!-- /figures:a -->\ny'), 'x\n\ny');
});

test('the headline follows the data: another result gives other figures', () => {
  const run = structuredClone(sources.run);
  const threading = run.cases.find((c) => c.kind === 'threading' && c.n === 500 && c.status === 'ok');
  assert.ok(threading, 'the committed run has /threading at n = 500');
  threading.requests_per_sec = 123456;
  assert.match(headline({ ...sources, run }), /123,456 req\/s/);
  assert.not.match(headline(sources), /123,456 req\/s/);
});

test('the stall block: the probes table and the goal met or missed from the run, or a clear "not in this result"', () => {
  const run = fakeRun();
  const met = stall({ ...sources, run });
  assert.match(met, /\| \/healthz \| 300 \| 1\.25 \| 12\.5 \| 30\.0 \| 0 \|/);
  assert.match(met, /p99 < 20 ms: \*\*met\*\*/);
  assert.match(stall({ ...sources, run: { ...run, stall: fakeStall(25) } }), /p99 < 20 ms: \*\*missed\*\* \(p99 25\.0 ms/);
  const { stall: _, ...older } = run;
  assert.match(stall({ ...sources, run: older }), /^Not in this result: .* no stall measurement .*run `npm run bench`/);
});

test('the proxy block renders the run\'s HAProxy section and model, or says the result predates it', () => {
  const run = fakeRun();
  const md = proxy({ ...sources, run });
  assert.match(md, /\| HAProxy, 1 host \| 3,000 \|/);
  assert.match(md, /^Model: N hosts/m);
  const { proxy: _, ...older } = run;
  assert.match(proxy({ ...sources, run: older as typeof run }), /^Not in this result: .*"Through HAProxy".*run `npm run bench`/);
});

test('the failover block follows the committed failover run', () => {
  const run = structuredClone(sources.failover);
  run.answers_per_sec = 4321;
  assert.match(failover({ ...sources, failover: run }), /4,321 answers\/s/);
  assert.not.match(failover(sources), /4,321 answers\/s/);
});

test.run();
