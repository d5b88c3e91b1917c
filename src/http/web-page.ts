// The web page (GET / from a browser) and /favicon.ico. The page is one
// document: src/web/index.html with its style sheet, its script and the
// server's catalogue (ops, modes, dtypes, kernels, limits) inlined, so a
// browser gets everything in one response, with no build step and no CDN.
// Both are made once per HTTP thread at start-up and served from memory,
// identity or gzip, with a strong ETag (304 on revalidation) and HEAD.
// src/web/ is read from the package root (src/paths.ts), so the compiled
// server in dist/ finds the same files as tsx.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DTYPES, KERNELS, MODES, OPS, isElementwiseOp, type Mode } from '../vocabulary.js';
import { WEB_DIR } from '../paths.js';
import type { Exchange } from './exchange.js';
import { acceptsEncoding, etagMatches } from './negotiate.js';
import { DEFAULT_N, MAX_SEED } from './request.js';
import { send, sendNotModified, type Headers } from './respond.js';

/** What the page offers, from the server's own lists: a new op route, mode or dtype shows up without touching the page. */
export interface Catalogue {
  name: string;
  version: string;
  /** The ops a GET route runs as a seeded random job; `dims`: the shape parameters besides the square `n` (none: square only). */
  ops: { op: string; path: string; dims: string[] }[];
  modes: readonly string[];
  dtypes: readonly string[];
  kernels: readonly string[];
  /** --max-n: the largest side. */
  maxN: number;
  /** The largest `workers` of each mode. */
  maxWorkers: Record<string, number>;
  defaultN: number;
  maxSeed: number;
}

/** Ops whose GET route takes rows and cols besides n; any other op is offered on the page as square n only. */

/**
 * The catalogue of this server: the ops that have a GET route (`routes`: path to
 * methods, the server's route table), the engines' modes with their pool sizes,
 * the dtypes and kernels, the limits.
 */
export function catalogue(s: { name: string; version: string; maxN: number; maxWorkers(mode: Mode): number; routes: Record<string, string[]> }): Catalogue {
  return {
    name: s.name,
    version: s.version,
    ops: OPS.filter((op) => s.routes[`/${op}`]?.includes('GET')).map((op) => ({ op, path: `/${op}`, dims: isElementwiseOp(op) ? ['rows', 'cols'] : [] })),
    // the modes this server offers (cluster only with --nats)
    modes: MODES.filter((mode) => s.maxWorkers(mode) > 0),
    dtypes: DTYPES,
    kernels: KERNELS,
    maxN: s.maxN,
    maxWorkers: Object.fromEntries(MODES.filter((mode) => s.maxWorkers(mode) > 0).map((mode) => [mode, s.maxWorkers(mode)])),
    defaultN: DEFAULT_N,
    maxSeed: MAX_SEED,
  };
}

/** Request headers that choose a representation, read in the synchronous handler. */
export interface Conditional {
  acceptEncoding: string;
  ifNoneMatch: string;
}

/** One resource held in memory, as identity and as gzip (when that is smaller). */
export class Representation {
  readonly #identity: Buffer;
  readonly #gzip: Buffer | undefined;
  readonly #etag: string;
  readonly #headers: Headers;
  readonly #contentType: string;

  constructor(body: Buffer, contentType: string, headers: Headers) {
    this.#identity = body;
    const gz = gzipSync(body, { level: 9 });
    this.#gzip = gz.byteLength < body.byteLength ? gz : undefined;
    this.#etag = createHash('sha256').update(body).digest('base64url').slice(0, 22);
    this.#headers = headers;
    this.#contentType = contentType;
  }

  /** 200 with the body (gzip if the client takes it), or 304 when the client's copy is current; HEAD without the body (send()). */
  serve(ex: Exchange, c: Conditional): void {
    const gzip = this.#gzip !== undefined && acceptsEncoding(c.acceptEncoding, 'gzip');
    // each encoding is its own representation, so its own strong validator
    const etag = `"${this.#etag}${gzip ? '-gz' : ''}"`;
    const headers: Headers = { ...this.#headers, etag };
    if (this.#gzip) headers.vary = headers.vary ? `${headers.vary}, Accept-Encoding` : 'Accept-Encoding';
    if (c.ifNoneMatch !== '' && etagMatches(c.ifNoneMatch, etag)) return sendNotModified(ex, headers);
    if (gzip) headers['content-encoding'] = 'gzip';
    send(ex, 200, this.#contentType, gzip ? this.#gzip! : this.#identity, headers);
  }
}

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** Replaces every `@@NAME@@` in `template` (a function replacement: `$` in the values stays literal). */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(/@@([A-Z]+)@@/g, (whole, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`src/web/index.html: no value for ${whole}`);
    return v;
  });
}

/** The catalogue as a JSON script block's text: `<` escaped so no value can close the block. */
const jsonForScript = (value: unknown): string => JSON.stringify(value).replaceAll('<', '\\u003c');

export class WebPage {
  readonly page: Representation;
  readonly favicon: Representation;

  constructor(catalogue: Catalogue) {
    const read = (file: string): string => readFileSync(join(WEB_DIR, file), 'utf8');
    const style = read('style.css');
    const script = read('charts.js') + '\n' + read('app.js');
    const html = fill(read('index.html'), {
      TITLE: `${catalogue.name} ${catalogue.version}`,
      STYLE: style,
      CATALOGUE: jsonForScript(catalogue),
      SCRIPT: script,
    });
    // the inline style and script are allowed by their hashes, nothing else runs or loads from elsewhere
    const csp = [
      "default-src 'none'",
      `script-src ${sha256(script)}`,
      `style-src ${sha256(style)}`,
      "connect-src 'self'",
      "img-src 'self'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; ');
    this.page = new Representation(Buffer.from(html), 'text/html; charset=utf-8', {
      // revalidated on every visit (the ETag makes that a 304): a new server version shows at once
      'cache-control': 'no-cache',
      vary: 'Accept',
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    this.favicon = new Representation(readFileSync(join(WEB_DIR, 'favicon.ico')), 'image/x-icon', {
      'cache-control': 'public, max-age=604800',
    });
  }
}
