// The chaos loop and the process watch. Every interval the loop kills one
// kernel worker of the server, as a crash would: a thread (SIGUSR2 to the
// server, which runs with --chaos) or, in turn, a random process (SIGKILL to
// one of the server's own children, found by parent pid in /proc; nothing
// else is ever signalled). The watch remembers every process below the server seen during
// the run, so that after the server exits none of them may still be alive.

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseStat, processTree, readAllStats } from '../http/proc.js';

export type KillKind = 'thread' | 'process';

export interface KillEvent {
  /** Seconds since the chaos started. */
  at: number;
  kind: KillKind;
  /** The process killed; for a thread, the server (which picks the thread). */
  pid: number;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

const commandLine = (pid: number): string | undefined => readText(`/proc/${pid}/cmdline`)?.replaceAll('\0', ' ').trim();

/** Every process below the server seen so far, with its command line (to tell a leak from a reused pid). */
export class ProcessWatch {
  readonly #root: number;
  readonly #seen = new Map<number, string>();

  constructor(root: number) {
    this.#root = root;
  }

  /** Records the server's descendants now; returns its direct children. */
  sample(): number[] {
    const stats = readAllStats();
    for (const pid of processTree(this.#root, stats)) {
      if (pid !== this.#root && !this.#seen.has(pid)) this.#seen.set(pid, commandLine(pid) ?? '?');
    }
    return stats.filter((s) => s.ppid === this.#root).map((s) => s.pid);
  }

  get seenCount(): number {
    return this.#seen.size;
  }

  /** Processes seen during the run that are still alive (not zombies) with the same command line: "pid (command)". */
  survivors(): string[] {
    const alive: string[] = [];
    for (const [pid, cmd] of this.#seen) {
      const state = /^State:\s+(\S)/m.exec(readText(`/proc/${pid}/status`) ?? '')?.[1];
      if (state === undefined || state === 'Z' || state === 'X') continue;
      if (commandLine(pid) === cmd) alive.push(`${pid} (${cmd.slice(0, 80)})`);
    }
    return alive;
  }
}

export class Chaos {
  readonly #server: number;
  readonly #watch: ProcessWatch;
  readonly #random: () => number;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #t0 = 0;
  readonly kills: Record<KillKind, number> = { thread: 0, process: 0 };
  readonly events: KillEvent[] = [];

  /** `server`: the server's pid (it must be our own child, so the pid cannot be reused while we hold it). */
  constructor(server: number, watch: ProcessWatch, random: () => number, intervalMs: number) {
    this.#server = server;
    this.#watch = watch;
    this.#random = random;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    this.#t0 = performance.now();
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const children = this.#watch.sample();
    // the kinds alternate, so a short run kills both; a process kill with no process up kills a thread
    const kind: KillKind = children.length === 0 || this.events.length % 2 === 0 ? 'thread' : 'process';
    const pid = kind === 'thread' ? this.#server : children[Math.floor(this.#random() * children.length)]!;
    if (kind === 'process' && !this.#isChildOfServer(pid)) return;
    try {
      process.kill(pid, kind === 'thread' ? 'SIGUSR2' : 'SIGKILL');
    } catch {
      return; // it ended meanwhile
    }
    this.kills[kind]++;
    this.events.push({ at: (performance.now() - this.#t0) / 1000, kind, pid });
  }

  /** Checked again right before the kill: the pid still belongs to a child of the server. */
  #isChildOfServer(pid: number): boolean {
    const stat = readText(`/proc/${pid}/stat`);
    return stat !== undefined && parseStat(stat).ppid === this.#server;
  }
}
