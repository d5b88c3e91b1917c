// The access log: one line per request (time, client, method, path with query,
// status, bytes, duration in microseconds, mode, workers, and for a request
// that got no answer, reason= why: see Unanswered in exchange.ts), buffered and written
// in batches so a busy server does not make one syscall per request. Each HTTP
// thread has its own writer; lines never interleave because each batch is one
// write() to a file opened for appending (O_APPEND).

import { closeSync, openSync, write, writeSync } from 'node:fs';
import type { Exchange } from './exchange.js';

const FLUSH_BYTES = 32 * 1024;
const FLUSH_MS = 200;

export class AccessLog {
  readonly #fd: number;
  readonly #ownsFd: boolean;
  #buffer = '';
  #timer: NodeJS.Timeout | undefined;
  #writing = false;

  /** `target`: a file path, or '-' for stdout. */
  constructor(target: string) {
    this.#ownsFd = target !== '-';
    this.#fd = this.#ownsFd ? openSync(target, 'a') : 1;
  }

  record(ex: Exchange): void {
    const reason = ex.unanswered ? ` reason=${ex.unanswered}` : '';
    this.#buffer += `${new Date().toISOString()} ${ex.client} ${ex.method} ${ex.url} ${ex.statusLabel} ${ex.bytes} ${ex.micros()}us mode=${ex.mode} workers=${ex.workers}${reason}\n`;
    if (this.#buffer.length >= FLUSH_BYTES) this.#flush();
    else this.#timer ??= setTimeout(() => this.#flush(), FLUSH_MS).unref();
  }

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#writing || this.#buffer === '') return;
    const data = this.#buffer;
    this.#buffer = '';
    this.#writing = true;
    write(this.#fd, data, () => {
      this.#writing = false;
      if (this.#buffer.length >= FLUSH_BYTES) this.#flush();
      else if (this.#buffer) this.#timer ??= setTimeout(() => this.#flush(), FLUSH_MS).unref();
    });
  }

  /** Writes what is left, synchronously (shutdown). */
  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    try {
      if (this.#buffer) writeSync(this.#fd, this.#buffer);
    } catch {
      // a reader that went away (EPIPE on stdout) must not stop the shutdown: the lines are lost either way
    }
    this.#buffer = '';
    // an async batch may still be on its way: then leave the fd to the process exit
    if (this.#ownsFd && !this.#writing) closeSync(this.#fd);
  }
}
