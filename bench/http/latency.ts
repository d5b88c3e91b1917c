// Latency with sub-millisecond resolution: every response time (autocannon's
// own percentiles are whole milliseconds) goes into a nanosecond histogram.

import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** Percentiles kept for the latency distribution chart and the raw JSON. */
export const DISTRIBUTION_PERCENTILES = [1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9] as const;

export interface LatencySummary {
  count: number;
  avg_ms: number;
  min_ms: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  /** [percentile, milliseconds] pairs, DISTRIBUTION_PERCENTILES then 100 (the max). */
  distribution: [number, number][];
}

export class LatencyRecorder {
  readonly #histogram: RecordableHistogram = createHistogram({ lowest: 1, highest: 120e9, figures: 3 });

  /** One response time, in milliseconds as autocannon reports it (fractional). */
  record(ms: number): void {
    this.#histogram.record(Math.max(1, Math.round(ms * 1e6)));
  }

  summary(): LatencySummary {
    const h = this.#histogram;
    const ms = (ns: number): number => ns / 1e6;
    if (h.count === 0) return { count: 0, avg_ms: 0, min_ms: 0, p50_ms: 0, p90_ms: 0, p99_ms: 0, max_ms: 0, distribution: [] };
    return {
      count: h.count,
      avg_ms: ms(h.mean),
      min_ms: ms(h.min),
      p50_ms: ms(h.percentile(50)),
      p90_ms: ms(h.percentile(90)),
      p99_ms: ms(h.percentile(99)),
      max_ms: ms(h.max),
      distribution: [...DISTRIBUTION_PERCENTILES.map((p): [number, number] => [p, ms(h.percentile(p))]), [100, ms(h.max)]],
    };
  }
}
