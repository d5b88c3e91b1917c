// `npm run cluster-bench`: the bench's cluster section alone (cluster-bench.ts),
// for trying the cluster without the whole bench. Writes PREFIX.json (default
// bench/results/cluster-bench-latest) and prints the tables and the model.
// The docs quote the section of the full bench run (bench/results/latest/);
// they fall back to this file, saying so, when that run has no such section.
//
//   node dist/bench/cluster/cluster-bench-main.js [--quick] [--out PREFIX]

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../../src/paths.js';
import { commandLine } from '../http/cli.js';
import { runClusterSection } from './cluster-bench.js';
import { clusterSectionText } from './cluster-bench-report.js';

export const CLUSTER_BENCH_OUT = join(ROOT, 'bench', 'results', 'cluster-bench-latest');

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } } });
const controller = new AbortController();
process.on('SIGINT', () => controller.abort());
const started = new Date().toISOString();
const section = await runClusterSection({ quick: values.quick!, signal: controller.signal, log: (l) => void process.stderr.write(`${l}\n`) });
const out = values.out ?? CLUSTER_BENCH_OUT;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(`${out}.json`, `${JSON.stringify({ command: commandLine('cluster-bench', process.argv.slice(2)), started_at: started, section }, null, 2)}\n`);
process.stdout.write(`${clusterSectionText(section)}\n\nrecord: ${out}.json\n`);
process.exit(section.status === 'failed' ? 1 : 0);
