// The uWS app of one HTTP thread (the main thread, or one acceptor thread with
// -w): its routes, its in-flight count, and its part of a graceful drain.
// Every handler is wrapped: a synchronous throw inside a uWS handler would
// abort the whole process, so everything thrown becomes a problem+json answer.

import uWS, { type HttpRequest, type HttpResponse, type TemplatedApp, type us_listen_socket } from 'uWebSockets.js';
import { errors } from '../errors.js';
import type { HttpMetrics } from '../metrics/metrics.js';
import type { AccessLog } from './access-log.js';
import { contentLengthHeader } from './body.js';
import { Exchange, type ExchangeHooks } from './exchange.js';
import type { InflightBudget } from './inflight-budget.js';
import type { JobRunner } from './job-runner.js';
import type { Logger } from './logger.js';
import { postJob, randomJob, type MatrixRouteContext } from './matrix-routes.js';
import { prefersHtml } from './negotiate.js';
import { operation } from '../ops/index.js';
import { DTYPES, KERNELS, MODES, OPS } from '../vocabulary.js';
import { JSON_TYPE, send, sendError } from './respond.js';
import { WebPage, catalogue, type Conditional } from './web-page.js';

export interface ServerContext {
  name: string;
  version: string;
  runner: JobRunner;
  maxN: number;
  maxBody: number;
  /** Seconds; 0: none. */
  timeout: number;
  /** The memory cap of all in-flight requests, shared by every HTTP thread. */
  budget: InflightBudget;
  metrics: HttpMetrics;
  /** The Prometheus text of the whole service (all threads). */
  metricsText(): Promise<string>;
  accessLog: AccessLog | undefined;
  log: Logger;
  /** More fields of the /healthz answer: the cluster's state with --nats (acceptor threads get the main thread's copy). */
  health?(): Record<string, unknown> | undefined;
}

type Handler = (ex: Exchange, req: HttpRequest) => void | Promise<void>;

/** One route: registration, the 405 list (Allow) and the index page are all derived from the table. */
interface Route {
  method: 'GET' | 'POST' | 'HEAD';
  path: string;
  handler: Handler;
  /** The index page's line: what it does and an example; none for HEAD twins. */
  about?: string;
  example?: string;
}

/** The methods each path answers, in table order (for 405 and Allow). */
export function allowedMethods(routes: readonly Pick<Route, 'method' | 'path'>[]): Map<string, string[]> {
  const allow = new Map<string, string[]>();
  for (const r of routes) allow.set(r.path, [...(allow.get(r.path) ?? []), r.method]);
  return allow;
}

const TEXT_TYPE = 'text/plain; charset=utf-8';

/** The headers that pick a representation of / and /favicon.ico (read while req is valid). */
const conditional = (req: HttpRequest): Conditional => ({ acceptEncoding: req.getHeader('accept-encoding'), ifNoneMatch: req.getHeader('if-none-match') });

export class HttpServer implements ExchangeHooks {
  readonly #ctx: ServerContext;
  readonly #matrix: MatrixRouteContext;
  readonly #app: TemplatedApp;
  readonly #routeTable: Route[];
  readonly #web: WebPage;
  #listenSocket: us_listen_socket | undefined;
  #inFlight = 0;
  #draining = false;
  #closing = false;
  #idleWaiters: (() => void)[] = [];

