// A small Piscina pool of parse workers: large batch-upsert bodies are parsed and validated there, not on the front thread.
import { Piscina } from 'piscina';
import { VecStoreError } from '../errors.js';
import type { Limits } from '../engine/limits.js';
import type { ValidatedBatch } from '../engine/record-validation.js';
import { unpackResult, validateBatchBody } from './batch-body.js';
import type { BatchFormat, IngestTarget, ParseResult, ParseTask } from './parse-messages.js';
import type { JsonReader } from './json-batch-reader.js';
import { WORKER_EXEC_ARGV } from '../worker-threads.js';

const WORKER_FILE = new URL('../../workers/parse-worker.js', import.meta.url);

/**
 * JSON bodies up to this size are parsed inline: handing a small body to a thread costs more than parsing it. Larger
 * ones (a few dozen 768-d vectors) would stall every query queued behind them on the front thread.
 */
export const INLINE_JSON_BYTES = 256 * 1024;

/** A parse running longer than this is abandoned (its worker is replaced): no legitimate body takes that long. */
const PARSE_TIMEOUT_MS = 60_000;

export interface ParsePoolOptions {
  /** Parse threads (idle unless a large batch arrives). */
  threads: number;
  /** Parse every JSON body on the front thread (`--parse-threads 0`); Arrow streams still go to a worker. */
  inlineJson?: boolean;
  /** The largest body (sizes the workers' heap limit). */
  maxBodyBytes: number;
  /** The reader of JSON bodies (`--json-reader`): the fast one unless told `builtin` (plain JSON.parse). */
  jsonReader?: JsonReader;
}

/**
 * Parses batch bodies in worker threads; small JSON bodies stay inline. Arrow streams are never decoded on the front
 * thread: a crafted stream can send apache-arrow's reader into unbounded allocation, and in a worker with a heap limit
 * that costs the worker (replaced, the request refused), not the server.
 */
export class ParsePool {
  private readonly pool: Piscina<ParseTask, ParseResult>;
  private readonly inlineJson: boolean;
  /** The reader of JSON bodies (`--json-reader`): batch bodies here, query bodies in the query routes. */
  readonly jsonReader: JsonReader;

  constructor(options: ParsePoolOptions) {
    this.inlineJson = options.inlineJson === true;
    this.jsonReader = options.jsonReader ?? 'fast';
    const bodyMb = Math.ceil(options.maxBodyBytes / (1024 * 1024));
    this.pool = new Piscina<ParseTask, ParseResult>({
      filename: WORKER_FILE.href,
      name: 'parse',
      minThreads: 1,
      maxThreads: Math.max(1, options.threads),
      idleTimeout: 60_000,
      // A JSON body of floats takes several times its size as a parsed tree; beyond that budget the input is hostile.
      resourceLimits: { maxOldGenerationSizeMb: 256 + 8 * bodyMb, maxYoungGenerationSizeMb: 64 },
      execArgv: WORKER_EXEC_ARGV,
    });
  }

  /** Validates a batch body; throws the body's VecStoreError when the whole body is refused. */
  async parse(format: BatchFormat, body: Buffer, limits: Limits, target: IngestTarget): Promise<ValidatedBatch> {
    if (format === 'json' && (this.inlineJson || body.length <= INLINE_JSON_BYTES)) return validateBatchBody(format, body, limits, target.dimension, this.jsonReader);
    // Transfer the body when it owns its whole buffer (large bodies do); otherwise a copy is what can be transferred.
    const owned = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength ? new Uint8Array(body.buffer) : new Uint8Array(body);
    const task: ParseTask = { type: 'parse', format, body: owned, limits, target, jsonReader: this.jsonReader };
    let result: ParseResult;
    try {
      result = await this.pool.run(task, { transferList: [owned.buffer as ArrayBuffer], signal: AbortSignal.timeout(PARSE_TIMEOUT_MS) });
    } catch {
      // The worker ran out of its heap, overran the time limit or died: the body did that (an Arrow stream is the
      // only plausible cause); a JSON body within the size limit should not, so that is reported as a server problem.
      if (format === 'arrow') throw new VecStoreError('invalid_arrow', 'body: the Arrow stream could not be read within the parser\'s memory and time limits (malformed?)');
      throw new VecStoreError('unavailable', 'body: the JSON body could not be parsed within the parser\'s memory and time limits; retry with smaller batches');
    }
    return unpackResult(result);
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
