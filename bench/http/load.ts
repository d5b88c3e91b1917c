// One phase of load on one case with autocannon (programmatic API,
// pipelining 1: uWS closes a connection that pipelines a second request).
// Every answer is checked against the expected checksum of its seed.

import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import type { BenchCase } from './cases.js';
import type { LatencyRecorder } from './latency.js';
import { answersRaw, checkAnswer, type Verification } from './verify.js';

/**
 * autocannon appends every body chunk to a string (a UTF-8 decode and a
 * concatenation per chunk). For raw answers (1 MB at n = 500) that made the load
 * generator the bottleneck: 91% of a core for 86 req/s while the server used
 * 14%. Their checksum is in a header, so a request marked `discardBody` keeps
 * no body; one marked `discardBody: 'binary'` keeps none for the answers that
 * are application/octet-stream (the soak mixes both on one request template).
 * Patched once, on autocannon's own queue (no option exists for it).
 */
export function letRequestsDiscardBodies(): void {
  type Pending = { req?: { discardBody?: boolean | 'binary' }; headers?: { headers?: string[] } };
  const queue = createRequire(import.meta.url)('autocannon/lib/pipelinedRequestsQueue.js') as {
    prototype: { addBody(data: Buffer): void; peek(): Pending | undefined; __discardPatched?: boolean };
  };
  const proto = queue.prototype;
  if (proto.__discardPatched) return;
  const addBody = proto.addBody;
  proto.addBody = function (this: typeof proto, data: Buffer): void {
    const pending = this.peek();
    const discard = pending?.req?.discardBody;
    if (discard === true || (discard === 'binary' && isOctetStream(pending?.headers?.headers))) return;
    addBody.call(this, data);
  };
  proto.__discardPatched = true;
}
letRequestsDiscardBodies();

/** True when a response's raw header list (name, value, name, value...) says application/octet-stream. */
function isOctetStream(rawHeaders: string[] | undefined): boolean {
  if (!rawHeaders) return false;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'content-type') return rawHeaders[i + 1]!.toLowerCase().startsWith('application/octet-stream');
  }
  return false;
}

export interface LoadSettings {
  /** Base URL of the server, e.g. http://127.0.0.1:8000 */
  url: string;
  connections: number;
  seconds: number;
  /** Seconds before a request counts as timed out. */
  timeoutSeconds: number;
  signal?: AbortSignal;
}

export interface LoadPhase {
  /** Answers received (any status). */
  responses: number;
  /** Wall-clock seconds from the first request to the end of the phase. */
  seconds: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
}

/** Runs the case's requests for `seconds`; records every answer's check and (if given) its latency. */
export function runLoad(c: BenchCase, settings: LoadSettings, verification: Verification, latency?: LatencyRecorder): Promise<LoadPhase> {
  const raw = answersRaw(c);
  const requests: autocannon.Request[] = c.requests.map((r) => ({
    discardBody: raw,
    method: r.method,
    path: r.path,
    headers: r.headers,
    body: r.body,
    onResponse: (status, body, _context, headers) => verification.record(checkAnswer(r, raw, status, body, headers)),
  }));
  return new Promise((resolve, reject) => {
    let responses = 0;
    const t0 = performance.now();
    const instance = autocannon(
      {
        url: settings.url,
        connections: settings.connections,
        pipelining: 1,
        duration: settings.seconds,
        timeout: settings.timeoutSeconds,
        requests,
      },
      (error, result) => {
        settings.signal?.removeEventListener('abort', stop);
        if (error) return reject(error);
        const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]));
        resolve({ responses, seconds: (performance.now() - t0) / 1000, errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx, statusCodes });
      },
    );
    const stop = (): void => instance.stop();
    settings.signal?.addEventListener('abort', stop, { once: true });
    instance.on('response', (_client, _status, _bytes, responseTimeMs) => {
      responses++;
      latency?.record(responseTimeMs);
    });
  });
}
