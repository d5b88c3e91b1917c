// A long-running process of a local multi-host run that is not the HTTP
// server (ServerProcess is): nats-server, a cluster worker. Started detached
// (its own process group, so a SIGKILL to the group takes its threads and
// children with it), optionally inside a network namespace, its output kept
// so that readiness and reconnection are waited for on log lines, never on
// sleeps.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT } from '../../src/paths.js';
import { groupAlive } from '../http/server-process.js';

export interface DaemonOptions {
  /** For messages: "nats", "host2". */
  name: string;
  command: string;
  args: string[];
  /** A command it runs under, e.g. ['ip', 'netns', 'exec', NS] (it execs the command: same pid). */
  prefix?: string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Keep its stdin open for send() (test hooks). */
  stdin?: boolean;
}

export class Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<void>;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Every complete line it printed (stdout and stderr), in order. */
  readonly lines: string[] = [];

  constructor(o: DaemonOptions) {
    this.name = o.name;
    const [command, ...args] = [...(o.prefix ?? []), o.command, ...o.args];
    this.child = spawn(command!, args, { cwd: ROOT, detached: true, stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } });
    this.child.stdin?.on('error', () => {}); // it may be gone already
    if (this.child.pid === undefined) throw new Error(`${o.name}: could not start ${o.command}`);
    this.pid = this.child.pid;
    this.exited = once(this.child, 'exit').then(([code, signal]) => {
      this.#exit = { code: code as number | null, signal: signal as NodeJS.Signals | null };
    });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop()!;
        this.lines.push(...parts);
        if (this.lines.length > 5000) this.lines.splice(0, 1000);
      });
    }
  }

  get alive(): boolean {
    return this.#exit === undefined;
  }

  /** "exit code 0", "signal SIGKILL", "running". */
  get exitDescription(): string {
    if (!this.#exit) return 'running';
    return this.#exit.signal ? `signal ${this.#exit.signal}` : `exit code ${this.#exit.code}`;
  }

  tail(n = 15): string {
    return this.lines.slice(-n).join('\n');
  }

  /** Until a line from index `from` on matches `re`; returns it. Throws if the process ends first or after `ms`. */
  async waitForLine(re: RegExp, ms: number, from = 0): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const line = this.lines.slice(from).find((l) => re.test(l));
      if (line !== undefined) return line;
      if (!this.alive) throw new Error(`${this.name} ended (${this.exitDescription}) before printing ${re}:\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not print ${re} within ${ms} ms:\n${this.tail()}`);
      await sleep(50);
    }
  }

  /** Writes a line to its stdin (started with stdin: true). */
  send(line: string): void {
    if (!this.child.stdin) throw new Error(`${this.name} was started without stdin`);
    this.child.stdin.write(`${line}\n`);
  }

  signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // gone
    }
  }

  /** SIGKILL to the whole group; resolves once the process is gone. */
  async kill(): Promise<void> {
    this.signalGroup('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (a drain), then SIGKILL to what is left of the group after `graceMs`. Resolves with how it ended. */
  async stop(graceMs = 10_000): Promise<string> {
    if (this.alive) {
      this.child.kill('SIGTERM');
      await Promise.race([this.exited, sleep(graceMs)]);
    }
    if (groupAlive(this.pid)) this.signalGroup('SIGKILL');
    await this.exited;
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
    return this.exitDescription;
  }
}
