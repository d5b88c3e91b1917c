// `npm run soak` options, validated up front.

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../../src/paths.js';
import { BenchUsageError, positive } from '../http/options.js';

export interface SoakOptions {
  /** Seconds of load in all, warm-up included. */
  duration: number;
  connections: number;
  /** Target seconds of one load window (a fixed number of requests). */
  window: number;
  /** Seconds between two kills. */
  chaosInterval: number;
  /** Seeds the request picks and the kills. */
  seed: number;
  /** Extra flags for the server, after the soak's own. */
  serverArgs: string[];
  /** Path prefix of the summary: <out>.json and <out>.md. */
  out: string;
  help: boolean;
}

export const DEFAULTS = { duration: 60, connections: 4, window: 2, chaosInterval: 1, seed: 1, out: join(ROOT, 'bench', 'results', 'soak-latest') } as const;

/** Seconds of load before the first kill; the server's RSS after them is the baseline of the RSS rule. */
export const WARMUP_S = 2;
const MIN_DURATION_S = WARMUP_S + 2;

/** The server's --timeout: a job past it is answered 504. */
export const JOB_TIMEOUT_S = 5;
/** The server's --graceful-timeout: it must exit within this after SIGTERM. */
export const GRACEFUL_TIMEOUT_S = 10;
/** The server the soak starts: chaos on, a short job deadline, small pools (two cores are shared with the load). */
export const SERVER_ARGS = ['--chaos', '--timeout', String(JOB_TIMEOUT_S), '--graceful-timeout', String(GRACEFUL_TIMEOUT_S), '--threads', '2', '--processes', '2'];

export const USAGE = `usage: npm run soak -- [options]

  --duration SEC        seconds of load in all, the ${WARMUP_S} s warm-up included (default ${DEFAULTS.duration}, at least ${MIN_DURATION_S})
  --connections N       concurrent connections, pipelining 1 (default ${DEFAULTS.connections})
  --window SEC          target length of one load window of a fixed number of requests (default ${DEFAULTS.window})
  --chaos-interval SEC  seconds between two worker kills (default ${DEFAULTS.chaosInterval})
  --seed N              seeds the request mix and the kills (default ${DEFAULTS.seed})
  --server-args="ARGS"  extra server flags, after: ${SERVER_ARGS.join(' ')}
  --out PREFIX          write PREFIX.json and PREFIX.md (default bench/results/soak-latest)
  -h, --help            this text

Exits 0 when every request got a verified 200 or a documented 503/504, the
server exited 0 on SIGTERM, no process of it outlived it and its RSS stayed
in bound; 1 otherwise; 2 on a bad command line.`;

export function parseSoakArgs(argv: string[]): SoakOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        duration: { type: 'string' },
        connections: { type: 'string' },
        window: { type: 'string' },
        'chaos-interval': { type: 'string' },
        seed: { type: 'string' },
        'server-args': { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    throw new BenchUsageError((e as Error).message);
  }
  const duration = positive('duration', values.duration, DEFAULTS.duration, false);
  if (duration < MIN_DURATION_S) throw new BenchUsageError(`--duration: at least ${MIN_DURATION_S} s (a ${WARMUP_S} s warm-up, then the chaos)`);
  return {
    duration,
    connections: positive('connections', values.connections, DEFAULTS.connections, true),
    window: positive('window', values.window, DEFAULTS.window, false),
    chaosInterval: positive('chaos-interval', values['chaos-interval'], DEFAULTS.chaosInterval, false),
    seed: positive('seed', values.seed, DEFAULTS.seed, true),
    serverArgs: (values['server-args'] ?? '').split(/\s+/).filter(Boolean),
    out: values.out ?? DEFAULTS.out,
    help: values.help!,
  };
}
