// Reading Linux /proc: a process tree found by parent pid, its CPU ticks and
// memory, the whole machine's CPU ticks, and which process listens on a port.
// The parsers take text so they can be tested with fixed inputs.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface StatFields {
  pid: number;
  ppid: number;
  /** User + system CPU time, in clock ticks (see CLOCK_TICKS). */
  ticks: number;
}

/** /proc/<pid>/stat. The command name may hold spaces and parentheses: fields are counted after the last ')'. */
export function parseStat(text: string): StatFields {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`bench: unreadable /proc stat line: ${text.slice(0, 80)}`);
  const pid = Number(text.slice(0, open).trim());
  // after ')': state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
  const f = text.slice(close + 2).split(' ');
  return { pid, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
}

/** A `Name: <n> kB` line of /proc/<pid>/status or smaps_rollup, in bytes; undefined when absent. */
export function parseKbField(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** The first line of /proc/stat: busy and total ticks of all cores together. */
export function parseMachineTicks(text: string): { busy: number; total: number } {
  const line = text.split('\n', 1)[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest is already inside user)
  const total = v.slice(0, 8).reduce((s, x) => s + x, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

/** `root` and every process below it, from (pid, ppid) pairs. */
export function processTree(root: number, all: readonly { pid: number; ppid: number }[]): number[] {
  const children = new Map<number, number[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const tree: number[] = [];
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop()!;
    tree.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return tree;
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // the process ended between listing and reading
  }
};

/** Every live process's stat fields. */
export function readAllStats(): StatFields[] {
  const stats: StatFields[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const text = read(`/proc/${name}/stat`);
    if (text) stats.push(parseStat(text));
  }
  return stats;
}

export interface ProcessMemory {
  rss: number;
  /** Proportional set size: shared pages divided among the processes that map them (no double count). */
  pss: number | undefined;
}

export function readMemory(pid: number): ProcessMemory | undefined {
  const status = read(`/proc/${pid}/status`);
  const rss = status === undefined ? undefined : parseKbField(status, 'VmRSS');
  if (rss === undefined) return undefined;
  const rollup = read(`/proc/${pid}/smaps_rollup`);
  return { rss, pss: rollup ? parseKbField(rollup, 'Pss') : undefined };
}

export function readMachineTicks(): { busy: number; total: number } {
  return parseMachineTicks(read('/proc/stat') ?? 'cpu 0 0 0 0');
}

/** Clock ticks per second of the tick counts above (USER_HZ, 100 on Linux almost always). */
export const CLOCK_TICKS: number = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Socket inodes listening on `port` (IPv4 and IPv6), from /proc/net/tcp{,6} text. */
export function parseListeningInodes(text: string, port: number): number[] {
  const inodes: number[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
    if (f.length < 10 || f[3] !== '0A') continue;
    const localPort = parseInt(f[1]!.split(':')[1]!, 16);
    if (localPort === port) inodes.push(Number(f[9]));
  }
  return inodes;
}

/** The pid that holds a socket listening on `port`, for measuring a server started by someone else (--url). */
export function findListeningPid(port: number): number | undefined {
  const inodes = new Set([...parseListeningInodes(read('/proc/net/tcp') ?? '', port), ...parseListeningInodes(read('/proc/net/tcp6') ?? '', port)]);
  if (inodes.size === 0) return undefined;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${name}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${name}/fd/${fd}`));
        if (m && inodes.has(Number(m[1]))) return Number(name);
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return undefined;
}
