// A corpus of hostile requests, one row each: the raw bytes sent and what the
// server must do with them, an RFC 9457 problem with its documented status
// and code, or, for bytes uWS cannot parse as HTTP, no answer at all (uWS
// either closes the connection at once or keeps it until its idle timeout;
// the app never sees the request). After every row the server must still
// answer the lab job correctly on a fresh connection, and at the end no
// request may be left in flight and nothing may have been logged as an error.
//
// The server runs with --max-n 64 and --max-body 1 MiB, so the cases over a
// limit stay cheap; a second one with --max-n 65536 takes shapes whose
// element count overflows 32 bits.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer, waitFor, type RunningServer } from './fixtures/http-server.ts';
import { scrapeMetric } from './fixtures/server-inspect.ts';
import { assertProblem, assertServing, rawHttp, rawRequest, type Chunks, type RawResponse } from './fixtures/raw-http.ts';

const MAX_N = 64;
const MAX_BODY = 1 << 20;

let server: RunningServer;
let wide: RunningServer;
test.before(async () => {
  [server, wide] = await Promise.all([
    startServer(['--max-n', String(MAX_N), '--max-body', String(MAX_BODY)]),
    startServer(['--max-n', '65536', '--max-body', String(MAX_BODY), '--threads', '1', '--processes', '1']),
  ]);
});
test.after(async () => {
  await Promise.all([server?.stop(), wide?.stop()]);
});

/** What the server must do with a request. */
type Outcome =
  /** an answer with this status: problem+json with this code unless 200 */
  | { status: number; code?: string; check?: (r: RawResponse) => void }
  /** no answer: uWS closes the connection at once (it could not parse the request) */
  | { noAnswer: 'closed' }
  /** no answer: uWS keeps the connection open until its 10 s idle timeout (measured below) */
  | { noAnswer: 'kept open' };

interface HostileCase {
  name: string;
  /** The raw request, sent on a fresh connection. */
  request: Chunks;
  expect: Outcome;
  /** The server to send it to (default: the --max-n 64 one). */
  wide?: true;
  head?: true;
}

const JSON_TYPE = 'content-type: application/json\r\n';
const OCTETS = 'content-type: application/octet-stream\r\n';
const PAIR = '{"a":[[1,2]],"b":[[3,4]]}';
const json = (body: string | Uint8Array, target = '/add'): Chunks => rawHttp('POST', target, JSON_TYPE, body);
const matrix = (rows: number, cols: number, value = '1') => `[${Array.from({ length: rows }, () => `[${Array(cols).fill(value).join(',')}]`).join(',')}]`;
/** A pair whose a[0][1] is `element` (raw JSON text). */
const withElement = (element: string, dtype?: string) => json(`{"a":[[1,${element}]],"b":[[1,2]]${dtype ? `,"dtype":"${dtype}"` : ''}}`);
const headers = (count: number) => Array.from({ length: count }, (_, i) => `x-filler-${i}: ${i}\r\n`).join('');
const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const chunkedOverLimit = (): Chunks => {
  const piece = '1,'.repeat(50_000); // 100 kB a chunk, 12 chunks: 1.2 MB against a 1 MiB limit
  const pieces = Array.from({ length: 12 }, () => `${piece.length.toString(16)}\r\n${piece}\r\n`);
  return [`POST /add HTTP/1.1\r\nhost: x\r\n${JSON_TYPE}transfer-encoding: chunked\r\n\r\n`, ...pieces, '0\r\n\r\n'];
};
const closesConnection = (r: RawResponse) => assert.ok(r.closed && /close/i.test(r.headers.connection ?? ''), 'the answer closes the connection');
const noBodyAfterHead = (r: RawResponse) => assert.is(r.body.length, 0, `a HEAD answer carries no content (got ${r.body.length} bytes)`);
const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const tinyRows = (rows: number) => `{"a":[${'[1],'.repeat(rows - 1)}[1]],"b":[${'[1],'.repeat(rows - 1)}[1]]}`;

