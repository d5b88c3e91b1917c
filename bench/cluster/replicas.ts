// Several hosts of the service on one machine behind a front proxy: the hosts
// (each the production server in a process group of its own, on its own
// address: a network namespace or a 127.0.0.x address), the proxy on the
// shipped configuration, and what a test or `npm run replicas` does to them
// (kill a host's whole group, cut its link, drain and restart it). Everything
// a run starts or makes is recorded in its run directory and removed by
// stop(), by an exit handler if the process ends otherwise, or by the next run
// (cleanStaleRuns, cleanStaleNetworks) if this one was killed.

import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseCommandLine } from '../../src/cli/options.js';
import { metricSum } from '../http/prometheus.js';
import { ServerProcess } from '../http/server-process.js';
import { canUseNamespaces, cleanStaleNetworks, loopbackNetwork, namespaceNetwork, type HostSlot, type Network } from './network.js';
import { cleanStaleRuns, killOurGroup, makeRunDir, recordGroup } from './processes.js';
import { formatAddress, type Address, type ProxyKind } from './proxy-config.js';
import { freePort, ProxyProcess } from './proxy.js';

export interface ReplicasOptions {
  hosts: number;
  proxy: ProxyKind;
  /** The proxy's port on 127.0.0.1; 0: a free one. */
  port: number;
  /** Each host in a network namespace of its own (needs root). */
  netns: boolean;
  /** Flags for every host's server (its address is the run's). */
  serverArgs: string[];
  /** Hosts with test hooks (hold/release). */
  testHooks?: boolean;
  /** Seconds SIGTERM gets to drain a host before SIGKILL. */
  graceSeconds?: number;
  log?: (line: string) => void;
}

/** HAProxy's state of a host that takes requests. */
export const isUp = (state: string): boolean => state === 'UP';
/** HAProxy's state of a host it took out. */
export const isDown = (state: string): boolean => state.startsWith('DOWN');

/** One host: its place in the network and the server process running there now (none while it is down). */
export class Host {
  readonly slot: HostSlot;
  readonly name: string;
  #server: ServerProcess | undefined;
  readonly #start: () => Promise<ServerProcess>;

  constructor(slot: HostSlot, start: () => Promise<ServerProcess>) {
    this.slot = slot;
    this.name = `host${slot.index}`;
    this.#start = start;
  }

  get url(): string {
    return `http://${formatAddress(this.slot.address)}`;
  }

  get server(): ServerProcess | undefined {
    return this.#server;
  }

  /** Pool jobs the host holds right now (taken by a worker or queued), both pools together. */
  async heldJobs(): Promise<number> {
    const text = await this.#metrics();
    return (metricSum(text, 'wasmatrix_pool_busy_workers') ?? 0) + (metricSum(text, 'wasmatrix_pool_queue_length') ?? 0);
  }

  /** Requests the running server has answered (on `route`, with `status`; default all). */
  async answered(labels: Record<string, string> = {}): Promise<number> {
    return metricSum(await this.#metrics(), 'wasmatrix_http_requests_total', labels) ?? 0;
  }

  async #metrics(): Promise<string> {
    const res = await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(5000) });
    return res.text();
  }

  /** Starts the server; resolves once its /healthz answers 200. */
  async start(): Promise<ServerProcess> {
    if (this.#server?.alive) throw new Error(`${this.name} is already running`);
    this.#server = await this.#start();
    return this.#server;
  }

  /** SIGKILL to the host's whole process group (server and kernel children): a host that dies at once. */
  async kill(): Promise<void> {
    const s = this.#server;
    if (!s) return;
    s.signalGroup('SIGKILL');
    await s.exited;
  }

  /**
   * SIGTERM to the whole group, as systemd (KillMode=control-group) and Ctrl-C
   * send it: the server drains and exits. Resolves with how it ended.
   */
  async terminate(ms: number): Promise<string> {
    const s = this.#server;
    if (!s) return 'not running';
    s.signalGroup('SIGTERM');
    await Promise.race([s.exited, sleep(ms)]);
    return s.alive ? `still running ${ms} ms after SIGTERM` : s.exitDescription;
  }

  /** Stops whatever runs (drain, then SIGKILL to the group). */
  async stop(): Promise<void> {
    await this.#server?.stop();
  }
}

export class Replicas {
  readonly options: ReplicasOptions;
  readonly runDir: string;
  readonly network: Network;
  readonly hosts: Host[];
  proxy!: ProxyProcess;
  #stopped = false;
  readonly #onExit = (): void => this.#killNow();

