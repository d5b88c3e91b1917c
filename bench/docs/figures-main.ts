// `npm run docs:figures`: rewrites every generated figures block of README.md
// and docs/*.md from the committed results (see figures.ts).
//
//   npm run docs:figures              write the blocks
//   npm run docs:figures -- --check   change nothing; exit 1 naming every stale file
//   npm run docs:figures -- --charts  also re-render bench/results/latest/*.svg from its results.json

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { allCharts } from '../http/charts.js';
import { ROOT } from '../../src/paths.js';
import { docFiles, fillBlocks } from './blocks.js';
import { figureBlocks, loadSources } from './figures.js';

const { values } = parseArgs({ options: { check: { type: 'boolean', default: false }, charts: { type: 'boolean', default: false } } });
const sources = loadSources(ROOT);
const blocks = figureBlocks(sources);
const stale: string[] = [];
for (const file of docFiles(ROOT)) {
  const path = join(ROOT, file);
  const text = readFileSync(path, 'utf8');
  const filled = fillBlocks(text, blocks, file);
  if (filled === text) continue;
  stale.push(file);
  if (!values.check) writeFileSync(path, filled);
}
if (values.charts && !values.check) {
  for (const chart of allCharts(sources.run.cases)) writeFileSync(join(ROOT, 'bench', 'results', 'latest', chart.file), chart.svg);
  console.log('charts re-rendered from bench/results/latest/results.json');
}
if (values.check && stale.length) {
  console.error(`figures out of date in ${stale.join(', ')}: run npm run docs:figures`);
  process.exitCode = 1;
} else console.log(stale.length ? `figures updated in ${stale.join(', ')}` : 'every figures block is up to date');
