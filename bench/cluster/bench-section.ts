// "Through HAProxy", a section of `npm run bench`: the lab's /threading
// directly against one host, then through HAProxy (deploy/haproxy.cfg) in front
// of 1, 2 and 3 hosts, in the same run, every answer checked as in every other
// case. CPU is measured per component (the hosts, the proxy, the load
// generator) over the measured window, as CPU time per answered request; from
// those, a model of N hosts of this machine's size behind one proxy of the same
// size. On one 2-core machine the hosts, the proxy and the load generator share
// the same cores: the measured req/s cannot grow with the hosts, and the report
// says so.

import { availableParallelism } from 'node:os';
import { runCase } from '../http/case-runner.js';
import { buildCase, fixedSeeds } from '../http/cases.js';
import { int, ms, pct } from '../http/format.js';
import type { BenchOptions } from '../http/options.js';
import type { Reference } from '../http/reference.js';
import { ResourceSampler, type ResourceSummary } from '../http/resource-sampler.js';
import type { CaseResult } from '../http/results.js';
import { markdownTable, textTable } from '../http/table.js';
import { proxyVersion } from './proxy.js';
import { Replicas } from './replicas.js';

/** The lab's size, when the run measures it; else the run's first size. */
const LAB_N = 500;
/** Hosts the model goes up to. */
const MODEL_HOSTS = [1, 2, 3, 4, 6, 8, 12, 16];

export interface ProxyCase {
  /** "direct", "HAProxy, 1 host", ... */
  label: string;
  via: 'direct' | 'haproxy';
  hosts: number;
  result: CaseResult;
  /** % of one core over the measured window; other = the rest of the machine. */
  cpu_pct: { hosts: number; proxy: number; loadgen: number; other: number; machine: number } | null;
  /** CPU milliseconds per answered request. */
  cpu_ms_per_request: { hosts: number; proxy: number; loadgen: number } | null;
}

export interface ProxyModel {
  /** Cores of one host, and of the proxy's machine: this machine's. */
  cores: number;
  service_cpu_ms: number;
  proxy_cpu_ms: number;
  loadgen_cpu_ms: number;
  /** One host, its cores all its own: cores / service CPU per request. */
  host_capacity_rps: number;
  /** HAProxy with a thread per core on a machine of its own. */
  proxy_capacity_rps: number;
  rows: { hosts: number; req_per_sec: number; limited_by: 'hosts' | 'proxy' }[];
}

export interface ProxySection {
  status: 'ok' | 'failed' | 'skipped';
  problem: string | null;
  proxy_version: string | null;
  n: number;
  host_args: string[];
  cases: ProxyCase[];
  model: ProxyModel | null;
  conclusions: string[];
}

export interface ProxySectionSettings {
  options: BenchOptions;
  ref: Reference;
  signal: AbortSignal;
  /** A case's phase starts (for the progress line). */
  onPhase: (label: string, phase: 'warm-up' | 'measure', seconds: number) => void;
  log: (line: string) => void;
}

const skipped = (problem: string, n: number, hostArgs: string[]): ProxySection => ({ status: 'skipped', problem, proxy_version: null, n, host_args: hostArgs, cases: [], model: null, conclusions: [] });

function perRequest(cpuPct: number, seconds: number, responses: number): number {
  return responses > 0 ? ((cpuPct / 100) * seconds * 1000) / responses : 0;
}

/** One case against `url`, with CPU sampled per component over the measured window. */
async function measure(s: ProxySectionSettings, label: string, url: string, groups: { hosts: number[]; proxy: number[] }, n: number): Promise<{ result: CaseResult; resources: ResourceSummary | null }> {
  const o = s.options;
  const c = { ...buildCase('threading', n, o.dtype, fixedSeeds(o.seeds), s.ref), label: `GET /threading (${label})` };
  let sampler: ResourceSampler | undefined;
  const result = await runCase(c, {
    url,
    serverPid: undefined,
    connections: o.connections,
    warmup: o.warmup,
    duration: o.duration,
    timeout: o.timeout,
    signal: s.signal,
    onPhase: (phase, seconds) => {
      s.onPhase(label, phase, seconds);
      if (phase === 'measure') {
        sampler = new ResourceSampler(undefined, 250, groups);
        sampler.start();
      }
    },
  });
  return { result, resources: sampler?.stop() ?? null };
}

function proxyCase(label: string, via: ProxyCase['via'], hosts: number, result: CaseResult, r: ResourceSummary | null): ProxyCase {
  const g = r?.group_cpu_pct;
  if (!r || !g) return { label, via, hosts, result, cpu_pct: null, cpu_ms_per_request: null };
  const cpu = { hosts: g.hosts ?? 0, proxy: g.proxy ?? 0, loadgen: r.loadgen_cpu_pct, machine: r.machine_cpu_pct, other: 0 };
  cpu.other = Math.max(0, cpu.machine - cpu.hosts - cpu.proxy - cpu.loadgen);
  const per = (x: number): number => perRequest(x, result.seconds, result.responses);
  return { label, via, hosts, result, cpu_pct: cpu, cpu_ms_per_request: { hosts: per(cpu.hosts), proxy: per(cpu.proxy), loadgen: per(cpu.loadgen) } };
}

