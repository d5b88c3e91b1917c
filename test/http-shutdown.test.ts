// SIGTERM and SIGINT drain like Gunicorn: in-flight requests are all answered,
// /healthz turns 503, no new connection is accepted, the process exits 0.

import { connect } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer } from './fixtures/http-server.ts';
import { alive, childPids } from './fixtures/server-inspect.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A slow job (about 0.3 s): the TS kernel in a one-process pool, so jobs queue behind each other. */
const slowJob = (seed: number) => `/multiprocessing?n=4096&dtype=float64&kernel=ts&workers=1&seed=${seed}`;

/** One keep-alive connection on which requests are sent one by one. */
function keepAlive(url: string) {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let buffered = '';
  let waiter: (() => void) | undefined;
  let closed = false;
  socket.on('data', (d) => {
    buffered += d.toString('latin1');
    waiter?.();
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
    waiter?.();
  });
  return {
    async get(path: string): Promise<string> {
      buffered = '';
      if (!closed) socket.write(`GET ${path} HTTP/1.1\r\nhost: ${hostname}\r\n\r\n`);
      while (!/\r\n\r\n[\s\S]*\}/.test(buffered)) {
        if (closed) return 'closed by server';
        await new Promise<void>((r) => (waiter = r));
      }
      return buffered;
    },
    close: () => socket.destroy(),
  };
}

for (const [signal, workers] of [['SIGTERM', '1'], ['SIGINT', '1'], ['SIGTERM', '2']] as const) {
  test(`${signal} with -w ${workers}: every in-flight request is answered, then exit 0`, async () => {
    const server = await startServer(['--processes', '1', '-w', workers]);
    const conn = keepAlive(server.url);
    try {
      assert.match(await conn.get('/healthz'), /^HTTP\/1\.1 200 /);
      const inFlight = [1, 2, 3, 4].map((seed) => fetch(server.url + slowJob(seed)).then(async (r) => ({ status: r.status, body: (await r.json()) as { checksum?: string } })));
      await sleep(300);
      const children = childPids(server.pid);
      assert.is(children.length, 1, 'one kernel process');
      const sent = Date.now();
      process.kill(server.pid, signal);
      await sleep(100);
      const health = await conn.get('/healthz');
      if (workers === '2' && health === 'closed by server') {
        // the connection may belong to an acceptor thread with nothing in flight:
        // it closes its idle keep-alive connections at once, which is also "not serving"
      } else {
        assert.match(health, /^HTTP\/1\.1 503 /, 'healthz is 503 while draining');
        assert.match(health, /Connection: close/i);
      }
      const answers = await Promise.all(inFlight);
      for (const a of answers) {
        assert.is(a.status, 200);
        assert.match(a.body.checksum!, /^[0-9a-f]{8}$/);
      }
      // a raw TCP connect: fetch could reuse one of its own idle keep-alive connections
      const { hostname, port } = new URL(server.url);
      const refused = await new Promise<boolean>((resolve) => {
        const probe = connect(Number(port), hostname, () => {
          probe.destroy();
          resolve(false);
        });
        probe.on('error', () => resolve(true));
      });
      assert.ok(refused, 'no new connection is accepted while draining');
      const { code } = await server.exited;
      assert.is(code, 0);
      assert.ok(Date.now() - sent < 10000);
      assert.match(server.output().stderr, new RegExp(`${signal}: draining`));
      await sleep(200);
      assert.equal(children.filter(alive), [], 'no kernel process outlives the server');
    } finally {
      conn.close();
      await server.stop('SIGKILL');
    }
  });
}

test('--graceful-timeout bounds the drain: requests still running past it are dropped, and the exit is still 0', async () => {
  const server = await startServer(['--processes', '1', '--graceful-timeout', '0.2']);
  try {
    const answers = [1, 2, 3, 4].map((seed) => fetch(server.url + slowJob(seed)).then((r) => r.status, () => 'dropped'));
    await sleep(200);
    const t0 = Date.now();
    process.kill(server.pid, 'SIGTERM');
    const { code } = await server.exited;
    assert.is(code, 0);
    assert.ok(Date.now() - t0 < 1000, 'the drain did not wait for the queued jobs');
    assert.match(server.output().stderr, /graceful timeout/);
    assert.ok((await Promise.all(answers)).includes('dropped'));
  } finally {
    await server.stop('SIGKILL');
  }
});

test('a second signal during the drain forces the exit at once (code 1), and no kernel process outlives it', async () => {
  const server = await startServer(['--processes', '2']);
  try {
    // 16 jobs on 2 processes (about 1 s of work on a quiet machine, a slow job taking about 0.12 s): the drain
    // is still running when the second signal comes
    const answers = Array.from({ length: 16 }, (_, i) => fetch(server.url + slowJob(i + 1)).then((r) => r.status, () => 'dropped'));
    await sleep(300);
    const children = childPids(server.pid);
    assert.is(children.length, 2);
    process.kill(server.pid, 'SIGTERM');
    for (let i = 0; i < 100 && !/SIGTERM: draining/.test(server.output().stderr); i++) await sleep(10);
    const t0 = Date.now();
    process.kill(server.pid, 'SIGTERM');
    const { code } = await server.exited;
    assert.is(code, 1);
    assert.ok(Date.now() - t0 < 1000, 'the second signal did not wait for the drain');
    assert.match(server.output().stderr, /SIGTERM again: exiting now/);
    await Promise.all(answers);
    await sleep(300);
    assert.equal(children.filter(alive), [], 'the kernel processes left with it');
  } finally {
    await server.stop('SIGKILL');
  }
});

test('a server killed with SIGKILL leaves no kernel process behind (they exit when the IPC channel closes)', async () => {
  const server = await startServer(['--processes', '2']);
  try {
    const children = childPids(server.pid);
    assert.is(children.length, 2);
    process.kill(server.pid, 'SIGKILL');
    await server.exited;
    for (let i = 0; i < 50 && children.some(alive); i++) await sleep(20);
    assert.equal(children.filter(alive), []);
  } finally {
    await server.stop('SIGKILL');
  }
});

test.run();
