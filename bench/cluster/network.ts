// Where the hosts of a local run live. Two layouts:
// - loopback: host i listens on 127.0.0.(10+i), on a free port; needs no privilege;
// - netns (root): host i runs in a Linux network namespace of its own, with its own
//   address on a bridge in the root namespace (where the proxy runs): a veth pair
//   per host, so one host's link can be taken down while its process keeps running.
// Every global name (namespaces, links) carries this process's pid, and
// cleanStaleNetworks() removes those of runs whose process is gone (a run
// killed before it could clean up), so concurrent runs never touch each other.

import { execFileSync } from 'node:child_process';
import { isAlive } from './processes.js';
import { freePort } from './proxy.js';
import type { Address } from './proxy-config.js';

/** Prefix of every namespace, bridge and veth name a run makes: wmx<pid>... and wmx-<pid>-... */
export const NAME_PREFIX = 'wmx';
/** The hosts listen on this port inside their namespaces. */
const NETNS_PORT = 8000;
/** Subnets 10.213.K.0/24 are tried, K from the pid, until one is unused on this machine. */
const SUBNET_BASE = '10.213';

export interface HostSlot {
  /** 1-based, as in host1, host2... */
  index: number;
  address: Address;
  /** The command the host's server runs under (empty: directly). */
  prefix: string[];
}

export interface Network {
  readonly kind: 'loopback' | 'netns';
  readonly slots: HostSlot[];
  /** Takes host i's link down (its process keeps running, unreachable) and back up; netns only. */
  setLink(index: number, up: boolean): void;
  /** Removes everything it made. Idempotent, never throws. */
  destroy(): void;
}

function ip(args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')}: ${(err.stderr || err.message).trim()}`);
  }
}

function ipQuiet(args: string[]): void {
  try {
    ip(args);
  } catch {
    // already gone
  }
}

/** True when this process may make network namespaces (root, and `ip netns` works). */
export function canUseNamespaces(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    ip(['netns', 'list']);
    return true;
  } catch {
    return false;
  }
}

export async function loopbackNetwork(hosts: number): Promise<Network> {
  const slots: HostSlot[] = [];
  for (let i = 1; i <= hosts; i++) {
    const host = `127.0.0.${10 + i}`;
    slots.push({ index: i, address: { host, port: await freePort(host) }, prefix: [] });
  }
  return {
    kind: 'loopback',
    slots,
    setLink: () => {
      throw new Error('links can only be cut between network namespaces (--netns, as root)');
    },
    destroy: () => {},
  };
}

/** The names of one run's objects. */
export function netnsNames(pid: number, index: number): { ns: string; veth: string; peer: string } {
  return { ns: `${NAME_PREFIX}-${pid}-h${index}`, veth: `${NAME_PREFIX}${pid}h${index}`, peer: `${NAME_PREFIX}${pid}h${index}n` };
}
const bridgeName = (pid: number): string => `${NAME_PREFIX}${pid}br`;

/** A /24 of 10.213.0.0/16 that no address or route on this machine uses yet. */
function freeSubnet(): string {
  const used = ip(['-4', '-o', 'addr', 'show']) + ip(['-4', 'route', 'show', 'table', 'all']);
  for (let k = 0; k < 250; k++) {
    const subnet = `${SUBNET_BASE}.${((process.pid + k) % 250) + 1}`;
    if (!used.includes(`${subnet}.`)) return subnet;
  }
  throw new Error(`no free /24 left in ${SUBNET_BASE}.0.0/16`);
}

export function namespaceNetwork(hosts: number): Network {
  const pid = process.pid;
  const bridge = bridgeName(pid);
  const made: { namespaces: string[]; links: string[] } = { namespaces: [], links: [] };
  const destroy = (): void => {
    for (const ns of made.namespaces.splice(0)) {
      killNamespaceProcesses(ns);
      ipQuiet(['netns', 'del', ns]); // its end of the veth pair goes with it, and so the pair
    }
    for (const link of made.links.splice(0)) ipQuiet(['link', 'del', link]);
  };
  try {
    const subnet = freeSubnet();
    ip(['link', 'add', bridge, 'type', 'bridge']);
    made.links.push(bridge);
    ip(['addr', 'add', `${subnet}.1/24`, 'dev', bridge]);
    ip(['link', 'set', bridge, 'up']);
    const slots: HostSlot[] = [];
    for (let i = 1; i <= hosts; i++) {
      const { ns, veth, peer } = netnsNames(pid, i);
      const address = `${subnet}.${10 + i}`;
      ip(['netns', 'add', ns]);
      made.namespaces.push(ns);
      ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', peer]);
      made.links.push(veth);
      ip(['link', 'set', veth, 'master', bridge, 'up']);
      ip(['link', 'set', peer, 'netns', ns]);
      ip(['-n', ns, 'link', 'set', peer, 'name', 'eth0']);
      ip(['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      ip(['-n', ns, 'route', 'add', 'default', 'via', `${subnet}.1`]);
      slots.push({ index: i, address: { host: address, port: NETNS_PORT }, prefix: ['ip', 'netns', 'exec', ns] });
    }
    return {
      kind: 'netns',
      slots,
      // the root side of the pair: the host keeps its address and routes, it only loses its carrier
      setLink: (index, up) => ip(['link', 'set', netnsNames(pid, index).veth, up ? 'up' : 'down']),
      destroy,
    };
  } catch (e) {
    destroy();
    throw e;
  }
}

/** SIGKILLs every process left inside a namespace (a host whose run died before stopping it). */
function killNamespaceProcesses(ns: string): void {
  let pids: number[] = [];
  try {
    pids = ip(['netns', 'pids', ns]).split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return;
  }
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/**
 * Removes the namespaces and links of earlier runs whose process is gone
 * (names carry the pid), with whatever still runs inside them. Returns what
 * it removed. Runs that are alive, and every other name, are left alone.
 */
export function cleanStaleNetworks(): string[] {
  if (!canUseNamespaces()) return [];
  const removed: string[] = [];
  const stale = (pid: string): boolean => Number(pid) !== process.pid && !isAlive(Number(pid));
  for (const line of ip(['netns', 'list']).split('\n')) {
    const name = line.split(' ')[0]!;
    const m = new RegExp(`^${NAME_PREFIX}-(\\d+)-h\\d+$`).exec(name);
    if (!m || !stale(m[1]!)) continue;
    killNamespaceProcesses(name);
    ipQuiet(['netns', 'del', name]);
    removed.push(name);
  }
  for (const line of ip(['-o', 'link', 'show']).split('\n')) {
    const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1];
    const m = name ? new RegExp(`^${NAME_PREFIX}(\\d+)(?:br|h\\d+n?)$`).exec(name) : null;
    if (!m || !stale(m[1]!)) continue;
    ipQuiet(['link', 'del', name!]);
    removed.push(name!);
  }
  return removed;
}
