// Turns untrusted JSON fields into typed values or a VecStoreError that names the field and the reason.
import { VecStoreError } from '../errors.js';
import type { Limits } from './limits.js';
import type { Metadata } from '../store/vector-store.js';
import type { PreparedRow } from '../store/row-preparation.js';
import { vectorProblem, type MetricName } from '../distance/metric.js';

/** A record ready to be written. */
export interface RecordInput {
  id: string;
  vector: Float32Array;
  metadata?: Metadata;
  text?: string;
  /** The row as the store keeps it, computed by a parse worker (the store computes it otherwise). */
  prepared?: PreparedRow;
}

/** Whether a value is a plain JSON object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A non-empty string id within the length limit. */
export function parseId(value: unknown, field: string, limits: Limits): string {
  if (typeof value !== 'string') throw new VecStoreError('validation', `${field}: must be a string, got ${describe(value)}`);
  if (value.length === 0) throw new VecStoreError('validation', `${field}: must not be empty`);
  if (value.length > limits.maxIdLength) {
    throw new VecStoreError('id_too_long', `${field}: ${value.length} characters is over the limit of ${limits.maxIdLength}`);
  }
  checkWellFormed(value, field);
  return value;
}

/**
 * Refuses a string with a lone UTF-16 surrogate. The log stores UTF-8, which cannot encode one: it would be written as
 * U+FFFD, so the string acknowledged would not be the string recovered after a restart.
 */
export function checkWellFormed(value: string, field: string): void {
  // With the u flag a paired surrogate is one code point; only lone ones are in general category Cs.
  const lone = LONE_SURROGATE.exec(value);
  if (lone) throw new VecStoreError('validation', `${field}: not well-formed Unicode (a lone UTF-16 surrogate at index ${lone.index})`);
}

const LONE_SURROGATE = /\p{Cs}/u;

/** A non-empty array of finite numbers (or a Float32Array from a binary body) as float32. */
export function parseVector(value: unknown, field: string, limits: Limits): Float32Array {
  if (value instanceof Float32Array) {
    checkVectorLength(value.length, field, limits);
    for (let i = 0; i < value.length; i++) {
      if (!Number.isFinite(value[i])) throw new VecStoreError('validation', `${field}[${i}]: must be a finite number, got ${value[i]}`);
    }
    return value;
  }
  if (!Array.isArray(value)) throw new VecStoreError('validation', `${field}: must be an array of numbers, got ${describe(value)}`);
  checkVectorLength(value.length, field, limits);
  const out = new Float32Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const x = value[i];
    if (typeof x !== 'number') throw new VecStoreError('validation', `${field}[${i}]: must be a number, got ${describe(x)}`);
    if (!Number.isFinite(x)) throw new VecStoreError('validation', `${field}[${i}]: must be finite, got ${x}`);
    const f = Math.fround(x);
    if (!Number.isFinite(f)) throw new VecStoreError('validation', `${field}[${i}]: ${x} overflows float32`);
    out[i] = f;
  }
  return out;
}

function checkVectorLength(length: number, field: string, limits: Limits): void {
  if (length === 0) throw new VecStoreError('validation', `${field}: must not be empty`);
  if (length > limits.maxDimension) {
    throw new VecStoreError('dimension_too_large', `${field}: ${length} dimensions is over the limit of ${limits.maxDimension}`);
  }
}

/** Optional metadata: a JSON object within the size and depth limits. Keys like `__proto__` stay ordinary data. */
export function parseMetadata(value: unknown, field: string, limits: Limits): Metadata | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) throw new VecStoreError('validation', `${field}: must be an object, got ${describe(value)}`);
  const depth = nestingDepth(value, limits.maxMetadataDepth + 1, field);
  if (depth > limits.maxMetadataDepth) {
    throw new VecStoreError('metadata_too_deep', `${field}: nested deeper than the limit of ${limits.maxMetadataDepth}`);
  }
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > limits.maxMetadataBytes) {
    throw new VecStoreError('metadata_too_large', `${field}: ${bytes} bytes of JSON is over the limit of ${limits.maxMetadataBytes}`);
  }
  return value;
}

/** Optional text for keyword search, within the size limit. */
export function parseText(value: unknown, field: string, limits: Limits): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new VecStoreError('validation', `${field}: must be a string, got ${describe(value)}`);
  const bytes = Buffer.byteLength(value);
  if (bytes > limits.maxTextBytes) throw new VecStoreError('text_too_large', `${field}: ${bytes} bytes is over the limit of ${limits.maxTextBytes}`);
  checkWellFormed(value, field);
  return value;
}

/** A record of an upsert or batch: `{id, vector, metadata?, text?}`. */
export function parseRecord(value: unknown, field: string, limits: Limits): RecordInput {
  if (!isPlainObject(value)) throw new VecStoreError('validation', `${field}: must be an object, got ${describe(value)}`);
  const prefix = field === '' ? '' : `${field}.`;
  return {
    id: parseId(value.id, `${prefix}id`, limits),
    vector: parseVector(value.vector, `${prefix}vector`, limits),
    metadata: parseMetadata(value.metadata, `${prefix}metadata`, limits),
    text: parseText(value.text, `${prefix}text`, limits),
  };
}

/** A per-record failure inside a batch upsert. */
export interface BatchError {
  index: number;
  id?: string;
  error: string;
  code: string;
}

