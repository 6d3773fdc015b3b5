// Turns a query's JSON (HTTP body or WebSocket message) into an engine query, naming the field of any mistake.
import { VecStoreError } from '../errors.js';
import type { HybridQuery, VectorQuery } from '../engine/engine.js';
import type { Limits } from '../engine/limits.js';
import { describe, parseBoolean, parseK, parseVector } from '../engine/record-validation.js';

/**
 * Parses `{vector, limit|k, filter?, include_vectors?, include_text?, include_metadata? = true, score_threshold?, ef?,
 * recall?, exact?}`.
 */
export function parseVectorQuery(body: Record<string, unknown>, limits: Limits, vector?: Float32Array): VectorQuery {
  const filter = body.filter;
  if (filter !== undefined && filter !== null && typeof filter !== 'string') {
    throw new VecStoreError('validation', `filter: must be a string, got ${describe(filter)}`);
  }
  const k = parseK(body, limits);
  const exact = parseBoolean(body.exact, 'exact');
  return {
    vector: vector ?? parseVector(body.vector, 'vector', limits),
    k,
    filter: typeof filter === 'string' ? filter : undefined,
    includeVectors: parseBoolean(body.include_vectors, 'include_vectors'),
    includeText: parseBoolean(body.include_text, 'include_text'),
    includeMetadata: body.include_metadata === undefined || body.include_metadata === null ? true : parseBoolean(body.include_metadata, 'include_metadata'),
    ...(body.score_threshold !== undefined && body.score_threshold !== null ? { scoreThreshold: parseThreshold(body.score_threshold) } : {}),
    ...(body.ef !== undefined ? { ef: parseEf(body.ef, k, limits) } : {}),
    ...(body.recall !== undefined ? { recall: parseRecall(body.recall, body.ef) } : {}),
    ...(exact ? { exact } : {}),
  };
}

/** `score_threshold`: a finite number (its direction follows the metric; see VectorQuery.scoreThreshold). */
function parseThreshold(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new VecStoreError('validation', `score_threshold: must be a finite number, got ${describe(value)}`);
  return value;
}

/** `recall`: a target in (0, 1] instead of a breadth; 1 means exact. */
function parseRecall(value: unknown, ef: unknown): number {
  if (ef !== undefined) throw new VecStoreError('validation', 'recall: give either ef or recall, not both');
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) throw new VecStoreError('validation', `recall: must be a number in (0, 1], got ${describe(value)}`);
  return value;
}

/** `ef`: the graph search breadth, an integer from the query's limit up to the configured cap. */
function parseEf(value: unknown, k: number, limits: Limits): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new VecStoreError('validation', `ef: must be a positive integer, got ${describe(value)}`);
  }
  if (value > limits.maxEf) throw new VecStoreError('ef_too_large', `ef: ${value} is over the limit of ${limits.maxEf}`);
  if (value < k) throw new VecStoreError('validation', `ef: must be at least limit (${k}), got ${value}`);
  return value;
}

/** Parses `{vector, text_query, limit|k, alpha? = 0.7, fusion? = "linear", filter?}`. */
export function parseHybridQuery(body: Record<string, unknown>, limits: Limits, vector?: Float32Array): HybridQuery {
  const base = parseVectorQuery(body, limits, vector);
  const textQuery = body.text_query;
  if (typeof textQuery !== 'string') throw new VecStoreError('validation', `text_query: must be a string, got ${describe(textQuery)}`);
  if (Buffer.byteLength(textQuery) > limits.maxTextBytes) {
    throw new VecStoreError('text_too_large', `text_query: over the limit of ${limits.maxTextBytes} bytes`);
  }
  const alpha = body.alpha ?? 0.7;
  if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1)) {
    throw new VecStoreError('validation', `alpha: must be a number from 0 to 1, got ${describe(alpha)}`);
  }
  const fusion = body.fusion ?? 'linear';
  if (fusion !== 'linear' && fusion !== 'rrf') throw new VecStoreError('validation', `fusion: must be "linear" or "rrf", got ${describe(fusion)}`);
  return { ...base, textQuery, alpha, fusion };
}
