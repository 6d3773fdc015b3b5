// Parse worker: turns batch-upsert bodies (large JSON, Arrow IPC) into validated records, prepared for their store
// (rows as stored, sketches, the log record), off the front thread. No I/O.
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { VecStoreError } from '../src/errors.js';
import { prepareBatch, validateBatchBody } from '../src/ingest/batch-body.js';
import type { ParseResult, ParseTask } from '../src/ingest/parse-messages.js';
import { lowerThreadPriority, BACKGROUND_THREAD_NICENESS } from '../src/worker-threads.js';

// Below the priority of the threads that answer queries (see BACKGROUND_THREAD_NICENESS).
lowerThreadPriority(BACKGROUND_THREAD_NICENESS);

/** Piscina entry point (named, picked by the pool's `name` option): one body per task; the packed vectors go back transferred, not copied. */
export function parse(task: ParseTask): unknown {
  if (task.type !== 'parse') throw new Error(`parse worker: unexpected message ${String((task as { type?: unknown }).type)}`);
  let result: ParseResult;
  try {
    result = prepareBatch(validateBatchBody(task.format, task.body, task.limits, task.target.dimension, task.jsonReader), task.target);
  } catch (err) {
    // Whole-body refusals travel as data: a thrown error would lose its code on the way through structured clone.
    if (!(err instanceof VecStoreError)) throw err;
    return { type: 'refused', code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } satisfies ParseResult;
  }
  const transfer = [result.vectors, result.sketches, result.indexes, result.logRecord].flatMap((a) => (a ? [a.buffer] : []));
  return move({
    get [transferableSymbol]() {
      return transfer;
    },
    get [valueSymbol]() {
      return result;
    },
  } as never);
}
