// The server's entry point (`npm start`): parse the command line, refuse the
// slow JS fallback of uWS, check the port, start the kernel pools, serve, and
// drain on SIGTERM/SIGINT like Gunicorn's arbiter.

import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createEngines, type Engines, type RestartEvent } from '../engines/index.js';
import { AcceptorGroup } from '../http/acceptors.js';
import { AccessLog } from '../http/access-log.js';
import { InflightBudget } from '../http/inflight-budget.js';
import { enginesRunner, inlineRunner, maxWorkersTable } from '../http/job-runner.js';
import { createLogger, type Logger } from '../http/logger.js';
import { HttpServer } from '../http/server.js';
import { HttpMetrics, aggregateMetrics, registerClusterMetrics, registerProcessMetrics } from '../metrics/metrics.js';
import { ROOT } from '../paths.js';
import { UsageError, helpText, parseCommandLine, type ServerConfig } from './options.js';
import { serveTestHooks, testGate } from './test-hooks.js';
import { WORKER_HELP, parseWorkerCommandLine, runWorker } from './worker.js';

const NAME = 'wasmatrix';
/** A repeat of the stop signal within this many milliseconds is the same request (see onSignal). */
const REPEAT_MS = 1000;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Exit codes: 0 clean, 1 could not start or crashed, 2 bad command line (as Gunicorn and argparse). */
function fail(message: string, code: number): never {
  process.stderr.write(`${NAME}: error: ${message}\n`);
  process.exit(code);
}

/**
 * Checks the port with an exclusive bind and returns it; for port 0, the free
 * port the OS picked. Two reasons not to leave this to uWS: with SO_REUSEPORT
 * it silently shares a port another server holds, and it sets SO_REUSEPORT
 * only for a non-zero port, so acceptor threads could not join a port-0 socket.
 */
function claimPort(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (e: NodeJS.ErrnoException) => {
      const why: Record<string, string> = {
        EADDRINUSE: `${host}:${port} is already in use (another server listens there); pick another with -b HOST:PORT`,
        EACCES: `no permission to listen on ${host}:${port} (ports below 1024 need privileges)`,
        EADDRNOTAVAIL: `${host} is not an address of this machine`,
        ENOTFOUND: `cannot resolve host ${host}`,
      };
      reject(new Error(why[e.code ?? ''] ?? `cannot listen on ${host}:${port}: ${e.message}`));
    });
    probe.listen({ host, port, exclusive: true }, () => {
      const actual = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(actual));
    });
  });
}

async function loadNativeUws(): Promise<void> {
  const uws = (await import('uWebSockets.js')).default as { getParts?: unknown };
  if (typeof uws.getParts !== 'function') {
    fail(
      `uWebSockets.js loaded its slow pure-JS fallback, not the native build (Node ${process.versions.node}, ABI ${process.versions.modules}; ` +
        'the package ships native builds for Node 16, 18 and 20 only). Use Node 20 (see package.json "engines").',
      1,
    );
  }
}

