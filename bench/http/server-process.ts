// The production server as a child process: started from the compiled build on
// a free port, ready when its start line has printed the URL and /healthz
// answers 200, stopped with SIGTERM (it drains and closes its pools) and, if
// anything of it is still alive after the grace period, SIGKILL to its whole
// process group: it is started detached, so the group holds exactly the server
// and every pool process it forked, and nothing else.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT } from '../../src/paths.js';

export const SERVER_ENTRY = join(ROOT, 'dist', 'src', 'cli', 'main.js');

export interface ServerOptions {
  /** Extra server flags, e.g. ['-w', '2']. */
  args: string[];
  /** Listen address (default 127.0.0.1:0: a free port). */
  bind?: string;
  /** A command the server runs under, e.g. ['ip', 'netns', 'exec', NAME] (it must exec the server: same pid). */
  prefix?: string[];
  /** Test hooks on (WASMATRIX_TEST_HOOKS=1): hold() and release() gate the kernel pools. */
  testHooks?: boolean;
  readyTimeoutMs?: number;
  /** Time SIGTERM gets to drain before SIGKILL. */
  graceMs?: number;
}

export class ServerFailedError extends Error {
  override name = 'ServerFailedError';
}

/** The first http:// URL in the start line. */
export function parseStartLine(line: string): { url: string; simd: boolean | null } | undefined {
  const url = /https?:\/\/[^\s,;)]+/.exec(line)?.[0]?.replace(/\/$/, '');
  if (!url) return undefined;
  const simd = /simd\W*(on|off|yes|no|true|false|active|inactive|enabled|disabled)/i.exec(line)?.[1]?.toLowerCase();
  return { url, simd: simd === undefined ? null : ['on', 'yes', 'true', 'active', 'enabled'].includes(simd) };
}

export class ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  url = '';
  startLine = '';
  simd: boolean | null = null;
  readonly #graceMs: number;
  readonly #output: string[] = [];
  /** Test hook acknowledgements seen on stdout, per command. */
  readonly #acks = { hold: 0, release: 0 };
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<void>;

  private constructor(options: ServerOptions) {
    this.#graceMs = options.graceMs ?? 10_000;
    const [command, ...prefixArgs] = [...(options.prefix ?? []), process.execPath];
    this.child = spawn(command!, [...prefixArgs, SERVER_ENTRY, '-b', options.bind ?? '127.0.0.1:0', ...options.args], {
      cwd: ROOT,
      detached: true, // its own process group: see the file comment
      stdio: [options.testHooks ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: options.testHooks ? { ...process.env, WASMATRIX_TEST_HOOKS: '1' } : process.env,
    });
    this.child.stdin?.on('error', () => {}); // the server may be gone already
    if (this.child.pid === undefined) throw new ServerFailedError(`could not start ${SERVER_ENTRY}`);
    this.pid = this.child.pid;
    this.exited = once(this.child, 'exit').then(([code, signal]) => {
      this.#exit = { code: code as number | null, signal: signal as NodeJS.Signals | null };
    });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        this.#output.push(chunk);
        if (this.#output.length > 200) this.#output.shift();
      });
    }
    let partial = ''; // of a stdout line, for the acknowledgements
    this.child.stdout!.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) if (line === 'test-hooks: hold' || line === 'test-hooks: release') this.#acks[line.slice(12) as 'hold' | 'release']++;
    });
  }

  /** Starts the server and resolves once it serves; throws ServerFailedError (after stopping it) otherwise. */
  static async start(options: ServerOptions): Promise<ServerProcess> {
    const server = new ServerProcess(options);
    try {
      await server.#ready(options.readyTimeoutMs ?? 60_000);
      return server;
    } catch (e) {
      await server.stop();
      throw e;
    }
  }

  get alive(): boolean {
    return this.#exit === undefined;
  }

  /** How it ended (undefined while it runs). */
  get exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.#exit;
  }

  /** How it ended, for reports: "exit code 1", "signal SIGSEGV". */
  get exitDescription(): string {
    if (!this.#exit) return 'running';
    return this.#exit.signal ? `signal ${this.#exit.signal}` : `exit code ${this.#exit.code}`;
  }

  /** Test hooks (testHooks: true): the kernel pools keep the tasks they take from now on, until release(). */
  hold(): Promise<void> {
    return this.#testHook('hold');
  }

  release(): Promise<void> {
    return this.#testHook('release');
  }

  async #testHook(command: 'hold' | 'release'): Promise<void> {
    if (!this.child.stdin) throw new Error('the server was started without test hooks');
    const before = this.#acks[command];
    this.child.stdin.write(`${command}\n`);
    for (let i = 0; this.#acks[command] === before; i++) {
      if (!this.alive || i > 300) throw new ServerFailedError(`the server did not acknowledge "${command}" (${this.exitDescription})`);
      await sleep(100);
    }
  }

  /** Sends `signal` to the server's whole process group (as systemd's KillMode=control-group and Ctrl-C do). */
  signalGroup(signal: NodeJS.Signals): void {
    killGroup(this.pid, signal);
  }

  /** The last lines it printed (stdout and stderr). */
  outputTail(lines = 20): string {
    return this.#output.join('').split('\n').slice(-lines).join('\n');
  }

  async #ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.alive) throw new ServerFailedError(`server ended before it was ready (${this.exitDescription}):\n${this.outputTail()}`);
      if (!this.url) {
        for (const line of this.#output.join('').split('\n')) {
          const parsed = parseStartLine(line);
          if (parsed) {
            Object.assign(this, parsed);
            this.startLine = line.trim();
            break;
          }
        }
      }
      if (this.url && (await healthy(this.url))) return;
      await sleep(100);
    }
    throw new ServerFailedError(`server not ready after ${timeoutMs} ms:\n${this.outputTail()}`);
  }

  /** SIGTERM, wait for the drain, then SIGKILL whatever of its process group is left. Idempotent. */
  async stop(): Promise<void> {
    if (this.alive) {
      this.child.kill('SIGTERM');
      await Promise.race([this.exited, sleep(this.#graceMs)]);
    }
    // pool processes are in the group even if the server itself is gone
    for (let i = 0; i < 50 && groupAlive(this.pid); i++) {
      if (i === 0 || i % 10 === 0) killGroup(this.pid, i === 0 ? 'SIGTERM' : 'SIGKILL');
      await sleep(100);
    }
    if (groupAlive(this.pid)) killGroup(this.pid, 'SIGKILL');
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
  }

  /** The same, synchronously and without waiting: for process 'exit' handlers. */
  killNow(): void {
    killGroup(this.pid, 'SIGKILL');
  }
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** True while any process of group `pgid` exists. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}
