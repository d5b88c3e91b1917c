// Worker restarts as the server counts them: the wasmatrix_pool_worker_restarts
// gauge of /metrics, one sample per pool.

import { metricSum } from '../http/prometheus.js';

export interface Restarts {
  threads: number;
  processes: number;
}

/** Reads the gauge's `threads` and `processes` samples from Prometheus text; undefined if either is missing. */
export function parseRestarts(metrics: string): Restarts | undefined {
  const threads = metricSum(metrics, 'wasmatrix_pool_worker_restarts', { pool: 'threads' });
  const processes = metricSum(metrics, 'wasmatrix_pool_worker_restarts', { pool: 'processes' });
  return threads === undefined || processes === undefined ? undefined : { threads, processes };
}

export async function fetchRestarts(url: string): Promise<Restarts | undefined> {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
    return res.status === 200 ? parseRestarts(await res.text()) : undefined;
  } catch {
    return undefined;
  }
}
