// -w N: acceptor threads share the port and the main thread's kernel pools;
// random jobs, JSON and binary bodies (transferred between threads) all come
// back right, and /metrics counts every thread's requests.

import { request } from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer, type RunningServer } from './fixtures/http-server.ts';

let server: RunningServer;
test.before(async () => {
  server = await startServer(['-w', '3', '--timeout', '20']);
});
test.after(async () => {
  await server?.stop();
});

/** One request on its own connection (no keep-alive), so the kernel spreads them over the acceptors. */
function once(path: string, method = 'GET', body?: Uint8Array | string, type?: string): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method, agent: false, headers: type ? { 'content-type': type } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('random jobs on fresh connections give one checksum whichever thread accepted them', async () => {
  const answers = await Promise.all(Array.from({ length: 24 }, () => once('/threading?n=300&seed=5')));
  const checksums = new Set(answers.map((a) => (JSON.parse(a.body.toString()) as { checksum: string }).checksum));
  for (const a of answers) assert.is(a.status, 200);
  assert.is(checksums.size, 1);
});

test('binary and JSON bodies cross to the main thread and back intact', async () => {
  const n = 256;
  const ab = new Int32Array(2 * n * n).map((_, i) => (i * 2654435761) | 0);
  const answers = await Promise.all(Array.from({ length: 12 }, () => once(`/add?n=${n}&dtype=int32&mode=threads`, 'POST', new Uint8Array(ab.buffer), 'application/octet-stream')));
  for (const a of answers) {
    assert.is(a.status, 200);
    const out = new Int32Array(a.body.buffer, a.body.byteOffset, n * n);
    for (const i of [0, 1, 777, n * n - 1]) assert.is(out[i], (ab[i]! + ab[n * n + i]!) | 0);
  }
  const json = await Promise.all(Array.from({ length: 12 }, () => once('/add?mode=processes', 'POST', JSON.stringify({ a: [[1, 2]], b: [[3, 2147483647]] }), 'application/json')));
  for (const j of json) assert.equal((JSON.parse(j.body.toString()) as { result: number[][] }).result, [[4, -2147483647]]);
});

test('errors from acceptor threads are problem+json too', async () => {
  const answers = await Promise.all(Array.from({ length: 9 }, () => once('/threading?n=0')));
  for (const a of answers) {
    assert.is(a.status, 400);
    assert.is(a.headers['content-type'], 'application/problem+json');
  }
});

test('/metrics sums the requests of every thread', async () => {
  const before = await counted();
  await Promise.all(Array.from({ length: 15 }, () => once('/healthz')));
  assert.is((await counted()) - before, 15);
});

async function counted(): Promise<number> {
  const text = (await once('/metrics')).body.toString();
  const m = /wasmatrix_http_requests_total\{route="\/healthz",mode="-",status="200"\} (\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

test.run();
