// Structured logging: one JSON line per event on stdout (never inside the data directory).
import { pino, type Logger } from 'pino';
import { traceLogFields } from './telemetry/trace-seam.js';

export type { Logger };

/** The process logger. Lines written while serving a traced request carry its `trace_id` and `span_id`. */
export function createLogger(level = process.env.VECSTORE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service: 'vecstore', pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime, mixin: traceLogFields });
}
