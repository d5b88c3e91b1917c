// Worker restarts as the server counts them: the wasmatrix_pool_worker_restarts
// gauge of /metrics, one sample per pool.

export interface Restarts {
  threads: number;
  processes: number;
}

/** Reads the gauge's `threads` and `processes` samples from Prometheus text; undefined if either is missing. */
export function parseRestarts(metrics: string): Restarts | undefined {
  const sample = (pool: string): number | undefined => {
    const m = new RegExp(`^wasmatrix_pool_worker_restarts\\{[^}]*pool="${pool}"[^}]*\\}\\s+(\\d+(?:\\.\\d+)?)`, 'm').exec(metrics);
    return m ? Number(m[1]) : undefined;
  };
  const threads = sample('threads');
  const processes = sample('processes');
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
