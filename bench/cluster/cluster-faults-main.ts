// `npm run cluster-faults`: nats-server, 3 worker hosts and the server (each in
// a network namespace as root) under verified load while a worker is killed,
// another cut off, every worker stopped, NATS killed and restarted, and a job
// runs past --timeout (cluster-faults.ts). Exits 0 when every answer was a
// verified 200 or a 503/504 its phase allows, 1 otherwise.
//
//   node dist/bench/cluster/cluster-faults-main.js [--loopback] [--connections 3] [--seed 1] [--out PREFIX]
//
// Progress goes to stderr, the ledger to stdout, the record to PREFIX.json
// and PREFIX.md (default bench/results/cluster-faults-latest).

import { join } from 'node:path';
import { ROOT } from '../../src/paths.js';
import { runClusterFaults } from './cluster-faults.js';
import { faultsMarkdown, faultsText } from './cluster-faults-report.js';
import { runFlagsUsage, runMain } from './run-main.js';

const CONNECTIONS = 3;

runMain({
  name: 'cluster-faults',
  usage: `usage: npm run cluster-faults -- [options]

${runFlagsUsage(CONNECTIONS, 'bench/results/cluster-faults-latest')}

Needs nats-server (Debian: apt-get install nats-server). Exits 0 when every answer was a verified 200
or a 503/504 its phase allows, 1 otherwise.`,
  defaultConnections: CONNECTIONS,
  defaultOut: join(ROOT, 'bench', 'results', 'cluster-faults-latest'),
  run: runClusterFaults,
  markdown: faultsMarkdown,
  text: faultsText,
}).then(
  // autocannon leaves its clients' request-timeout timers behind
  () => process.exit(),
  (e: unknown) => {
    process.stderr.write(`cluster-faults: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
