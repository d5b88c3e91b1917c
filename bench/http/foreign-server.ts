// A server the benchmark starts that is not wasmatrix (the lab's Gunicorn app,
// the plain node:http server): started detached, so its process group holds
// it and every worker it forks and nothing else; ready once it printed its URL
// and a GET answers 200; stopped with SIGTERM to the group, then SIGKILL.
// Servers still running when the benchmark exits any other way are killed.

import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { groupAlive } from './server-process.js';

/** Servers of this section still running: killed (their whole process groups) if the benchmark exits any other way. */
const live = new Set<{ killNow(): void }>();
let exitHookInstalled = false;
export function track(server: { killNow(): void }): void {
  live.add(server);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const s of live) s.killNow();
  });
}

export function untrack(server: { killNow(): void }): void {
  live.delete(server);
}

/** A server that is not wasmatrix (Gunicorn, node:http): started detached (its own process group), ready once it printed its URL and answers. */
export class ForeignServer {
  readonly child: ChildProcess;
  url = '';
  #output = '';
  #spawnError: Error | undefined;

  constructor(
    readonly command: string,
    args: string[],
    cwd: string,
  ) {
    this.child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.on('error', (e) => (this.#spawnError = e)); // e.g. ENOENT: gunicorn not installed
    track(this);
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      stream.setEncoding('utf8').on('data', (d: string) => {
        this.#output = (this.#output + d).slice(-8000);
      });
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  async ready(path: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.#spawnError) throw new Error(`${this.command} could not start: ${this.#spawnError.message}${this.command.endsWith('gunicorn') ? ' (Debian: apt-get install gunicorn python3-flask python3-numpy)' : ''}`);
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`${this.command} ended before it was ready: ${this.#output.trim().slice(-400)}`);
      this.url ||= /(?:Listening at: |listening on )(http:\/\/127\.0\.0\.1:\d+)/.exec(this.#output)?.[1] ?? '';
      if (this.url) {
        try {
          const res = await fetch(this.url + path, { signal: AbortSignal.timeout(5000) });
          await res.arrayBuffer();
          if (res.status === 200) return;
        } catch {
          // not yet
        }
      }
      await sleep(100);
    }
    throw new Error(`${this.command} not ready after ${timeoutMs} ms: ${this.#output.trim().slice(-400)}`);
  }

  killNow(): void {
    try {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }

  async stop(): Promise<void> {
    live.delete(this);
    const pgid = this.child.pid;
    if (pgid === undefined) return;
    for (let i = 0; i < 50 && groupAlive(pgid); i++) {
      if (i === 0 || i % 10 === 0) {
        try {
          process.kill(-pgid, i === 0 ? 'SIGTERM' : 'SIGKILL');
        } catch {
          // gone
        }
      }
      await sleep(100);
    }
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
  }
}
