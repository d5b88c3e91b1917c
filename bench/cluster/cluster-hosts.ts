// The hosts of a local cluster run: nats-server (JetStream on) on one host,
// worker hosts (`main.js worker --nats ...`) on others, the HTTP server with
// `--nats` on another. As root each is a network namespace of its own on one
// bridge (network.ts), so a worker's link can be taken down while it runs;
// otherwise 127.0.0.x addresses. Every process is recorded in the run
// directory and stopped by stop(), by an exit handler if the process ends
// otherwise, or by the next run (cleanStaleRuns, cleanStaleNetworks).

import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { metricSum } from '../http/prometheus.js';
import { SERVER_ENTRY, ServerProcess } from '../http/server-process.js';
import { Daemon } from './daemon.js';
import { canUseNamespaces, cleanStaleNetworks, loopbackNetwork, namespaceNetwork, type HostSlot, type Network } from './network.js';
import { cleanStaleRuns, killOurGroup, makeRunDir, recordGroup } from './processes.js';
import { formatAddress } from './proxy-config.js';
import { freePort } from './proxy.js';

/** The nats-server binary (Debian puts it in /usr/sbin, which a non-root PATH may lack), or undefined. */
export function natsServerBinary(): string | undefined {
  const onPath = (process.env.PATH ?? '').split(':').map((d) => join(d, 'nats-server'));
  return [...onPath, '/usr/sbin/nats-server', '/usr/bin/nats-server'].find((p) => existsSync(p));
}

/** nats-server's client and monitoring ports inside its namespace (loopback: free ports). */
const NATS_NETNS_PORT = 4222;
const NATS_NETNS_MONITOR_PORT = 8222;
/** Bound of every wait for a process to be ready. */
const READY_MS = 60_000;

export interface ClusterOptions {
  /** Worker hosts (each its own namespace). */
  workers: number;
  /** Network namespaces (root); else 127.0.0.x. */
  netns: boolean;
  /** Flags of the HTTP server besides -b and --nats. */
  serverArgs: string[];
  /** --threads of every worker. */
  workerThreads: number;
  /** Workers started at once (default all); the others wait for WorkerHost.start(). */
  startWorkers?: number;
  /** Ends every wait of until() at once (Ctrl-C). */
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** One worker host: its place in the network and the worker process running there now. */
export class WorkerHost {
  readonly slot: HostSlot;
  readonly name: string;
  #daemon: Daemon | undefined;
  readonly #start: () => Daemon;

  constructor(slot: HostSlot, name: string, start: () => Daemon) {
    this.slot = slot;
    this.name = name;
    this.#start = start;
  }

  get alive(): boolean {
    return this.#daemon?.alive ?? false;
  }

  get process(): Daemon | undefined {
    return this.#daemon;
  }

  /** Starts the worker; resolves once it printed `worker ready`. */
  async start(): Promise<void> {
    if (this.#daemon?.alive) throw new Error(`${this.name} is already running`);
    this.#daemon = this.#start();
    await this.#daemon.waitForLine(/^worker ready\b/, READY_MS);
  }

  /**
   * Test hooks (the worker runs with WASMATRIX_TEST_HOOKS=1): from now on it
   * keeps the bands it takes at its gate until release(). Resolves once it
   * acknowledged; returns the index of its next output line.
   */
  async hold(): Promise<number> {
    return this.#hook('hold');
  }

  async release(): Promise<number> {
    return this.#hook('release');
  }

  async #hook(command: 'hold' | 'release'): Promise<number> {
    const d = this.#daemon!;
    const from = d.lines.length;
    const ack = `test-hooks: ${command}`;
    d.send(command);
    await d.waitForLine(new RegExp(`^${ack}$`), READY_MS, from);
    return d.lines.indexOf(ack, from) + 1;
  }

