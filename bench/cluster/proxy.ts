// A front proxy (HAProxy or nginx) as a child process, on the shipped
// configuration rendered for one run (proxy-config.ts): checked by the proxy
// itself first (haproxy -c, nginx -t), started in the foreground in a process
// group of its own, ready once it accepts connections, stopped by pid. Its
// view of the hosts comes from HAProxy's stats socket (state, retries) or from
// nginx's access log (every host a request was sent to).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatAddress, readShippedConfig, renderProxyConfig, type Address, type ProxyKind, type ProxySite } from './proxy-config.js';

/** The proxy's view of the run so far. */
export interface ProxyStats {
  /** Host name (host1, host2, ...) -> HAProxy's check state ("UP", "DOWN", "UP 1/2"...); empty for nginx (no active checks). */
  hostState: Record<string, string>;
  /** Requests the proxy has in progress with each host (HAProxy only). */
  hostSessions: Record<string, number>;
  /** Requests answered by the proxy (nginx: lines in the access log). */
  requests: number;
  /** Times a request was sent again, to the same host or another one. */
  retries: number;
  /** Answers with a 5xx status, the proxy's own included. */
  responses5xx: number;
}

/** Where Debian installs the proxies; a non-root PATH may lack /usr/sbin. */
export function proxyBinary(kind: ProxyKind): string | undefined {
  for (const candidate of [kind, `/usr/sbin/${kind}`]) {
    const r = spawnSync(candidate, ['-v'], { encoding: 'utf8' });
    if (r.status === 0) return candidate;
  }
  return undefined;
}

/** "HAProxy version 2.6.12-1+deb12u4 ..." or "nginx/1.22.1"; undefined when not installed. */
export function proxyVersion(kind: ProxyKind): string | undefined {
  const bin = proxyBinary(kind);
  if (!bin) return undefined;
  const r = spawnSync(bin, ['-v'], { encoding: 'utf8' });
  const text = `${r.stdout}${r.stderr}`;
  return (kind === 'haproxy' ? /HAProxy version (\S+)/ : /nginx\/(\S+)/).exec(text)?.[1];
}

