// The server's own log (not the access log): one line per event on stderr,
// filtered by --log-level, prefixed with the level and, in acceptor threads,
// the thread.

import { threadId } from 'node:worker_threads';

export const LOG_LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warning: 30, error: 40, critical: 50 };

export type Logger = Record<LogLevel, (message: string) => void>;

export function createLogger(level: LogLevel): Logger {
  const where = threadId === 0 ? '' : ` [acceptor ${threadId}]`;
  const at = (l: LogLevel) => (message: string) => {
    if (RANK[l] >= RANK[level]) process.stderr.write(`${new Date().toISOString()} [${process.pid}]${where} [${l.toUpperCase()}] ${message}\n`);
  };
  return { debug: at('debug'), info: at('info'), warning: at('warning'), error: at('error'), critical: at('critical') };
}
