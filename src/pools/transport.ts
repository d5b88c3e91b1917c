// The one small contract a pool needs from a worker, whatever carries it
// (a worker_thread in thread-transport.ts, a child process in
// process-transport.ts): the tinypool shape, one contract and two runtimes.

export interface Transport<Task, Result> {
  /** Thread id or process pid, for logs and chaos tests. */
  readonly id: number;
  /** Resolves when the worker can take tasks; rejects if it died starting. */
  readonly ready: Promise<void>;
  /**
   * Runs one task. Rejects with a WorkerExitError if the worker dies (or is
   * killed) before answering, with any other error if the task itself failed.
   */
  run(task: Task): Promise<Result>;
  /** Called once when the worker is gone, for whatever reason. */
  onExit(listener: (error: Error) => void): void;
  /** Stops the worker now, mid-task if need be. Resolves once it is gone. */
  kill(): Promise<void>;
  /** Asks the worker to finish and leave. Resolves once it is gone. */
  close(): Promise<void>;
  /** Counts the worker keeps about itself, by name (thread workers: their spin outcomes), if any. */
  counters?(): Record<string, number>;
}

/** The worker ended (crash, signal, out of memory, kill) while the pool still needed it. */
export class WorkerExitError extends Error {
  /**
   * Ended from outside (a signal, or the pool's own kill) rather than by
   * itself: a worker killed while starting says nothing about whether
   * workers can start, so it does not count toward the pool's fatal stop.
   */
  readonly killed: boolean;

  constructor(message: string, killed = false) {
    super(message);
    this.name = 'WorkerExitError';
    this.killed = killed;
  }
}
