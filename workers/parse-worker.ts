// Parse worker: turns batch-upsert bodies (large JSON, Arrow IPC) into validated records off the front thread. No I/O.
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { VecStoreError } from '../src/errors.js';
import { packBatch, validateBatchBody } from '../src/ingest/batch-body.js';
import type { ParseResult, ParseTask } from '../src/ingest/parse-messages.js';

/** Piscina entry point (named, picked by the pool's `name` option): one body per task; the packed vectors go back transferred, not copied. */
export function parse(task: ParseTask): unknown {
  if (task.type !== 'parse') throw new Error(`parse worker: unexpected message ${String((task as { type?: unknown }).type)}`);
  let result: ParseResult;
  try {
    result = packBatch(validateBatchBody(task.format, task.body, task.limits, task.dimension, task.jsonReader));
  } catch (err) {
    // Whole-body refusals travel as data: a thrown error would lose its code on the way through structured clone.
    if (!(err instanceof VecStoreError)) throw err;
    return { type: 'refused', code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } satisfies ParseResult;
  }
  const transfer = [result.vectors.buffer, result.indexes.buffer];
  return move({
    get [transferableSymbol]() {
      return transfer;
    },
    get [valueSymbol]() {
      return result;
    },
  } as never);
}
