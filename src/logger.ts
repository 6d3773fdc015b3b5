// Structured logging: one JSON line per event on stdout (never inside the data directory).
import { pino, type Logger } from 'pino';

export type { Logger };

/** The process logger. */
export function createLogger(level = process.env.VECSTORE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service: 'vecstore', pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