  private constructor(options: ReplicasOptions, runDir: string, network: Network) {
    this.options = options;
    this.runDir = runDir;
    this.network = network;
    const graceMs = (options.graceSeconds ?? 30) * 1000;
    this.hosts = network.slots.map(
      (slot) =>
        new Host(slot, async () => {
          const server = await ServerProcess.start({
            args: options.serverArgs,
            bind: formatAddress(slot.address),
            prefix: slot.prefix,
            testHooks: options.testHooks ?? false,
            graceMs,
          });
          recordGroup(runDir, server.pid);
          return server;
        }),
    );
    process.on('exit', this.#onExit);
  }

  /** Starts the hosts and the proxy; resolves once the proxy sees every host healthy. Stops everything if any of it fails. */
  static async start(options: ReplicasOptions): Promise<Replicas> {
    const log = options.log ?? (() => {});
    const stale = [...cleanStaleRuns(), ...cleanStaleNetworks()];
    if (stale.length) log(`removed what earlier runs left behind: ${stale.join(', ')}`);
    if (options.netns && !canUseNamespaces()) throw new Error('--netns needs root and a working `ip netns` (without it, the hosts run on 127.0.0.x)');
    // the hosts' own limits, as the server reads them (flags, then WASMATRIX_* variables, then defaults)
    const command = parseCommandLine(options.serverArgs);
    if (command.kind !== 'serve') throw new Error('the server arguments ask for --help or --version');
    const runDir = makeRunDir();
    let network: Network;
    try {
      network = options.netns ? namespaceNetwork(options.hosts) : await loopbackNetwork(options.hosts);
    } catch (e) {
      rmSync(runDir, { recursive: true, force: true });
      throw e;
    }
    const replicas = new Replicas(options, runDir, network);
    try {
      log(`starting ${options.hosts} hosts (${network.kind}): ${network.slots.map((s) => formatAddress(s.address)).join(', ')}`);
      await Promise.all(replicas.hosts.map((h) => h.start()));
      const listen: Address = { host: '127.0.0.1', port: options.port || (await freePort('127.0.0.1')) };
      const site = { listen, hosts: network.slots.map((s) => s.address), hostTimeout: command.config.timeout, maxBody: command.config.maxBody, runDir };
      log(`starting ${options.proxy} on ${formatAddress(listen)} (${runDir})`);
      replicas.proxy = await ProxyProcess.start(options.proxy, site);
      recordGroup(runDir, replicas.proxy.pid);
      await replicas.waitUntilServing();
      return replicas;
    } catch (e) {
      await replicas.stop();
      throw e;
    }
  }

  get url(): string {
    return this.proxy.url;
  }

  /** Until the proxy sends requests to every host: HAProxy's checks all UP; nginx (no checks) answering /healthz. */
  async waitUntilServing(ms = 30_000): Promise<void> {
    if (this.proxy.kind === 'haproxy') {
      await this.proxy.waitForHosts('every host UP', isUp, ms);
      return;
    }
    const deadline = Date.now() + ms;
    for (;;) {
      const status = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.arrayBuffer().then(() => r.status),
        () => 0,
      );
      if (status === 200) return;
      if (Date.now() > deadline) throw new Error(`nginx did not answer /healthz with 200 within ${ms} ms (last: ${status})`);
      await sleep(100);
    }
  }

  /** Until HAProxy's check state of host `index` satisfies `ok`. */
  async waitForHost(index: number, what: string, ok: (state: string) => boolean, ms = 30_000): Promise<void> {
    const name = this.hosts[index - 1]!.name;
    await this.proxy.waitForHosts(`${name} ${what}`, (state, host) => host !== name || ok(state), ms);
  }

  /** Stops the hosts (drain), the proxy, the network; removes the run directory. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    try {
      await Promise.all(this.hosts.map((h) => h.stop()));
      await this.proxy?.stop();
    } finally {
      this.network.destroy();
      rmSync(this.runDir, { recursive: true, force: true });
      process.off('exit', this.#onExit);
    }
  }

  /** The exit handler's synchronous last resort. */
  #killNow(): void {
    if (this.#stopped) return;
    for (const h of this.hosts) if (h.server) killOurGroup(h.server.pid);
    if (this.proxy) killOurGroup(this.proxy.pid);
    this.network.destroy();
    rmSync(this.runDir, { recursive: true, force: true });
  }
}
