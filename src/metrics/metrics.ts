// Prometheus metrics (prom-client). Every HTTP thread (the main thread and
// each acceptor) records its own requests in its own registry; the main thread
// also exposes the kernel pools and the process. /metrics answers with all
// registries aggregated (counters and histograms summed), so a scrape sees one
// service whatever -w is.

import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { EngineStats } from '../engines/job.js';
import { PlainCounter, PlainHistogram } from './plain-metrics.js';

/** Seconds: the lab request costs well under a millisecond, big jobs seconds. */
const DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** What one finished request reports. */
export interface RequestRecord {
  route: string;
  mode: string;
  dtype: string;
  /** Three digits; 000: no answer was sent (see `unanswered`). */
  status: string;
  /** Why no answer was sent, when none was: client_closed (status 499), pipelined, shutdown. */
  unanswered: string | undefined;
  seconds: number;
  /** Kernel seconds, or < 0 when no job ran. */
  kernelSeconds: number;
}

export class HttpMetrics {
  readonly registry = new Registry();
  // per-request metrics are plain numbers, read at scrape time (plain-metrics.ts says why)
  readonly #requests = new PlainCounter({
    name: 'wasmatrix_http_requests_total',
    help: 'HTTP requests by route, mode and status; 499: the client closed the connection first, 000: no answer was sent (wasmatrix_http_unanswered_requests_total says why)',
    labelNames: ['route', 'mode', 'status'],
    registers: [this.registry],
  });
  readonly #unanswered = new PlainCounter({
    name: 'wasmatrix_http_unanswered_requests_total',
    help: 'Requests whose connection closed before their answer, by route and reason: client_closed (the client closed it; status 499), pipelined (uWS closed it because another request arrived behind this unanswered one; status 000; the requests behind were never seen), shutdown (closed at the end of the graceful timeout; status 000)',
    labelNames: ['route', 'reason'],
    registers: [this.registry],
  });
  readonly #requestSeconds = new PlainHistogram({
    name: 'wasmatrix_http_request_duration_seconds',
    help: 'From the request arriving to the last byte handed to the socket, by route',
    labelNames: ['route'],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly #kernelSeconds = new PlainHistogram({
    name: 'wasmatrix_kernel_duration_seconds',
    help: "Compute time of a job (the lab's execution_time_sec), by the mode that ran it and dtype",
    labelNames: ['mode', 'dtype'],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly #inlineJobs = new PlainCounter({
    name: 'wasmatrix_http_inline_jobs_total',
    help: 'Jobs an HTTP thread ran itself on its own WASM instance instead of handing them to a kernel pool (-w 2 or more: small one-band threads and wasm jobs)',
    labelNames: [],
    registers: [this.registry],
  });
  /** Requests being handled right now by this thread (a plain number; the gauge reads it at scrape). */
  inFlight = 0;

  constructor() {
    const metrics = this;
    new Gauge({
      name: 'wasmatrix_http_in_flight_requests',
      help: 'Requests being handled right now',
      registers: [this.registry],
      collect() {
        this.set(metrics.inFlight);
      },
    });
  }

  /** One job ran on this HTTP thread itself (job-runner.ts, inlineRunner). */
  countInlineJob(): void {
    this.#inlineJobs.inc();
  }

  record(r: RequestRecord): void {
    this.#requests.inc(r.route, r.mode, r.status);
    if (r.unanswered) this.#unanswered.inc(r.route, r.unanswered);
    this.#requestSeconds.observe(r.seconds, r.route);
    if (r.kernelSeconds >= 0) this.#kernelSeconds.observe(r.kernelSeconds, r.mode, r.dtype);
  }

  json(): Promise<MetricsJson> {
    return this.registry.getMetricsAsJSON();
  }
}