/** N hosts of this machine's size behind one HAProxy on a machine of the same size, from measured CPU per request. */
export function proxyModel(direct: ProxyCase, proxied: ProxyCase, cores: number): ProxyModel | null {
  const service = direct.cpu_ms_per_request?.hosts;
  const proxy = proxied.cpu_ms_per_request?.proxy;
  if (!service || !proxy) return null;
  const hostCapacity = (cores * 1000) / service;
  const proxyCapacity = (cores * 1000) / proxy;
  return {
    cores,
    service_cpu_ms: service,
    proxy_cpu_ms: proxy,
    loadgen_cpu_ms: direct.cpu_ms_per_request!.loadgen,
    host_capacity_rps: hostCapacity,
    proxy_capacity_rps: proxyCapacity,
    rows: MODEL_HOSTS.map((hosts) => ({ hosts, req_per_sec: Math.min(hosts * hostCapacity, proxyCapacity), limited_by: hosts * hostCapacity <= proxyCapacity ? 'hosts' : 'proxy' })),
  };
}

function conclusionsOf(cases: ProxyCase[], model: ProxyModel | null): string[] {
  const ok = cases.filter((c) => c.result.status === 'ok');
  const direct = ok.find((c) => c.via === 'direct');
  const one = ok.find((c) => c.via === 'haproxy' && c.hosts === 1);
  const out: string[] = [];
  if (direct && one) {
    const loss = 1 - one.result.requests_per_sec / direct.result.requests_per_sec;
    out.push(
      `Through HAProxy in front of the same single host: ${int(one.result.requests_per_sec)} req/s against ${int(direct.result.requests_per_sec)} direct ` +
        `(${loss >= 0 ? `${Math.round(loss * 100)}% fewer` : `${Math.round(-loss * 100)}% more`}), p99 ${ms(one.result.latency?.p99_ms ?? 0)} ms against ${ms(direct.result.latency?.p99_ms ?? 0)} ms. ` +
        (one.cpu_ms_per_request ? `HAProxy used ${ms(one.cpu_ms_per_request.proxy)} ms of CPU per request, the host ${ms(one.cpu_ms_per_request.hosts)} ms (direct: ${ms(direct.cpu_ms_per_request?.hosts ?? 0)} ms).` : ''),
    );
  }
  const many = ok.filter((c) => c.via === 'haproxy' && c.hosts > 1);
  if (many.length && one) {
    out.push(
      `${many.map((c) => `${c.hosts} hosts: ${int(c.result.requests_per_sec)} req/s`).join(', ')} (1 host: ${int(one.result.requests_per_sec)}). ` +
        `On this machine every host, the proxy and the load generator share the same cores ` +
        `(with ${many.at(-1)!.hosts} hosts the machine was ${pct(many.at(-1)!.cpu_pct?.machine ?? 0)} busy, in % of one core): more hosts add processes, not cores, so they cannot serve more here.`,
    );
  }
  if (model) {
    const saturating = model.rows.find((r) => r.limited_by === 'proxy');
    out.push(
      `Model, from the CPU per request measured above: a host of this size (${model.cores} cores, nothing else on them) serves up to ${int(model.host_capacity_rps)} req/s of /threading; ` +
        `one HAProxy with ${model.cores} threads saturates at ${int(model.proxy_capacity_rps)} req/s, ${saturating ? `so from about ${Math.floor(model.proxy_capacity_rps / model.host_capacity_rps) + 1} hosts on the proxy is the limit` : `more than ${MODEL_HOSTS.at(-1)} hosts' worth`}. ` +
        `The load itself costs ${ms(model.loadgen_cpu_ms)} ms of client CPU per request (${direct?.result.generator?.tool ?? 'autocannon'}): N hosts need clients in proportion. Not modelled: the network, and kernel time outside these processes.`,
    );
  }
  return out;
}

export async function runProxySection(s: ProxySectionSettings): Promise<ProxySection> {
  const o = s.options;
  const n = o.sizes.includes(LAB_N) ? LAB_N : o.sizes[0]!;
  const hostArgs = o.serverArgs;
  const version = proxyVersion('haproxy');
  if (!version) return skipped('HAProxy is not installed (Debian: apt-get install haproxy)', n, hostArgs);
  const cases: ProxyCase[] = [];
  const problems: string[] = [];
  for (const hosts of o.proxyHosts) {
    if (s.signal.aborted) break;
    let r: Replicas | undefined;
    try {
      r = await Replicas.start({ hosts, proxy: 'haproxy', port: 0, netns: false, serverArgs: hostArgs, log: s.log });
      const groups = { hosts: r.hosts.map((h) => h.server!.pid), proxy: [r.proxy.pid] };
      if (hosts === 1) {
        const direct = await measure(s, 'direct, 1 host', r.hosts[0]!.url, groups, n);
        cases.push(proxyCase('direct, 1 host', 'direct', 1, direct.result, direct.resources));
      }
      const label = `HAProxy, ${hosts} host${hosts === 1 ? '' : 's'}`;
      const via = await measure(s, label, r.url, groups, n);
      cases.push(proxyCase(label, 'haproxy', hosts, via.result, via.resources));
    } catch (e) {
      problems.push(`${hosts} hosts: ${(e as Error).message}`);
    } finally {
      await r?.stop();
    }
  }
  return assembleProxySection(cases, { n, version, hostArgs, problems, cores: availableParallelism() });
}