/** A batch after validation: the good records (with their index in the request) and the bad ones' errors. */
export interface ValidatedBatch {
  records: RecordInput[];
  /** Per good record, its index in the request (errors and answers name records by index). */
  indexes: number[];
  errors: BatchError[];
  /**
   * The metric a parse worker prepared the batch for: it refused the vectors that metric cannot score, and its records'
   * `prepared` rows are rows as a store of that metric keeps them.
   */
  preparedFor?: MetricName;
  /** The log record of exactly `records` as one upsert, encoded by a parse worker. */
  logRecord?: Buffer;
}

/**
 * Moves the records a store cannot take (another dimension than `dimension`; under `metric`, a vector vectorProblem
 * refuses) from the good records to the errors, keeping errors in request order. The batch itself when none is.
 */
export function refuseUnstorable(batch: ValidatedBatch, dimension: number | undefined, metric: MetricName | undefined): ValidatedBatch {
  const problemOf = (r: RecordInput, index: number): BatchError | undefined => {
    if (dimension !== undefined && r.vector.length !== dimension) {
      return { index, id: r.id, error: `records[${index}].vector: expected ${dimension} dimensions, got ${r.vector.length}`, code: 'dimension_mismatch' };
    }
    const problem = metric === undefined ? undefined : vectorProblem(metric, r.vector);
    return problem === undefined ? undefined : { index, id: r.id, error: `records[${index}].vector: ${problem}`, code: 'validation' };
  };
  const problems = batch.records.map((r, i) => problemOf(r, batch.indexes[i]));
  if (problems.every((p) => p === undefined)) return batch;
  const out: ValidatedBatch = { records: [], indexes: [], errors: [...batch.errors], preparedFor: batch.preparedFor };
  batch.records.forEach((r, i) => {
    const problem = problems[i];
    if (problem === undefined) {
      out.records.push(r);
      out.indexes.push(batch.indexes[i]);
    } else out.errors.push(problem);
  });
  out.errors.sort((a, b) => a.index - b.index);
  return out;
}

/**
 * Validates each record of a batch on its own (the JSON form, the Arrow form and the parse workers all come through
 * here). `rowAt(i)` yields the raw record and may itself throw a VecStoreError for a row it cannot even build; every
 * good record must have the dimension of the store (or, for an empty store, of the batch's first good record).
 */
export function validateBatch(
  count: number,
  rowAt: (index: number) => unknown,
  limits: Limits,
  dimension: number | undefined,
  /** An extra check of each raw record (the API's field table); what it throws is that record's error. */
  checkRow?: (raw: unknown, index: number) => void,
): ValidatedBatch {
  if (count > limits.maxBatchRecords) {
    throw new VecStoreError('batch_too_large', `records: ${count} records is over the limit of ${limits.maxBatchRecords}`);
  }
  const out: ValidatedBatch = { records: [], indexes: [], errors: [] };
  let batchDim = dimension;
  for (let index = 0; index < count; index++) {
    let raw: unknown;
    try {
      raw = rowAt(index);
      checkRow?.(raw, index);
      const record = parseRecord(raw, `records[${index}]`, limits);
      batchDim ??= record.vector.length;
      if (record.vector.length !== batchDim) {
        throw new VecStoreError('dimension_mismatch', `records[${index}].vector: expected ${batchDim} dimensions, got ${record.vector.length}`);
      }
      out.records.push(record);
      out.indexes.push(index);
    } catch (err) {
      if (!(err instanceof VecStoreError)) throw err;
      const id = (raw as { id?: unknown } | null | undefined)?.id;
      out.errors.push({ index, ...(typeof id === 'string' ? { id } : {}), error: err.message, code: err.code });
    }
  }
  return out;
}

/** `limit` (or its alias `k`): a positive integer within the limit; `fallback` when both are absent. */
export function parseK(body: Record<string, unknown>, limits: Limits, fallback = 10): number {
  const field = body.limit !== undefined ? 'limit' : 'k';
  const value = body.limit ?? body.k;
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new VecStoreError('validation', `${field}: must be a positive integer, got ${describe(value)}`);
  }
  if (value > limits.maxK) throw new VecStoreError('k_too_large', `${field}: ${value} is over the limit of ${limits.maxK}`);
  return value;
}

/** Optional boolean field. */
export function parseBoolean(value: unknown, field: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw new VecStoreError('validation', `${field}: must be true or false, got ${describe(value)}`);
  return value;
}

/**
 * Depth of nested objects/arrays, stopping at `cap` so hostile input costs no more than the limit; on the way, refuses
 * keys and string values that are not well-formed Unicode (see checkWellFormed), naming their path.
 */
function nestingDepth(value: unknown, cap: number, field: string): number {
  let max = 0;
  const stack: Array<[unknown, number, string]> = [[value, 1, field]];
  while (stack.length > 0) {
    const [v, d, path] = stack.pop()!;
    if (typeof v === 'string') checkWellFormed(v, path);
    if (typeof v !== 'object' || v === null) continue;
    if (d > max) max = d;
    if (max >= cap) return max;
    for (const [key, child] of Object.entries(v)) {
      if (!Array.isArray(v)) checkWellFormed(key, `${path}: key ${JSON.stringify(key)}`);
      stack.push([child, d + 1, Array.isArray(v) ? `${path}[${key}]` : `${path}.${key}`]);
    }
  }
  return max;
}

/** A short description of a value's type for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length > 40 ? 'a string' : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value === 'object' ? 'an object' : typeof value;
}
