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
  if (metric === 'euclidean') return (q, r) => worstIfNotFinite(simsimd.sqeuclidean(q, r));
  const dot = simsimd.dot;
  return (q, r) => worstIfNotFinite(-dot(q, r));
}

/**
 * A rank distance that overflowed (NaN or ±Infinity: rows written before vectors were checked, see
 * {@link vectorProblem}) ranks last, so a bad row can never displace a good one. The scan worker applies the same rule.
 */
export function worstIfNotFinite(rankDistance: number): number {
  return Number.isFinite(rankDistance) ? rankDistance : Infinity;
}

/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Why a vector cannot be stored or queried under `metric`, or undefined if it can. Cosine needs a direction (no zero
 * vector). Under dot and euclidean the score must not overflow float32 against any other accepted vector: by
 * Cauchy-Schwarz |a·b| ≤ |a||b| and |a − b|² ≤ (|a| + |b|)², so a squared norm of at most FLOAT32_MAX (dot) or a quarter
 * of it (euclidean) keeps every score, and every partial sum of the kernels, finite.
 */
export function vectorProblem(metric: MetricName, vector: Float32Array): string | undefined {
  let squares = 0;
  for (let i = 0; i < vector.length; i++) squares += vector[i] * vector[i];
  if (metric === 'cosine') return squares === 0 ? 'a zero vector cannot be normalised under cosine' : undefined;
  const max = metric === 'dot' ? FLOAT32_MAX : FLOAT32_MAX / 4;
  if (squares <= max) return undefined;
  return `its squared norm ${squares.toPrecision(3)} is over ${max.toPrecision(3)}, so its ${metric} scores would overflow float32`;
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
