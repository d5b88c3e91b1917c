// CPU and memory of the service under load, sampled from /proc while a case
// runs: the server process (its threads are inside its pid) and every process
// below it (the process pool), plus the load generator (this process) and the
// whole machine, so a reader sees who used the 2 cores.
//
// CPU is in percent of one core (100 = one core busy for the whole window).

import { performance } from 'node:perf_hooks';
import { CLOCK_TICKS, processTree, readAllStats, readMachineTicks, readMemory } from './proc.js';

export interface ResourceSummary {
  /** Server plus all its descendants, % of one core. */
  server_cpu_pct: number;
  /** This process: autocannon, the checks and the sampler, % of one core. */
  loadgen_cpu_pct: number;
  /** Every process on the machine, % of one core (so 200 = both cores of a 2-core machine). */
  machine_cpu_pct: number;
  /** machine - server - load generator: other tenants of a shared machine. */
  other_cpu_pct: number;
  /** Processes in the server's tree (the most seen in one sample). */
  processes: number;
  /**
   * RSS of the tree when the case began (the first sample, or the reading the
   * caller took before its warm-up) and in the last sample: one server serves
   * a whole bench run, so a case's own memory is what it adds to the level it
   * started at. Absent in results written before they were recorded.
   */
  rss_start_mb?: number;
  rss_end_mb?: number;
  rss_avg_mb: number;
  rss_peak_mb: number;
  /** PSS shares pages mapped by several processes instead of counting them once per process. */
  pss_avg_mb: number | null;
  pss_peak_mb: number | null;
  samples: number;
  /** CPU of each named group of processes (each root and every process below it), % of one core; only when groups were given. */
  group_cpu_pct?: Record<string, number>;
}

const MB = 1024 * 1024;

/** RSS of `root` and every process below it now, MB; null when none of them could be read. */
export function treeRssMb(root: number): number | null {
  const stats = readAllStats();
  let rss = 0;
  let alive = 0;
  for (const pid of processTree(root, stats)) {
    const mem = readMemory(pid);
    if (!mem) continue;
    alive++;
    rss += mem.rss;
  }
  return alive ? rss / MB : null;
}

export class ResourceSampler {
  readonly #root: number | undefined;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  /** First and last tick count seen per pid: a pid that appears mid-run counts from when it appeared. */
  #ticks = new Map<number, { first: number; last: number }>();
  #rss: number[] = [];
  #pss: number[] = [];
  #processes = 0;
  #t0 = 0;
  #cpu0: NodeJS.CpuUsage = { user: 0, system: 0 };
  #machine0 = { busy: 0, total: 0 };
  readonly #groups: [string, number[]][];
  /** Per group: first and last tick count seen per pid. */
  readonly #groupTicks = new Map<string, Map<number, { first: number; last: number }>>();

  /**
   * `root`: the server's pid; undefined when it is unknown (then only the load
   * generator and machine are measured). `groups`: further processes measured
   * apart, by name (e.g. the hosts and the proxy of a multi-host case).
   */
  constructor(root: number | undefined, intervalMs = 250, groups: Record<string, number[]> = {}) {
    this.#root = root;
    this.#intervalMs = intervalMs;
    this.#groups = Object.entries(groups);
    for (const [name] of this.#groups) this.#groupTicks.set(name, new Map());
  }

  start(): void {
    this.#t0 = performance.now();
    this.#cpu0 = process.cpuUsage();
    this.#machine0 = readMachineTicks();
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), this.#intervalMs);
  }

  #sample(): void {
    if (this.#root === undefined && this.#groups.length === 0) return;
    const stats = readAllStats();
    for (const [name, roots] of this.#groups) {
      const members = new Set(roots.flatMap((r) => processTree(r, stats)));
      const ticks = this.#groupTicks.get(name)!;
      for (const s of stats) {
        if (!members.has(s.pid)) continue;
        const seen = ticks.get(s.pid);
        if (seen) seen.last = s.ticks;
        else ticks.set(s.pid, { first: s.ticks, last: s.ticks });
      }
    }
    if (this.#root === undefined) return;
    const tree = new Set(processTree(this.#root, stats));
    let rss = 0;
    let pss = 0;
    let pssKnown = true;
    let alive = 0;
    for (const s of stats) {
      if (!tree.has(s.pid)) continue;
      const seen = this.#ticks.get(s.pid);
      if (seen) seen.last = s.ticks;
      else this.#ticks.set(s.pid, { first: s.ticks, last: s.ticks });
      const mem = readMemory(s.pid);
      if (!mem) continue;
      alive++;
      rss += mem.rss;
      if (mem.pss === undefined) pssKnown = false;
      else pss += mem.pss;
    }
    if (alive === 0) return;
    this.#processes = Math.max(this.#processes, alive);
    this.#rss.push(rss);
    if (pssKnown) this.#pss.push(pss);
  }

  stop(): ResourceSummary {
    clearInterval(this.#timer);
    this.#sample();
    const seconds = (performance.now() - this.#t0) / 1000;
    const cpu = process.cpuUsage(this.#cpu0);
    const machine = readMachineTicks();
    const sum = (m: Map<number, { first: number; last: number }>): number => [...m.values()].reduce((t, { first, last }) => t + last - first, 0);
    const ticks = sum(this.#ticks);
    const pct = (x: number): number => (seconds > 0 ? (100 * x) / seconds : 0);
    const server = pct(ticks / CLOCK_TICKS);
    const loadgen = pct((cpu.user + cpu.system) / 1e6);
    const dTotal = machine.total - this.#machine0.total;
    // /proc/stat counts ticks of every core: busy/total is the share of all cores
    const cores = dTotal > 0 ? dTotal / CLOCK_TICKS / seconds : 0;
    const machinePct = dTotal > 0 ? (100 * cores * (machine.busy - this.#machine0.busy)) / dTotal : 0;
    const avg = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
    const max = (xs: number[]): number => xs.reduce((m, x) => Math.max(m, x), 0);
    return {
      server_cpu_pct: server,
      loadgen_cpu_pct: loadgen,
      machine_cpu_pct: machinePct,
      other_cpu_pct: Math.max(0, machinePct - server - loadgen),
      processes: this.#processes,
      rss_start_mb: (this.#rss[0] ?? 0) / MB,
      rss_end_mb: (this.#rss.at(-1) ?? 0) / MB,
      rss_avg_mb: avg(this.#rss) / MB,
      rss_peak_mb: max(this.#rss) / MB,
      pss_avg_mb: this.#pss.length ? avg(this.#pss) / MB : null,
      pss_peak_mb: this.#pss.length ? max(this.#pss) / MB : null,
      samples: this.#rss.length,
      ...(this.#groups.length && { group_cpu_pct: Object.fromEntries([...this.#groupTicks].map(([name, m]) => [name, pct(sum(m) / CLOCK_TICKS)])) }),
    };
  }
}
