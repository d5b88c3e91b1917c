// Everything that writes a response: small JSON and text bodies in one end(),
// problem+json errors, large binary bodies with tryEnd/onWritable backpressure
// and large JSON bodies as a stream of chunks with write/onWritable. Every write
// is corked: callers may be in a pool callback, after an await.

import type { WasmatrixError } from '../errors.js';
import type { Exchange } from './exchange.js';
import { problemBody, toClientError } from './problem.js';

const STATUS_LINES: Record<number, string> = {
  200: '200 OK',
  304: '304 Not Modified',
  400: '400 Bad Request',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  413: '413 Content Too Large',
  415: '415 Unsupported Media Type',
  422: '422 Unprocessable Content',
  499: '499 Client Closed Request',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
  504: '504 Gateway Timeout',
};

const statusLine = (status: number): string => STATUS_LINES[status] ?? `${status} Unknown`;

export type Headers = Record<string, string>;

export const JSON_TYPE = 'application/json';
const PROBLEM_TYPE = 'application/problem+json';

/**
 * Sends a whole body in one write; an answer that closes the connection while
 * the request body is still arriving is held until that body was discarded
 * (a lingering close, bounded: see Exchange.answerAfterBody). A HEAD request gets the status and headers
 * with no content (Content-Length: 0: this uWS build cannot end a response
 * without a body and still report the GET length).
 */
export function send(ex: Exchange, status: number, contentType: string, body: string | Uint8Array, headers?: Headers): void {
  if (!ex.writable) return;
  if (ex.method === 'HEAD') body = '';
  ex.bytes = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  answer(ex, status, () => {
    ex.res.writeStatus(statusLine(status)).writeHeader('content-type', contentType);
    if (headers) for (const name in headers) ex.res.writeHeader(name, headers[name]!);
    ex.res.end(body, ex.shouldClose);
  });
}

/** Writes an answer now, or, while the request body is unread, after it (a lingering close: see LINGER_MS in exchange.ts); then settles. */
function answer(ex: Exchange, status: number, write: () => void): void {
  if (ex.bodyUnread) return ex.answerAfterBody(status, write);
  ex.res.cork(write);
  ex.settle(status);
}

/**
 * 304 Not Modified: the validator and caching headers, no content and no
 * Content-Length (RFC 9110 15.4.5: it would have to be the full body's length).
 * This uWS build writes "Content-Length: 0" when it must also close.
 */
export function sendNotModified(ex: Exchange, headers: Headers): void {
  if (!ex.writable) return;
  answer(ex, 304, () => {
    ex.res.writeStatus(statusLine(304));
    for (const name in headers) ex.res.writeHeader(name, headers[name]!);
    if (ex.shouldClose) ex.res.endWithoutBody(0, true);
    else ex.res.endWithoutBody();
  });
}

export function sendJson(ex: Exchange, body: string): void {
  send(ex, 200, JSON_TYPE, body);
}

/** Sends an error as problem+json; logs 500s with their cause (never shown to the client). */
export function sendError(ex: Exchange, e: unknown, log: (message: string) => void): void {
  const error: WasmatrixError = toClientError(e);
  if (error.status >= 500 && error.status !== 503 && error.status !== 504) log(`${ex.method} ${ex.url}: ${(e as Error)?.stack ?? String(e)}`);
  const headers: Headers = {};
  if (error.fields.retryAfter !== undefined) headers['retry-after'] = String(error.fields.retryAfter);
  if (error.fields.allow) headers.allow = error.fields.allow.join(', ');
  send(ex, error.status, PROBLEM_TYPE, problemBody(error, ex.path), headers);
}

/**
 * Sends a large body without buffering it twice: tryEnd writes what the socket
 * takes, onWritable resumes from the offset the client has reached.
 */
export function sendLarge(ex: Exchange, contentType: string, body: Uint8Array, headers: Headers): void {
  if (!ex.writable) return;
  const res = ex.res;
  const total = body.byteLength;
  ex.bytes = total;
  let startOffset = 0;
  const attempt = (from: number): boolean => {
    const [ok, done] = res.tryEnd(body.subarray(from), total);
    if (done) ex.settle(200);
    return ok;
  };
  res.cork(() => {
    res.writeStatus(statusLine(200)).writeHeader('content-type', contentType);
    for (const name in headers) res.writeHeader(name, headers[name]!);
    startOffset = res.getWriteOffset();
    if (!attempt(0) && !ex.settled) {
      res.onWritable((offset) => (ex.settled ? true : attempt(offset - startOffset)));
    }
  });
}

/**
 * Streams a body produced chunk by chunk (a big JSON result): the next chunk
 * is only made once the socket drained the previous one, so memory stays at
 * about one chunk whatever the size of the whole body.
 */
export function sendChunks(ex: Exchange, contentType: string, chunks: Iterator<string>): void {
  if (!ex.writable) return;
  const res = ex.res;
  const pump = (): boolean => {
    for (;;) {
      if (ex.settled) return true;
      const next = chunks.next();
      if (next.done) {
        res.end(undefined, ex.shouldClose);
        ex.settle(200);
        return true;
      }
      ex.bytes += next.value.length; // ASCII only
      if (!res.write(next.value)) return false;
    }
  };
  res.cork(() => {
    res.writeStatus(statusLine(200)).writeHeader('content-type', contentType);
    if (!pump()) {
      res.onWritable(() => {
        let finished = false;
        res.cork(() => (finished = pump()));
        return finished;
      });
    }
  });
}
