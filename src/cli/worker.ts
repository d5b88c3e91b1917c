// `wasmatrix worker` (`npm run worker -- --nats URL`): a worker host of the
// cluster mode. It computes bands of cluster jobs on its own kernel thread
// pool until SIGINT/SIGTERM, then stops taking bands, finishes the ones it
// runs, leaves, and exits 0. Once serving it prints one line on stdout:
//   worker ready name=NAME threads=N

import { availableParallelism, hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { ClusterWorker } from '../engines/cluster-worker.js';
import { LOG_LEVELS, createLogger, type LogLevel } from '../http/logger.js';
import { serveTestHooks, testGate } from './test-hooks.js';
import { UsageError } from './options.js';

export interface WorkerConfig {
  nats: string;
  threads: number;
  name: string;
  logLevel: LogLevel;
}

export const WORKER_HELP = `Usage: npm run worker -- --nats nats://HOST:PORT [options]   or   node dist/src/cli/main.js worker --nats URL [options]

A worker host of the cluster mode: takes bands of cluster jobs from NATS JetStream and computes them.

  --nats URL         the NATS server (with JetStream), e.g. nats://127.0.0.1:4222 (env: WASMATRIX_NATS; required)
  --threads N        kernel threads, i.e. bands computed at once (env: WASMATRIX_THREADS; default: ${availableParallelism()})
  --name NAME        the name /healthz lists it under (env: WASMATRIX_WORKER_NAME; default: HOSTNAME-PID)
  --log-level LEVEL  ${LOG_LEVELS.join('|')} (env: WASMATRIX_LOG_LEVEL; default: info)
  -h, --help         show this help and exit

SIGTERM or SIGINT: stop taking bands, finish the running ones, exit 0.`;

/** Parses the worker's argv (after `worker`) and environment. Throws UsageError; undefined for --help. */
export function parseWorkerCommandLine(argv: string[], env: NodeJS.ProcessEnv = process.env): WorkerConfig | undefined {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { nats: { type: 'string' }, threads: { type: 'string' }, name: { type: 'string' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]!);
  }
  if (values.help) return undefined;
  const pick = (flag: string, envName: string): string | undefined => (typeof values[flag] === 'string' ? (values[flag] as string) : env[envName] || undefined);
  const nats = pick('nats', 'WASMATRIX_NATS');
  if (!nats) throw new UsageError('worker: --nats nats://HOST:PORT is required (or WASMATRIX_NATS)');
  const threadsText = pick('threads', 'WASMATRIX_THREADS') ?? String(availableParallelism());
  if (!/^\d+$/.test(threadsText) || Number(threadsText) < 1) throw new UsageError(`worker: --threads must be an integer >= 1 (got "${threadsText}")`);
  const name = pick('name', 'WASMATRIX_WORKER_NAME') ?? `${hostname()}-${process.pid}`;
  if (!/^[\w.-]{1,64}$/.test(name)) throw new UsageError(`worker: --name must be 1 to 64 letters, digits, '.', '_' or '-' (got "${name}")`);
  const logLevel = pick('log-level', 'WASMATRIX_LOG_LEVEL') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new UsageError(`worker: --log-level must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`);
  return { nats, threads: Number(threadsText), name, logLevel: logLevel as LogLevel };
}

/** Runs a worker host until a stop signal. */
export async function runWorker(config: WorkerConfig, version: string): Promise<void> {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  const log = createLogger(config.logLevel);
  const gate = testGate();
  const worker = new ClusterWorker({
    url: config.nats,
    threads: config.threads,
    name: config.name,
    version,
    gate,
    log,
    onBand: gate ? (band, deliveries) => process.stdout.write(`test-hooks: band taken job=${band.job} band=${band.band} delivery=${deliveries}\n`) : undefined,
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: finishing the bands in hand, then leaving`);
    worker.close().then(
      () => process.exit(0),
      (e: Error) => {
        log.error(`stopping failed: ${e.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (gate) serveTestHooks(gate, log);
  log.info(`connecting to NATS at ${config.nats}`);
  await worker.start();
  process.stdout.write(`worker ready name=${worker.name} threads=${worker.threads}\n`);
}
