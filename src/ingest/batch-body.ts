// A batch-upsert body (JSON or Arrow IPC) to validated records: the one path the front thread and parse workers share.
import { VecStoreError } from '../errors.js';
import type { Limits } from '../engine/limits.js';
import { isPlainObject, refuseUnstorable, validateBatch, type RecordInput, type ValidatedBatch } from '../engine/record-validation.js';
import { encodeRecord } from '../persistence/wal.js';
import { prepareRowsInPlace } from '../store/row-preparation.js';
import { checkFields } from '../api/request-fields.js';
import { parseJsonObject } from '../engine/json-body.js';
import { ARROW_STREAM_TYPE, decodeArrowStream, startsLikeArrow } from './arrow-records.js';
import { readJsonBatch, type JsonReader } from './json-batch-reader.js';
import type { BatchFormat, IngestTarget, ParsedBatch, ParseResult } from './parse-messages.js';

/**
 * Parses and validates a body: whole-body problems throw; record problems become per-record errors. The fast JSON
 * reader gives JSON.parse's value with float32 vectors, or nothing when the body needs JSON.parse (and its errors).
 */
export function validateBatchBody(format: BatchFormat, body: Uint8Array, limits: Limits, dimension: number | undefined, jsonReader: JsonReader = 'fast'): ValidatedBatch {
  if (format === 'arrow') {
    const rows = decodeArrowStream(body);
    return validateBatch(rows.count, rows.rowAt, limits, dimension);
  }
  if (startsLikeArrow(body)) {
    throw new VecStoreError('invalid_json', `body: an Arrow IPC stream or file sent as JSON; send it with Content-Type: ${ARROW_STREAM_TYPE}`);
  }
  const parsed = (jsonReader === 'fast' ? readJsonBatch(body) : undefined) ?? parseJsonObject(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  checkFields(parsed, 'batchUpsert');
  const records = parsed.records;
  if (!Array.isArray(records)) throw new VecStoreError('validation', 'records: must be an array of {id, vector, metadata?, text?}');
  // A record with an unknown field is that record's error (unknown_field), like any other bad record.
  return validateBatch(records.length, (i) => records[i], limits, dimension, (record, i) => {
    if (isPlainObject(record)) checkFields(record, 'batchRecord', `records[${i}].`);
  });
}

/**
 * A validated batch as a worker's answer, prepared for its store: unscorable vectors refused, the batch's log record
 * encoded (vectors as sent), then the vectors copied back to back into one transferable buffer and turned into rows
 * as the store keeps them, with their sketches.
 */
export function prepareBatch(batch: ValidatedBatch, target: IngestTarget): ParsedBatch {
  const checked = refuseUnstorable(batch, target.dimension, target.metric);
  const count = checked.records.length;
  const dimension = checked.records[0]?.vector.length ?? 0;
  const logRecord = count > 0 ? encodeLogRecord(checked.records) : undefined;
  const vectors = new Float32Array(count * dimension);
  checked.records.forEach((r, i) => vectors.set(r.vector, i * dimension));
  // Without a log record (over its size limit) the front thread encodes one from these vectors: they stay as sent.
  const prepared = logRecord ? { asStored: true, ...prepareRowsInPlace(vectors, count, dimension, target.metric, target.sketchBasis) } : { asStored: false };
  return {
    type: 'parsed',
    ids: checked.records.map((r) => r.id),
    dimension,
    vectors,
    ...prepared,
    preparedFor: target.metric,
    logRecord,
    metadata: checked.records.map((r) => r.metadata),
    texts: checked.records.map((r) => r.text),
    indexes: Int32Array.from(checked.indexes),
    errors: checked.errors,
  };
}

/** The log record of the records as one upsert, in a buffer of its own (to be transferred); undefined if over the limit. */
function encodeLogRecord(records: RecordInput[]): Uint8Array | undefined {
  let frame: Buffer;
  try {
    frame = encodeRecord({ type: 'upsert', records });
  } catch (err) {
    // Too large for one log record: the front thread encodes it again and refuses the batch with the usual error.
    if (err instanceof VecStoreError && err.code === 'payload_too_large') return undefined;
    throw err;
  }
  return frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength ? new Uint8Array(frame.buffer) : new Uint8Array(frame);
}

/** A worker's answer back as a validated batch (vectors and sketches are views into transferred buffers), or its error. */
export function unpackResult(result: ParseResult): ValidatedBatch {
  if (result.type === 'refused') throw new VecStoreError(result.code, result.message, result.details);
  const { dimension: d, vectors, sketches, sketchBasis, logRecord } = result;
  const width = sketches && result.ids.length > 0 ? sketches.length / result.ids.length : 0;
  return {
    records: result.ids.map((id, i) => {
      const vector = vectors.subarray(i * d, (i + 1) * d);
      const record: RecordInput = { id, vector, metadata: result.metadata[i], text: result.texts[i] };
      if (result.asStored) record.prepared = { row: vector, ...(sketches ? { sketch: sketches.subarray(i * width, (i + 1) * width), sketchBasis } : {}) };
      return record;
    }),
    indexes: Array.from(result.indexes),
    errors: result.errors,
    preparedFor: result.preparedFor,
    ...(logRecord ? { logRecord: Buffer.from(logRecord.buffer, logRecord.byteOffset, logRecord.byteLength) } : {}),
  };
}
