// Wire ↔ engine for the record routes: request fields into typed input (ids, changes, filters, raw-body query
// strings) and stored records into their wire shape. The server's handlers call these; the engine never sees wire names.
import { VecStoreError } from '../errors.js';
import type { Limits } from '../engine/limits.js';
import type { RecordChanges } from '../engine/engine.js';
import { describe, isPlainObject, parseId, parseText } from '../engine/record-validation.js';
import type { RecordView } from '../store/vector-store.js';
import type { StoredRecord } from './schemas.js';

/** A stored record as GET /vectors/:id and POST /vectors/get answer it. */
export function recordAnswer(record: RecordView): StoredRecord {
  return { id: record.id, vector: Array.from(record.vector), metadata: record.metadata ?? {}, ...(record.text !== undefined ? { text: record.text } : {}), deleted: record.deleted };
}

/** `ids` of POST /vectors/get: a non-empty array of ids, at most the batch limit. */
export function parseIds(value: unknown, limits: Limits): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new VecStoreError('validation', `ids: must be a non-empty array of ids, got ${describe(value)}`);
  if (value.length > limits.maxBatchRecords) throw new VecStoreError('batch_too_large', `ids: ${value.length} ids is over the limit of ${limits.maxBatchRecords}`);
  return value.map((id, i) => parseId(id, `ids[${i}]`, limits));
}

/** `filter?`: a filter string, or absent/null. */
export function optionalFilter(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new VecStoreError('validation', `filter: must be a string, got ${describe(value)}`);
  return value;
}

/** `filter` of delete-by-filter: required, so that deleting everything is asked for explicitly, never by omission. */
export function requiredFilter(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new VecStoreError('validation', `filter: required, a non-empty filter string, got ${describe(value)}`);
  return value;
}

/** The body of PATCH /vectors/:id: `metadata` a merge patch object, `text` a string or null (removes it). */
export function parseChanges(body: Record<string, unknown>, limits: Limits): RecordChanges {
  const changes: RecordChanges = {};
  if (body.metadata !== undefined) {
    if (!isPlainObject(body.metadata)) throw new VecStoreError('validation', `metadata: must be an object (a JSON merge patch), got ${describe(body.metadata)}`);
    changes.metadata = body.metadata;
  }
  if (body.text !== undefined) changes.text = body.text === null ? null : parseText(body.text, 'text', limits)!;
  if (changes.metadata === undefined && changes.text === undefined) throw new VecStoreError('validation', 'metadata: give metadata and/or text to change');
  return changes;
}

/** Reads a raw little-endian float32 vector body (`application/octet-stream`). */
export function parseBinaryVector(body: Buffer): Float32Array {
  if (body.length === 0 || body.length % 4 !== 0) {
    throw new VecStoreError('validation', `body: a binary vector is little-endian float32, so its length must be a positive multiple of 4 bytes (got ${body.length})`);
  }
  const out = new Float32Array(body.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = body.readFloatLE(i * 4);
  return out;
}

/**
 * The query string of a raw float32 query as the JSON body it stands for (without `vector`): values typed as their
 * JSON counterparts would be (bad values stay strings, so validation names them). No prototype: a parameter named
 * `__proto__` is a field like any other (and refused as unknown).
 */
export function queryStringBody(rawQuery: string): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of new URLSearchParams(rawQuery)) out[key] = queryStringValue(key, value);
  return out;
}

function queryStringValue(key: string, value: string): unknown {
  if (key === 'limit' || key === 'k' || key === 'alpha' || key === 'ef' || key === 'recall' || key === 'score_threshold') return value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
  if (key === 'include_vectors' || key === 'include_text' || key === 'include_metadata' || key === 'exact') return value === 'true' ? true : value === 'false' ? false : value;
  return value;
}

/**
 * The query string of a raw float32 upsert (`?id=…&metadata=<json>&text=…`) as the record it stands for; `fields`
 * are the parameter names given, checked against the record's schema like body fields.
 */
export function upsertQueryRecord(rawQuery: string, vector: Float32Array): { fields: Record<string, unknown>; record: Record<string, unknown> } {
  const query = new URLSearchParams(rawQuery);
  const metadata = query.get('metadata');
  const fields: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const key of query.keys()) fields[key] = true;
  return { fields, record: { id: query.get('id') ?? undefined, vector, metadata: metadata ? parseJsonQueryParam(metadata, 'metadata') : undefined, text: query.get('text') ?? undefined } };
}

function parseJsonQueryParam(value: string, field: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new VecStoreError('validation', `${field}: the query parameter must be JSON`);
  }
}
