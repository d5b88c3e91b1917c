// bench/http/main-thread-cpu.ts: wrk's count is read right, the spread is a
// median with its range, and the docs block (figures "cpu") shows the run's
// table or says the committed result predates the measurement.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mainThreadCpuText, parseWrkCount, spread, type MainThreadCpuResult } from '../bench/http/main-thread-cpu.ts';
import { cpu, loadSources } from '../bench/docs/figures.ts';
import { ROOT } from '../src/paths.ts';

test("wrk's request count and duration are read from its summary line", () => {
  assert.equal(parseWrkCount('  Latency 1ms\n  35012 requests in 5.00s, 13.3MB read\nRequests/sec: 7002.4\n'), { requests: 35012, seconds: 5 });
  assert.equal(parseWrkCount('  812 requests in 900.50ms, 1MB read\n'), { requests: 812, seconds: 0.9005 });
  assert.throws(() => parseWrkCount('unable to connect to 127.0.0.1:1'), /no request count/);
});

test('a spread is the median with the smallest and largest value', () => {
  assert.equal(spread([3, 1, 2]), { median: 2, min: 1, max: 3 });
  assert.equal(spread([4, 1, 2, 3]), { median: 2.5, min: 1, max: 4 });
});

const result: MainThreadCpuResult = {
  generator: 'wrk -t1 -c20',
  path: '/threading',
  seconds: 5,
  connections: 20,
  samples: [],
  summary: [
    { workers: 1, runs: 3, mainMicrosPerRequest: { median: 71.2, min: 68.7, max: 76.2 }, processMicrosPerRequest: { median: 354.1, min: 349.6, max: 364.9 }, requestsPerSecond: { median: 7000.4, min: 6900, max: 7100 } },
    { workers: 2, runs: 3, mainMicrosPerRequest: { median: 150, min: 148, max: 160 }, processMicrosPerRequest: { median: 342.7, min: 339.8, max: 353.1 }, requestsPerSecond: { median: 9000, min: 8000, max: 9500 } },
  ],
};

test('the table has one row per -w with medians and ranges', () => {
  const text = mainThreadCpuText(result);
  assert.match(text, /\| 1 \| 71\.2 \(68\.7-76\.2\) \| 354\.1 \(349\.6-364\.9\) \| 7000 \(6900-7100\) \|/);
  assert.match(text, /\| 2 \| 150\.0 \(148\.0-160\.0\) \|/);
  assert.match(text, /median \(min-max\) of 3 interleaved runs/);
});

test('the docs block quotes the measurement when the run has one, and says so when it has none', () => {
  const sources = loadSources(ROOT);
  assert.match(cpu({ ...sources, cpu: result }), /main-thread-cpu\.json[\s\S]*\| 1 \| 71\.2/);
  assert.match(cpu({ ...sources, cpu: undefined }), /^Not in this result: .*CPU per request/);
});

test.run();
