// `npm run failover`: 3 hosts behind HAProxy under verified load while one
// host is killed, another loses its link and all are restarted in turn
// (failover.ts). Exits 0 when every request was a verified 200, 1 otherwise.
//
//   node dist/bench/cluster/failover-main.js [--loopback] [--connections 4] [--seed 1] [--out PREFIX]
//
// Progress goes to stderr, the ledger to stdout, the record to PREFIX.json
// and PREFIX.md (default bench/results/failover-latest).

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../../src/paths.js';
import { commandLine, parseOrExit } from '../http/cli.js';
import { BenchUsageError, positive } from '../http/options.js';
import { runFailover } from './failover.js';
import { failoverMarkdown, failoverText } from './failover-report.js';
import { canUseNamespaces } from './network.js';

interface CliOptions {
  netns: boolean;
  connections: number;
  seed: number;
  out: string;
  help: boolean;
}

const DEFAULT_OUT = join(ROOT, 'bench', 'results', 'failover-latest');

const USAGE = `usage: npm run failover -- [options]

  --loopback            hosts on 127.0.0.x even as root (no namespaces: the link phase is skipped);
                        the default is a network namespace per host when run as root, else loopback
  --connections N       concurrent connections of the load (default 4)
  --seed N              seeds the request mix (default 1)
  --out PREFIX          write PREFIX.json and PREFIX.md (default bench/results/failover-latest)
  -h, --help            this text

Exits 0 when every request got a verified 200 through every phase, 1 otherwise.`;

function parseFailoverArgs(argv: string[]): CliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        loopback: { type: 'boolean', default: false },
        connections: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    throw new BenchUsageError((e as Error).message);
  }
  return {
    netns: !values.loopback && canUseNamespaces(),
    connections: positive('connections', values.connections, 4, true),
    seed: positive('seed', values.seed, 1, true),
    out: values.out ?? DEFAULT_OUT,
    help: values.help!,
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const o = parseOrExit('failover', USAGE, parseFailoverArgs, argv);
  if (!o) return;
  const controller = new AbortController();
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      log(`${signal}: stopping the run (the hosts and the proxy are stopped, the namespaces removed)`);
      controller.abort();
    });
  }
  const run = await runFailover({ netns: o.netns, connections: o.connections, seed: o.seed, log, signal: controller.signal }, commandLine('failover', argv));
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(`${o.out}.json`, `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(`${o.out}.md`, failoverMarkdown(run));
  process.stdout.write(`\n${failoverText(run)}\n\nrecord: ${o.out}.md, ${o.out}.json\n`);
  process.exitCode = controller.signal.aborted ? 130 : run.passed ? 0 : 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`failover: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
