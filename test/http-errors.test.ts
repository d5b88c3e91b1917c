// Every bad input gets its documented status as RFC 9457 problem+json, with the
// offending parameter or element, and the server keeps serving.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rawExchange, startServer, type Problem, type RunningServer } from './fixtures/http-server.ts';

let server: RunningServer;
test.before(async () => {
  server = await startServer(['--max-n', '1000', '--max-body', '100000']);
});
test.after(async () => {
  await server?.stop();
});

async function expectProblem(res: Response, status: number, fields: Partial<Problem> = {}): Promise<Problem> {
  assert.is(res.status, status, `${res.url}: ${status}`);
  assert.is(res.headers.get('content-type'), 'application/problem+json');
  const p = (await res.json()) as Problem;
  assert.is(p.status, status);
  assert.type(p.title, 'string');
  assert.type(p.detail, 'string');
  assert.match(p.type, /^https:\/\/wasmatrix\.dev\/problems\/[a-z-]+$/);
  assert.not.match(p.detail, /\n\s+at /, 'no stack trace');
  for (const [k, v] of Object.entries(fields)) assert.is((p as unknown as Record<string, unknown>)[k], v, `${res.url} ${k}`);
  return p;
}

const BAD_QUERIES: [string, number, string][] = [
  ['n=0', 400, 'n'],
  ['n=-1', 400, 'n'],
  ['n=abc', 400, 'n'],
  ['n=1.5', 400, 'n'],
  ['n=', 400, 'n'],
  ['n=0x10', 400, 'n'],
  ['n=1e9', 413, 'n'],
  ['n=1001', 413, 'n'],
  ['rows=10', 400, 'cols'],
  ['rows=10&cols=2000', 413, 'cols'],
  ['n=10&rows=10&cols=10', 400, 'n'],
  ['dtype=int8', 400, 'dtype'],
  ['workers=0', 400, 'workers'],
  ['workers=99', 400, 'workers'],
  ['workers=1.5', 400, 'workers'],
  ['seed=-1', 400, 'seed'],
  ['seed=4294967296', 400, 'seed'],
  ['seed=1.5', 400, 'seed'],
  ['kernel=gpu', 400, 'kernel'],
];

test('bad query values on the GET endpoints: 400, or 413 beyond --max-n', async () => {
  for (const path of ['/threading', '/multiprocessing', '/add']) {
    for (const [query, status, param] of BAD_QUERIES) {
      await expectProblem(await fetch(`${server.url}${path}?${query}`), status, { param, instance: path });
    }
  }
});

test('mode=gpu is 400; workers above 1 in a single-thread mode is 400; unknown parameters are ignored', async () => {
  await expectProblem(await fetch(`${server.url}/add?mode=gpu`), 400, { param: 'mode' });
  await expectProblem(await fetch(`${server.url}/add?mode=wasm&workers=2`), 400, { param: 'workers' });
  const ok = await fetch(`${server.url}/threading?n=4&seed=1&color=blue`);
  assert.is(ok.status, 200);
});

test('unknown route 404; known route with the wrong method 405 with Allow', async () => {
  await expectProblem(await fetch(`${server.url}/nope`), 404, { code: 'NOT_FOUND' });
  const r = await fetch(`${server.url}/threading`, { method: 'POST', body: 'x' });
  await expectProblem(r, 405, { code: 'METHOD_NOT_ALLOWED' });
  assert.is(r.headers.get('allow'), 'GET');
  for (const op of ['add', 'sub', 'mul', 'matmul']) {
    const d = await fetch(`${server.url}/${op}`, { method: 'DELETE' });
    await expectProblem(d, 405);
    assert.is(d.headers.get('allow'), 'GET, POST', op);
  }
  assert.is((await fetch(`${server.url}/`, { method: 'DELETE' })).headers.get('allow'), 'GET, HEAD');
});

