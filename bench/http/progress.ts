// What the run is doing and how long is left, on stderr (stdout keeps the table).
// On a terminal one status line is rewritten every second; elsewhere (CI, a
// pipe) a line is printed per phase.

export class Progress {
  readonly #tty = process.stderr.isTTY === true;
  #status = '';
  #timer: NodeJS.Timeout | undefined;
  #phaseEnd = 0;
  #phaseLabel = '';
  /** Seconds of work left after the current phase, as estimated by the caller. */
  #after = 0;

  /** A line that stays. */
  log(line: string): void {
    this.#clear();
    process.stderr.write(`${line}\n`);
    this.#draw();
  }

  /** A timed phase: `label`, `seconds` long, `afterSeconds` of work after it. */
  phase(label: string, seconds: number, afterSeconds: number): void {
    this.#phaseLabel = label;
    this.#phaseEnd = Date.now() + seconds * 1000;
    this.#after = afterSeconds;
    if (!this.#tty) process.stderr.write(`${label} (${seconds} s, about ${clock(seconds + afterSeconds)} left)\n`);
    this.#timer ??= this.#tty ? setInterval(() => this.#tick(), 1000).unref() : undefined;
    this.#tick();
  }

  done(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#clear();
    this.#status = '';
  }

  #tick(): void {
    if (!this.#tty) return;
    const left = Math.max(0, (this.#phaseEnd - Date.now()) / 1000);
    this.#clear();
    this.#status = `${this.#phaseLabel}: ${Math.ceil(left)} s, about ${clock(left + this.#after)} left in all`;
    this.#draw();
  }

  #clear(): void {
    if (this.#tty && this.#status) process.stderr.write('\r\x1b[2K');
  }

  #draw(): void {
    if (this.#tty && this.#status) process.stderr.write(this.#status.slice(0, (process.stderr.columns || 120) - 1));
  }
}

/** 75 -> "1m15s". */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
