// Distance metrics: how each is scanned (a "rank distance", lower is better) and how it is reported to users (the score).
import { simsimd } from './simsimd-native.js';

/** The metrics a collection can use. */
export type MetricName = 'cosine' | 'dot' | 'euclidean';

export const METRIC_NAMES: readonly MetricName[] = ['cosine', 'dot', 'euclidean'];

/**
 * Rank distance between query and row: lower is better for every metric, so one heap serves all.
 * cosine scans with dot on normalised vectors; euclidean ranks by squared L2 (monotone in L2, no sqrt per row).
 */
export function rankDistanceFn(metric: MetricName): (query: Float32Array, row: Float32Array) => number {
  if (metric === 'euclidean') return simsimd.sqeuclidean;
  const dot = simsimd.dot;
  return (q, r) => -dot(q, r);
}

/**
 * The score users see, from a rank distance: cosine → cosine similarity in [-1, 1] (higher is better),
 * dot → inner product (higher is better), euclidean → L2 distance (lower is better).
 */
export function scoreFromRankDistance(metric: MetricName, rankDistance: number): number {
  if (metric === 'euclidean') return Math.sqrt(Math.max(0, rankDistance));
  return -rankDistance;
}

/** Whether a larger score is better for this metric (false only for euclidean). */
export function higherScoreIsBetter(metric: MetricName): boolean {
  return metric !== 'euclidean';
}

/** Normalises a vector in place to unit length (cosine stores and queries unit vectors); a zero vector stays zero. */
export function normalizeInPlace(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] * v[i];
  if (sum > 0) {
    const inv = 1 / Math.sqrt(sum);
    for (let i = 0; i < v.length; i++) v[i] *= inv;
  }
  return v;
}
