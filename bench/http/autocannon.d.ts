// The part of autocannon 9's programmatic API the benchmark uses (the package
// ships no types).

declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    interface Request {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
      /** Ours (see load.ts): keep no body for this request's answers, or ('binary') for its octet-stream answers. */
      discardBody?: boolean | 'binary';
      /**
       * Called just before each send of this request (its copy merged with the defaults); returns what to send.
       * `context` belongs to the connection and is renewed each time the connection wraps around its request list.
       */
      setupRequest?: (request: Request, context: Record<string, unknown>) => Request | null;
      /** Called with each answer to this request; `body` is the body decoded as UTF-8. */
      onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, string | string[] | undefined>) => void;
    }
    interface Options {
      url: string;
      connections?: number;
      pipelining?: number;
      duration?: number;
      /** Stop after this many requests in all (shared out between the connections) instead of after `duration`. */
      amount?: number;
      /** Milliseconds between autocannon's samples; a finished run is reported at the next one. */
      sampleInt?: number;
      timeout?: number;
      requests?: Request[];
      /** Off: autocannon would otherwise also record non-2xx latencies. */
      excludeErrorStats?: boolean;
    }
    interface Result {
      duration: number;
      errors: number;
      timeouts: number;
      non2xx: number;
      resets: number;
      '2xx': number;
      statusCodeStats: Record<string, { count: number }>;
      requests: { total: number; sent: number; average: number };
    }
    interface Instance extends EventEmitter {
      stop(): void;
      on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTimeMs: number) => void): this;
      on(event: 'done', listener: (result: Result) => void): this;
      on(event: string, listener: (...args: unknown[]) => void): this;
    }
  }

  function autocannon(options: autocannon.Options, callback: (error: Error | null, result: autocannon.Result) => void): autocannon.Instance;
  export = autocannon;
}