/** A port nobody listens on right now at `host` (the OS picks it; it is free again when this resolves). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host, port: 0, exclusive: true }, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** True once something accepts TCP connections at `a`. */
export function accepts(a: Address, ms = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(a.port, a.host);
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(ms, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** One HAProxy runtime API command over its stats socket; resolves with the whole answer. */
function haproxyCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath, () => socket.end(`${command}\n`));
    let text = '';
    socket.setEncoding('utf8');
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer to "${command}" on ${socketPath}`)));
    socket.on('data', (d: string) => (text += d));
    socket.once('error', reject);
    socket.once('close', () => resolve(text));
  });
}

/** `show stat` CSV -> one record per row, by column name. */
export function parseHaproxyStat(csv: string): Record<string, string>[] {
  const lines = csv.split('\n').filter((l) => l.trim());
  const header = lines.shift()?.replace(/^# /, '').split(',') ?? [];
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [header[i] ?? String(i), v])));
}

/** The stats of HAProxy's "wasmatrix" backend and its servers. */
export function haproxyStats(rows: Record<string, string>[]): ProxyStats {
  const stats: ProxyStats = { hostState: {}, hostSessions: {}, requests: 0, retries: 0, responses5xx: 0 };
  for (const row of rows) {
    if (row.pxname === 'wasmatrix' && row.svname === 'FRONTEND') {
      stats.requests = Number(row.req_tot) || 0;
      stats.responses5xx = Number(row.hrsp_5xx) || 0;
    } else if (row.pxname === 'wasmatrix' && row.svname === 'BACKEND') {
      stats.retries = (Number(row.wretr) || 0) + (Number(row.wredis) || 0);
    } else if (row.pxname === 'wasmatrix') {
      stats.hostState[row.svname!] = row.status ?? '';
      stats.hostSessions[row.svname!] = Number(row.scur) || 0;
    }
  }
  return stats;
}

/** nginx access log lines (deploy/nginx.conf's "wasmatrix" format) -> stats. */
export function nginxStats(log: string): ProxyStats {
  const stats: ProxyStats = { hostState: {}, hostSessions: {}, requests: 0, retries: 0, responses5xx: 0 };
  for (const line of log.split('\n')) {
    const m = /" (\d{3}) \d+ \S+ upstream=(.*?) upstream_status=/.exec(line);
    if (!m) continue;
    stats.requests++;
    if (m[1]!.startsWith('5')) stats.responses5xx++;
    const tried = m[2] === '-' ? [] : m[2]!.split(/, | : /);
    stats.retries += Math.max(0, tried.length - 1);
  }
  return stats;
}

export class ProxyError extends Error {
  override name = 'ProxyError';
}

export class ProxyProcess {
  readonly kind: ProxyKind;
  readonly site: ProxySite;
  readonly url: string;
  readonly configPath: string;
  readonly logPath: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(kind: ProxyKind, site: ProxySite, bin: string) {
    this.kind = kind;
    this.site = site;
    this.url = `http://${formatAddress(site.listen)}`;
    this.configPath = join(site.runDir, kind === 'haproxy' ? 'haproxy.cfg' : 'nginx.conf');
    this.logPath = join(site.runDir, `${kind}.out`);
    writeFileSync(this.configPath, renderProxyConfig(kind, readShippedConfig(kind), site));
    const check = spawnSync(bin, kind === 'haproxy' ? ['-c', '-q', '-f', this.configPath] : ['-t', '-q', '-e', 'stderr', '-c', this.configPath], { encoding: 'utf8' });
    if (check.status !== 0) throw new ProxyError(`${kind} rejects the configuration ${this.configPath}:\n${check.stdout}${check.stderr}`);
    const out = openSync(this.logPath, 'a');
    this.child = spawn(bin, kind === 'haproxy' ? ['-db', '-f', this.configPath] : ['-e', 'stderr', '-c', this.configPath, '-g', 'daemon off;'], {
      detached: true, // a group of its own: nginx's workers go with its master
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    this.exited = once(this.child, 'exit').then(([code, signal]) => {
      this.#exit = { code: code as number | null, signal: signal as NodeJS.Signals | null };
    });
  }

  /** Renders, checks and starts the proxy; resolves once it accepts connections. */
  static async start(kind: ProxyKind, site: ProxySite, readyMs = 20_000): Promise<ProxyProcess> {
    const bin = proxyBinary(kind);
    if (!bin) throw new ProxyError(`${kind} is not installed (Debian: apt-get install ${kind})`);
    const proxy = new ProxyProcess(kind, site, bin);
    const deadline = Date.now() + readyMs;
    while (!(await accepts(site.listen))) {
      if (!proxy.alive || Date.now() > deadline) {
        await proxy.stop();
        throw new ProxyError(`${kind} did not start listening on ${formatAddress(site.listen)}: ${proxy.outputTail()}`);
      }
      await sleep(50);
    }
    return proxy;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.#exit === undefined;
  }

  outputTail(lines = 15): string {
    return existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n') : '';
  }

  async stats(): Promise<ProxyStats> {
    if (this.kind === 'haproxy') return haproxyStats(parseHaproxyStat(await haproxyCommand(join(this.site.runDir, 'wasmatrix.sock'), 'show stat')));
    const log = join(this.site.runDir, 'wasmatrix.access.log');
    return nginxStats(existsSync(log) ? readFileSync(log, 'utf8') : '');
  }

  /**
   * Resolves once every host's check state satisfies `ok` (HAProxy; nginx has no
   * checks and resolves at once); throws after `ms` with the states last seen.
   */
  async waitForHosts(what: string, ok: (state: string, host: string) => boolean, ms = 30_000): Promise<ProxyStats> {
    const deadline = Date.now() + ms;
    for (;;) {
      const stats = await this.stats();
      if (Object.entries(stats.hostState).every(([host, state]) => ok(state, host))) return stats;
      if (Date.now() > deadline) throw new ProxyError(`timed out after ${ms} ms waiting for ${what}: ${JSON.stringify(stats.hostState)}`);
      await sleep(100);
    }
  }

  /** Stops the proxy (SIGTERM: HAProxy and nginx stop at once), then SIGKILL to its group if anything is left. Idempotent. */
  async stop(): Promise<void> {
    if (this.alive) {
      this.child.kill('SIGTERM');
      await Promise.race([this.exited, sleep(5000)]);
    }
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // the group is gone
    }
  }
}
