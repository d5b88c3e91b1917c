// The server's command line, in one table: each option's flag, environment
// variable, default and Gunicorn counterpart. The table drives the parser
// (node:util parseArgs), the validation and the --help text, so they cannot
// drift apart. Precedence: flag, then environment variable, then default.

import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';

import { LOG_LEVELS, type LogLevel } from '../http/logger.js';

export { LOG_LEVELS, type LogLevel };

export interface ServerConfig {
  host: string;
  port: number;
  /** Kernel thread pool size. */
  threads: number;
  /** Kernel process pool size. */
  processes: number;
  /** HTTP acceptor threads (the main thread is the first). */
  workers: number;
  /** Deadline of one job in seconds; 0 disables it. */
  timeout: number;
  /** Seconds in-flight requests get to finish after SIGTERM/SIGINT. */
  gracefulTimeout: number;
  /** Jobs allowed to wait per pool before 503. */
  maxQueue: number;
  /** Largest rows or cols. */
  maxN: number;
  /** Largest request body in bytes. */
  maxBody: number;
  /** Cap of the memory all in-flight requests hold together, in bytes. */
  maxInflightBytes: number;
  /** Recycle a kernel worker after this many tasks (0: never). */
  maxRequests: number;
  /** Up to this many extra tasks before recycling, drawn per worker. */
  maxRequestsJitter: number;
  /** Microseconds a kernel worker thread may spin for its next task after one ended (0: it sleeps at once). */
  spin: number;
  /** Fault injection: SIGUSR2 kills one kernel worker thread. */
  chaos: boolean;
  /** Access log file, '-' for stdout, null for none. */
  accessLog: string | null;
  /** NATS server of the cluster mode (nats://HOST:PORT), null for none. */
  nats: string | null;
  /** The cluster consumer's ack_wait in seconds: a band unanswered and unreported this long goes to another worker. */
  ackWait: number;
  logLevel: LogLevel;
}

/** A bad command line or environment: main prints the message and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type Kind = 'bind' | 'count' | 'seconds' | 'bytes' | 'string' | 'level' | 'switch';

interface OptionSpec {
  key: keyof ServerConfig | 'bind';
  long: string;
  short?: string;
  metavar: string;
  env: string[];
  kind: Kind;
  /** Minimum for numbers. */
  min?: number;
  default: () => string;
  gunicorn: string;
  help: string;
}

const cores = (): string => String(availableParallelism());

