// The exact scan kernel: every live row of some shard ranges against every query of a batch, into bounded top-k heaps.
// Pure (no threads, no I/O): the scan worker calls it for scan tasks and for the unindexed tail of graph searches.
import { simsimd } from '../distance/simsimd-native.js';
import type { MetricName } from '../distance/metric.js';
import { headerView, livenessView, sketchView, supersededView, vectorView, type SegmentDescriptor } from '../store/segment-layout.js';
import type { ShardRange } from './messages.js';
import { heapPush, heapReplaceTop, heapSortAscending } from './topk-heap.js';
import { sketchExceeds } from './sketch-bound.js';

/** A segment as a reader sees it: typed views of its parts, and per-row views made on first use and kept. */
export interface SegmentRows {
  data: Float32Array;
  liveness: Int32Array;
  header: Int32Array;
  sketches: Float32Array;
  /** Per row: 0, or 1 + the slot of the newer version of its record (see `supersededView`). */
  superseded: Int32Array;
  dim: number;
  /** Per-row views: making them per task would cost more than the scan. */
  rows: Array<Float32Array | undefined>;
}

export function mapSegmentRows(seg: SegmentDescriptor): SegmentRows {
  return { data: vectorView(seg), liveness: livenessView(seg), header: headerView(seg), sketches: sketchView(seg), superseded: supersededView(seg), dim: seg.dim, rows: new Array(seg.rows) };
}

/** The view of row `r` of a segment (made once, then cached). */
export function rowOf(seg: SegmentRows, r: number): Float32Array {
  return (seg.rows[r] ??= seg.data.subarray(r * seg.dim, (r + 1) * seg.dim));
}

/**
 * Whether row `r` of a segment is in the view of a query whose view ends at slot `horizon`: below the horizon, and live
 * or superseded by a version written after the view opened (see `VectorStore.openView`).
 */
export function visibleRow(seg: SegmentRows, r: number, slot: number, horizon: number): boolean {
  if (slot >= horizon) return false;
  if ((Atomics.load(seg.liveness, r >>> 5) & (1 << (r & 31))) !== 0) return true;
  const supersededBy = Atomics.load(seg.superseded, r);
  return supersededBy > horizon;
}

/** What a scan compares: the batch's queries, each with its own k, filter bitmap and (optional) sketch. */
export interface ScanQueries {
  metric: MetricName;
  /** Heap capacity per query (the largest k of the batch). */
  k: number;
  queries: Float32Array[];
  queryK: Int32Array;
  /** Per query: a bitmap over global slots (bit set = allowed), or undefined for no filter. */
  queryFilter: Array<Int32Array | undefined>;
  /** Per query: the horizon of its store view (see `visibleRow`). */
  queryHorizon: Int32Array;
  /** The basis the query sketches use (0: none), see ScanTask. */
  basisId: number;
  querySketches: Float64Array;
  sketchWidth: number;
}

/** Per-query top-k heaps (`queryCount × k`), filled by `scanRanges` and sorted best first by `finishScan`. */
export interface ScanHeaps {
  slots: Int32Array;
  distances: Float64Array;
  sizes: Int32Array;
  candidates: Int32Array;
  pruned: Int32Array;
  rowsScanned: number;
}

export function newScanHeaps(queryCount: number, k: number): ScanHeaps {
  return {
    slots: new Int32Array(queryCount * k).fill(-1),
    distances: new Float64Array(queryCount * k),
    sizes: new Int32Array(queryCount),
    candidates: new Int32Array(queryCount),
    pruned: new Int32Array(queryCount),
    rowsScanned: 0,
  };
}

/** Bound checks after which a query that the bound rarely prunes stops paying for it (unstructured data). */
const BOUND_TRIAL_CHECKS = 2048;

/**
 * Scans `ranges` (segment `mapped[i]` for range i) once, comparing each live row with every query of the batch.
 * `only` restricts the scan to some queries (the others' heaps are untouched).
 */
