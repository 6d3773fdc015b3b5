// Exact client-side ground truth (brute-force top-k with simsimd, ties broken by row index) and recall@k against it.
import { normalizeInPlace, rankDistanceFn, type MetricName } from '../src/distance/metric.js';
import type { Dataset, IntMatrix } from './datasets.js';

/** The true nearest neighbours of each query, best first. */
export interface GroundTruth {
  /** Neighbours stored per query (a row of `ids`). */
  k: number;
  /** Number of queries. */
  count: number;
  /** `count × k` base row indexes, best first; -1 pads a row when fewer than k base rows qualified. */
  ids: Int32Array;
  /** Rank distances (lower is better, see `rankDistanceFn`) of `ids`, or null when unknown (a ground-truth file). */
  distances: Float64Array | null;
}

/** Options of {@link exactTopK}. */
export interface ExactTopKOptions {
  /** Only rows for which this returns true are candidates (the client-side image of a query filter). */
  accept?: (row: number) => boolean;
  /** Called now and then with the number of base rows scanned so far. */
  onProgress?: (rowsScanned: number) => void;
}

/**
 * The data as the server scans it: for cosine, a normalised copy (the server normalises on write and scans with dot);
 * for dot and euclidean, the data itself.
 */
export function prepareForMetric(ds: Dataset, metric: MetricName): Dataset {
  if (metric !== 'cosine') return ds;
  const data = new Float32Array(ds.data);
  for (let r = 0; r < ds.count; r++) normalizeInPlace(data.subarray(r * ds.dim, (r + 1) * ds.dim));
  return { dim: ds.dim, count: ds.count, data };
}

/**
 * Exact top-k of every query over the base, by brute force with the same simsimd kernels the server uses.
 * Equal distances are ordered by row index (lower first), so the answer is unique.
 *
 * @param base - base vectors (raw; normalised internally for cosine)
 * @param queries - query vectors with the same dimension
 */
export function exactTopK(
  base: Dataset,
  queries: Dataset,
  k: number,
  metric: MetricName,
  options: ExactTopKOptions = {},
): GroundTruth {
  if (base.dim !== queries.dim) {
    throw new RangeError(`dimension mismatch: base has ${base.dim}, queries have ${queries.dim}`);
  }
  if (!Number.isInteger(k) || k <= 0) throw new RangeError(`k must be a positive integer, got ${k}`);
  const b = prepareForMetric(base, metric);
  const q = prepareForMetric(queries, metric);
  const dist = rankDistanceFn(metric);
  const dim = base.dim;
  const nq = queries.count;
  const qViews: Float32Array[] = [];
  for (let i = 0; i < nq; i++) qViews.push(q.data.subarray(i * dim, (i + 1) * dim));

  // One bounded max-heap per query (root = current worst), flattened into typed arrays to keep the loop allocation-free.
  const heapD = new Float64Array(nq * k);
  const heapI = new Int32Array(nq * k);
  const size = new Int32Array(nq);
  const { accept, onProgress } = options;

  // Rows outer, queries inner: each base row is read from memory once and stays in cache for every query.
  for (let r = 0; r < base.count; r++) {
    if (onProgress && (r & 4095) === 0 && r > 0) onProgress(r);
    if (accept && !accept(r)) continue;
    const row = b.data.subarray(r * dim, (r + 1) * dim);
    for (let i = 0; i < nq; i++) {
      const d = dist(qViews[i], row);
      const h = i * k;
      const n = size[i];
      if (n < k) {
        // Sift up. Rows arrive in increasing index order, so on equal distance the newer row is the worse one.
        let c = n;
        while (c > 0) {
          const p = (c - 1) >> 1;
          if (heapD[h + p] > d) break;
          heapD[h + c] = heapD[h + p];
          heapI[h + c] = heapI[h + p];
          c = p;
        }
        heapD[h + c] = d;
        heapI[h + c] = r;
        size[i] = n + 1;
      } else if (d < heapD[h]) {
        // Strictly better than the worst: a tie keeps the earlier (lower-index) row.
        siftDownReplace(heapD, heapI, h, k, d, r);
      }
    }
  }
  onProgress?.(base.count);

  const ids = new Int32Array(nq * k).fill(-1);
  const distances = new Float64Array(nq * k).fill(Number.POSITIVE_INFINITY);
  const order: number[] = [];
  for (let i = 0; i < nq; i++) {
    const h = i * k;
    order.length = 0;
    for (let j = 0; j < size[i]; j++) order.push(j);
    order.sort((x, y) => heapD[h + x] - heapD[h + y] || heapI[h + x] - heapI[h + y]);
    for (let j = 0; j < order.length; j++) {
      ids[h + j] = heapI[h + order[j]];
      distances[h + j] = heapD[h + order[j]];
    }
  }
  return { k, count: nq, ids, distances };
}

