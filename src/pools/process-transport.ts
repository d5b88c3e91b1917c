// A kernel child process behind the Transport contract (child_process.fork,
// IPC with serialization: 'advanced').

import { fork, type ChildProcess } from 'node:child_process';
import { processEntry } from '../paths.js';
import type { FromChild, ProcessResult, ProcessTask, ToChild } from './process-protocol.js';
import { WorkerExitError, type Transport } from './transport.js';

const entry = processEntry(import.meta.url, 'process-worker');

export class ProcessTransport implements Transport<ProcessTask, ProcessResult> {
  readonly id: number;
  readonly ready: Promise<void>;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #exitError: Error | undefined;
  #exitListeners: ((error: Error) => void)[] = [];
  #pending = new Map<number, { resolve: (r: ProcessResult) => void; reject: (e: Error) => void }>();
  #nextId = 1;

  constructor() {
    this.#child = fork(entry.file, [], {
      execArgv: entry.execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.id = this.#child.pid ?? -1;
    let onReady: () => void;
    let onFail: (e: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onFail = reject;
    });
    this.ready.catch(() => {});
    this.#child.on('message', (m: FromChild) => {
      if (m.type === 'ready') return onReady();
      const pending = this.#pending.get(m.id);
      if (!pending) return;
      this.#pending.delete(m.id);
      if (m.type === 'result') pending.resolve(m.result);
      else pending.reject(new Error(m.message));
    });
    this.#child.on('error', () => {
      /* reported by 'exit' */
    });
    this.#exited = new Promise<void>((resolve) => {
      this.#child.on('exit', (code, signal) => {
        const error = new WorkerExitError(`child process ${this.id} exited (${signal ?? `code ${code}`})`, signal !== null);
        this.#exitError = error;
        onFail(error);
        for (const p of this.#pending.values()) p.reject(error);
        this.#pending.clear();
        for (const l of this.#exitListeners) l(error);
        resolve();
      });
    });
  }

  onExit(listener: (error: Error) => void): void {
    this.#exitListeners.push(listener);
  }

  run(task: ProcessTask): Promise<ProcessResult> {
    if (this.#exitError) return Promise.reject(this.#exitError);
    const id = this.#nextId++;
    return new Promise<ProcessResult>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const message: ToChild = { type: 'task', id, task };
      this.#child.send(message, (error) => {
        if (error && this.#pending.delete(id)) reject(new WorkerExitError(`child process ${this.id}: ${error.message}`));
      });
    });
  }

  async kill(): Promise<void> {
    if (!this.#exitError) this.#child.kill('SIGKILL');
    await this.#exited;
  }

  async close(): Promise<void> {
    if (!this.#exitError && this.#child.connected) this.#child.send({ type: 'exit' } satisfies ToChild);
    await this.#exited;
  }
}