const BAD_PARAMETER = { status: 400, code: 'BAD_PARAMETER' };
const MALFORMED = { status: 400, code: 'MALFORMED_BODY' };
const NOT_FOUND = { status: 404, code: 'NOT_FOUND' };
const NOT_ALLOWED = { status: 405, code: 'METHOD_NOT_ALLOWED' };
const BODY_TOO_LARGE = { status: 413, code: 'BODY_TOO_LARGE' };
const SHAPE_TOO_LARGE = { status: 413, code: 'SHAPE_TOO_LARGE' };
const MEDIA_TYPE = { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' };
const INVALID = { status: 422, code: 'INVALID_MATRIX' };
const OK = { status: 200 };
const CLOSED = { noAnswer: 'closed' } as const;
const KEPT_OPEN = { noAnswer: 'kept open' } as const;

const CORPUS: HostileCase[] = [
  // framing: content-length and transfer-encoding
  { name: 'content-length 10^15', request: [`POST /add HTTP/1.1\r\nhost: x\r\n${JSON_TYPE}content-length: 1000000000000000\r\n\r\n{}`], expect: CLOSED },
  { name: 'content-length 2^64', request: [`POST /add HTTP/1.1\r\nhost: x\r\n${JSON_TYPE}content-length: 18446744073709551616\r\n\r\n{}`], expect: CLOSED },
  { name: 'content-length 999999999 (the longest uWS accepts), over --max-body', request: [`POST /add HTTP/1.1\r\nhost: x\r\n${JSON_TYPE}content-length: 999999999\r\n\r\n{}`], expect: BODY_TOO_LARGE },
  { name: 'content-length --max-body + 1, binary', request: [`POST /add?n=2 HTTP/1.1\r\nhost: x\r\n${OCTETS}content-length: ${MAX_BODY + 1}\r\n\r\n`], expect: BODY_TOO_LARGE },
  { name: 'content-length not a number', request: [`POST /add HTTP/1.1\r\nhost: x\r\n${JSON_TYPE}content-length: abc\r\n\r\n{}`], expect: CLOSED },
  { name: 'content-length negative', request: [`POST /add HTTP/1.1\r\nhost: x\r\n${JSON_TYPE}content-length: -1\r\n\r\n{}`], expect: CLOSED },
  { name: 'a body longer than content-length (only the declared bytes are the body)', request: [`POST /add HTTP/1.1\r\nhost: x\r\n${JSON_TYPE}content-length: 10\r\n\r\n${PAIR}`], expect: MALFORMED },
  { name: 'a body shorter than content-length (the server waits for the rest)', request: [`POST /add HTTP/1.1\r\nhost: x\r\n${JSON_TYPE}content-length: 100\r\n\r\n${PAIR}`], expect: KEPT_OPEN },
  { name: 'a chunked body over --max-body', request: chunkedOverLimit(), expect: { ...BODY_TOO_LARGE, check: closesConnection } },
  { name: 'a chunk size that is not hex', request: [`POST /add HTTP/1.1\r\nhost: x\r\n${JSON_TYPE}transfer-encoding: chunked\r\n\r\nzz\r\n${PAIR}\r\n0\r\n\r\n`], expect: CLOSED },
  { name: 'a chunk size over 2^64', request: [`POST /add HTTP/1.1\r\nhost: x\r\n${JSON_TYPE}transfer-encoding: chunked\r\n\r\nffffffffffffffffff\r\n${PAIR}\r\n0\r\n\r\n`], expect: CLOSED },
  { name: 'content-length and transfer-encoding together (smuggling)', request: [`POST /add HTTP/1.1\r\nhost: x\r\n${JSON_TYPE}content-length: 5\r\ntransfer-encoding: chunked\r\n\r\n19\r\n${PAIR}\r\n0\r\n\r\n`], expect: CLOSED },
  // RFC 9112 6.3: differing content-lengths are an unrecoverable framing error, 400 and close.
  // The server answers 200 (uWS and the handler both take the first value): see the report.
  { name: 'two different content-length headers', request: [`POST /add HTTP/1.1\r\nhost: x\r\n${JSON_TYPE}content-length: ${PAIR.length}\r\ncontent-length: 5\r\n\r\n${PAIR}`], expect: { ...BAD_PARAMETER, check: closesConnection } },
  { name: 'transfer-encoding gzip', request: [`POST /add HTTP/1.1\r\nhost: x\r\n${JSON_TYPE}transfer-encoding: gzip\r\n\r\n${PAIR}`], expect: CLOSED },
  { name: 'expect: 100-continue (answered 100, then the result)', request: [`POST /add HTTP/1.1\r\nhost: x\r\n${JSON_TYPE}expect: 100-continue\r\ncontent-length: ${PAIR.length}\r\n\r\n`, PAIR], expect: OK },

  // request line, URL and headers
  { name: 'an 8 KB URL', request: rawHttp('GET', `/threading?n=5&seed=1&pad=${'x'.repeat(8192)}`), expect: OK },
  { name: 'a 16 KB URL', request: rawHttp('GET', `/threading?n=5&seed=1&pad=${'x'.repeat(16384)}`), expect: OK },
  // uWS takes request heads of about 100 kB (more or less, by how the bytes arrive) and closes on larger ones
  { name: 'a 1 MB URL', request: rawHttp('GET', `/threading?n=5&seed=1&pad=${'x'.repeat(1 << 20)}`), expect: CLOSED },
  { name: 'a 1 MB header', request: rawHttp('GET', '/healthz', `x-big: ${'y'.repeat(1 << 20)}\r\n`), expect: CLOSED },
  { name: '48 header fields (the most uWS takes)', request: rawHttp('GET', '/healthz', headers(47)), expect: OK },
  { name: '200 header fields', request: rawHttp('GET', '/healthz', headers(200)), expect: KEPT_OPEN },
  { name: 'invalid UTF-8 in the path', request: [bytes('GET /thr', [0xff, 0xfe], 'ading HTTP/1.1\r\nhost: x\r\n\r\n')], expect: NOT_FOUND },
  { name: 'invalid UTF-8 in a query value', request: [bytes('GET /threading?n=5&seed=', [0xff, 0xfe, 0xc3], ' HTTP/1.1\r\nhost: x\r\n\r\n')], expect: BAD_PARAMETER },
  { name: 'percent-encoded invalid UTF-8 in a query value', request: rawHttp('GET', '/threading?n=5&seed=%ff%fe'), expect: BAD_PARAMETER },
  { name: 'a NUL byte in the URL', request: ['GET /threading?n=5\x00&seed=1 HTTP/1.1\r\nhost: x\r\n\r\n'], expect: KEPT_OPEN },
  { name: 'path traversal /../etc/passwd', request: rawHttp('GET', '/../etc/passwd'), expect: NOT_FOUND },
  { name: 'path traversal, percent-encoded', request: rawHttp('GET', '/%2e%2e/%2e%2e/etc/passwd'), expect: NOT_FOUND },
  { name: 'path traversal from a route', request: rawHttp('GET', '/add/../threading'), expect: NOT_FOUND },
  { name: 'garbage bytes, not HTTP at all', request: [bytes([0x00, 0x01, 0x02], 'garbage', [0xff, 0xfe], '\r\n\r\n')], expect: KEPT_OPEN },
  { name: 'HTTP/1.1 without a host header', request: ['GET /healthz HTTP/1.1\r\n\r\n'], expect: KEPT_OPEN },
  // uWS does not answer HTTP/1.0 at all (uNetworking/uWebSockets#1547): curl --http1.0, ab, nginx's default proxy_http_version
  { name: 'HTTP/1.0 request', request: ['GET /healthz HTTP/1.0\r\nhost: x\r\n\r\n'], expect: KEPT_OPEN },
  { name: 'HTTP/2 connection preface', request: ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'], expect: KEPT_OPEN },
  { name: 'an unknown method', request: rawHttp('BREW', '/add'), expect: CLOSED },
  { name: 'a lower-case method', request: rawHttp('get', '/healthz'), expect: CLOSED },

  // routes and methods
  { name: 'PUT /add', request: rawHttp('PUT', '/add', JSON_TYPE, PAIR), expect: { ...NOT_ALLOWED, check: closesConnection } },
  { name: 'DELETE /add', request: rawHttp('DELETE', '/add'), expect: NOT_ALLOWED },
  { name: 'PATCH /threading', request: rawHttp('PATCH', '/threading', JSON_TYPE, PAIR), expect: NOT_ALLOWED },
  { name: 'OPTIONS /add', request: rawHttp('OPTIONS', '/add'), expect: NOT_ALLOWED },
  // RFC 9110 9.1 and 9.3.2: a HEAD answer carries no content. The server takes HEAD on / and /healthz
  // (health checks); on the matrix routes it is a 405 whose Allow says GET, still without content.
  { name: 'HEAD /healthz', request: rawHttp('HEAD', '/healthz'), head: true, expect: { ...OK, check: noBodyAfterHead } },
  { name: 'HEAD /threading', request: rawHttp('HEAD', '/threading'), head: true, expect: { status: 405, check: noBodyAfterHead } },
  { name: 'an unknown path', request: rawHttp('GET', '/nope'), expect: NOT_FOUND },
  { name: 'a known path with a trailing slash', request: rawHttp('GET', '/healthz/'), expect: NOT_FOUND },

  // media types
  { name: 'POST /add without a content type', request: rawHttp('POST', '/add', '', PAIR), expect: MEDIA_TYPE },
  { name: 'POST /add as text/plain', request: rawHttp('POST', '/add', 'content-type: text/plain\r\n', PAIR), expect: MEDIA_TYPE },
  { name: 'application/json with a charset', request: rawHttp('POST', '/add', 'content-type: application/json; charset=utf-8\r\n', PAIR), expect: OK },
  { name: 'binary without a shape', request: rawHttp('POST', '/add', OCTETS, new Uint8Array(32)), expect: BAD_PARAMETER },

  // bodies
  { name: 'an empty JSON body', request: json(''), expect: MALFORMED },
  { name: 'an empty binary body', request: rawHttp('POST', '/add?n=2', OCTETS, ''), expect: INVALID },
  { name: 'a binary body one byte short', request: rawHttp('POST', '/add?rows=2&cols=3&dtype=int32', OCTETS, new Uint8Array(47)), expect: INVALID },
  { name: 'invalid UTF-8 in the JSON body', request: json(bytes('{"a":[[1]],"b":[["', [0xff, 0xfe], '"]]}')), expect: MALFORMED },
  // V8's JSON.parse is iterative: any depth parses; a top-level array is simply not a pair
  { name: 'JSON nested 150,000 deep', request: json(deep(150_000)), expect: INVALID },
  { name: '"a" nested 150,000 deep', request: json(`{"a":${deep(150_000)},"b":[[1]]}`), expect: INVALID },
  { name: '150,000 unclosed brackets', request: json('['.repeat(150_000)), expect: MALFORMED },
  { name: 'a million tiny rows (8 MB, over --max-body)', request: json(tinyRows(1_000_000)), expect: BODY_TOO_LARGE },
  { name: '100,000 tiny rows (800 kB, over --max-n)', request: json(tinyRows(100_000)), expect: SHAPE_TOO_LARGE },
  { name: 'NaN (not JSON)', request: withElement('NaN'), expect: MALFORMED },
  { name: 'Infinity (not JSON)', request: withElement('Infinity'), expect: MALFORMED },
  { name: '1e400 (parses to Infinity)', request: withElement('1e400'), expect: INVALID },
  { name: 'a string element', request: withElement('"2"'), expect: INVALID },
  { name: 'a null element', request: withElement('null'), expect: INVALID },
  { name: 'a boolean element', request: withElement('true'), expect: INVALID },
  { name: 'a nested array element', request: withElement('[2]'), expect: INVALID },
  { name: 'an object element', request: withElement('{"v":2}'), expect: INVALID },
  { name: '2147483648 as int32', request: withElement('2147483648', 'int32'), expect: INVALID },
  { name: '-2147483649 as int32', request: withElement('-2147483649', 'int32'), expect: INVALID },
  { name: '1e39 as float32', request: withElement('1e39', 'float32'), expect: INVALID },
  { name: `JSON ${MAX_N} x ${MAX_N} (at --max-n)`, request: json(`{"a":${matrix(MAX_N, MAX_N)},"b":${matrix(MAX_N, MAX_N)}}`), expect: OK },
  { name: `JSON ${MAX_N + 1} rows (past --max-n)`, request: json(`{"a":${matrix(MAX_N + 1, 1)},"b":${matrix(MAX_N + 1, 1)}}`), expect: SHAPE_TOO_LARGE },
  { name: `JSON ${MAX_N + 1} cols (past --max-n)`, request: json(`{"a":${matrix(1, MAX_N + 1)},"b":${matrix(1, MAX_N + 1)}}`), expect: SHAPE_TOO_LARGE },
  { name: 'ragged rows', request: json('{"a":[[1,2],[3]],"b":[[1,2],[3,4]]}'), expect: INVALID },
  { name: 'a and b of different shapes', request: json('{"a":[[1,2]],"b":[[1],[2]]}'), expect: INVALID },
  { name: 'missing "b"', request: json('{"a":[[1,2]]}'), expect: INVALID },
  { name: 'a top-level array', request: json('[[1,2],[3,4]]'), expect: INVALID },
  { name: '"__proto__" instead of "a"', request: json('{"__proto__":{"a":[[1]]},"b":[[1]]}'), expect: INVALID },
  {
    name: 'duplicate keys (the last one wins, as in JSON.parse)',
    request: json('{"a":[[1,2]],"b":[[3,4]],"a":[[10,20]]}'),
    expect: { ...OK, check: (r) => assert.equal((JSON.parse(r.body.toString()) as { result: number[][] }).result, [[13, 24]]) },
  },
  { name: 'a body dtype that is not a dtype', request: json('{"a":[[1]],"b":[[1]],"dtype":"int8"}'), expect: BAD_PARAMETER },

  // query parameters
  { name: `n = ${MAX_N} (at --max-n)`, request: rawHttp('GET', `/add?n=${MAX_N}&seed=1`), expect: OK },
  { name: `n = ${MAX_N + 1} (past --max-n)`, request: rawHttp('GET', `/add?n=${MAX_N + 1}&seed=1`), expect: SHAPE_TOO_LARGE },
  { name: 'binary 65536 x 65536 on a --max-n 64 server', request: rawHttp('POST', '/add?rows=65536&cols=65536', OCTETS, new Uint8Array(16)), expect: SHAPE_TOO_LARGE },
  { name: 'binary 65536 x 65536 (2^32 elements) on a --max-n 65536 server', wide: true, request: rawHttp('POST', '/add?rows=65536&cols=65536&dtype=int32', OCTETS, new Uint8Array(16)), expect: BODY_TOO_LARGE },
  { name: 'GET 65536 x 65536 (2^32 elements) on a --max-n 65536 server', wide: true, request: rawHttp('GET', '/add?rows=65536&cols=65536&seed=1&mode=wasm'), expect: SHAPE_TOO_LARGE },
  { name: 'unknown query parameters (ignored)', request: rawHttp('GET', '/threading?n=5&seed=1&color=blue&n_=7&%00=1'), expect: OK },
  { name: 'a repeated parameter (the first one counts)', request: rawHttp('GET', '/threading?n=5&n=100000&seed=1'), expect: OK },
  { name: 'dtype=int8', request: rawHttp('GET', '/add?n=5&dtype=int8'), expect: BAD_PARAMETER },
  { name: 'seed negative', request: rawHttp('GET', '/threading?n=5&seed=-1'), expect: BAD_PARAMETER },
  { name: 'seed 2^32', request: rawHttp('GET', '/threading?n=5&seed=4294967296'), expect: BAD_PARAMETER },
  { name: 'seed 1.5', request: rawHttp('GET', '/threading?n=5&seed=1.5'), expect: BAD_PARAMETER },
  { name: 'n = 1e400', request: rawHttp('GET', '/threading?n=1e400'), expect: BAD_PARAMETER },
  { name: 'workers=0', request: rawHttp('GET', '/threading?n=5&workers=0'), expect: BAD_PARAMETER },
  { name: 'workers=10^20', request: rawHttp('GET', '/threading?n=5&workers=100000000000000000000'), expect: BAD_PARAMETER },
  { name: 'mode=nonsense', request: rawHttp('GET', '/add?n=5&mode=nonsense'), expect: BAD_PARAMETER },
  { name: 'kernel=gpu on POST', request: rawHttp('POST', '/add?kernel=gpu', JSON_TYPE, PAIR), expect: BAD_PARAMETER },
];

/**
 * How long a "kept open" case waits for an answer that must not come (the short-body test below then
 * waits the whole idle timeout for it). Only a lower bound on the check's reach: a slow machine cannot fail it.
 */
const SILENCE_MS = 300;
/**
 * uWS's idle timeout (10 s in 4 s ticks, 6 to 14 s seen) never closes a connection before 5 s: a close sooner than
 * this is the parser's "closed at once", however loaded the machine.
 */
const BEFORE_IDLE_TIMEOUT_MS = 5000;
/** A guard for an answer that must come (a hang fails the case; it is not a speed limit). */
const ANSWER_MS = 30_000;

async function runCase(c: HostileCase): Promise<void> {
  const target = c.wide ? wide : server;
  const ms = !('noAnswer' in c.expect) ? ANSWER_MS : c.expect.noAnswer === 'closed' ? BEFORE_IDLE_TIMEOUT_MS : SILENCE_MS;
  const r = await rawRequest(target.url, c.request, { ms, head: c.head });
  if ('noAnswer' in c.expect) {
    assert.is(r.status, 0, `${c.name}: no answer (got ${r.status})`);
    assert.is(r.closed, c.expect.noAnswer === 'closed', `${c.name}: connection ${c.expect.noAnswer}`);
  } else if (c.expect.status === 200 || c.head) {
    assert.is(r.status, c.expect.status, `${c.name}: ${r.body.toString().slice(0, 300)}`);
  } else {
    assertProblem(r.status, r.headers['content-type'], r.body.toString(), c.expect, c.name);
  }
  if ('check' in c.expect) c.expect.check?.(r);
  await assertServing(target.url, `after "${c.name}"`);
}

// A body shorter than its content-length: the server waits for the rest, and
// uWS closes the connection at its idle timeout (10 s, checked on a 4 s tick:
// 8 to 12 s measured). It runs alongside the corpus, which must not notice.
let shortBody: Promise<RawResponse> | undefined;
const SHORT_BODY_WAIT_MS = 30_000;

test('a client that sends less body than it declared is left waiting (started here, checked at the end)', () => {
  shortBody = rawRequest(server.url, CORPUS.find((c) => c.name.startsWith('a body shorter'))!.request, { ms: SHORT_BODY_WAIT_MS });
});

test(`the corpus has at least 30 cases, each named once`, () => {
  assert.ok(CORPUS.length >= 30, `${CORPUS.length} cases`);
  assert.is(new Set(CORPUS.map((c) => c.name)).size, CORPUS.length);
});

for (const c of CORPUS) {
  const expected = 'noAnswer' in c.expect ? `no answer, connection ${c.expect.noAnswer}` : `${c.expect.status}${'code' in c.expect && c.expect.code ? ` ${c.expect.code}` : ''}`;
  test(`${c.name}: ${expected}; the server still serves`, () => runCase(c));
}

test('the short body got no answer and uWS closed its connection at the idle timeout', async () => {
  const r = await shortBody!;
  assert.is(r.status, 0, 'no answer');
  assert.ok(r.closed, `closed within ${SHORT_BODY_WAIT_MS} ms`);
  assert.ok(r.ms > BEFORE_IDLE_TIMEOUT_MS, `not before the idle timeout (${Math.round(r.ms)} ms)`);
});

test('no request is left in flight, no error was logged, both servers are alive', async () => {
  for (const s of [server, wide]) {
    // a connection the test just closed may still be on its way out of the server: wait, but not forever
    await waitFor('no request in flight but this /metrics one', async () => (await scrapeMetric(s.url, 'wasmatrix_http_in_flight_requests')) === 1);
    assert.is(s.child.exitCode, null, 'alive');
    assert.not.match(s.output().stderr, /\[(ERROR|CRITICAL)\]/, 'nothing logged as an error');
  }
});

test.run();
