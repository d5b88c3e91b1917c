// A client that goes away never crashes or stalls the server, and its job is
// cancelled: it leaves the queue instead of running for nobody.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer } from './fixtures/http-server.ts';
import { scrapeMetric } from './fixtures/server-inspect.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SLOW = '/multiprocessing?n=4096&dtype=float64&kernel=ts&workers=1';


test('an aborted request is followed by a healthy one; its queued job is dropped', async () => {
  const server = await startServer(['--processes', '1']);
  try {
    const running = fetch(`${server.url}${SLOW}&seed=1`);
    await sleep(100);
    const controller = new AbortController();
    const abandoned = fetch(`${server.url}${SLOW}&seed=2`, { signal: controller.signal }).catch((e: Error) => e.name);
    await sleep(60);
    const queued = () => scrapeMetric(server.url, 'wasmatrix_pool_queue_length', { pool: 'processes' });
    assert.is(await queued(), 1, 'the second job waits');
    controller.abort();
    assert.is(await abandoned, 'AbortError');
    await sleep(50);
    assert.is(await queued(), 0, 'the abandoned job left the queue');
    assert.is((await running).status, 200);
    const healthy = await fetch(`${server.url}/multiprocessing?n=50&seed=3`);
    assert.is(healthy.status, 200);
    assert.is(await scrapeMetric(server.url, 'wasmatrix_http_requests_total', { route: '/multiprocessing', mode: 'processes', status: '499' }), 1);
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
      setTimeout(() => socket.destroy(), 50);
    });
    socket.on('error', () => {});
    await sleep(150);
    const r = await fetch(`${server.url}/threading?n=20`);
    assert.is(r.status, 200);
  } finally {
    await server.stop();
  }
});

test.run();
