// Every message between the front thread and the parse workers: request bodies in, validated records out (plain data).
import type { ErrorCode } from '../errors.js';
import type { Limits } from '../engine/limits.js';
import type { BatchError } from '../engine/record-validation.js';
import type { Metadata } from '../store/vector-store.js';
import type { JsonReader } from './json-batch-reader.js';
import type { MetricName } from '../distance/metric.js';
import type { SketchBasis } from '../store/row-sketcher.js';

/** The body formats a batch-upsert accepts. */
export type BatchFormat = 'json' | 'arrow';

/** The store a batch is for: what validation needs, and what preparing its rows as that store keeps them needs. */
export interface IngestTarget {
  dimension: number | undefined;
  metric: MetricName;
  /** The store's current sketch basis (undefined while its rows are not sketched). */
  sketchBasis: SketchBasis | undefined;
}

/** A batch-upsert body to parse, validate and prepare for its store. */
export interface ParseTask {
  type: 'parse';
  format: BatchFormat;
  /** The request body, transferred (the front thread keeps no copy). */
  body: Uint8Array;
  limits: Limits;
  target: IngestTarget;
  /** The reader of JSON bodies (`--json-reader`). */
  jsonReader: JsonReader;
}

/**
 * The good records of a batch, column by column, prepared for the store: vectors back to back in one transferred
 * buffer (as the store keeps them, once prepared), their sketches likewise, and the batch's log record.
 */
export interface ParsedBatch {
  type: 'parsed';
  ids: string[];
  /** Dimension of every good record (0 when there is none). */
  dimension: number;
  /** The vectors: as the store keeps them (normalised, under cosine) when `asStored`, as sent otherwise. */
  vectors: Float32Array;
  asStored: boolean;
  /** Row sketches under the basis `sketchBasis`, back to back. */
  sketches?: Float32Array;
  sketchBasis?: number;
  /** The metric the batch was prepared for (its unscorable vectors refused, its rows normalised or not). */
  preparedFor: MetricName;
  /** The log record of exactly these records as one upsert, vectors as sent (absent when over its size limit). */
  logRecord?: Uint8Array;
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
