// Reads a request body into ONE buffer, sized up front from content-length
// (or from the size the query says the body must have), with the limit
// enforced twice: against the declared length before a byte is read, and
// against the bytes actually received while they stream in. uWS neuters each
// chunk when onData returns, so every chunk is copied into the buffer at once.

import type { HttpRequest } from 'uWebSockets.js';
import { errors } from '../errors.js';
import type { Exchange } from './exchange.js';

export interface BodyLimits {
  /** The content-length header as received ('' when absent). */
  contentLength: string;
  /** --max-body, in bytes. */
  maxBytes: number;
  /** The size the body must have, when the query already says (binary matrices). */
  expectedBytes?: number;
}

const UNKNOWN_LENGTH_START = 64 * 1024;

/**
 * The content-length header, refusing a request that carries it twice with
 * different values (RFC 9112 6.3: a proxy reading the other one could be made
 * to see a different request boundary). uWS reads the first one.
 */
export function contentLengthHeader(req: HttpRequest): string {
  const values: string[] = [];
  req.forEach((name, value) => {
    if (name === 'content-length') values.push(value); // no throw inside a native callback
  });
  if (values.some((v) => v !== values[0])) throw errors.badParameter('the request has two different content-length headers', { param: 'content-length' });
  return values[0] ?? '';
}

/** Parses content-length; undefined when absent. Throws 400 when it is not a number. */
export function declaredLength(header: string): number | undefined {
  if (header === '') return undefined;
  if (!/^\d{1,16}$/.test(header)) throw errors.badParameter(`content-length must be a byte count (got "${header.slice(0, 40)}")`, { param: 'content-length' });
  return Number(header);
}

const tooLarge = (detail: string) => errors.bodyTooLarge(detail, { param: 'body' });

/**
 * Must be called synchronously in the handler (the exchange registered
 * res.onData there and hands the chunks on).
 * Bytes are charged to the in-flight budget as they arrive, not as declared:
 * the buffer is allocated at the declared size, but the OS backs only the
 * pages written, so a client that declares 256 MiB and sends one byte a second
 * holds what it sent, not the cap of everyone else.
 * Resolves with the body, a view over a fresh ArrayBuffer the caller owns
 * (it can be transferred to another thread). If it rejects before the body
 * was read, the answer closes the connection (Exchange.shouldClose).
 */
export function readBody(ex: Exchange, limits: BodyLimits): Promise<Uint8Array> {
  let declared: number | undefined;
  try {
    declared = declaredLength(limits.contentLength);
    if (declared !== undefined && declared > limits.maxBytes) {
      throw errors.bodyTooLarge(`the body has ${declared} bytes; the limit is ${limits.maxBytes}`, { param: 'content-length' });
    }
    // a body alone over the cap is refused before a byte is read; the rest is charged as it arrives
    if (declared !== undefined) ex.checkFits(declared, 'the request body', tooLarge);
  } catch (e) {
    return Promise.reject(e);
  }
  return new Promise<Uint8Array>((resolve, reject) => {
    let buffer = new Uint8Array(declared ?? Math.min(limits.maxBytes, limits.expectedBytes ?? UNKNOWN_LENGTH_START));
    let received = 0;
    let charged = 0;
    let done = false;
    const fail = (e: Error): void => {
      done = true;
      reject(e);
    };
    ex.onAbort(() => {
      if (!done) fail(errors.cancelled('the client went away while sending the body'));
    });
    ex.onBody((chunk, isLast) => {
      if (done) return;
      const n = chunk.byteLength;
      if (received + n > limits.maxBytes) {
        return fail(errors.bodyTooLarge(`the body passed the limit of ${limits.maxBytes} bytes while streaming`, { param: 'body' }));
      }
      if (received + n > buffer.byteLength) {
        // only without content-length (chunked): grow by doubling, never past the limit
        const size = Math.min(limits.maxBytes, Math.max(received + n, buffer.byteLength * 2));
        const grown = new Uint8Array(size);
        grown.set(buffer.subarray(0, received));
        buffer = grown;
      }
      // charged in whole KiB as they arrive (the budget counts KiB): a drip of single bytes is not over-counted
      const due = Math.ceil((received + n) / 1024) * 1024 - charged;
      if (due > 0) {
        try {
          ex.charge(due, 'the request body', tooLarge);
        } catch (e) {
          return fail(e as Error);
        }
        charged += due;
      }
      buffer.set(new Uint8Array(chunk), received);
      received += n;
      if (isLast) {
        done = true;
        resolve(received === buffer.byteLength ? buffer : buffer.subarray(0, received));
      }
    });
  });
}
