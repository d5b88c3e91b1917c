// The shipped front-proxy configurations (deploy/haproxy.cfg, deploy/nginx.conf)
// made fit for one local run: only the lines the file itself tags with
// "# local: <what>" are rewritten (addresses, runtime paths, the timeouts and
// the body limit derived from the hosts' own options); every other line is
// used exactly as shipped, so what the tests and `npm run replicas` run is the
// production file. Pure: test/proxy-config.test.ts checks it line by line.
//
// Tags: listen (the proxy's address), servers (one line per host, from the first),
// "--timeout + 5 s" (the wait for a host), --max-body (the body limit, in bytes),
// runtime (paths: into the run's directory), user (dropped: a run keeps its user).

import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ROOT } from '../../src/paths.js';

export const PROXY_KINDS = ['haproxy', 'nginx'] as const;
export type ProxyKind = (typeof PROXY_KINDS)[number];

export const SHIPPED_CONFIG: Record<ProxyKind, string> = {
  haproxy: join(ROOT, 'deploy', 'haproxy.cfg'),
  nginx: join(ROOT, 'deploy', 'nginx.conf'),
};

/** Seconds the proxy waits for a host beyond the host's own --timeout, so the host's 504 arrives first. */
export const TIMEOUT_MARGIN_S = 5;
/** The proxy's wait for a host when the hosts have no job deadline (--timeout 0). */
export const NO_DEADLINE_WAIT_S = 3600;

export interface Address {
  host: string;
  port: number;
}

export interface ProxySite {
  listen: Address;
  hosts: Address[];
  /** The hosts' --timeout in seconds (0: none). */
  hostTimeout: number;
  /** The hosts' --max-body in bytes. */
  maxBody: number;
  /** Where pid files, sockets, logs and temporary files go. */
  runDir: string;
}

const TAG = /\s+# local: (.+)$/;

/** "host:port", with brackets for IPv6. */
export const formatAddress = (a: Address): string => `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;

/** The proxy's wait for an answer: the hosts' deadline plus the margin. */
export function proxyTimeoutSeconds(hostTimeout: number): number {
  return hostTimeout > 0 ? Math.ceil(hostTimeout) + TIMEOUT_MARGIN_S : NO_DEADLINE_WAIT_S;
}

type Rewrite = (line: string, site: ProxySite, kind: ProxyKind) => string[];

const ADDRESS = /\b\d{1,3}(?:\.\d{1,3}){3}:\d+\b/;

const REWRITES: Record<string, Rewrite> = {
  listen: (line, site) => [replaceOnce(line, ADDRESS, formatAddress(site.listen), 'an address')],
  // handled as a block in renderProxyConfig
  servers: () => [],
  '--timeout + 5 s': (line, site) => [replaceOnce(line, /\b\d+s\b/, `${proxyTimeoutSeconds(site.hostTimeout)}s`, 'a duration')],
  '--max-body': (line, site) => {
    const shipped = /\b\d{4,}\b/.exec(line)?.[0];
    if (!shipped) throw new Error(`no byte count in: ${line.trim()}`);
    return [line.replaceAll(shipped, String(site.maxBody))];
  },
  runtime: (line, site) => [line.replace(/\/[\w./-]+/g, (path) => join(site.runDir, basename(path)))],
  // a local run keeps the user it was started as (switching needs root, and the run directory is private)
  user: () => [],
};

function replaceOnce(line: string, pattern: RegExp, value: string, what: string): string {
  if (!pattern.test(line)) throw new Error(`no ${what} in: ${line.trim()}`);
  return line.replace(pattern, value);
}

/** One server line per host from the first shipped one: its options kept, its name and address replaced. */
function serverLines(template: string, hosts: Address[], kind: ProxyKind): string[] {
  return hosts.map((h, i) => {
    let line = replaceOnce(template, ADDRESS, formatAddress(h), 'an address');
    if (kind === 'haproxy') line = replaceOnce(line, /\bserver \S+/, `server host${i + 1}`, 'a server name');
    return line;
  });
}

/**
 * The configuration text for `site`: tagged lines rewritten (tags removed),
 * the tagged server lines replaced by one per host. Throws if the file has a
 * tag this code does not know, or lacks one it needs: the shipped file and the
 * runs must not drift apart silently.
 */
export function renderProxyConfig(kind: ProxyKind, text: string, site: ProxySite): string {
  if (site.hosts.length === 0) throw new Error('a proxy needs at least one host');
  const out: string[] = [];
  const seen = new Set<string>();
  let serversDone = false;
  for (const line of text.split('\n')) {
    const tag = TAG.exec(line);
    if (!tag) {
      out.push(line);
      continue;
    }
    const what = tag[1]!.trim();
    const rewrite = REWRITES[what];
    if (!rewrite) throw new Error(`${kind}: unknown "# local: ${what}" tag`);
    seen.add(what);
    const bare = line.replace(TAG, '');
    if (what === 'servers') {
      if (!serversDone) out.push(...serverLines(bare, site.hosts, kind));
      serversDone = true;
      continue;
    }
    out.push(...rewrite(bare, site, kind));
  }
  for (const needed of ['listen', 'servers', '--timeout + 5 s', '--max-body', 'runtime']) {
    if (!seen.has(needed)) throw new Error(`${kind}: the configuration has no "# local: ${needed}" line`);
  }
  return out.join('\n');
}

export function readShippedConfig(kind: ProxyKind): string {
  return readFileSync(SHIPPED_CONFIG[kind], 'utf8');
}
