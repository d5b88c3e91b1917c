// The cluster section's tables: what was measured (request times per mode and
// host count, bands, band trip and compute, bytes per band) and the model of
// N real hosts built from those costs: a job's time is
//   fixed + compute / N + overhead per band + bytes of the job / network speed
// where compute is the whole job's kernel time on one worker thread, the
// overhead is a band's trip (publish to result) minus its compute, fixed is
// what the 1-host request took besides both (HTTP, set-up, merging), and the
// bytes of a job are fitted as a + b N from the 1- and 3-host runs (caller
// data moves once whatever N is; seed jobs move a summary per band).

import { fixed, int, ms } from '../http/format.js';
import { markdownTable, textTable } from '../http/table.js';
import { CLUSTER_HOSTS, MODEL_GBITS, MODEL_HOSTS, type ClusterRow, type ClusterSection } from './cluster-bench.js';

export interface ModelRow {
  case: string;
  /** The best of mode=wasm and mode=threads on this one machine, ms. */
  local_ms: number;
  compute_ms: number;
  overhead_ms: number;
  fixed_ms: number;
  /** Bytes through NATS per job: a + b N. */
  bytes_a: number;
  bytes_b: number;
  /** [gbits][hosts index] -> predicted ms. */
  predicted: number[][];
  /** The least N (of MODEL_HOSTS) where it beats local_ms, per network speed; null: at none. */
  pays_from: (number | null)[];
  /** The time no host count goes below (compute / N -> 0), per network speed. */
  floor_ms: number[];
}

const cases = (s: ClusterSection): string[] => [...new Set(s.rows.map((r) => r.case))];
const find = (s: ClusterSection, label: string, mode: ClusterRow['mode'], hosts = 0): ClusterRow | undefined => s.rows.find((r) => r.case === label && r.mode === mode && r.hosts === hosts);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

export function clusterModel(s: ClusterSection): ModelRow[] {
  const out: ModelRow[] = [];
  for (const label of cases(s)) {
    const wasm = find(s, label, 'wasm');
    const threads = find(s, label, 'threads');
    const host = CLUSTER_HOSTS.map((h) => find(s, label, 'cluster', h));
    const one = host[0];
    const last = host.at(-1);
    if (!wasm || !threads || !one || !last || one.band_kernel_ms === null || one.band_trip_ms === null || one.bands_per_job === null) continue;
    const compute = one.band_kernel_ms * one.bands_per_job;
    const overhead = Math.max(0, mean(host.filter((r) => r?.band_trip_ms != null).map((r) => r!.band_trip_ms! - r!.band_kernel_ms!)));
    const fixedMs = Math.max(0, one.median_ms - compute - overhead);
    const bytes = (r: ClusterRow): number => (r.bytes_per_band ?? 0) * (r.bands_per_job ?? 0);
    const n1 = CLUSTER_HOSTS[0]!;
    const n3 = CLUSTER_HOSTS.at(-1)!;
    const b = n3 > n1 ? Math.max(0, (bytes(last) - bytes(one)) / (n3 - n1)) : 0;
    const a = Math.max(0, bytes(one) - b * n1);
    const local = Math.min(wasm.median_ms, threads.median_ms);
    const time = (n: number, gbits: number): number => fixedMs + compute / n + overhead + ((a + b * n) * 8) / (gbits * 1e6);
    const predicted = MODEL_GBITS.map((g) => MODEL_HOSTS.map((n) => time(n, g)));
    out.push({
      case: label,
      local_ms: local,
      compute_ms: compute,
      overhead_ms: overhead,
      fixed_ms: fixedMs,
      bytes_a: a,
      bytes_b: b,
      predicted,
      pays_from: predicted.map((p) => MODEL_HOSTS.find((_, i) => p[i]! < local) ?? null),
      floor_ms: MODEL_GBITS.map((g) => fixedMs + overhead + (a * 8) / (g * 1e6)),
    });
  }
  return out;
}

/** Median, and the spread of the repeats when there are several. */
const cell = (r: ClusterRow | undefined): string => (!r ? '-' : r.requests > 1 ? `${ms(r.median_ms)} (${ms(r.min_ms)}-${ms(r.max_ms)})` : ms(r.median_ms));
const opt = (x: number | null | undefined, f: (x: number) => string): string => (x === null || x === undefined ? '-' : f(x));

