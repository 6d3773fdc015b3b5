// A batch-upsert body (JSON or Arrow IPC) to validated records: the one path the front thread and parse workers share.
import { VecStoreError } from '../errors.js';
import type { Limits } from '../engine/limits.js';
import { isPlainObject, validateBatch, type ValidatedBatch } from '../engine/record-validation.js';
import { checkFields } from '../api/request-fields.js';
import { parseJsonObject } from '../engine/json-body.js';
import { decodeArrowStream } from './arrow-records.js';
import { readJsonBatch, type JsonReader } from './json-batch-reader.js';
import type { BatchFormat, ParsedBatch, ParseResult } from './parse-messages.js';

/**
 * Parses and validates a body: whole-body problems throw; record problems become per-record errors. The fast JSON
 * reader gives JSON.parse's value with float32 vectors, or nothing when the body needs JSON.parse (and its errors).
 */
export function validateBatchBody(format: BatchFormat, body: Uint8Array, limits: Limits, dimension: number | undefined, jsonReader: JsonReader = 'fast'): ValidatedBatch {
  if (format === 'arrow') {
    const rows = decodeArrowStream(body);
    return validateBatch(rows.count, rows.rowAt, limits, dimension);
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

/** A validated batch as a worker's answer: vectors copied back to back into one buffer that can be transferred. */
export function packBatch(batch: ValidatedBatch): ParsedBatch {
  const dimension = batch.records[0]?.vector.length ?? 0;
  const vectors = new Float32Array(batch.records.length * dimension);
  batch.records.forEach((r, i) => vectors.set(r.vector, i * dimension));
  return {
    type: 'parsed',
    ids: batch.records.map((r) => r.id),
    dimension,
    vectors,
    metadata: batch.records.map((r) => r.metadata),
    texts: batch.records.map((r) => r.text),
    indexes: Int32Array.from(batch.indexes),
    errors: batch.errors,
  };
}

/** A worker's answer back as a validated batch (vectors are views into the one transferred buffer), or its error. */
export function unpackResult(result: ParseResult): ValidatedBatch {
  if (result.type === 'refused') throw new VecStoreError(result.code, result.message, result.details);
  const { dimension: d, vectors } = result;
  return {
    records: result.ids.map((id, i) => ({ id, vector: vectors.subarray(i * d, (i + 1) * d), metadata: result.metadata[i], text: result.texts[i] })),
    indexes: Array.from(result.indexes),
    errors: result.errors,
  };
}