/** The section from its measured cases: the model, the conclusions, the verdict. */
export function assembleProxySection(cases: ProxyCase[], o: { n: number; version: string; hostArgs: string[]; problems: string[]; cores: number }): ProxySection {
  const direct = cases.find((c) => c.via === 'direct' && c.result.status === 'ok');
  const one = cases.find((c) => c.via === 'haproxy' && c.hosts === 1 && c.result.status === 'ok');
  const model = direct && one ? proxyModel(direct, one, o.cores) : null;
  const problems = [...o.problems, ...cases.filter((c) => c.result.status !== 'ok').map((c) => `${c.label}: ${c.result.problems.join('; ')}`)];
  return {
    status: problems.length ? 'failed' : 'ok',
    problem: problems.length ? problems.join('\n') : null,
    proxy_version: o.version,
    n: o.n,
    host_args: o.hostArgs,
    cases,
    model,
    conclusions: conclusionsOf(cases, model),
  };
}

const CASE_HEADER = ['case', 'req/s', 'avg ms', 'p50', 'p99', 'errors', 'hosts CPU', 'HAProxy CPU', 'loadgen CPU', 'other CPU', 'CPU ms/req: hosts', 'HAProxy', 'loadgen', 'check'];
const MODEL_HEADER = ['hosts', 'req/s (model)', 'limited by'];

function caseRows(section: ProxySection): string[][] {
  return section.cases.map((c) => {
    const r = c.result;
    const l = r.latency;
    const cpu = c.cpu_pct;
    const per = c.cpu_ms_per_request;
    return [
      c.label,
      r.responses ? int(r.requests_per_sec) : '-',
      l?.count ? ms(l.avg_ms) : '-',
      l?.count ? ms(l.p50_ms) : '-',
      l?.count ? ms(l.p99_ms) : '-',
      `${r.errors}/${r.timeouts}/${r.non2xx}`,
      cpu ? pct(cpu.hosts) : '-',
      cpu ? pct(cpu.proxy) : '-',
      cpu ? pct(cpu.loadgen) : '-',
      cpu ? pct(cpu.other) : '-',
      per ? ms(per.hosts) : '-',
      per ? ms(per.proxy) : '-',
      per ? ms(per.loadgen) : '-',
      r.status === 'ok' ? `ok ${r.verification.checked}` : 'FAILED',
    ];
  });
}

const modelRows = (m: ProxyModel): string[][] => m.rows.map((r) => [String(r.hosts), int(r.req_per_sec), r.limited_by === 'hosts' ? 'the hosts' : 'the proxy']);
const NUMERIC = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

export function proxySectionText(section: ProxySection): string {
  if (section.status === 'skipped') return `through HAProxy: skipped (${section.problem})`;
  const lines = [`through HAProxy ${section.proxy_version} (GET /threading, n = ${section.n}):`, textTable(CASE_HEADER, caseRows(section), NUMERIC)];
  if (section.model) lines.push('', textTable(MODEL_HEADER, modelRows(section.model), new Set([0, 1])));
  if (section.problem) lines.push('', `problems: ${section.problem}`);
  return lines.join('\n');
}

export function proxySectionMarkdown(section: ProxySection | null): string[] {
  if (!section) return ['Not run (`--no-proxy`, `--quick`, or no `threading` case).'];
  if (section.status === 'skipped') return [`Skipped: ${section.problem}`];
  const out = [
    `\`GET /threading\` at n = ${section.n}, the same cases and checks as the table above: directly against one host, then through HAProxy ${section.proxy_version} (\`deploy/haproxy.cfg\`, rendered for the run) in front of ${section.cases
      .filter((c) => c.via === 'haproxy')
      .map((c) => c.hosts)
      .join(', ')} hosts on 127.0.0.x${section.host_args.length ? ` (host flags: \`${section.host_args.join(' ')}\`)` : ''}. CPU in % of one core over the measured window, per component (each host's process tree, HAProxy, the load generator, the rest of the machine), and as CPU milliseconds per answered request.`,
    '',
    markdownTable(CASE_HEADER, caseRows(section), NUMERIC),
    '',
  ];
  if (section.model) {
    out.push(
      `Model: N hosts of this machine's size (${section.model.cores} cores each, nothing else on them) behind one HAProxy on a machine of the same size, from the measured ${ms(section.model.service_cpu_ms)} ms of host CPU (direct) and ${ms(section.model.proxy_cpu_ms)} ms of HAProxy CPU per request:`,
      '',
      markdownTable(MODEL_HEADER, modelRows(section.model), new Set([0, 1])),
      '',
    );
  }
  out.push(...section.conclusions.map((c) => `- ${c}`));
  if (section.problem) out.push('', `**Problems**: ${section.problem}`);
  return out;
}