function measuredTable(s: ClusterSection): [string[], string[][]] {
  const header = ['case', 'wasm, 1 thread', `threads (${s.cores})`, ...CLUSTER_HOSTS.map((h) => `cluster, ${h} host${h === 1 ? '' : 's'}`), 'bands per job', 'band trip', 'band compute', 'overhead per band', 'bytes per band'];
  const rows = cases(s).map((label) => {
    const last = find(s, label, 'cluster', CLUSTER_HOSTS.at(-1)!);
    return [
      label,
      cell(find(s, label, 'wasm')),
      cell(find(s, label, 'threads')),
      ...CLUSTER_HOSTS.map((h) => cell(find(s, label, 'cluster', h))),
      opt(last?.bands_per_job, (x) => fixed(x, 1)),
      opt(last?.band_trip_ms, ms),
      opt(last?.band_kernel_ms, ms),
      opt(last && last.band_trip_ms !== null && last.band_kernel_ms !== null ? last.band_trip_ms - last.band_kernel_ms : null, ms),
      opt(last?.bytes_per_band, int),
    ];
  });
  return [header, rows];
}

function modelTable(model: ModelRow[]): [string[], string[][]] {
  const header = ['case', 'local best', 'compute (1 thread)', 'overhead per band', 'fixed', 'bytes per job', ...MODEL_GBITS.flatMap((g) => MODEL_HOSTS.map((n) => `${n} hosts, ${g} Gbit/s`)), ...MODEL_GBITS.map((g) => `pays from (${g} Gbit/s)`)];
  const rows = model.map((m) => [
    m.case,
    ms(m.local_ms),
    ms(m.compute_ms),
    ms(m.overhead_ms),
    ms(m.fixed_ms),
    m.bytes_b > m.bytes_a ? `${int(m.bytes_a)} + ${int(m.bytes_b)} N` : int(m.bytes_a + m.bytes_b),
    ...m.predicted.flatMap((p) => p.map((x) => ms(x))),
    ...m.pays_from.map((n, i) => (n === null ? `never (floor ${ms(m.floor_ms[i]!)})` : `${n} hosts`)),
  ]);
  return [header, rows];
}

const NUMERIC_FROM_1 = (n: number): Set<number> => new Set(Array.from({ length: n - 1 }, (_, i) => i + 1));

function about(s: ClusterSection): string[] {
  return [
    `${CLUSTER_HOSTS.join(', ')} worker hosts (\`worker --threads ${s.worker_threads}\`, ${s.network === 'netns' ? 'each in a network namespace, on one bridge' : 'on 127.0.0.x'}) and the server share this machine's ${s.cores} cores: more hosts add no compute here, so the cluster columns show the overhead, not a speed-up. Times are medians of sequential requests (one connection), with their spread (min-max) in parentheses, every answer checked; ms.`,
    'Band trip: from publish to the result at the server (wasmatrix_cluster_band_round_trip_seconds); band compute: the worker\'s kernel time (wasmatrix_cluster_band_kernel_seconds); overhead per band = trip - compute; bytes per band: through nats-server (its /varz in_bytes: the band published and its result), at the largest host count.',
  ];
}

function modelLines(model: ModelRow[]): string[] {
  const lines = [
    `Model of N real hosts (each a worker thread as measured, the network ${MODEL_GBITS.join(' or ')} Gbit/s): time = fixed + compute / N + overhead per band + bytes per job / speed, with every term measured above (fixed: the 1-host request minus compute and overhead). "Pays" when that beats the best local mode of this machine.`,
  ];
  for (const m of model) {
    const verdict = m.pays_from.every((n) => n === null)
      ? `never pays: even with compute / N gone it takes ${m.floor_ms.map(ms).join(' / ')} ms against ${ms(m.local_ms)} ms locally`
      : `pays from ${m.pays_from.map((n, i) => `${n ?? 'no N measured'} hosts at ${MODEL_GBITS[i]} Gbit/s`).join(', ')}`;
    lines.push(`${m.case}: ${verdict}.`);
  }
  return lines;
}

export function clusterSectionMarkdown(s: ClusterSection): string[] {
  if (s.status === 'skipped') return [`The cluster section was skipped: ${s.problem}.`];
  const lines = s.status === 'failed' ? [`The cluster section failed: ${s.problem}${s.rows.length ? ' (the rows measured before it are below)' : ''}.`, ''] : [];
  const [h, r] = measuredTable(s);
  const model = clusterModel(s);
  const [mh, mr] = modelTable(model);
  lines.push(...about(s).flatMap((l) => [l, '']), markdownTable(h, r, NUMERIC_FROM_1(h.length)), '');
  if (model.length) lines.push(...modelLines(model).map((l) => `- ${l}`), '', markdownTable(mh, mr, NUMERIC_FROM_1(mh.length)));
  return lines;
}

export function clusterSectionText(s: ClusterSection): string {
  if (s.status === 'skipped') return `cluster: skipped (${s.problem})`;
  const [h, r] = measuredTable(s);
  const model = clusterModel(s);
  const [mh, mr] = modelTable(model);
  return [`cluster (${s.status}${s.problem ? `: ${s.problem}` : ''}):`, ...about(s), textTable(h, r, NUMERIC_FROM_1(h.length)), '', ...modelLines(model), textTable(mh, mr, NUMERIC_FROM_1(mh.length))].join('\n');
}
