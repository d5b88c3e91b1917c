// Lingering close: an answer given while the request body is still arriving
// (413 on a declared length over --max-body, 415) closes the connection, and
// body bytes still arriving after a close make the kernel send a reset that
// can discard the answer. The server reads and discards the rest of the body
// first (bounded: see LINGER_MS in src/http/exchange.ts), so a client that
// writes its whole body at once, without pacing, always gets its answer; the
// unread body is never parsed as a request; a client that never stops sending
// is cut off after the bound.

import { connect } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LINGER_BYTES, LINGER_MS } from '../src/http/exchange.ts';
import { startServer, type RunningServer } from './fixtures/http-server.ts';
import { assertServing } from './fixtures/raw-http.ts';

const MAX_BODY = 1 << 20;
const ROUNDS = 20;

let server: RunningServer;
test.before(async () => {
  server = await startServer(['--max-body', String(MAX_BODY)]);
});
test.after(async () => {
  await server?.stop();
});

interface Outcome {
  /** Everything the server wrote, latin1. */
  text: string;
  /** How the connection ended: 'end' (FIN after the answer), 'reset', or 'timeout'. */
  ended: 'end' | 'reset' | 'timeout';
  ms: number;
}

/** Writes `request` in ONE write (no pacing), then reads until the server closes (or `ms`: a guard against a hang). */
function oneWrite(request: Buffer, ms = 30_000): Promise<Outcome> {
  const { hostname, port } = new URL(server.url);
  const t0 = performance.now();
  return new Promise((resolve) => {
    let text = '';
    let reset = false;
    const socket = connect(Number(port), hostname, () => socket.write(request));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, ended: 'timeout', ms: performance.now() - t0 });
    }, ms);
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', (e: NodeJS.ErrnoException) => (reset ||= e.code === 'ECONNRESET'));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, ended: reset ? 'reset' : 'end', ms: performance.now() - t0 });
    });
  });
}

const post = (type: string, body: Buffer, target = '/add'): Buffer =>
  Buffer.concat([Buffer.from(`POST ${target} HTTP/1.1\r\nhost: x\r\ncontent-type: ${type}\r\ncontent-length: ${body.byteLength}\r\n\r\n`), body]);

/** One status per answer found in `text` (a request smuggled in a body would add one). */
const statuses = (text: string): number[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

async function rounds(request: Buffer, status: number, label: string): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const r = await oneWrite(request);
    seen.push(`${statuses(r.text).join('+') || 'none'}/${r.ended}`);
  }
  const want = `${status}/end`;
  assert.is(seen.filter((s) => s === want).length, ROUNDS, `${label}: ${ROUNDS} answers of ${status}, each followed by a close (got ${seen.join(', ')})`);
}

// an 8 MB JSON body of a million tiny rows, 8 times --max-body
const TINY_ROWS = Buffer.from(`{"a":[${Array(1_000_000).fill('[1]').join(',')}]}`.slice(0, 8_000_000));

test(`${ROUNDS} x an 8 MB JSON body over --max-body 1 MiB in one write: ${ROUNDS} answers of 413`, async () => {
  await rounds(post('application/json', TINY_ROWS), 413, '413');
});

// the 2 MB body is requests: parsed as HTTP after the answer, it would add answers
const REQUESTS = Buffer.from('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n'.repeat(Math.ceil((2 << 20) / 33)));

test(`${ROUNDS} x a 2 MB text/plain body (itself a stream of requests) in one write: ${ROUNDS} answers of 415, none to the body`, async () => {
  await rounds(post('text/plain', REQUESTS), 415, '415');
});

test(`a 2 MB body of requests after a 413: one answer, the body is never parsed as requests`, async () => {
  const r = await oneWrite(post('application/json', Buffer.concat([Buffer.from(' '.repeat(MAX_BODY)), REQUESTS])));
  assert.equal(statuses(r.text), [413], r.text.slice(0, 300));
  assert.is(r.ended, 'end');
});

test('a client that declares 999,999,999 bytes and never stops sending is cut off after the bound', async () => {
  const { hostname, port } = new URL(server.url);
  const t0 = performance.now();
  const chunk = Buffer.alloc(1 << 20, 0x20);
  const outcome = await new Promise<{ sent: number; ms: number; text: string; cutByServer: boolean }>((resolve) => {
    let sent = 0;
    let text = '';
    let open = true;
    let cutByServer = true;
    const socket = connect(Number(port), hostname, () => {
      socket.write('POST /add HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 999999999\r\n\r\n');
      const pump = (): void => {
        while (open && socket.write(chunk)) sent += chunk.byteLength;
        if (open) socket.once('drain', pump);
      };
      pump();
    });
    // a guard: a server that never cuts it off fails below, however long the bound takes on this machine
    const timer = setTimeout(() => {
      cutByServer = false;
      socket.destroy();
    }, 60_000);
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', () => {}); // a reset is expected: the body was still arriving
    socket.on('close', () => {
      open = false;
      clearTimeout(timer);
      resolve({ sent, ms: performance.now() - t0, text, cutByServer });
    });
  });
  console.log(`  [lingering] a client that never stops sending was cut off after ${Math.round(outcome.ms)} ms and ${(outcome.sent / 2 ** 20).toFixed(0)} MiB (bounds ${LINGER_MS} ms, ${LINGER_BYTES / 2 ** 20} MiB)`);
  assert.ok(outcome.cutByServer, 'the server cut the connection off');
  assert.ok(outcome.sent < LINGER_BYTES + (64 << 20), `cut off after ${outcome.sent} bytes (bound ${LINGER_BYTES} + socket buffers)`);
  // whatever arrived before the reset is at most the one answer
  assert.ok(statuses(outcome.text).every((s) => s === 413), outcome.text.slice(0, 200));
});

test('a client that declares a big body and waits sends nothing more: the answer comes without waiting the whole bound', async () => {
  const r = await oneWrite(Buffer.from(`POST /add HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${MAX_BODY + 1}\r\n\r\n`));
  assert.equal(statuses(r.text), [413]);
  assert.is(r.ended, 'end');
  // inherently a matter of time: the server's own quiet timer (LINGER_QUIET_MS, 200 ms) against its
  // bound (LINGER_MS, 2 s) tells the two paths apart, and nothing else outside the server does
  assert.ok(r.ms < LINGER_MS, `answered after ${Math.round(r.ms)} ms`);
});

test('the server still serves, nothing is left in flight, no error was logged', async () => {
  await assertServing(server.url, 'after lingering');
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /wasmatrix_http_in_flight_requests(?:\{[^}]*\})? 1\b/, 'only the /metrics request itself is in flight');
  assert.not.match(server.output().stderr, /error/i, server.output().stderr);
});

test.run();