export function scanRanges(input: ScanQueries, ranges: ShardRange[], mapped: SegmentRows[], heaps: ScanHeaps, only?: Uint8Array): void {
  const { k, queries, queryK, queryFilter, queryHorizon, basisId, querySketches: qs, sketchWidth: width } = input;
  const queryCount = queries.length;
  let minHorizon = Infinity;
  for (let q = 0; q < queryCount; q++) minHorizon = Math.min(minHorizon, queryHorizon[q]);
  const { slots: heapSlots, distances: heapDistances, sizes: heapSizes, candidates, pruned } = heaps;
  const negate = input.metric !== 'euclidean';
  const m = width - 2;
  const kernel = negate ? simsimd.dot : simsimd.sqeuclidean;
  // Per query: whether the bound is still worth computing, and how it has done so far.
  const useBound = new Uint8Array(queryCount).fill(1);
  const boundChecks = new Int32Array(queryCount);

  for (let i = 0; i < ranges.length; i++) {
    const range = ranges[i];
    const seg = mapped[i];
    const { liveness, sketches, superseded } = seg;
    // Sketches are usable only if this segment's were made with the basis the query sketches use.
    const sketched = basisId !== 0 && Atomics.load(seg.header, 0) === basisId;
    let word = 0;
    for (let r = range.start; r < range.end; r++) {
      if ((r & 31) === 0 || r === range.start) word = Atomics.load(liveness, r >>> 5);
      // A row that is not live is still read by the queries that opened their view before its record was updated.
      const live = (word & (1 << (r & 31))) !== 0;
      const supersededBy = live ? 0 : Atomics.load(superseded, r);
      if (!live && supersededBy <= minHorizon) continue;
      // The row's view is made on first use only: a row the bound always prunes never needs one.
      let row: Float32Array | undefined;
      const slot = range.baseSlot + r;
      heaps.rowsScanned++;
      for (let q = 0; q < queryCount; q++) {
        if (only !== undefined && only[q] === 0) continue;
        const horizon = queryHorizon[q];
        if (slot >= horizon || (supersededBy !== 0 && supersededBy <= horizon)) continue;
        const filter = queryFilter[q];
        if (filter !== undefined && (filter[slot >>> 5] & (1 << (slot & 31))) === 0) continue;
        candidates[q]++;
        const qk = queryK[q];
        const base = q * k;
        const size = heapSizes[q];
        if (sketched && size === qk && useBound[q] === 1) {
          if (sketchExceeds(qs, q * width, sketches, r * width, m, negate, heapDistances[base])) {
            pruned[q]++;
            continue;
          }
          // On data without low-dimensional structure the bound almost never prunes: stop paying for it.
          if (++boundChecks[q] === BOUND_TRIAL_CHECKS && pruned[q] < BOUND_TRIAL_CHECKS / 4) useBound[q] = 0;
        }
        row ??= rowOf(seg, r);
        let d = kernel(queries[q], row);
        if (negate) d = -d;
        // An overflowed distance (rows written before vectors were checked) ranks last: see worstIfNotFinite.
        if (!(d < Infinity && d > -Infinity)) d = Infinity;
        if (size < qk) {
          heapPush(heapDistances, heapSlots, base, size, d, slot);
          heapSizes[q] = size + 1;
        } else if (d < heapDistances[base]) {
          // Rows arrive in slot order, so an equal distance never displaces the earlier row: ties go to the older slot.
          heapReplaceTop(heapDistances, heapSlots, base, size, d, slot);
        }
      }
    }
  }
}

/** Sorts every query's heap best first (after the last `scanRanges`). */
export function finishScan(heaps: ScanHeaps, queryCount: number, k: number): void {
  for (let q = 0; q < queryCount; q++) heapSortAscending(heaps.distances, heaps.slots, q * k, heaps.sizes[q]);
}
