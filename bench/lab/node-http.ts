// The lab's job on plain Node: `node:http` and typed arrays, no WebAssembly,
// no pools, one thread. GET /threading draws two random 500 x 500 integer
// matrices (0..99) with Math.random, adds them, and answers the lab's JSON.
// The comparator a reader would write first in TypeScript; the benchmark
// (bench/http/lab-job.ts) measures it beside wasmatrix and the lab's Gunicorn
// app in the same run.
//
//   node dist/bench/lab/node-http.js [PORT]     prints "listening on http://127.0.0.1:PORT"

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

const N = 500;

function randomMatrix(count: number): Int32Array {
  const m = new Int32Array(count);
  for (let i = 0; i < count; i++) m[i] = Math.floor(Math.random() * 100);
  return m;
}

function labJob(): string {
  const a = randomMatrix(N * N);
  const b = randomMatrix(N * N);
  const t0 = performance.now();
  const c = new Int32Array(N * N);
  for (let i = 0; i < c.length; i++) c[i] = a[i]! + b[i]!;
  const seconds = (performance.now() - t0) / 1000;
  return JSON.stringify({ status: 'ok', method: 'node:http', execution_time_sec: Math.round(seconds * 1e4) / 1e4, sample: Array.from(c.subarray(0, 10)) });
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url?.split('?')[0] === '/threading') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(labJob());
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }
});
server.keepAliveTimeout = 10_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