async function serve(config: ServerConfig): Promise<void> {
  // a reader of stdout or stderr that went away (a closed pipe: EPIPE) must not stop the server, nor make
  // it spin: without a listener each failed log write is an uncaught exception, whose report is another log write
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  const log = createLogger(config.logLevel);
  await loadNativeUws();
  const wantedPort = await claimPort(config.host, config.port).catch((e: Error) => fail(e.message, 1));

  const gate = testGate();
  let engines: Engines;
  try {
    engines = await createEngines({
      gate,
      threads: config.threads,
      processes: config.processes,
      maxQueue: config.maxQueue,
      maxTasksPerWorker: config.maxRequests,
      maxTasksJitter: config.maxRequestsJitter,
      cluster: { url: config.nats ?? undefined, ackWaitSeconds: config.ackWait, name: `${NAME} server ${process.pid}`, log },
      spinMicros: config.spin,
    });
  } catch (e) {
    fail(`the kernel pools failed to start: ${(e as Error).message}`, 1);
  }
  const pools = enginesRunner(engines);
  // /healthz's cluster state, only on a server started with --nats (others answer as before)
  const clusterHealth = (): Record<string, unknown> => (config.nats ? { cluster: engines.cluster.status() } : {});
  const metrics = new HttpMetrics();
  // -w 2 and more: each HTTP thread runs its small jobs itself (job-runner.ts says why)
  const runner = config.workers >= 2 ? inlineRunner(engines.wasm, pools, () => metrics.countInlineJob()) : pools;
  const budget = new InflightBudget(config.maxInflightBytes);
  registerProcessMetrics(metrics.registry, Object.fromEntries(engines.pools().map(([name, engine]) => [name, () => engine.stats()])), () => budget.usedBytes);
  registerClusterMetrics(metrics.registry, engines.cluster);
  const accessLog = config.accessLog ? new AccessLog(config.accessLog) : undefined;
  const acceptors = new AcceptorGroup({ runner: pools, log, metricsText: () => metricsText() });
  const metricsText = async (): Promise<string> => aggregateMetrics([await metrics.json(), ...(await acceptors.collectMetrics())]);
  const server = new HttpServer({ name: NAME, version: VERSION, runner, maxN: config.maxN, maxBody: config.maxBody, timeout: config.timeout, budget, metrics, metricsText, accessLog, log, health: () => clusterHealth() });
  // acceptor threads answer /healthz with the main thread's cluster state, sent to them when it changes
  engines.cluster.onStatus(() => acceptors.shareHealth(clusterHealth()));

  let port: number;
  try {
    port = await server.listen(config.host, wantedPort);
    await acceptors.start(config.workers - 1, { config, port, maxWorkers: maxWorkersTable(pools), name: NAME, version: VERSION, budget: budget.shared });
    acceptors.shareHealth(clusterHealth());
  } catch (e) {
    await engines.close();
    fail(`cannot serve on ${config.host}:${config.port}: ${(e as Error).message}`, 1);
  }

  let stopping = false;
  const shutdown = async (reason: string, code: number): Promise<void> => {
    if (stopping) {
      log.warning(`${reason} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    const gracefulMs = config.gracefulTimeout * 1000;
    log.info(`${reason}: draining (${server.inFlight} in flight here, up to ${config.gracefulTimeout} s)`);
    server.drain();
    const [idle] = await Promise.all([server.whenIdle(gracefulMs), acceptors.drain(gracefulMs)]);
    if (!idle) log.warning(`graceful timeout: ${server.inFlight} requests still in flight are dropped`);
    server.close();
    await engines.close();
    accessLog?.close();
    log.info('stopped');
    process.exit(code);
  };
  // `npm start` forwards SIGINT/SIGTERM to the server, which also gets the signal itself when it went to the
  // whole process group (a terminal's Ctrl-C, systemd's KillMode=control-group): one stop request arrives
  // twice within milliseconds. A repeat of the first signal within REPEAT_MS is that same request; a later
  // one (or another signal) is a second request and forces the exit.
  let first: { signal: NodeJS.Signals; at: number } | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    const now = performance.now();
    if (first && first.signal === signal && now - first.at < REPEAT_MS) return log.debug(`${signal} repeated at once (the same stop request): the drain goes on`);
    first ??= { signal, at: now };
    void shutdown(signal, 0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  engines.on('fatal', (e: Error) => {
    log.critical(`a kernel pool is down: ${e.message}`);
    void shutdown('fatal pool failure', 1);
  });
  engines.on('restart', ({ pool, reason, error }: RestartEvent) => {
    const worker = pool === 'processes' ? 'kernel process' : pool === 'local' ? 'local kernel thread' : 'kernel thread';
    // like Gunicorn's WORKER TIMEOUT: the pool stopped a worker whose job ran past --timeout
    if (reason === 'timeout') log.error(`WORKER TIMEOUT: a ${worker} ran a job past its deadline (--timeout ${config.timeout} s); it was stopped and is being replaced`);
    else log.warning(`a ${worker} died and is being replaced: ${error.message}`);
  });
  if (config.chaos) {
    // fault injection (--chaos): the soak script's way to crash a kernel thread from outside
    process.on('SIGUSR2', () => {
      void engines.threads.killWorker().then((id) => log.warning(`chaos: SIGUSR2 killed kernel thread ${id ?? '(none)'}`));
    });
  }
  if (gate) serveTestHooks(gate, log);
  process.on('uncaughtException', (e) => log.critical(`uncaught exception: ${e.stack}`));
  process.on('unhandledRejection', (e) => log.critical(`unhandled rejection: ${(e as Error)?.stack ?? String(e)}`));

  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  process.stdout.write(
    `${NAME} ${VERSION} listening on http://${host}:${port}/ (acceptors ${config.workers}, threads ${engines.threads.maxWorkers}, ` +
      `processes ${engines.processes.maxWorkers}, SIMD ${engines.simd ? 'on' : 'off'}, pid ${process.pid})\n`,
  );
}

/** `wasmatrix worker ...`: a worker host of the cluster mode (worker.ts). */
async function work(argv: string[]): Promise<void> {
  let config;
  try {
    config = parseWorkerCommandLine(argv);
  } catch (e) {
    if (e instanceof UsageError) fail(`${e.message} (see worker --help)`, 2);
    throw e;
  }
  if (!config) return void process.stdout.write(`${WORKER_HELP}\n`);
  await runWorker(config, VERSION).catch((e: Error) => fail(`the worker failed to start: ${e.message}`, 1));
}

const argv = process.argv.slice(2);
let command;
try {
  command = argv[0] === 'worker' ? undefined : parseCommandLine(argv);
} catch (e) {
  if (e instanceof UsageError) fail(`${e.message} (see --help)`, 2);
  throw e;
}
if (command === undefined) await work(argv.slice(1));
else if (command.kind === 'help') process.stdout.write(`${helpText(NAME, VERSION)}\n`);
else if (command.kind === 'version') process.stdout.write(`${NAME} ${VERSION}\n`);
else await serve(command.config);
