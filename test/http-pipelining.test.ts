// Pipelined requests. uWS 20.30 closes a connection when a request arrives on
// it while the one before is still unanswered: behind a pool job neither is
// answered, and the server never sees the second. The access log and /metrics
// must say so (status 000, reason pipelined) instead of blaming the client
// (499); behind a synchronous answer, both are answered in order. Every case
// writes its requests in ONE write, so uWS parses the second right after the
// first's handler and its microtasks ran; the pool's jobs are held (test hooks)
// so the first is certainly still pending then: a thread-pool job that is not
// held can finish within those microtasks, and both are then answered.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'node:net';
import { startServer, waitFor, type RunningServer } from './fixtures/http-server.ts';
import { PROBE, assertServing, rawPipelined } from './fixtures/raw-http.ts';
import { scrapeMetric } from './fixtures/server-inspect.ts';

const get = (target: string): string => `GET ${target} HTTP/1.1\r\nhost: wasmatrix.test\r\n\r\n`;
const unanswered = (server: RunningServer, route: string, reason: string) =>
  scrapeMetric(server.url, 'wasmatrix_http_unanswered_requests_total', { route, reason });
const requests = (server: RunningServer, route: string, status: string) =>
  scrapeMetric(server.url, 'wasmatrix_http_requests_total', { route, status });
/** The access-log lines (on the server's stdout) for `method target`. */
const logLines = (server: RunningServer, method: string, target: string): string[] =>
  server.output().stdout.split('\n').filter((line) => line.split(' ')[2] === method && line.split(' ')[3] === target);
/** Waits for the access-log line of `method target` (the log is written in batches) and returns it. */
const logLine = (server: RunningServer, method: string, target: string): Promise<string> =>
  waitFor(`the access-log line of ${method} ${target}`, () => logLines(server, method, target)[0] ?? '');

for (const [route, target, mode] of [
  ['/threading', '/threading?n=500&seed=11', 'threads'],
  ['/multiprocessing', '/multiprocessing?n=500&seed=12', 'processes'],
] as const) {
  test(`two requests in one write behind a ${mode} job: the connection closes unanswered, logged as 000 reason=pipelined, never 499`, async () => {
    const server = await startServer(['--access-log', '-']);
    try {
      await server.hold();
      const behind = '/healthz?behind=1';
      const r = await rawPipelined(server.url, get(target) + get(behind), 2);
      assert.is(r.responses.length, 0, 'neither request is answered');
      assert.is(r.leftover, 0, 'not a byte of an answer');
      assert.ok(r.closed, 'the server closed the connection');
      await waitFor('the pipelined close in /metrics', async () => (await unanswered(server, route, 'pipelined')) === 1);
      assert.is(await requests(server, route, '000'), 1, 'requests_total counts it as status 000');
      assert.is(await requests(server, route, '499'), 0, 'not as a client that went away');
      assert.is(await unanswered(server, route, 'client_closed'), 0);
      assert.match(await logLine(server, 'GET', target), new RegExp(` 000 0 \\d+us mode=${mode} workers=0 reason=pipelined$`));
      assert.equal(logLines(server, 'GET', behind), [], 'the request behind was never seen, so never logged');
      await server.release();
      await assertServing(server.url, 'after a pipelined close');
    } finally {
      await server.stop();
    }
  });
}

test('two requests in one write behind a synchronous answer (/healthz): both answered, in order, logged as 200', async () => {
  const server = await startServer(['--access-log', '-']);
  try {
    const r = await rawPipelined(server.url, get('/healthz') + get(PROBE.target), 2);
    assert.equal(r.responses.map((x) => x.status), [200, 200]);
    assert.equal(JSON.parse(r.responses[0]!.body.toString()), { status: 'ok' });
    assert.is((JSON.parse(r.responses[1]!.body.toString()) as { checksum: string }).checksum, PROBE.checksum, 'the second answer is the pool job, correct');
    assert.not.ok(r.closed, 'the connection stays open');
    assert.match(await logLine(server, 'GET', '/healthz'), / 200 15 \d+us mode=- workers=0$/);
    assert.match(await logLine(server, 'GET', PROBE.target), / 200 \d+ \d+us mode=threads workers=\d$/);
    assert.is(await scrapeMetric(server.url, 'wasmatrix_http_unanswered_requests_total'), 0, 'nothing unanswered');
  } finally {
    await server.stop();
  }
});

