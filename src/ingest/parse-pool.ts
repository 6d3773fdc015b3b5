// A small Piscina pool of parse workers: large batch-upsert bodies are parsed and validated there, not on the front thread.
import { Piscina } from 'piscina';
import type { Limits } from '../engine/limits.js';
import type { ValidatedBatch } from '../engine/record-validation.js';
import { unpackResult, validateBatchBody } from './batch-body.js';
import type { BatchFormat, ParseResult, ParseTask } from './parse-messages.js';

const WORKER_FILE = new URL('../../workers/parse-worker.js', import.meta.url);

/**
 * JSON bodies up to this size are parsed inline: handing a small body to a thread costs more than parsing it. Larger
 * ones (a few dozen 768-d vectors) would stall every query queued behind them on the front thread.
 */
export const INLINE_JSON_BYTES = 256 * 1024;

export interface ParsePoolOptions {
  /** Parse threads (idle unless a large batch arrives). */
  threads: number;
}

/** Parses batch bodies in worker threads; small JSON bodies stay inline. */
export class ParsePool {
  private readonly pool: Piscina<ParseTask, ParseResult>;

  constructor(options: ParsePoolOptions) {
    const threads = options.threads;
    this.pool = new Piscina<ParseTask, ParseResult>({
      filename: WORKER_FILE.href,
      name: 'parse',
      minThreads: 1,
      maxThreads: threads,
      idleTimeout: 60_000,
    });
  }

  /** Validates a batch body; throws the body's VecStoreError when the whole body is refused. */
  async parse(format: BatchFormat, body: Buffer, limits: Limits, dimension: number | undefined): Promise<ValidatedBatch> {
    if (format === 'json' && body.length <= INLINE_JSON_BYTES) return validateBatchBody(format, body, limits, dimension);
    // Transfer the body when it owns its whole buffer (large bodies do); otherwise a copy is what can be transferred.
    const owned = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength ? new Uint8Array(body.buffer) : new Uint8Array(body);
    const task: ParseTask = { type: 'parse', format, body: owned, limits, dimension };
    return unpackResult(await this.pool.run(task, { transferList: [owned.buffer as ArrayBuffer] }));
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
