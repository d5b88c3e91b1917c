// The worker command's command line (`wasmatrix worker`), and the server's
// cluster options: help, required --nats, bad values exit 2 with one line.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseWorkerCommandLine } from '../src/cli/worker.ts';
import { parseCommandLine, UsageError } from '../src/cli/options.ts';
import { runCli } from './fixtures/http-server.ts';

test('worker --help says how to run a worker host and exits 0', async () => {
  const { code, stdout } = await runCli(['worker', '--help']);
  assert.is(code, 0);
  assert.match(stdout, /npm run worker -- --nats nats:\/\/HOST:PORT/);
  for (const flag of ['--nats URL', '--threads N', '--name NAME', '--log-level LEVEL']) assert.match(stdout, flag);
});

test('worker without --nats, or with a bad --threads or --name, exits 2 with one line', async () => {
  for (const [args, message] of [
    [[], /--nats nats:\/\/HOST:PORT is required/],
    [['--nats', 'nats://127.0.0.1:1', '--threads', '0'], /--threads must be an integer >= 1/],
    [['--nats', 'nats://127.0.0.1:1', '--name', 'a b'], /--name must be/],
    [['--nats', 'nats://127.0.0.1:1', '--bogus'], /bogus/],
  ] as [string[], RegExp][]) {
    const { code, stderr } = await runCli(['worker', ...args], { WASMATRIX_NATS: '' });
    assert.is(code, 2, args.join(' '));
    assert.match(stderr, message);
    assert.is(stderr.trim().split('\n').length, 1, 'one line');
  }
});

test('the worker reads WASMATRIX_NATS, WASMATRIX_THREADS and WASMATRIX_WORKER_NAME; flags win', () => {
  const env = { WASMATRIX_NATS: 'nats://10.0.0.1:4222', WASMATRIX_THREADS: '3', WASMATRIX_WORKER_NAME: 'host-a' };
  assert.equal(parseWorkerCommandLine([], env), { nats: 'nats://10.0.0.1:4222', threads: 3, name: 'host-a', logLevel: 'info' });
  assert.equal(parseWorkerCommandLine(['--nats', 'nats://h:1', '--threads', '1', '--name', 'b'], env), { nats: 'nats://h:1', threads: 1, name: 'b', logLevel: 'info' });
  assert.is(parseWorkerCommandLine(['-h'], env), undefined);
});

test('the server takes --nats and --ack-wait (flags or WASMATRIX_NATS, WASMATRIX_ACK_WAIT); no NATS and 30 s by default', async () => {
  const defaults = parseCommandLine([], {});
  assert.ok(defaults.kind === 'serve');
  assert.is(defaults.config.nats, null);
  assert.is(defaults.config.ackWait, 30);
  const set = parseCommandLine(['--nats', 'nats://127.0.0.1:4222', '--ack-wait', '2.5'], {});
  assert.ok(set.kind === 'serve');
  assert.is(set.config.nats, 'nats://127.0.0.1:4222');
  assert.is(set.config.ackWait, 2.5);
  const env = parseCommandLine([], { WASMATRIX_NATS: 'nats://x:1', WASMATRIX_ACK_WAIT: '5' });
  assert.ok(env.kind === 'serve' && env.config.nats === 'nats://x:1' && env.config.ackWait === 5);
  assert.throws(() => parseCommandLine(['--ack-wait', '0'], {}), (e: unknown) => e instanceof UsageError && /--ack-wait must be a number of seconds >= 0.1/.test((e as Error).message));
  const { stdout } = await runCli(['--help']);
  assert.match(stdout, /--nats URL/);
  assert.match(stdout, /--ack-wait SECONDS/);
});

test.run();
