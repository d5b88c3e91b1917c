// `npm run failover`: 3 hosts behind HAProxy under verified load while one
// host is killed, another loses its link and all are restarted in turn
// (failover.ts). Exits 0 when every request was a verified 200, 1 otherwise.
//
//   node dist/bench/cluster/failover-main.js [--loopback] [--connections 4] [--seed 1] [--out PREFIX]
//
// Progress goes to stderr, the ledger to stdout, the record to PREFIX.json
// and PREFIX.md (default bench/results/failover-latest).

import { join } from 'node:path';
import { ROOT } from '../../src/paths.js';
import { runFailover } from './failover.js';
import { failoverMarkdown, failoverText } from './failover-report.js';
import { runFlagsUsage, runMain } from './run-main.js';

const CONNECTIONS = 4;

runMain({
  name: 'failover',
  usage: `usage: npm run failover -- [options]

${runFlagsUsage(CONNECTIONS, 'bench/results/failover-latest')}

Exits 0 when every request got a verified 200 through every phase, 1 otherwise.`,
  defaultConnections: CONNECTIONS,
  defaultOut: join(ROOT, 'bench', 'results', 'failover-latest'),
  run: runFailover,
  markdown: failoverMarkdown,
  text: failoverText,
}).catch((e: unknown) => {
  process.stderr.write(`failover: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