/** Pool gauges (read at scrape time) and the process's memory and CPU: main thread only. */
export function registerProcessMetrics(registry: Registry, pools: Record<string, () => EngineStats>, inflightBytes: () => number): void {
  collectDefaultMetrics({ register: registry, prefix: '' });
  registerSpinMetrics(registry, pools);
  new Gauge({
    name: 'wasmatrix_inflight_bytes',
    help: 'Memory reserved by in-flight requests (bodies and jobs), all HTTP threads; capped by --max-inflight-bytes',
    registers: [registry],
    collect() {
      this.set(inflightBytes());
    },
  });
  const gauge = (name: string, help: string, pick: (s: EngineStats) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['pool'] as const,
      registers: [registry],
      collect() {
        for (const [pool, stats] of Object.entries(pools)) this.labels(pool).set(pick(stats()));
      },
    });
  };
  gauge('wasmatrix_pool_size', 'Workers in the kernel pool', (s) => s.size);
  gauge('wasmatrix_pool_busy_workers', 'Workers running a band right now', (s) => s.busy);
  gauge('wasmatrix_pool_queue_length', 'Jobs waiting for a worker', (s) => s.queued);
  gauge('wasmatrix_pool_worker_restarts', 'Workers replaced since start (crash, hang, recycling); only grows', (s) => s.restarts);
  new Counter({
    name: 'wasmatrix_pool_jobs_total',
    help: 'Jobs of a kernel pool by how they ended: ok, cancelled (the client left while it was queued), timeout, worker_failed, queue_full, pool_closed, internal',
    labelNames: ['pool', 'outcome'] as const,
    registers: [registry],
    collect() {
      // the pools count; the counter mirrors them at scrape time
      this.reset();
      for (const [pool, stats] of Object.entries(pools)) for (const [outcome, n] of Object.entries(stats().outcomes)) this.inc({ pool, outcome }, n);
    },
  });
}

/** Adds `wasmatrix_pool_spins_total{pool,outcome}` from the thread pools' spin counters (--spin). */
function registerSpinMetrics(registry: Registry, pools: Record<string, () => EngineStats>): void {
  new Counter({
    name: 'wasmatrix_pool_spins_total',
    help: 'What a kernel thread did when a task ended (--spin): paid (the next task came while it spun), missed (none came: it slept), skipped (it slept at once, backing off after missed spins), preempted (it stopped spinning because another thread wanted the core)',
    labelNames: ['pool', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [pool, stats] of Object.entries(pools)) {
        for (const [name, n] of Object.entries(stats().counters ?? {})) if (name.startsWith('spin_')) this.inc({ pool, outcome: name.slice(5) }, n);
      }
    },
  });
}

/** The Prometheus text of several threads' registries, summed. */
export async function aggregateMetrics(parts: MetricsJson[]): Promise<string> {
  return AggregatorRegistry.aggregate(parts).metrics();
}

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** What the cluster metrics read: the cluster engine's status and counts, and each band's trip as it ends. */
export interface ClusterMetricsSource {
  status(): { connected: boolean; workers: number; threads: number };
  bandCounts(): Readonly<Record<string, number>>;
  onBand(listener: (roundTripSeconds: number, kernelSeconds: number) => void): void;
}

/** Seconds from about 100 us (a loopback trip) to a minute (a large band). */
const BAND_BUCKETS = [...DURATION_BUCKETS, 60];

/** The cluster mode's gauges, band counts and band trip times: main thread only. */
export function registerClusterMetrics(registry: Registry, cluster: ClusterMetricsSource): void {
  const scrape = (name: string, help: string, pick: (s: ReturnType<ClusterMetricsSource['status']>) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(pick(cluster.status()));
      },
    });
  };
  scrape('wasmatrix_cluster_connected', '1 while the server is connected to NATS (--nats), else 0', (s) => Number(s.connected));
  scrape('wasmatrix_cluster_workers', 'Worker hosts answering the service ping (wasmatrix-worker) at the last discovery, about once a second', (s) => s.workers);
  scrape('wasmatrix_cluster_worker_threads', 'Kernel threads of the live worker hosts: the bands a cluster job is split into by default', (s) => s.threads);
  new Counter({
    name: 'wasmatrix_cluster_bands_total',
    help: 'Bands of cluster jobs by outcome: sent (published to the work queue), done (answered and used), redelivered (answered after JetStream redelivered it: its first worker died or stalled past ack_wait), failed (a worker answered an error), abandoned (its job failed or timed out first: purged or dropped)',
    labelNames: ['outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [outcome, n] of Object.entries(cluster.bandCounts())) this.inc({ outcome }, n);
    },
  });
  const trip = new Histogram({
    name: 'wasmatrix_cluster_band_round_trip_seconds',
    help: "A band from its publish to its result arriving at the server (the bench's per-band overhead is this minus the band's kernel time)",
    buckets: BAND_BUCKETS,
    registers: [registry],
  });
  const kernel = new Histogram({
    name: 'wasmatrix_cluster_band_kernel_seconds',
    help: 'Compute time of a band on its worker host',
    buckets: BAND_BUCKETS,
    registers: [registry],
  });
  cluster.onBand((roundTrip, kernelSeconds) => {
    trip.observe(roundTrip);
    kernel.observe(kernelSeconds);
  });
}