const postJson = (body: string, query = '') => fetch(`${server.url}/add${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

test('malformed JSON is 400', async () => {
  for (const body of ['{', '', 'not json', '{"a": [[1]], "b": [[1]]', '\u00ff']) await expectProblem(await postJson(body), 400, { code: 'MALFORMED_BODY' });
  const invalidUtf8 = await fetch(`${server.url}/add`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) });
  await expectProblem(invalidUtf8, 400, { code: 'MALFORMED_BODY' });
});

test('bad matrices are 422 and name the element', async () => {
  const cases: [unknown, string | undefined][] = [
    [{ a: [[1, 2], [3]], b: [[1, 2], [3, 4]] }, 'a[1]'],
    [{ a: [[1, 2]], b: [[1, 2], [3, 4]] }, undefined],
    [{ a: [[1, 'x']], b: [[1, 2]] }, 'a[0][1]'],
    [{ a: [[1, null]], b: [[1, 2]] }, 'a[0][1]'],
    [{ a: [[1, true]], b: [[1, 2]] }, 'a[0][1]'],
    [{ a: [[1, [2]]], b: [[1, 2]] }, 'a[0][1]'],
    [{ a: [[1, 2]], b: [[1, {}]] }, 'b[0][1]'],
    [{ a: [[3.5]], b: [[1]], dtype: 'int32' }, 'a[0][0]'],
    [{ a: [[2147483648]], b: [[1]], dtype: 'int32' }, 'a[0][0]'],
    [{ a: [[1e39]], b: [[1]], dtype: 'float32' }, 'a[0][0]'],
    [{ a: [], b: [] }, undefined],
    [{ a: [[]], b: [[]] }, 'a[0]'],
    [{ b: [[1]] }, undefined],
    [[1, 2], undefined],
  ];
  for (const [doc, element] of cases) {
    const p = await expectProblem(await postJson(JSON.stringify(doc)), 422, { code: 'INVALID_MATRIX' });
    if (element) assert.is(p.element, element, JSON.stringify(doc));
  }
  // JSON has no NaN or Infinity literal, but 1e400 parses to Infinity
  await expectProblem(await postJson('{"a": [[1e400]], "b": [[1]]}'), 422, { element: 'a[0][0]' });
  await expectProblem(await postJson('{"a": [[NaN]], "b": [[1]]}'), 400);
});

test('a float result that overflows to Infinity cannot be JSON: 422 naming it', async () => {
  const r = await postJson(JSON.stringify({ a: [[3e38, 1]], b: [[3e38, 1]], dtype: 'float32' }));
  await expectProblem(r, 422, { element: 'result[0][0]' });
});

test('a body dtype that is not a dtype is 400', async () => {
  await expectProblem(await postJson(JSON.stringify({ a: [[1]], b: [[1]], dtype: 'int8' })), 400, { param: 'dtype' });
});

test('a JSON shape over --max-n is 413', async () => {
  const row = `[${new Array(1001).fill(0).join(',')}]`;
  await expectProblem(await postJson(`{"a": [${row}], "b": [${row}]}`), 413, { code: 'SHAPE_TOO_LARGE' });
});

test('a body over --max-body is 413, from content-length before reading', async () => {
  const big = '{"a": [[' + '1,'.repeat(60000) + '1]], "b": [[1]]}';
  await expectProblem(await postJson(big), 413, { code: 'BODY_TOO_LARGE', param: 'content-length' });
});

test('a chunked body (no content-length) over --max-body is 413 while streaming, and the connection closes', async () => {
  const { host } = new URL(server.url);
  const chunk = '1,'.repeat(5000);
  const chunks = [`POST /add HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`];
  for (let i = 0; i < 30; i++) chunks.push(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
  chunks.push('0\r\n\r\n');
  const text = await rawExchange(server.url, chunks);
  assert.match(text, /^HTTP\/1\.1 413 /);
  assert.match(text, /"code":"BODY_TOO_LARGE"/);
  assert.match(text, /Connection: close/i);
});

test('binary: a body of the wrong length is 422; a shape whose bytes pass --max-body is 413', async () => {
  const post = (query: string, bytes: number) => fetch(`${server.url}/add?${query}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(bytes) });
  await expectProblem(await post('rows=2&cols=3&dtype=float64', 95), 422, { code: 'INVALID_MATRIX' });
  await expectProblem(await post('rows=2&cols=3&dtype=int32', 0), 422, { code: 'INVALID_MATRIX' });
  await expectProblem(await post('rows=1000&cols=1000&dtype=float64', 16), 413, { code: 'BODY_TOO_LARGE' });
  await expectProblem(await post('dtype=float64', 16), 400, { param: 'n' });
  await expectProblem(await post('rows=2&cols=2&dtype=int8', 32), 400, { param: 'dtype' });
});

test('an unsupported Content-Type on POST is 415', async () => {
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
    const r = await fetch(`${server.url}/add`, { method: 'POST', headers: { 'content-type': type }, body: 'a=1' });
    await expectProblem(r, 415, { code: 'UNSUPPORTED_MEDIA_TYPE' });
  }
});

test('after all of that the server still serves', async () => {
  const r = await fetch(`${server.url}/threading?n=10&seed=1`);
  assert.is(r.status, 200);
});

test.run();
