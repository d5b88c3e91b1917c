// What the soak sends: every mode of the service at a few sizes and every
// dtype, with fixed seeds, and uploads (binary and JSON, to the default mode
// and to a pool) with known answers. Built from the HTTP benchmark's cases, so
// the expected answers come from the same pure-TS reference.

import { DTYPES } from '../../src/kernels/dtype.js';
import { buildCase, caseLabel, fixedSeeds, type BenchCase, type CaseKind } from '../http/cases.js';
import type { Reference } from '../http/reference.js';
import type { Expectation } from './answers.js';

/** One route of the mix: a case kind, optionally sent to another mode, at some sizes. */
export interface RouteSpec {
  kind: CaseKind;
  /** Extra query for POST /add (which mode runs the upload). */
  query?: string;
  sizes: number[];
}

/**
 * Sizes keep requests short (the largest GET takes tens of ms in `ts`, the
 * largest upload a few MB) so that a minute holds thousands of requests on
 * two shared cores, while the large GETs still split across pool workers.
 */
const GET_SIZES = [64, 512, 1536];
const ROUTES: RouteSpec[] = [
  { kind: 'threading', sizes: GET_SIZES },
  { kind: 'multiprocessing', sizes: GET_SIZES },
  { kind: 'ts', sizes: GET_SIZES },
  { kind: 'wasm', sizes: GET_SIZES },
  { kind: 'auto', sizes: GET_SIZES },
  { kind: 'post-binary', sizes: [64, 384] },
  { kind: 'post-binary', query: 'mode=processes', sizes: [64, 384] },
  { kind: 'post-json', sizes: [16, 128] },
  { kind: 'post-json', query: 'mode=threads&workers=2', sizes: [16, 128] },
];
const SEEDS = 2;

export interface SoakRequest {
  /** The table row it counts in, e.g. "GET /add?mode=ts" or "POST /add?mode=processes (octet-stream)". */
  route: string;
  /** For examples of failures: method, path and seed. */
  what: string;
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
  expect: Expectation;
}

export interface Mix {
  /** Route label -> its requests. */
  routes: Map<string, SoakRequest[]>;
  /** The same requests as benchmark cases, for the full check of one answer each before the load. */
  cases: BenchCase[];
}

function withQuery(path: string, query: string | undefined): string {
  if (!query) return path;
  return `${path}${path.includes('?') ? '&' : '?'}${query}`;
}

function routeLabel(spec: RouteSpec): string {
  const label = caseLabel(spec.kind);
  return spec.query ? label.replace('POST /add', `POST /add?${spec.query}`) : label;
}

/** The soak's mix (every route below), or another list of routes. */
export function buildMix(ref: Reference, specs: readonly RouteSpec[] = ROUTES): Mix {
  const seeds = fixedSeeds(SEEDS);
  const routes = new Map<string, SoakRequest[]>();
  const cases: BenchCase[] = [];
  for (const spec of specs) {
    const route = routeLabel(spec);
    const requests: SoakRequest[] = [];
    for (const n of spec.sizes) {
      for (const dtype of DTYPES) {
        const base = buildCase(spec.kind, n, dtype, seeds, ref);
        const c: BenchCase = { ...base, id: `${route}@${n}/${dtype}`, label: route, requests: base.requests.map((r) => ({ ...r, path: withQuery(r.path, spec.query) })) };
        cases.push(c);
        for (const r of c.requests) {
          const output = spec.kind === 'post-json' ? c.expectedOutput?.get(r.seed) : undefined;
          requests.push({
            route,
            what: `${r.method} ${r.path.length > 90 ? `${r.path.slice(0, 90)}...` : r.path}${r.method === 'POST' ? ` (${dtype} ${n}x${n}, seed ${r.seed})` : ''}`,
            method: r.method,
            path: r.path,
            ...(r.headers && { headers: r.headers }),
            ...(r.body && { body: r.body }),
            expect: { request: r, raw: spec.kind === 'post-binary', lab: r.method === 'GET', ...(output && { output }) },
          });
        }
      }
    }
    routes.set(route, requests);
  }
  return { routes, cases };
}

/** A seeded generator (mulberry32): the same --seed gives the same sequence of picks and kills. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Picks a route uniformly, then one of its requests: every route gets the same share whatever its count of sizes. */
export function picker(mix: Mix, random: () => number): () => SoakRequest {
  const routes = [...mix.routes.values()];
  return () => {
    const list = routes[Math.floor(random() * routes.length)]!;
    return list[Math.floor(random() * list.length)]!;
  };
}