export const OPTIONS: readonly OptionSpec[] = [
  { key: 'bind', long: 'bind', short: 'b', metavar: 'HOST:PORT', env: ['HOST', 'PORT'], kind: 'bind', default: () => '127.0.0.1:8000', gunicorn: '-b/--bind', help: 'address to listen on (PORT and HOST set either part; port 0 picks a free one)' },
  { key: 'workers', long: 'workers', short: 'w', metavar: 'N', env: ['WEB_CONCURRENCY', 'WASMATRIX_WORKERS'], kind: 'count', min: 1, default: () => '1', gunicorn: '-w/--workers', help: 'HTTP acceptor threads sharing the port and one set of kernel pools' },
  { key: 'threads', long: 'threads', metavar: 'N', env: ['WASMATRIX_THREADS'], kind: 'count', min: 1, default: cores, gunicorn: '--threads', help: 'kernel thread pool size' },
  { key: 'processes', long: 'processes', metavar: 'N', env: ['WASMATRIX_PROCESSES'], kind: 'count', min: 1, default: cores, gunicorn: '(-w with sync workers)', help: 'kernel process pool size' },
  { key: 'timeout', long: 'timeout', short: 't', metavar: 'SECONDS', env: ['WASMATRIX_TIMEOUT'], kind: 'seconds', min: 0, default: () => '30', gunicorn: '-t/--timeout', help: 'deadline of one job; past it the answer is 504 (0: none)' },
  { key: 'gracefulTimeout', long: 'graceful-timeout', metavar: 'SECONDS', env: ['WASMATRIX_GRACEFUL_TIMEOUT'], kind: 'seconds', min: 0, default: () => '30', gunicorn: '--graceful-timeout', help: 'time in-flight requests get to finish after SIGTERM/SIGINT' },
  { key: 'maxQueue', long: 'max-queue', metavar: 'N', env: ['WASMATRIX_MAX_QUEUE'], kind: 'count', min: 1, default: () => '1024', gunicorn: '--backlog (roughly)', help: 'jobs allowed to wait per pool; beyond it 503 with Retry-After' },
  { key: 'maxN', long: 'max-n', metavar: 'N', env: ['WASMATRIX_MAX_N'], kind: 'count', min: 1, default: () => '4096', gunicorn: '(none)', help: 'largest rows or cols; beyond it 413' },
  { key: 'maxBody', long: 'max-body', metavar: 'BYTES', env: ['WASMATRIX_MAX_BODY'], kind: 'bytes', min: 0, default: () => String(256 * 1024 * 1024), gunicorn: '(--limit-request-* for headers only)', help: 'largest request body; beyond it 413' },
  { key: 'maxInflightBytes', long: 'max-inflight-bytes', metavar: 'BYTES', env: ['WASMATRIX_MAX_INFLIGHT_BYTES'], kind: 'bytes', min: 1 << 20, default: () => String(2 * 1024 ** 3), gunicorn: '(none)', help: 'memory all in-flight requests may hold together (bodies, matrices, results); beyond it 503 with Retry-After, and 413 for one request alone over it' },
  { key: 'maxRequests', long: 'max-requests', metavar: 'N', env: ['WASMATRIX_MAX_REQUESTS'], kind: 'count', min: 0, default: () => '0', gunicorn: '--max-requests', help: 'replace a kernel worker after it ran N tasks, without failing any request (0: never)' },
  { key: 'maxRequestsJitter', long: 'max-requests-jitter', metavar: 'N', env: ['WASMATRIX_MAX_REQUESTS_JITTER'], kind: 'count', min: 0, default: () => '0', gunicorn: '--max-requests-jitter', help: 'up to N extra tasks per worker before it is replaced, so workers do not all recycle at once' },
  { key: 'spin', long: 'spin', metavar: 'MICROS', env: ['WASMATRIX_SPIN'], kind: 'count', min: 0, default: () => '0', gunicorn: '(none)', help: 'a kernel worker thread spins up to MICROS for its next task after one ended, instead of sleeping (a wake-up costs 25-50 us on VMs); adaptive: it backs off when spins do not pay and stops when preempted (0: never spin)' },
  { key: 'chaos', long: 'chaos', metavar: '', env: ['WASMATRIX_CHAOS'], kind: 'switch', default: () => '', gunicorn: '(none)', help: 'fault injection for chaos tests: SIGUSR2 kills one kernel worker thread, as a crash would' },
  { key: 'nats', long: 'nats', metavar: 'URL', env: ['WASMATRIX_NATS'], kind: 'string', default: () => '', gunicorn: '(none)', help: 'NATS server (with JetStream) of the cluster mode, e.g. nats://127.0.0.1:4222; without it mode=cluster answers 503 (docs/cluster.md)' },
  { key: 'ackWait', long: 'ack-wait', metavar: 'SECONDS', env: ['WASMATRIX_ACK_WAIT'], kind: 'seconds', min: 0.1, default: () => '30', gunicorn: '(none)', help: "cluster mode: a band whose worker neither answers nor reports progress this long is redelivered to another worker (JetStream's ack_wait)" },
  { key: 'accessLog', long: 'access-log', metavar: 'PATH|-', env: ['WASMATRIX_ACCESS_LOG'], kind: 'string', default: () => '', gunicorn: '--access-logfile', help: "one line per request to PATH, or '-' for stdout (default: off)" },
  { key: 'logLevel', long: 'log-level', metavar: 'LEVEL', env: ['WASMATRIX_LOG_LEVEL'], kind: 'level', default: () => 'info', gunicorn: '--log-level', help: `${LOG_LEVELS.join('|')}` },
];

export type Command = { kind: 'help' } | { kind: 'version' } | { kind: 'serve'; config: ServerConfig };

