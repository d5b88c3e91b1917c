// SIGTERM and SIGINT drain like Gunicorn: in-flight requests are all answered,
// /healthz turns 503, no new connection is accepted, the process exits 0.

import { connect } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer, waitFor, type RunningServer } from './fixtures/http-server.ts';
import { alive, childPids, scrapeMetric } from './fixtures/server-inspect.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The server's window for a repeated stop signal (src/cli/main.ts). */
const REPEAT_MS = 1000;
/** A lab job in a one-process pool: with the pool held (server.hold()) it stays in flight until release. */
const job = (seed: number) => `/multiprocessing?n=500&workers=1&seed=${seed}`;
const pool = (server: RunningServer, name: string) => scrapeMetric(server.url, name, { pool: 'processes' });

/** Held jobs: `busy` of them taken by the process pool's workers, the rest queued behind. */
async function holdJobs(server: RunningServer, count: number, busy: number) {
  await server.hold();
  const answers = Array.from({ length: count }, (_, i) =>
    fetch(server.url + job(i + 1)).then(
      async (r) => ({ status: r.status, body: (await r.json()) as { checksum?: string } }),
      () => ({ status: 'dropped' as const, body: {} as { checksum?: string } }),
    ),
  );
  await waitFor(`${busy} busy and ${count - busy} queued`, async () => (await pool(server, 'wasmatrix_pool_busy_workers')) === busy && (await pool(server, 'wasmatrix_pool_queue_length')) === count - busy);
  return answers;
}

/** Sends `signal` to the server alone, or to its whole process group (as Ctrl-C, `timeout` and systemd do). */
function signalServer(server: RunningServer, signal: NodeJS.Signals, target: 'pid' | 'group'): void {
  process.kill(target === 'group' ? -server.pid : server.pid, signal);
}

/** What a clean shutdown never prints. */
function assertQuiet(stderr: string): void {
  assert.not.match(stderr, /died and is being replaced/, 'no kernel worker is replaced during the shutdown');
  assert.not.match(stderr, /\n\s+at |TypeError|EPIPE|uncaught|unhandled/i, 'no stack trace or Node-internal error');
}

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

const cases = [
  ['SIGTERM', '1', 'pid'],
  ['SIGINT', '1', 'pid'],
  ['SIGTERM', '2', 'pid'],
  ['SIGINT', '1', 'group'],
  ['SIGTERM', '1', 'group'],
  ['SIGINT', '2', 'group'],
  ['SIGTERM', '2', 'group'],
] as const;
for (const [signal, workers, target] of cases) {
  test(`${signal} to the ${target === 'pid' ? 'server' : 'process group'} with -w ${workers}: every in-flight request is answered, no worker replaced, then exit 0`, async () => {
    const server = await startServer(['--processes', '1', '-w', workers], {}, { detached: true });
    const conn = keepAlive(server.url);
    try {
      assert.match(await conn.get('/healthz'), /^HTTP\/1\.1 200 /);
      const inFlight = await holdJobs(server, 4, 1);
      const children = childPids(server.pid);
      assert.is(children.length, 1, 'one kernel process');
      signalServer(server, signal, target);
      await waitFor('the drain to start', () => server.output().stderr.includes(`${signal}: draining`));
      const health = await conn.get('/healthz');
      if (workers === '2' && health === 'closed by server') {
        // the connection may belong to an acceptor thread with nothing in flight:
        // it closes its idle keep-alive connections at once, which is also "not serving"
      } else {
        assert.match(health, /^HTTP\/1\.1 503 /, 'healthz is 503 while draining');
        assert.match(health, /Connection: close/i);
      }
      // a raw TCP connect: fetch could reuse one of its own idle keep-alive connections
      const { hostname, port } = new URL(server.url);
      const refused = () =>
        new Promise<boolean>((resolve) => {
          const probe = connect(Number(port), hostname, () => {
            probe.destroy();
            resolve(false);
          });
          probe.on('error', () => resolve(true));
        });
      await waitFor('no new connection to be accepted while draining', refused);
      await server.release();
      const answers = await Promise.all(inFlight);
      for (const a of answers) {
        assert.is(a.status, 200);
        assert.match(a.body.checksum!, /^[0-9a-f]{8}$/);
      }
      const { code } = await server.exited;
      assert.is(code, 0);
      await waitFor('every kernel process to be gone', () => !children.some(alive));
      await server.closed;
      assertQuiet(server.output().stderr);
    } finally {
      conn.close();
      await server.stop('SIGKILL');
    }
  });
}

test('--graceful-timeout bounds the drain: requests still running past it are dropped, and the exit is still 0', async () => {
  const server = await startServer(['--processes', '1', '--graceful-timeout', '0.2']);
  try {
    // held, never released: only the graceful timeout can end the drain
    const answers = await holdJobs(server, 4, 1);
    process.kill(server.pid, 'SIGTERM');
    const { code } = await server.exited;
    assert.is(code, 0);
    assert.match(server.output().stderr, /graceful timeout/);
    assert.ok((await Promise.all(answers)).every((a) => a.status === 'dropped'), 'no held request was answered');
  } finally {
    await server.stop('SIGKILL');
  }
});

for (const target of ['pid', 'group'] as const) {
  test(`a second signal to the ${target === 'pid' ? 'server' : 'process group'} during the drain forces the exit at once (code 1), quietly, and no kernel process outlives it`, async () => {
    const server = await startServer(['--processes', '2'], {}, { detached: true });
    try {
      // held: the drain cannot end before the second signal
      const answers = await holdJobs(server, 8, 2);
      const children = childPids(server.pid);
      assert.is(children.length, 2);
      signalServer(server, 'SIGTERM', target);
      await waitFor('the drain to start', () => server.output().stderr.includes('SIGTERM: draining'));
      // a lower bound, not a race: the server counts from the first signal it handled, and a repeat within
      // REPEAT_MS is the same stop request (the next test)
      await sleep(REPEAT_MS + 100);
      signalServer(server, 'SIGTERM', target);
      const { code } = await server.exited;
      assert.is(code, 1);
      assert.match(server.output().stderr, /SIGTERM again: exiting now/);
      await Promise.all(answers);
      await waitFor('the kernel processes to leave with it', () => !children.some(alive));
      // the children write to the server's stderr: everything they wrote is in once it is closed
      await server.closed;
      assertQuiet(server.output().stderr);
    } finally {
      await server.stop('SIGKILL');
    }
  });
}

test('the same signal twice at once (npm start forwards a group signal to the server, which also got it) is one stop request', async () => {
  const server = await startServer(['--processes', '1'], {}, { detached: true });
  try {
    const inFlight = await holdJobs(server, 2, 1);
    process.kill(server.pid, 'SIGINT');
    process.kill(server.pid, 'SIGINT');
    await waitFor('the drain to start', () => server.output().stderr.includes('SIGINT: draining'));
    await server.release();
    for (const a of await Promise.all(inFlight)) assert.is(a.status, 200);
    assert.is((await server.exited).code, 0);
    assert.not.match(server.output().stderr, /again: exiting now/);
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
    await waitFor('every kernel process to exit', () => !children.some(alive));
  } finally {
    await server.stop('SIGKILL');
  }
});

test.run();
