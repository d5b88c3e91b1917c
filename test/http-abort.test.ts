// A client that goes away never crashes or stalls the server, and its job is
// cancelled: it leaves the queue instead of running for nobody.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer, waitFor } from './fixtures/http-server.ts';
import { scrapeMetric } from './fixtures/server-inspect.ts';

const JOB = '/multiprocessing?n=500&workers=1';

test('an aborted request is followed by a healthy one; its queued job is dropped', async () => {
  const server = await startServer(['--processes', '1']);
  const metric = (name: string, labels: Record<string, string> = {}) => scrapeMetric(server.url, name, { pool: 'processes', ...labels });
  try {
    // the one kernel process takes the first job and keeps it until release: the second must queue
    await server.hold();
    const running = fetch(`${server.url}${JOB}&seed=1`);
    await waitFor('the first job to occupy the only process', async () => (await metric('wasmatrix_pool_busy_workers')) === 1);
    const controller = new AbortController();
    const abandoned = fetch(`${server.url}${JOB}&seed=2`, { signal: controller.signal }).catch((e: Error) => e.name);
    await waitFor('the second job to queue', async () => (await metric('wasmatrix_pool_queue_length')) === 1);
    controller.abort();
    assert.is(await abandoned, 'AbortError');
    await waitFor('the abandoned job to leave the queue', async () => (await metric('wasmatrix_pool_jobs_total', { outcome: 'cancelled' })) === 1);
    assert.is(await metric('wasmatrix_pool_queue_length'), 0, 'the abandoned job left the queue');
    await server.release();
    assert.is((await running).status, 200);
    const healthy = await fetch(`${server.url}/multiprocessing?n=50&seed=3`);
    assert.is(healthy.status, 200);
    assert.is(await metric('wasmatrix_pool_jobs_total', { outcome: 'ok' }), 2, 'the abandoned job never ran: only the first and the healthy one did');
    await waitFor('the 499 in the request metrics', async () => (await scrapeMetric(server.url, 'wasmatrix_http_requests_total', { route: '/multiprocessing', mode: 'processes', status: '499' })) === 1);
  } finally {
    await server.stop();
  }
});

test('a client that disconnects while sending a body does not disturb the server', async () => {
  const server = await startServer();
  try {
    const { hostname, port } = new URL(server.url);
    const { connect } = await import('node:net');
    const socket = connect(Number(port), hostname, () => {
      socket.write(`POST /add?rows=100&cols=100&dtype=float64 HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\ncontent-length: 160000\r\n\r\n`);
      socket.write(Buffer.alloc(5000));
    });
    socket.on('error', () => {});
    const inFlight = () => scrapeMetric(server.url, 'wasmatrix_http_in_flight_requests');
    // the scrape itself is in flight too while it is answered
    await waitFor('the upload to be in flight', async () => (await inFlight()) >= 2);
    socket.destroy();
    await waitFor('the server to drop the abandoned upload', async () => (await inFlight()) === 1);
    const r = await fetch(`${server.url}/threading?n=20`);
    assert.is(r.status, 200);
    assert.is(await scrapeMetric(server.url, 'wasmatrix_http_requests_total', { route: '/add', status: '499' }), 1, 'the upload is counted as abandoned');
  } finally {
    await server.stop();
  }
});

test.run();