test('a body and a pipelined request in one write, after the head came in an earlier read: reason=pipelined', async () => {
  const server = await startServer(['--access-log', '-']);
  try {
    await server.hold();
    const target = '/add?mode=threads&rows=2&cols=2&dtype=float64';
    const { hostname, port } = new URL(server.url);
    const socket = connect(Number(port), hostname);
    socket.on('error', () => {});
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(`POST ${target} HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\ncontent-length: 64\r\n\r\n`);
    // the head was read (the request is in flight, next to the scrape itself) before the body is sent
    await waitFor('the POST to be in flight', async () => (await scrapeMetric(server.url, 'wasmatrix_http_in_flight_requests')) >= 2);
    socket.write(Buffer.concat([Buffer.alloc(64), Buffer.from(get('/healthz?behind=2'))]));
    await closed;
    assert.is(received, '', 'no answer');
    await waitFor('the pipelined close in /metrics', async () => (await unanswered(server, '/add', 'pipelined')) === 1);
    assert.match(await logLine(server, 'POST', target), / 000 0 \d+us mode=threads workers=0 reason=pipelined$/);
    await server.release();
  } finally {
    await server.stop();
  }
});

test('a client that closes its connection while its job runs is still 499 reason=client_closed', async () => {
  const server = await startServer(['--access-log', '-']);
  try {
    await server.hold(); // the job waits in the pool until the test releases it
    const target = '/threading?n=50&seed=13';
    const { hostname, port } = new URL(server.url);
    const socket = connect(Number(port), hostname, () => socket.write(get(target)));
    socket.on('error', () => {});
    await waitFor('the job to be in flight', async () => (await scrapeMetric(server.url, 'wasmatrix_http_in_flight_requests')) >= 2);
    socket.end();
    await waitFor('the client close in /metrics', async () => (await unanswered(server, '/threading', 'client_closed')) === 1);
    assert.is(await requests(server, '/threading', '499'), 1);
    assert.is(await unanswered(server, '/threading', 'pipelined'), 0, 'a client close is not taken for pipelining');
    assert.match(await logLine(server, 'GET', target), / 499 0 \d+us mode=threads workers=0 reason=client_closed$/);
    await server.release();
    await assertServing(server.url, 'after a client close');
  } finally {
    await server.stop();
  }
});

test('requests still running at the end of the graceful timeout are logged as 000 reason=shutdown, not 499', async () => {
  const server = await startServer(['--access-log', '-', '--graceful-timeout', '0.2']);
  try {
    await server.hold(); // never released: the graceful timeout ends the drain
    const target = '/multiprocessing?n=50&seed=14';
    const { hostname, port } = new URL(server.url);
    const socket = connect(Number(port), hostname, () => socket.write(get(target)));
    socket.on('error', () => {});
    await waitFor('the job to be in flight', async () => (await scrapeMetric(server.url, 'wasmatrix_http_in_flight_requests')) >= 2);
    process.kill(server.pid, 'SIGTERM');
    assert.is((await server.exited).code, 0);
    await server.closed;
    socket.destroy();
    assert.match(await logLine(server, 'GET', target), / 000 0 \d+us mode=processes workers=0 reason=shutdown$/);
  } finally {
    await server.stop('SIGKILL');
  }
});

test('with -w 2 (acceptor threads) a pipelined close is counted the same, in the aggregated /metrics', async () => {
  const server = await startServer(['-w', '2']);
  try {
    await server.hold();
    // several connections, so that both the main thread and the acceptor are likely to take one;
    // workers=2: a job for the (held) pool, not one the HTTP thread would run itself and answer at once
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => rawPipelined(server.url, get(`/threading?n=500&workers=2&seed=${20 + i}`) + get('/healthz'), 2)));
    assert.equal(results.map((r) => `${r.responses.length} answers, ${r.closed ? 'closed' : 'open'}`), Array(6).fill('0 answers, closed'), 'none answered, every connection closed');
    await waitFor('six pipelined closes in /metrics', async () => (await unanswered(server, '/threading', 'pipelined')) === 6);
    assert.is(await requests(server, '/threading', '499'), 0);
    await server.release();
  } finally {
    await server.stop();
  }
});

test.run();