  /** The first band it takes from output line `from` on (test hooks print each one), within `ms`. */
  async bandTaken(from: number, ms = READY_MS): Promise<BandTaken> {
    return parseBandTaken(await this.#daemon!.waitForLine(BAND_TAKEN, ms, from));
  }

  /** Every band it reported taking, in order. */
  bandsTaken(): BandTaken[] {
    return (this.#daemon?.lines ?? []).filter((l) => BAND_TAKEN.test(l)).map(parseBandTaken);
  }

  /** SIGKILL to its whole group: a host that dies at once. */
  async kill(): Promise<void> {
    await this.#daemon?.kill();
  }

  /** SIGTERM (it drains), SIGKILL after `graceMs`; how it ended. */
  async stop(graceMs = 15_000): Promise<string> {
    return (await this.#daemon?.stop(graceMs)) ?? 'not running';
  }
}

/** What a worker's test hooks print for every band it takes. */
export interface BandTaken {
  job: string;
  band: number;
  delivery: number;
}
const BAND_TAKEN = /^test-hooks: band taken job=(\S+) band=(\d+) delivery=(\d+)$/;
function parseBandTaken(line: string): BandTaken {
  const m = BAND_TAKEN.exec(line)!;
  return { job: m[1]!, band: Number(m[2]), delivery: Number(m[3]) };
}

export class ClusterHosts {
  readonly options: ClusterOptions;
  readonly runDir: string;
  readonly network: Network;
  readonly natsSlot: HostSlot;
  readonly serverSlot: HostSlot;
  readonly workers: WorkerHost[];
  readonly natsUrl: string;
  /** nats-server's monitoring endpoint (/varz: bytes and messages in and out). */
  natsMonitorUrl = '';
  nats!: Daemon;
  server!: ServerProcess;
  #stopped = false;
  readonly #onExit = (): void => this.#killNow();

  private constructor(options: ClusterOptions, runDir: string, network: Network) {
    this.options = options;
    this.runDir = runDir;
    this.network = network;
    this.natsSlot = network.slots[0]!;
    this.serverSlot = network.slots.at(-1)!;
    const natsPort = network.kind === 'netns' ? NATS_NETNS_PORT : this.natsSlot.address.port;
    this.natsUrl = `nats://${this.natsSlot.address.host}:${natsPort}`;
    this.workers = network.slots.slice(1, -1).map((slot, i) => {
      const name = `host${i + 1}`;
      return new WorkerHost(slot, name, () => {
        const args = [SERVER_ENTRY, 'worker', '--nats', this.natsUrl, '--threads', String(options.workerThreads), '--name', name];
        // test hooks on: hold()/release() and a line per band taken (docs/cluster.md)
        return this.#record(new Daemon({ name, command: process.execPath, args, prefix: slot.prefix, env: { WASMATRIX_TEST_HOOKS: '1' }, stdin: true }));
      });
    });
    mkdirSync(join(runDir, 'jetstream'));
    process.on('exit', this.#onExit);
  }

  /** Starts nats-server, the workers and the server; resolves once the server lists every worker. Stops everything if any of it fails. */
  static async start(options: ClusterOptions): Promise<ClusterHosts> {
    const log = options.log ?? (() => {});
    const stale = [...cleanStaleRuns(), ...cleanStaleNetworks()];
    if (stale.length) log(`removed what earlier runs left behind: ${stale.join(', ')}`);
    if (!natsServerBinary()) throw new Error('nats-server is not installed (Debian: apt-get install nats-server)');
    if (options.netns && !canUseNamespaces()) throw new Error('network namespaces need root and a working `ip netns`');
    const runDir = makeRunDir();
    const hosts = options.workers + 2;
    let network: Network;
    try {
      network = options.netns ? namespaceNetwork(hosts) : await loopbackNetwork(hosts);
    } catch (e) {
      rmSync(runDir, { recursive: true, force: true });
      throw e;
    }
    const c = new ClusterHosts(options, runDir, network);
    const monitorPort = network.kind === 'netns' ? NATS_NETNS_MONITOR_PORT : await freePort(c.natsSlot.address.host);
    c.natsMonitorUrl = `http://${c.natsSlot.address.host}:${monitorPort}`;
    try {
      log(`nats-server (JetStream) at ${c.natsUrl}, ${options.workers} worker hosts, the server at ${formatAddress(c.serverSlot.address)} (${network.kind})`);
      await c.startNats();
      const first = c.workers.slice(0, options.startWorkers ?? options.workers);
      await Promise.all(first.map((w) => w.start()));
      c.server = await ServerProcess.start({ args: ['--nats', c.natsUrl, ...options.serverArgs], bind: formatAddress(c.serverSlot.address), prefix: c.serverSlot.prefix, graceMs: 15_000 });
      recordGroup(runDir, c.server.pid);
      await c.waitForWorkers(first.length);
      return c;
    } catch (e) {
      await c.stop();
      throw e;
    }
  }

  get url(): string {
    return this.server.url;
  }

  #record(d: Daemon): Daemon {
    recordGroup(this.runDir, d.pid);
    return d;
  }

  /** Starts nats-server on its host, with the run's JetStream store (kept across restarts); resolves once it is ready. */
  async startNats(): Promise<void> {
    const port = this.natsUrl.split(':').at(-1)!;
    const args = ['-js', '-sd', join(this.runDir, 'jetstream'), '-a', this.natsSlot.address.host, '-p', port, '-m', this.natsMonitorUrl.split(':').at(-1)!];
    this.nats = this.#record(new Daemon({ name: 'nats-server', command: natsServerBinary()!, args, prefix: this.natsSlot.prefix }));
    await this.nats.waitForLine(/Server is ready/, READY_MS);
  }

  /** The server's /healthz `cluster` object (undefined when it has none or does not answer). */
  async clusterHealth(): Promise<Record<string, unknown> | undefined> {
    try {
      const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(5000) });
      const json = (await res.json()) as { cluster?: Record<string, unknown> };
      return json.cluster;
    } catch {
      return undefined;
    }
  }

  /** nats-server's totals since it started: messages and bytes it received from clients and sent to them. */
  async natsTraffic(): Promise<{ in_msgs: number; out_msgs: number; in_bytes: number; out_bytes: number }> {
    const res = await fetch(`${this.natsMonitorUrl}/varz`, { signal: AbortSignal.timeout(5000) });
    return (await res.json()) as { in_msgs: number; out_msgs: number; in_bytes: number; out_bytes: number };
  }

  async metrics(): Promise<string> {
    const res = await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(5000) });
    return res.text();
  }

