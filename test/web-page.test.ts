// GET / for a browser is the web page, for anyone else the plain-text index;
// the page carries the server's own catalogue, is revalidated by ETag, comes
// gzipped and small, and every acceptor thread (-w 2) serves the same bytes.
// /favicon.ico is answered, never a 404. (The page's behaviour in a real
// browser: web-browser.test.ts.)

import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DTYPES } from '../src/kernels/dtype.ts';
import { KERNELS, MODES } from '../src/engines/job.ts';
import { ROOT, startServer, type RunningServer } from './fixtures/http-server.ts';

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
/** One round trip on a fresh connection: TCP's initial window of 10 segments of 1460 bytes (RFC 6928). */
const ONE_ROUND_TRIP_BYTES = 14600;

let server: RunningServer;
test.before(async () => {
  server = await startServer(['-w', '2', '--max-n', '3000']);
});
test.after(async () => {
  await server?.stop();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Bytes of the status line and header block as sent (about: HTTP/1.1 framing). */
  headBytes: number;
  body: Buffer;
}

/** One request on its own connection (no keep-alive pool: each may reach another acceptor thread); the body as sent, not decoded. */
function raw(method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const headBytes = `HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\n`.length + res.rawHeaders.reduce((n, h) => n + h.length + 2, 0) + 2; // "name: value\r\n" each, then "\r\n"
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, headBytes, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const catalogueOf = (html: string): Record<string, unknown> => JSON.parse(/<script type="application\/json" id="catalogue">(.*?)<\/script>/s.exec(html)![1]!) as Record<string, unknown>;

test('curl and clients without Accept keep the plain-text index, with Vary: Accept', async () => {
  const none = await raw('GET', '/');
  const curl = await raw('GET', '/', { accept: '*/*' });
  const plain = await raw('GET', '/', { accept: 'text/plain' });
  for (const a of [none, curl, plain]) {
    assert.is(a.status, 200);
    assert.is(a.headers['content-type'], 'text/plain; charset=utf-8');
    assert.is(a.headers.vary, 'Accept');
    assert.is(a.body.toString(), none.body.toString());
  }
  const text = none.body.toString();
  assert.match(text, /^wasmatrix \d+\.\d+\.\d+: Matrix API: add, sub, mul, matmul/);
  assert.ok(text.includes('GET  /threading') && text.includes('GET  /metrics'));
  assert.not.match(text, /<html/i);
});

test('a browser gets the page: HTML with its script, style and the server catalogue inlined', async () => {
  const a = await raw('GET', '/', { accept: BROWSER });
  assert.is(a.status, 200);
  assert.is(a.headers['content-type'], 'text/html; charset=utf-8');
  assert.is(a.headers['cache-control'], 'no-cache');
  assert.match(String(a.headers.vary), /Accept/);
  assert.match(String(a.headers['content-security-policy']), /default-src 'none'; script-src 'sha256-/);
  const html = a.body.toString();
  assert.match(html, /^<!doctype html>/);
  assert.not.match(html, /@@[A-Z]+@@/, 'every placeholder is filled');
  assert.not.match(html, /<(script|link)[^>]+(src|href)="https?:/, 'nothing from another host');
  const cat = catalogueOf(html);
  assert.equal(cat.modes, MODES.filter((m) => m !== 'cluster'), 'every mode the server offers (cluster only with --nats)');
  assert.equal(cat.dtypes, [...DTYPES]);
  assert.equal(cat.kernels, [...KERNELS]);
  assert.is(cat.maxN, 3000, '--max-n');
  assert.equal(cat.maxWorkers, { ts: 1, wasm: 1, threads: 2, processes: 2, auto: 2 });
  const ops = cat.ops as { op: string; path: string }[];
  assert.ok(ops.some((o) => o.op === 'add' && o.path === '/add'), 'add is offered');
  for (const op of ['sub', 'mul', 'matmul']) assert.ok(ops.some((o) => o.op === op && o.path === `/${op}`), `${op} is offered (the route table drives the catalogue)`);
  for (const o of ops) assert.is((await fetch(`${server.url}${o.path}?n=4&seed=1`)).status, 200, `${o.path} answers a random job`);
});

test('gzipped, the whole answer (headers too) fits in one round trip, and decodes to the same bytes', async () => {
  const plain = await raw('GET', '/', { accept: BROWSER });
  const gz = await raw('GET', '/', { accept: BROWSER, 'accept-encoding': 'gzip, deflate' });
  assert.is(gz.headers['content-encoding'], 'gzip');
  assert.is(plain.headers['content-encoding'], undefined);
  assert.ok(gunzipSync(gz.body).equals(plain.body));
  assert.ok(gz.headBytes + gz.body.byteLength < ONE_ROUND_TRIP_BYTES, `${gz.headBytes} bytes of headers, ${gz.body.byteLength} of gzipped page`);
  assert.is.not(gz.headers.etag, plain.headers.etag, 'each encoding has its own validator');
});

test('a current ETag gets 304 without content; a stale one the page', async () => {
  const first = await raw('GET', '/', { accept: BROWSER, 'accept-encoding': 'gzip' });
  const etag = first.headers.etag as string;
  assert.match(etag, /^"[\w-]+"$/);
  const again = await raw('GET', '/', { accept: BROWSER, 'accept-encoding': 'gzip', 'if-none-match': etag });
  assert.is(again.status, 304);
  assert.is(again.body.byteLength, 0);
  assert.is(again.headers.etag, etag);
  assert.is(again.headers['content-length'], undefined, 'no Content-Length on a 304');
  const stale = await raw('GET', '/', { accept: BROWSER, 'accept-encoding': 'gzip', 'if-none-match': '"old"' });
  assert.is(stale.status, 200);
  assert.ok(stale.body.equals(first.body));
});

test('HEAD / negotiates like GET and sends no content', async () => {
  const html = await raw('HEAD', '/', { accept: BROWSER });
  assert.is(html.status, 200);
  assert.is(html.headers['content-type'], 'text/html; charset=utf-8');
  assert.ok(html.headers.etag);
  assert.is(html.body.byteLength, 0);
  const text = await raw('HEAD', '/');
  assert.is(text.headers['content-type'], 'text/plain; charset=utf-8');
});

test('every acceptor thread serves the same page (-w 2): 12 fresh connections, one ETag', async () => {
  const answers = await Promise.all(Array.from({ length: 12 }, () => raw('GET', '/', { accept: BROWSER })));
  for (const a of answers) {
    assert.is(a.status, 200);
    assert.is(a.headers.etag, answers[0]!.headers.etag);
    assert.ok(a.body.equals(answers[0]!.body));
  }
});

test('/favicon.ico is a small icon, cached a week; HEAD works, POST is 405', async () => {
  const a = await raw('GET', '/favicon.ico');
  assert.is(a.status, 200);
  assert.is(a.headers['content-type'], 'image/x-icon');
  assert.is(a.headers['cache-control'], 'public, max-age=604800');
  assert.equal([...a.body.subarray(0, 4)], [0, 0, 1, 0], 'an ICO header');
  assert.ok(a.body.byteLength < 1024, `${a.body.byteLength} bytes`);
  assert.is((await raw('GET', '/favicon.ico', { 'if-none-match': a.headers.etag as string })).status, 304);
  const head = await raw('HEAD', '/favicon.ico');
  assert.is(head.status, 200);
  assert.is(head.body.byteLength, 0);
  const post = await raw('POST', '/favicon.ico');
  assert.is(post.status, 405);
  assert.is(post.headers.allow, 'GET, HEAD');
});

test('a copy of the built server without src/ serves the same page (a production install of dist/)', async () => {
  const dir = mkdtempSync(join(tmpdir(), `wasmatrix-dist-${process.pid}-`));
  try {
    for (const part of ['dist/src', 'build', 'config', 'package.json']) cpSync(join(ROOT, part), join(dir, part), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const copy = await startServer(['--max-n', '3000'], {}, { root: dir });
    try {
      const page = await fetch(`${copy.url}/`, { headers: { accept: BROWSER } });
      assert.is(page.status, 200);
      assert.is(page.headers.get('content-type'), 'text/html; charset=utf-8');
      const ours = await raw('GET', '/', { accept: BROWSER, 'accept-encoding': 'gzip' }); // as fetch asks
      assert.is(page.headers.get('etag'), ours.headers.etag as string, 'the same files, the same catalogue');
      assert.is((await fetch(`${copy.url}/favicon.ico`)).status, 200);
    } finally {
      await copy.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
