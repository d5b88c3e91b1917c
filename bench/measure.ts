// Timing for the benchmarks: warm up, then repeat batches of calls and keep
// the per-call time of each batch; report the median with min and max. Small
// calls are batched so that each timed batch lasts long enough for the clock
// (and the noise of a shared machine) to matter little.

import { performance } from 'node:perf_hooks';

export interface Timing {
  /** Seconds per call: median, fastest and slowest batch. */
  median: number;
  min: number;
  max: number;
  /** Timed batches, and calls per batch. */
  repeats: number;
  batch: number;
  /** With `perCall`: seconds of every timed call, in the order they ran. */
  calls?: number[];
}

export interface MeasureOptions {
  /** Milliseconds spent on warm-up (at least 2 calls). */
  warmupMs: number;
  /** Milliseconds a timed batch should last (so tiny calls are batched). */
  batchMs: number;
  /** Milliseconds for all timed batches together; repeats are bounded by minRepeats..maxRepeats. */
  budgetMs: number;
  minRepeats: number;
  maxRepeats: number;
  /**
   * Also time every call on its own (Timing.calls): for hand-off-bound cells
   * (a pool's call is tens of microseconds, bimodal), whose spread a batch
   * average would hide. The clock read per call costs well under 1% there.
   */
  perCall?: boolean;
}

export const DEFAULT_MEASURE: MeasureOptions = { warmupMs: 30, batchMs: 4, budgetMs: 250, minRepeats: 5, maxRepeats: 21 };
/** For the threshold sweep, which times many sizes several times over. */
export const SWEEP_MEASURE: MeasureOptions = { warmupMs: 20, batchMs: 4, budgetMs: 80, minRepeats: 5, maxRepeats: 11 };
export const QUICK_MEASURE: MeasureOptions = { warmupMs: 10, batchMs: 2, budgetMs: 60, minRepeats: 3, maxRepeats: 7 };

/** Milliseconds from some origin. */
export type Clock = () => number;
/** Wall-clock time: what a caller waits (every mode). */
export const WALL_CLOCK: Clock = () => performance.now();
/**
 * The process's CPU time (user + system, all its threads): for work on one
 * thread of this process on a shared machine, where time spent descheduled
 * should not count (cache and TLB interference from other processes still
 * does). Meaningless for work in other threads or processes.
 */
export const CPU_CLOCK: Clock = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** A call to time: synchronous calls are never awaited (an await costs about a microsecond). */
export type Call = () => unknown;

async function callOnce(fn: Call): Promise<void> {
  const r = fn();
  if (r instanceof Promise) await r;
}

async function timeBatch(fn: Call, calls: number, clock: Clock, perCall: number[] | undefined): Promise<number> {
  const t0 = clock();
  let last = t0;
  for (let i = 0; i < calls; i++) {
    const r = fn();
    if (r instanceof Promise) await r;
    if (perCall) {
      const t = clock();
      perCall.push((t - last) / 1000);
      last = t;
    }
  }
  return (clock() - t0) / 1000 / calls;
}

export async function measure(fn: Call, options: MeasureOptions = DEFAULT_MEASURE, clock: Clock = WALL_CLOCK): Promise<Timing> {
  // warm-up, which also estimates the cost of one call
  let calls = 0;
  const t0 = clock();
  do {
    await callOnce(fn);
    calls++;
  } while (calls < 2 || clock() - t0 < options.warmupMs);
  const perCallMs = (clock() - t0) / calls;
  const batch = Math.max(1, Math.round(options.batchMs / perCallMs));
  // calls of a tenth of a second or more (the baseline at n = 4096) get fewer repeats
  const minRepeats = perCallMs >= 100 ? Math.min(3, options.minRepeats) : options.minRepeats;
  const repeats = Math.min(options.maxRepeats, Math.max(minRepeats, Math.floor(options.budgetMs / (batch * perCallMs))));
  const samples: number[] = [];
  const perCall = options.perCall ? [] : undefined;
  for (let i = 0; i < repeats; i++) samples.push(await timeBatch(fn, batch, clock, perCall));
  return { ...summarize(samples), repeats, batch, ...(perCall && { calls: perCall }) };
}

export function summarize(samples: number[]): { median: number; min: number; max: number } {
  const sorted = [...samples].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/**
 * The q-quantile (0 <= q <= 1) of `samples`, interpolated linearly between the
 * two nearest ranks (NumPy's default, "type 7"): percentile(xs, 0.1) is p10.
 */
export function percentile(samples: readonly number[], q: number): number {
  if (samples.length === 0) throw new RangeError('percentile of no samples');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`percentile: q = ${q} is not in [0, 1]`);
  const sorted = [...samples].sort((x, y) => x - y);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}
