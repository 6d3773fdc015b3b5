// Rows as a store keeps them (normalised under cosine, with their sketch), computed the same way on any thread: the
// store prepares single rows itself, and a parse worker prepares a whole batch so that the front thread only copies.
import { normalizeInPlace, type MetricName } from '../distance/metric.js';
import { RowSketcher, type SketchBasis } from './row-sketcher.js';

/** A row prepared for a store: what `VectorStore.upsert` would otherwise compute from the vector. */
export interface PreparedRow {
  /** The row as stored: the vector normalised under cosine, the vector itself otherwise. */
  row: Float32Array;
  /** Its sketch (m projections, residual norm, squared norm) under the basis `sketchBasis`, when the store had one. */
  sketch?: Float32Array;
  sketchBasis?: number;
}

/** The row as a store keeps it: a normalised copy under cosine, the vector itself otherwise. */
export function storedRow(vector: Float32Array, metric: MetricName): Float32Array {
  return metric === 'cosine' ? normalizeInPlace(new Float32Array(vector)) : vector;
}

/** Sketches of a batch's rows, back to back (count × (m + 2)), and the id of the basis they were made with. */
export interface RowSketches {
  sketches: Float32Array;
  sketchBasis: number;
}

/** The last basis a thread was given, rebuilt only when the store's basis changes. */
let cachedSketcher: { basisId: number; sketcher: RowSketcher } | undefined;

/**
 * Turns `count` vectors of dimension d stored back to back into rows as the store keeps them, in place (normalised
 * under cosine), and sketches them when a basis is given. Bit for bit what the store computes: the same
 * normalisation and the same simsimd projections on the same float32 values.
 */
export function prepareRowsInPlace(vectors: Float32Array, count: number, d: number, metric: MetricName, basis: SketchBasis | undefined): RowSketches | undefined {
  if (metric === 'cosine') for (let i = 0; i < count; i++) normalizeInPlace(vectors.subarray(i * d, (i + 1) * d));
  if (!basis || basis.d !== d) return undefined;
  if (cachedSketcher?.basisId !== basis.id) cachedSketcher = { basisId: basis.id, sketcher: RowSketcher.fromBasis(basis) };
  const { sketcher } = cachedSketcher;
  const width = sketcher.m + 2;
  const sketches = new Float32Array(count * width);
  for (let i = 0; i < count; i++) sketcher.sketch(vectors.subarray(i * d, (i + 1) * d), sketches, i * width);
  return { sketches, sketchBasis: basis.id };
}
