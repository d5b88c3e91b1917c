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
import { postAdd, randomJob, type MatrixRouteContext } from './matrix-routes.js';
import { prefersHtml } from './negotiate.js';
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
}

type Handler = (ex: Exchange, req: HttpRequest) => void | Promise<void>;

/** The routes and the methods each answers, for 405 and Allow. */
const ROUTES: Record<string, string[]> = {
  '/': ['GET', 'HEAD'],
  '/threading': ['GET'],
  '/multiprocessing': ['GET'],
  '/add': ['GET', 'POST'],
  '/healthz': ['GET', 'HEAD'],
  '/metrics': ['GET'],
  '/favicon.ico': ['GET', 'HEAD'],
};

const TEXT_TYPE = 'text/plain; charset=utf-8';

/** The headers that pick a representation of / and /favicon.ico (read while req is valid). */
const conditional = (req: HttpRequest): Conditional => ({ acceptEncoding: req.getHeader('accept-encoding'), ifNoneMatch: req.getHeader('if-none-match') });

export class HttpServer implements ExchangeHooks {
  readonly #ctx: ServerContext;
  readonly #matrix: MatrixRouteContext;
  readonly #app: TemplatedApp;
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
    this.#web = new WebPage(catalogue({ ...ctx, routes: ROUTES, maxWorkers: (mode) => ctx.runner.maxWorkers(mode) }));
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

  #routes(app: TemplatedApp): TemplatedApp {
    const m = this.#matrix;
    app
      .get('/', this.#handle('/', (ex, req) => this.#root(ex, req)))
      .get('/threading', this.#handle('/threading', (ex) => randomJob(m, ex, 'threads')))
      .get('/multiprocessing', this.#handle('/multiprocessing', (ex) => randomJob(m, ex, 'processes')))
      .get('/add', this.#handle('/add', (ex) => randomJob(m, ex, undefined)))
      .post('/add', this.#handle('/add', (ex, req) => postAdd(m, ex, req.getHeader('content-type'), contentLengthHeader(req))))
      .get('/healthz', this.#handle('/healthz', (ex) => this.#health(ex)))
      .get('/metrics', this.#handle('/metrics', (ex) => this.#metrics(ex)))
      .get('/favicon.ico', this.#handle('/favicon.ico', (ex, req) => this.#web.favicon.serve(ex, conditional(req))))
      // HEAD where it is cheap (health checks use it): the GET answer without its content (send() drops it)
      .head('/', this.#handle('/', (ex, req) => this.#root(ex, req)))
      .head('/healthz', this.#handle('/healthz', (ex) => this.#health(ex)))
      .head('/favicon.ico', this.#handle('/favicon.ico', (ex, req) => this.#web.favicon.serve(ex, conditional(req))));
    for (const [path, allow] of Object.entries(ROUTES)) {
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
        this.#ctx.metrics.inFlight.inc();
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
    metrics.inFlight.dec();
    metrics.record({ route: ex.route, mode: ex.mode, dtype: ex.dtype, status: ex.statusLabel, unanswered: ex.unanswered, seconds: ex.micros() / 1e6, kernelSeconds: ex.kernelSeconds });
    accessLog?.record(ex);
    if (this.#inFlight === 0 && this.#idleWaiters.length > 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  #health(ex: Exchange): void {
    if (this.#draining) throw errors.shuttingDown('the server is draining', { retryAfter: 1 });
    send(ex, 200, JSON_TYPE, '{"status":"ok"}');
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
    return [
      `${name} ${version}: Matrix Addition API (WebAssembly SIMD over uWebSockets.js)`,
      '',
      'GET  /threading         the lab job (two random n x n matrices, added) in the thread pool   /threading?n=500&dtype=int32&seed=1',
      'GET  /multiprocessing   the same in the process pool                                       /multiprocessing?n=500&workers=2',
      'GET  /add               the same in any mode: ts, wasm, threads, processes, auto           /add?mode=wasm&rows=300&cols=700&dtype=float32',
      'POST /add               your matrices: JSON {"a": [[...]], "b": [[...]]} or A+B raw bytes /add?rows=2&cols=3&dtype=float64 (octet-stream)',
      'GET  /healthz           200 while serving, 503 while draining',
      'GET  /metrics           Prometheus metrics',
      '',
      `Parameters: n or rows+cols (1..${this.#ctx.maxN}), dtype (int32|float32|float64), seed (0..4294967295), workers, kernel (wasm|ts), mode (/add).`,
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
