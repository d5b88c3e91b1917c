// What the mains of the local multi-host runs share (`npm run failover`,
// `npm run cluster-faults`): the same flags (--loopback, --connections, --seed,
// --out), Ctrl-C that stops the run cleanly, and the record written as
// PREFIX.json and PREFIX.md with the ledger on stdout. Exit code 0 when the
// run passed, 1 when it did not, 130 when interrupted.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { commandLine, parseOrExit } from '../http/cli.js';
import { BenchUsageError, positive } from '../http/options.js';
import { canUseNamespaces } from './network.js';

/** What a run gets from its main. */
export interface RunSettings {
  netns: boolean;
  connections: number;
  seed: number;
  log: (line: string) => void;
  signal: AbortSignal;
}

export interface RunMain<R extends { passed: boolean }> {
  /** The npm script, e.g. "failover". */
  name: string;
  usage: string;
  defaultConnections: number;
  /** PREFIX of the record when --out is not given. */
  defaultOut: string;
  run: (settings: RunSettings, command: string) => Promise<R>;
  markdown: (run: R) => string;
  text: (run: R) => string;
}

/** The flags every run takes, for its usage text. */
export const runFlagsUsage = (defaultConnections: number, out: string): string => `  --loopback            hosts on 127.0.0.x even as root (no namespaces: the link phase is skipped);
                        the default is a network namespace per host when run as root, else loopback
  --connections N       concurrent connections of the load (default ${defaultConnections})
  --seed N              seeds the request mix (default 1)
  --out PREFIX          write PREFIX.json and PREFIX.md (default ${out})
  -h, --help            this text`;

function parseRunArgs(argv: string[], defaultConnections: number, defaultOut: string) {
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
    connections: positive('connections', values.connections, defaultConnections, true),
    seed: positive('seed', values.seed, 1, true),
    out: values.out ?? defaultOut,
    help: values.help!,
  };
}

/** Parses the command line, runs, writes the record; sets the exit code. */
export async function runMain<R extends { passed: boolean }>(m: RunMain<R>): Promise<void> {
  const argv = process.argv.slice(2);
  const o = parseOrExit(m.name, m.usage, (a) => parseRunArgs(a, m.defaultConnections, m.defaultOut), argv);
  if (!o) return;
  const controller = new AbortController();
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      log(`${signal}: stopping the run (its processes are stopped, the namespaces removed)`);
      controller.abort();
    });
  }
  const run = await m.run({ netns: o.netns, connections: o.connections, seed: o.seed, log, signal: controller.signal }, commandLine(m.name, argv));
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(`${o.out}.json`, `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(`${o.out}.md`, m.markdown(run));
  process.stdout.write(`\n${m.text(run)}\n\nrecord: ${o.out}.md, ${o.out}.json\n`);
  process.exitCode = controller.signal.aborted ? 130 : run.passed ? 0 : 1;
}