/** Replaces the root of a max-heap of (distance, index) ordered by distance, then index, and restores the heap. */
function siftDownReplace(heapD: Float64Array, heapI: Int32Array, h: number, k: number, d: number, r: number): void {
  let c = 0;
  for (;;) {
    const l = 2 * c + 1;
    if (l >= k) break;
    let m = l;
    const rr = l + 1;
    if (rr < k && worse(heapD[h + rr], heapI[h + rr], heapD[h + l], heapI[h + l])) m = rr;
    if (!worse(heapD[h + m], heapI[h + m], d, r)) break;
    heapD[h + c] = heapD[h + m];
    heapI[h + c] = heapI[h + m];
    c = m;
  }
  heapD[h + c] = d;
  heapI[h + c] = r;
}

function worse(d1: number, i1: number, d2: number, i2: number): boolean {
  return d1 > d2 || (d1 === d2 && i1 > i2);
}

/**
 * Ground truth from an id matrix (an .ivecs file): the first `k` columns of each row, without distances.
 * Throws a RangeError when the file holds fewer than k neighbours per query.
 */
export function groundTruthFromIds(m: IntMatrix, k: number): GroundTruth {
  if (m.dim < k) throw new RangeError(`ground truth has ${m.dim} neighbours per query, fewer than k = ${k}`);
  const ids = new Int32Array(m.count * k);
  for (let i = 0; i < m.count; i++) ids.set(m.data.subarray(i * m.dim, i * m.dim + k), i * k);
  return { k, count: m.count, ids, distances: null };
}

/**
 * Fills in the distances of a ground truth read from a file, so that recall can credit exact ties (a result whose
 * distance equals the k-th true distance is as correct as the one the file lists).
 */
export function withDistances(truth: GroundTruth, base: Dataset, queries: Dataset, metric: MetricName): GroundTruth {
  const b = prepareForMetric(base, metric);
  const q = prepareForMetric(queries, metric);
  const dist = rankDistanceFn(metric);
  const dim = base.dim;
  const distances = new Float64Array(truth.ids.length).fill(Number.POSITIVE_INFINITY);
  for (let i = 0; i < Math.min(truth.count, queries.count); i++) {
    const qv = q.data.subarray(i * dim, (i + 1) * dim);
    for (let j = 0; j < truth.k; j++) {
      const id = truth.ids[i * truth.k + j];
      if (id >= 0 && id < base.count) distances[i * truth.k + j] = dist(qv, b.data.subarray(id * dim, (id + 1) * dim));
    }
  }
  return { ...truth, distances };
}

/** Recall@k over the queries that were answered. */
export interface RecallResult {
  /** Mean over evaluated queries of |found ∩ true top-k| / min(k, true neighbours available); NaN if none evaluated. */
  recall: number;
  /** Queries with an answer that were scored. */
  evaluated: number;
}

/**
 * Relative tolerance for counting a result as tied with the k-th true neighbour: float32 dot products over hundreds
 * of components differ in the last bits between kernels, so "equal" means equal to about 1e-5 of the magnitude.
 */
export const TIE_TOLERANCE = 1e-5;

/**
 * Recall@k of the answers `found[q]` (base row indexes, best first; null = query not answered) against `truth`.
 * Only the first k answers count and duplicates count once. With `tieDistance` (the exact rank distance of a
 * query to a base row; Infinity for rows that do not qualify) and truth distances, an answer outside the listed top-k
 * whose distance ties the k-th true distance also counts, because any of the tied rows is a correct k-th neighbour.
 */
export function recallAtK(
  found: ReadonlyArray<ArrayLike<number> | null | undefined>,
  truth: GroundTruth,
  k: number,
  tieDistance?: (query: number, row: number) => number,
): RecallResult {
  if (k > truth.k) throw new RangeError(`k = ${k} is larger than the ground truth's ${truth.k} neighbours per query`);
  let sum = 0;
  let evaluated = 0;
  const n = Math.min(found.length, truth.count);
  const trueSet = new Set<number>();
  const seen = new Set<number>();
  for (let q = 0; q < n; q++) {
    const answer = found[q];
    if (answer === null || answer === undefined) continue;
    trueSet.clear();
    seen.clear();
    let kth = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < k; j++) {
      const id = truth.ids[q * truth.k + j];
      if (id < 0) break;
      trueSet.add(id);
      if (truth.distances) kth = truth.distances[q * truth.k + j];
    }
    evaluated++;
    if (trueSet.size === 0) {
      // Nothing qualifies (e.g. a filter that matches no row): an empty answer is perfect, anything else is wrong.
      sum += answer.length === 0 ? 1 : 0;
      continue;
    }
    const tolerance = TIE_TOLERANCE * Math.max(1, Math.abs(kth));
    let hits = 0;
    for (let j = 0; j < Math.min(k, answer.length); j++) {
      const id = answer[j];
      if (seen.has(id)) continue;
      seen.add(id);
      if (trueSet.has(id)) hits++;
      // Only a tie counts: a row clearly closer than the k-th truth yet not in it is one the truth excluded (filtered
      // out or not in the dataset), so returning it is an error, not a tie.
      else if (tieDistance && truth.distances && id >= 0 && Math.abs(tieDistance(q, id) - kth) <= tolerance) hits++;
    }
    sum += Math.min(1, hits / trueSet.size);
  }
  return { recall: evaluated > 0 ? sum / evaluated : Number.NaN, evaluated };
}