  /** wasmatrix_cluster_bands_total{outcome}, 0 when absent. */
  async bands(outcome: 'sent' | 'done' | 'redelivered' | 'failed' | 'abandoned'): Promise<number> {
    return metricSum(await this.metrics(), 'wasmatrix_cluster_bands_total', { outcome }) ?? 0;
  }

  /** Workers the server sees live (wasmatrix_cluster_workers). */
  async liveWorkers(): Promise<number> {
    return metricSum(await this.metrics(), 'wasmatrix_cluster_workers') ?? 0;
  }

  /** Until `ok()` holds, polling every 100 ms, at most `ms`; `what` names it in the error. Returns the seconds it took. */
  async until(what: string, ok: () => Promise<boolean>, ms = READY_MS): Promise<number> {
    const t0 = Date.now();
    for (;;) {
      if (await ok().catch(() => false)) return (Date.now() - t0) / 1000;
      if (this.options.signal?.aborted) throw new Error(`interrupted while waiting: ${what}`);
      if (Date.now() - t0 > ms) throw new Error(`not within ${ms / 1000} s: ${what}`);
      await sleep(100);
    }
  }

  /** Until the server counts exactly `n` live workers. */
  waitForWorkers(n: number, ms = READY_MS): Promise<number> {
    return this.until(`the server sees ${n} live worker${n === 1 ? '' : 's'}`, async () => (await this.liveWorkers()) === n, ms);
  }

  /** Stops the server, the workers (drain), nats-server, the network; removes the run directory. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    try {
      await this.server?.stop();
      await Promise.all(this.workers.map((w) => w.stop()));
      await this.nats?.stop();
    } finally {
      this.network.destroy();
      rmSync(this.runDir, { recursive: true, force: true });
      process.off('exit', this.#onExit);
    }
  }

  /** The exit handler's synchronous last resort. */
  #killNow(): void {
    if (this.#stopped) return;
    if (this.server) killOurGroup(this.server.pid);
    for (const w of this.workers) if (w.process) killOurGroup(w.process.pid);
    if (this.nats) killOurGroup(this.nats.pid);
    this.network.destroy();
    rmSync(this.runDir, { recursive: true, force: true });
  }
}
