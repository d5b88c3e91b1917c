// npm run bench's command line: defaults for a ~5 minute run, --quick, lists,
// and clear errors for bad values.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CASE_KINDS } from '../bench/http/cases.ts';
import { BenchUsageError, DEFAULTS, KERNELS_QUICK_ARGS, LAB_JOB, LAB_JOB_QUICK, parseBenchArgs, QUICK } from '../bench/http/options.ts';

test('no flags: every case at n = 500 and 2048, 20 connections, 5 s each, the lab\'s job in 3 rounds, latest refreshed', () => {
  const o = parseBenchArgs([]);
  assert.equal(o.sizes, [500, 2048]);
  assert.equal(o.modes, [...CASE_KINDS]);
  assert.is(o.connections, DEFAULTS.connections);
  assert.is(o.duration, DEFAULTS.duration);
  assert.is(o.dtype, 'int32');
  assert.ok(o.kernels);
  assert.ok(o.stall);
  assert.not.ok(parseBenchArgs(['--no-stall']).stall);
  assert.is(o.labRounds, LAB_JOB.rounds);
  assert.is(o.generator, 'auto');
  assert.is(parseBenchArgs(['--generator', 'autocannon']).generator, 'autocannon');
  assert.throws(() => parseBenchArgs(['--generator', 'ab']), /--generator: "ab" is not auto or autocannon/);
  assert.is(parseBenchArgs(['--lab-rounds', '5']).labRounds, 5);
  assert.is(parseBenchArgs(['--no-lab']).labRounds, 0);
  assert.is(parseBenchArgs(['--lab-rounds', '0']).labRounds, 0);
  assert.is(parseBenchArgs(['--url', 'http://127.0.0.1:8000']).labRounds, 0, 'a server the bench did not start: no -w 1 / -w 2 of its own');
  assert.throws(() => parseBenchArgs(['--lab-rounds', 'two']), /--lab-rounds: "two" is not a positive integer/);
  assert.ok(o.latest);
  assert.is(o.url, null);
});

test('--quick shortens everything and never touches bench/results/latest', () => {
  const o = parseBenchArgs(['--quick']);
  assert.equal(o.sizes, [...QUICK.sizes]);
  assert.is(o.duration, QUICK.duration);
  assert.equal(o.kernelsArgs, KERNELS_QUICK_ARGS);
  assert.is(o.labRounds, LAB_JOB_QUICK.rounds);
  assert.not.ok(o.latest);
});

test('lists and numbers are parsed; --url, --out and --no-latest keep latest untouched', () => {
  const o = parseBenchArgs(['--sizes', '64, 500', '--modes', 'wasm,threads:ts', '--duration', '1.5', '--url', 'http://127.0.0.1:8000/', '--server-args=-w 2']);
  assert.equal(o.sizes, [64, 500]);
  assert.equal(o.modes, ['wasm', 'threads:ts']);
  assert.is(o.duration, 1.5);
  assert.is(o.url, 'http://127.0.0.1:8000');
  assert.equal(o.serverArgs, ['-w', '2']);
  assert.not.ok(o.latest);
  assert.not.ok(parseBenchArgs(['--out', '/tmp/x']).latest);
  assert.not.ok(parseBenchArgs(['--no-latest']).latest);
});

test('the "through HAProxy" section: 1, 2, 3 hosts by default in a full run with the threading case; never by default with --quick, --url or without threading', () => {
  assert.equal(parseBenchArgs([]).proxyHosts, [1, 2, 3]);
  assert.equal(parseBenchArgs(['--proxy-hosts', '1, 4']).proxyHosts, [1, 4]);
  assert.equal(parseBenchArgs(['--no-proxy']).proxyHosts, []);
  assert.equal(parseBenchArgs(['--quick']).proxyHosts, []);
  assert.equal(parseBenchArgs(['--quick', '--proxy-hosts', '2']).proxyHosts, [2]);
  assert.equal(parseBenchArgs(['--modes', 'wasm']).proxyHosts, []);
  assert.equal(parseBenchArgs(['--url', 'http://127.0.0.1:8000']).proxyHosts, []);
  assert.throws(() => parseBenchArgs(['--proxy-hosts', '0']), /--proxy-hosts/);
});

test('bad values stop with a BenchUsageError naming the flag', () => {
  const bad: [string[], RegExp][] = [
    [['--modes', 'gpu'], /--modes: unknown case "gpu"/],
    [['--sizes', '0'], /--sizes/],
    [['--sizes', '1.5'], /--sizes/],
    [['--connections', 'many'], /--connections/],
    [['--dtype', 'int8'], /--dtype/],
    [['--url', 'ftp://x'], /--url/],
    [['--bogus'], /bogus/],
  ];
  for (const [argv, message] of bad) {
    assert.throws(() => parseBenchArgs(argv), (e: Error) => e instanceof BenchUsageError && message.test(e.message), argv.join(' '));
  }
});

test.run();