  constructor(ctx: ServerContext) {
    this.#ctx = ctx;
    this.#matrix = {
      runner: ctx.runner,
      limits: { maxN: ctx.maxN, maxWorkers: (mode) => ctx.runner.maxWorkers(mode) },
      maxBody: ctx.maxBody,
      timeout: ctx.timeout,
    };
    this.#routeTable = this.#table();
    const routes = Object.fromEntries(allowedMethods(this.#routeTable));
    this.#web = new WebPage(catalogue({ ...ctx, routes, maxWorkers: (mode) => ctx.runner.maxWorkers(mode) }));
    this.#app = this.#routes(uWS.App());
  }

  get draining(): boolean {
    return this.#draining;
  }

  get closing(): boolean {
    return this.#closing;
  }

  get budget(): InflightBudget {
    return this.#ctx.budget;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Every route, in the index page's order. */
  #table(): Route[] {
    const m = this.#matrix;
    const add = operation('add');
    const routes: Route[] = [
      { method: 'GET', path: '/', handler: (ex, req) => this.#root(ex, req) },
      { method: 'GET', path: '/threading', handler: (ex) => randomJob(m, ex, 'threads', add), about: 'the lab job (two random n x n matrices, added) in the thread pool', example: '/threading?n=500&dtype=int32&seed=1' },
      { method: 'GET', path: '/multiprocessing', handler: (ex) => randomJob(m, ex, 'processes', add), about: 'the same in the process pool', example: '/multiprocessing?n=500&workers=2' },
    ];
    for (const op of OPS.map(operation)) {
      const path = `/${op.op}`;
      const matmul = op.bandNeedsOfB === 'all';
      routes.push(
        {
          method: 'GET',
          path,
          handler: (ex) => randomJob(m, ex, undefined, op),
          about: matmul ? "random A (m x k) times random B (k x n), in any mode" : `random A ${op.op} random B, element-wise, in any mode`,
          example: matmul ? `${path}?mode=threads&m=300&k=200&n=700&dtype=float32` : `${path}?mode=wasm&rows=300&cols=700&dtype=float32`,
        },
        {
          method: 'POST',
          path,
          handler: (ex, req) => postJob(m, ex, op, req.getHeader('content-type'), contentLengthHeader(req)),
          about: 'your matrices: JSON {"a": [[...]], "b": [[...]]} or A then B raw bytes',
          example: matmul ? `${path}?m=2&k=3&n=4&dtype=float64 (octet-stream)` : `${path}?rows=2&cols=3&dtype=float64 (octet-stream)`,
        },
      );
    }
    routes.push(
      { method: 'GET', path: '/healthz', handler: (ex) => this.#health(ex), about: '200 while serving, 503 while draining' },
      { method: 'GET', path: '/metrics', handler: (ex) => this.#metrics(ex), about: 'Prometheus metrics' },
      { method: 'GET', path: '/favicon.ico', handler: (ex, req) => this.#web.favicon.serve(ex, conditional(req)) },
      // HEAD where it is cheap (health checks use it): the GET answer without its content (send() drops it)
      { method: 'HEAD', path: '/', handler: (ex, req) => this.#root(ex, req) },
      { method: 'HEAD', path: '/healthz', handler: (ex) => this.#health(ex) },
      { method: 'HEAD', path: '/favicon.ico', handler: (ex, req) => this.#web.favicon.serve(ex, conditional(req)) },
    );
    return routes;
  }

  #routes(app: TemplatedApp): TemplatedApp {
    const register = { GET: app.get, POST: app.post, HEAD: app.head } as const;
    for (const r of this.#routeTable) register[r.method].call(app, r.path, this.#handle(r.path, r.handler));
    for (const [path, allow] of allowedMethods(this.#routeTable)) {
      app.any(path, this.#handle(path, (ex) => {
        throw errors.methodNotAllowed(`${path} answers ${allow.join(', ')}, not ${ex.method}`, { allow });
      }));
    }
    app.any('/*', this.#handle('unmatched', (ex) => {
      throw errors.notFound(`no route ${ex.path}; GET / lists the endpoints`);
    }));
    return app;
  }

  /** Wraps a handler: onAborted first (in Exchange), every throw and rejection answered. */
  #handle(route: string, handler: Handler): (res: HttpResponse, req: HttpRequest) => void {
    const wantClient = this.#ctx.accessLog !== undefined;
    return (res, req) => {
      let ex: Exchange | undefined;
      try {
        ex = new Exchange(res, req, route, this, wantClient);
        this.#inFlight++;
        this.#ctx.metrics.inFlight++;
        const done = handler(ex, req);
        if (done) done.catch((e: unknown) => this.#fail(ex!, e));
      } catch (e) {
        if (ex) this.#fail(ex, e);
        else {
          this.#ctx.log.error(`request setup failed: ${(e as Error).stack}`);
          res.close();
        }
      }
    };
  }

  #fail(ex: Exchange, e: unknown): void {
    try {
      sendError(ex, e, this.#ctx.log.error);
    } catch (e2) {
      this.#ctx.log.error(`could not answer ${ex.url}: ${(e2 as Error).stack}`);
    }
  }

  /** ExchangeHooks: one request is over (answered or abandoned). */
  finished(ex: Exchange): void {
    this.#inFlight--;
    const { metrics, accessLog } = this.#ctx;
    metrics.inFlight--;
    metrics.record({ route: ex.route, mode: ex.mode, dtype: ex.dtype, status: ex.statusLabel, unanswered: ex.unanswered, seconds: ex.micros() / 1e6, kernelSeconds: ex.kernelSeconds });
    accessLog?.record(ex);
    if (this.#inFlight === 0 && this.#idleWaiters.length > 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  #health(ex: Exchange): void {
    if (this.#draining) throw errors.shuttingDown('the server is draining', { retryAfter: 1 });
    const extra = this.#ctx.health?.();
    send(ex, 200, JSON_TYPE, extra && Object.keys(extra).length > 0 ? JSON.stringify({ status: 'ok', ...extra }) : '{"status":"ok"}');
  }

  async #metrics(ex: Exchange): Promise<void> {
    const text = await this.#ctx.metricsText();
    send(ex, 200, 'text/plain; version=0.0.4; charset=utf-8', text);
  }

  /** GET and HEAD /: the web page for a browser (Accept: text/html), the plain-text index for anyone else. */
  #root(ex: Exchange, req: HttpRequest): void {
    if (prefersHtml(req.getHeader('accept'))) return this.#web.page.serve(ex, conditional(req));
    send(ex, 200, TEXT_TYPE, this.#index(), { vary: 'Accept' });
  }

  #index(): string {
    const { name, version } = this.#ctx;
    const lines = this.#routeTable.filter((r) => r.about).map((r) => `${r.method.padEnd(5)}${r.path.padEnd(18)}${r.about!.padEnd(68)} ${r.example ?? ''}`.trimEnd());
    return [
      `${name} ${version}: Matrix API: ${OPS.join(', ')} (WebAssembly SIMD over uWebSockets.js)`,
      '',
      ...lines,
      '',
      `Parameters: n or rows+cols (element-wise), n or m+k+n (matmul: A m x k, B k x n), each 1..${this.#ctx.maxN}; dtype (${DTYPES.join('|')}), seed (0..4294967295), workers, kernel (${KERNELS.join('|')}), mode (${MODES.join('|')}; not on /threading, /multiprocessing).`,
      '',
    ].join('\n');
  }

  /** Listens on host:port; resolves with the actual port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#app.listen(host, port, (socket) => {
        if (!socket) return reject(new Error(`cannot listen on ${host}:${port}`));
        this.#listenSocket = socket;
        resolve(uWS.us_socket_local_port(socket as unknown as uWS.us_socket));
      });
    });
  }

  /** Stops accepting connections; in-flight requests go on, and their answers close their connections. */
  drain(): void {
    this.#draining = true;
    if (this.#listenSocket) uWS.us_listen_socket_close(this.#listenSocket);
    this.#listenSocket = undefined;
  }

  /** Resolves true once no request is in flight, false if `ms` passed first. */
  whenIdle(ms: number): Promise<boolean> {
    if (this.#inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Closes every connection (idle keep-alive ones included); requests still unanswered are recorded as dropped by the shutdown. */
  close(): void {
    this.drain();
    this.#closing = true;
    (this.#app as TemplatedApp & { close(): void }).close();
  }
}