/** Parses argv (without node and script) and the environment. Throws UsageError. */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv = process.env): Command {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
  };
  for (const o of OPTIONS) {
    const type = o.kind === 'switch' ? 'boolean' : 'string';
    options[o.long] = o.short ? { type, short: o.short } : { type };
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]!);
  }
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };

  const config = {} as Record<string, unknown>;
  for (const o of OPTIONS) {
    const flag = values[o.long];
    if (o.kind === 'bind') {
      Object.assign(config, parseBind(typeof flag === 'string' ? flag : undefined, env));
      continue;
    }
    const fromEnv = o.env.map((name) => ({ name, value: env[name] })).find((e) => e.value !== undefined && e.value !== '');
    if (o.kind === 'switch') {
      config[o.key] = flag === true || (fromEnv !== undefined && parseSwitch(fromEnv.value!, fromEnv.name));
      continue;
    }
    const [raw, source] = typeof flag === 'string' ? [flag, `--${o.long}`] : fromEnv ? [fromEnv.value!, fromEnv.name] : [o.default(), `--${o.long}`];
    config[o.key] = convert(o, raw, source);
  }
  return { kind: 'serve', config: config as unknown as ServerConfig };
}

function convert(o: OptionSpec, raw: string, source: string): unknown {
  switch (o.kind) {
    case 'count':
    case 'bytes':
      if (!/^\d+$/.test(raw) || Number(raw) < (o.min ?? 0) || !Number.isSafeInteger(Number(raw))) {
        throw new UsageError(`${source} must be an integer >= ${o.min ?? 0} (got "${raw}")`);
      }
      return Number(raw);
    case 'seconds':
      if (!/^\d+(\.\d+)?$/.test(raw) || Number(raw) < (o.min ?? 0)) throw new UsageError(`${source} must be a number of seconds >= ${o.min ?? 0} (got "${raw}")`);
      return Number(raw);
    case 'level':
      if (!(LOG_LEVELS as readonly string[]).includes(raw)) throw new UsageError(`${source} must be one of ${LOG_LEVELS.join(', ')} (got "${raw}")`);
      return raw;
    default:
      return raw === '' ? null : raw;
  }
}

function parseSwitch(raw: string, source: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new UsageError(`${source} must be 1 or 0 (got "${raw}")`);
}

function parseBind(flag: string | undefined, env: NodeJS.ProcessEnv): { host: string; port: number } {
  let host = env.HOST || '127.0.0.1';
  let portText = env.PORT || '8000';
  let source = env.PORT ? 'PORT' : '--bind';
  if (flag !== undefined) {
    // HOST:PORT, :PORT, HOST, or [IPv6]:PORT
    const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(.*))?$/.exec(flag);
    if (!m || (m[1] === undefined && m[2] === '' && m[3] === undefined)) throw new UsageError(`--bind must be HOST:PORT (got "${flag}")`);
    host = m[1] ?? (m[2] || host);
    if (m[3] !== undefined) portText = m[3];
    source = '--bind';
  }
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) throw new UsageError(`${source}: the port must be an integer from 0 to 65535 (got "${portText}")`);
  return { host, port: Number(portText) };
}

export function helpText(name: string, version: string): string {
  const rows = OPTIONS.map((o) => [`${o.short ? `-${o.short}, ` : '    '}--${o.long}${o.metavar ? ` ${o.metavar}` : ''}`, o.help, o.default() || '(off)', o.env.join(', '), o.gunicorn]);
  rows.unshift(['-h, --help', 'show this help and exit', '', '', '-h/--help'], ['-v, --version', 'print the version and exit', '', '', '-v/--version']);
  const width = Math.max(...rows.map((r) => r[0]!.length)) + 2;
  const lines = rows.map(([flag, help, def, env, gunicorn]) => {
    const extra = [def && `default: ${def}`, env && `env: ${env}`, `gunicorn: ${gunicorn}`].filter(Boolean).join('; ');
    return `  ${flag!.padEnd(width)}${help}\n  ${''.padEnd(width)}(${extra})`;
  });
  return [
    `${name} ${version}: a WebAssembly matrix compute service on uWebSockets.js`,
    '',
    `Usage: npm start -- [options]   or   node dist/src/cli/main.js [options]`,
    `       npm run worker -- --nats nats://HOST:PORT [options]: a worker host of the cluster mode (see worker --help)`,
    '',
    'Options (flag, then environment variable, then default):',
    ...lines,
    '',
    'Invalid options exit with code 2. SIGTERM or SIGINT drains in-flight requests, then exits 0.',
  ].join('\n');
}
