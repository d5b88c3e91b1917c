// The command line: --help, flags and environment variables, bad options
// (one line, exit 2), a port in use, and the refusal of uWS's JS fallback.

import { createServer, type Server } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OPTIONS, parseCommandLine, UsageError } from '../src/cli/options.ts';
import { runCli, startServer } from './fixtures/http-server.ts';

test('--help lists every option with its default, environment variable and Gunicorn counterpart', async () => {
  const { code, stdout } = await runCli(['--help']);
  assert.is(code, 0);
  for (const o of OPTIONS) {
    assert.ok(stdout.includes(`--${o.long}`), o.long);
    assert.ok(stdout.includes(`gunicorn: ${o.gunicorn}`), `${o.long} gunicorn`);
    for (const env of o.env) assert.ok(stdout.includes(env), `${o.long} env ${env}`);
  }
  assert.match(stdout, /default: 127\.0\.0\.1:8000/);
  assert.match(stdout, /-w, --workers N/);
});

test('bad options stop the start with a one-line error and exit code 2', async () => {
  for (const args of [['--nope'], ['--threads', '0'], ['--threads', 'x'], ['-b', '127.0.0.1:99999'], ['--log-level', 'loud'], ['--timeout', '-1'], ['extra']]) {
    const { code, stdout, stderr } = await runCli(args);
    assert.is(code, 2, args.join(' '));
    assert.is(stdout, '');
    assert.is(stderr.trim().split('\n').length, 1, `one line: ${stderr}`);
    assert.match(stderr, /^wasmatrix: error: /);
  }
});

test('flags win over environment variables, which win over defaults', () => {
  const env = { PORT: '9001', HOST: '0.0.0.0', WASMATRIX_THREADS: '3', WEB_CONCURRENCY: '2' };
  const fromEnv = parseCommandLine([], env);
  assert.ok(fromEnv.kind === 'serve');
  if (fromEnv.kind !== 'serve') return;
  assert.is(fromEnv.config.port, 9001);
  assert.is(fromEnv.config.host, '0.0.0.0');
  assert.is(fromEnv.config.threads, 3);
  assert.is(fromEnv.config.workers, 2);
  const fromFlags = parseCommandLine(['-b', '127.0.0.1:7000', '--threads', '1', '-w', '4', '-t', '2.5', '--access-log', '-'], env);
  if (fromFlags.kind !== 'serve') return assert.unreachable();
  assert.is(fromFlags.config.port, 7000);
  assert.is(fromFlags.config.host, '127.0.0.1');
  assert.is(fromFlags.config.threads, 1);
  assert.is(fromFlags.config.workers, 4);
  assert.is(fromFlags.config.timeout, 2.5);
  assert.is(fromFlags.config.accessLog, '-');
  const defaults = parseCommandLine([], {});
  if (defaults.kind !== 'serve') return assert.unreachable();
  assert.is(defaults.config.port, 8000);
  assert.is(defaults.config.host, '127.0.0.1');
  assert.is(defaults.config.workers, 1);
  assert.is(defaults.config.accessLog, null);
  assert.throws(() => parseCommandLine([], { WASMATRIX_MAX_N: 'lots' }), (e: unknown) => e instanceof UsageError && /WASMATRIX_MAX_N/.test((e as Error).message));
});

test('fault-tolerance options: recycling, the in-flight memory cap, and the --chaos switch', () => {
  const serve = (argv: string[], env: Record<string, string> = {}) => {
    const c = parseCommandLine(argv, env);
    if (c.kind !== 'serve') throw new Error('not a serve command');
    return c.config;
  };
  const defaults = serve([]);
  assert.equal([defaults.maxRequests, defaults.maxRequestsJitter, defaults.maxInflightBytes, defaults.chaos], [0, 0, 2 ** 31, false]);
  const flags = serve(['--max-requests', '500', '--max-requests-jitter', '50', '--max-inflight-bytes', '1048576', '--chaos']);
  assert.equal([flags.maxRequests, flags.maxRequestsJitter, flags.maxInflightBytes, flags.chaos], [500, 50, 2 ** 20, true]);
  assert.is(serve([], { WASMATRIX_CHAOS: '1' }).chaos, true);
  assert.is(serve([], { WASMATRIX_CHAOS: 'off' }).chaos, false);
  assert.is(serve([], { WASMATRIX_MAX_REQUESTS: '7' }).maxRequests, 7);
  const usage = (re: RegExp) => (e: unknown) => e instanceof UsageError && re.test((e as Error).message);
  assert.throws(() => serve([], { WASMATRIX_CHAOS: 'maybe' }), usage(/WASMATRIX_CHAOS must be 1 or 0/));
  assert.throws(() => serve(['--max-inflight-bytes', '1000']), usage(/--max-inflight-bytes must be an integer >= 1048576/));
  assert.throws(() => serve(['--chaos=yes']), usage(/chaos/));
});

test('-b accepts :PORT and HOST alone', () => {
  const a = parseCommandLine(['-b', ':8123'], {});
  const b = parseCommandLine(['-b', 'localhost'], {});
  if (a.kind !== 'serve' || b.kind !== 'serve') return assert.unreachable();
  assert.is(a.config.port, 8123);
  assert.is(a.config.host, '127.0.0.1');
  assert.is(b.config.host, 'localhost');
  assert.is(b.config.port, 8000);
});

test('a port in use is a clear one-line error, not a stack trace', async () => {
  const blocker: Server = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  try {
    const { code, stderr } = await runCli(['-b', `127.0.0.1:${port}`, '--threads', '1', '--processes', '1']);
    assert.is(code, 1);
    assert.match(stderr, new RegExp(`127\\.0\\.0\\.1:${port} is already in use`));
    assert.not.match(stderr, /\n\s+at /);
  } finally {
    blocker.close();
  }
});

test('the server refuses the slow JS fallback of uWebSockets.js', async () => {
  const { code, stderr } = await runCli(['-b', '127.0.0.1:0'], { UWS_USE_FALLBACK: '1' });
  assert.is(code, 1);
  assert.match(stderr, /slow pure-JS fallback/);
});

test('the start line says the URL, the pool sizes, SIMD and the pid', async () => {
  const server = await startServer(['-w', '2']);
  try {
    const line = server.output().stdout.split('\n')[0]!;
    assert.match(line, /^wasmatrix \S+ listening on http:\/\/127\.0\.0\.1:\d+\/ \(acceptors 2, threads 2, processes 2, SIMD (on|off), pid \d+\)$/);
    assert.ok(line.includes(`pid ${server.pid}`));
  } finally {
    await server.stop();
  }
});

test.run();
