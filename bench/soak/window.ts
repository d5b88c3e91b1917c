// One load window: autocannon sends exactly `amount` requests (its `amount`
// option, shared out between the connections, pipelining 1), each one drawn
// from the mix as it is sent and entered in the ledger under a fresh id. The
// id travels in the connection's context, so the answer is matched to the
// request that was really sent, never to autocannon's guess. When autocannon
// is done, whatever is still open in the window is unanswered.

import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { LatencyRecorder } from '../http/latency.js';
import { letRequestsDiscardBodies } from '../http/load.js';
import type { ResponseHeaders } from '../http/verify.js';
import { classifyAnswer } from './answers.js';
import type { Ledger } from './ledger.js';
import type { SoakRequest } from './mix.js';

export interface WindowSettings {
  url: string;
  connections: number;
  /** Requests in the window (at least `connections`). */
  amount: number;
  /** Seconds before autocannon gives up on one answer (counted as a timeout and a failure). */
  timeoutSeconds: number;
  /** Stops the window early (Ctrl-C, or the soak's hard deadline); what is open then is unanswered. */
  signal: AbortSignal;
  next: () => SoakRequest;
  ledger: Ledger;
  /** Route -> response times, kept across windows. */
  latency: Map<string, LatencyRecorder>;
}

export interface WindowResult {
  sent: number;
  answered: number;
  unanswered: number;
  errors: number;
  timeouts: number;
  seconds: number;
}

interface InFlight {
  id: number;
  request: SoakRequest;
  t0: number;
}

/** The answer says the server closes the connection after it. */
function closes(headers: ResponseHeaders): boolean {
  for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() === 'connection') return String(value).toLowerCase() === 'close';
  return false;
}

export function runWindow(s: WindowSettings): Promise<WindowResult> {
  letRequestsDiscardBodies();
  s.ledger.openWindow();
  let sent = 0;
  let answered = 0;
  // autocannon ignores "Connection: close": it writes the next request on the
  // closing socket, in the same call stack as the answer, and that request is
  // lost. The flag marks it, and lives only until the stack unwinds.
  let serverClosed = false;
  const template: autocannon.Request = {
    discardBody: 'binary', // raw answers carry their checksum in a header
    setupRequest: (request, context) => {
      const r = s.next();
      const inFlight: InFlight = { id: s.ledger.sent(r.route, r.what, serverClosed), request: r, t0: performance.now() };
      serverClosed = false;
      context.soak = inFlight;
      sent++;
      return { ...request, method: r.method, path: r.path, headers: { ...request.headers, ...r.headers }, body: r.body ?? '' };
    },
    onResponse: (status, body, context, headers) => {
      const inFlight = context.soak as InFlight | undefined;
      context.soak = undefined;
      if (!inFlight) return s.ledger.stray();
      answered++;
      const route = inFlight.request.route;
      let latency = s.latency.get(route);
      if (!latency) s.latency.set(route, (latency = new LatencyRecorder()));
      latency.record(performance.now() - inFlight.t0);
      s.ledger.answer(inFlight.id, classifyAnswer(inFlight.request.expect, status, body, headers));
      if (closes(headers)) {
        serverClosed = true;
        process.nextTick(() => (serverClosed = false));
      }
    },
  };
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: s.url,
        connections: s.connections,
        pipelining: 1,
        amount: Math.max(s.amount, s.connections),
        timeout: s.timeoutSeconds,
        sampleInt: 100, // a finished window is reported at the next sample
        requests: [template],
      },
      (error, result) => {
        s.signal.removeEventListener('abort', stop);
        if (error) return reject(error);
        const unanswered = s.ledger.closeWindow(result.errors, result.timeouts);
        resolve({ sent, answered, unanswered, errors: result.errors, timeouts: result.timeouts, seconds: (performance.now() - t0) / 1000 });
      },
    );
    const stop = (): void => instance.stop();
    if (s.signal.aborted) stop();
    else s.signal.addEventListener('abort', stop, { once: true });
  });
}
