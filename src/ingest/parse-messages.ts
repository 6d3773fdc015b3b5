// Every message between the front thread and the parse workers: request bodies in, validated records out (plain data).
import type { ErrorCode } from '../errors.js';
import type { Limits } from '../engine/limits.js';
import type { BatchError } from '../engine/record-validation.js';
import type { Metadata } from '../store/vector-store.js';
import type { JsonReader } from './json-batch-reader.js';

/** The body formats a batch-upsert accepts. */
export type BatchFormat = 'json' | 'arrow';

/** A batch-upsert body to parse and validate, with the limits and the store dimension validation needs. */
export interface ParseTask {
  type: 'parse';
  format: BatchFormat;
  /** The request body, transferred (the front thread keeps no copy). */
  body: Uint8Array;
  limits: Limits;
  dimension: number | undefined;
  /** The reader of JSON bodies (`--json-reader`). */
  jsonReader: JsonReader;
}

/** The good records of a batch, column by column; vectors back to back in one transferred buffer. */
export interface ParsedBatch {
  type: 'parsed';
  ids: string[];
  /** Dimension of every good record (0 when there is none). */
  dimension: number;
  vectors: Float32Array;
  metadata: Array<Metadata | undefined>;
  texts: Array<string | undefined>;
  /** Per good record, its index in the request. */
  indexes: Int32Array;
  errors: BatchError[];
}

/** The whole body was refused (malformed JSON or Arrow, too many records): the code and message of the error. */
export interface ParseRefused {
  type: 'refused';
  code: ErrorCode;
  message: string;
  /** The error's extra body fields (unknown_field's `field` and `hint`): plain JSON data. */
  details?: Record<string, unknown>;
}

export type ParseResult = ParsedBatch | ParseRefused;
