// The one search seam: exact scan and HNSW both answer a batch of queries over a layout with the same result shape.
import type { ScanLayout } from '../store/segment-layout.js';
import type { QuerySketches, ScanTiming } from '../search/messages.js';

/** One query as an index sees it: a ready vector (unit length under cosine), k, an optional slot bitmap, a breadth. */
export interface IndexQuery {
  query: Float32Array;
  k: number;
  /** Bitmap over the layout's slots (bit set = allowed), evaluated where the metadata lives. */
  filter?: SharedArrayBuffer;
  /** Graph search breadth (≥ k); ignored by exact search. */
  ef?: number;
  /** The horizon of the store view the query opened: the slots it may see (see `VectorStore.openView`). */
  horizon: number;
  /**
   * A slot a graph walk must neither return nor pass through: calibrating with a stored row as the query, the row's own
   * links would lead straight to its neighbours, which no real query can count on.
   */
  skip?: number;
}

/** Which path answered a query. */
export type SearchPath = 'exact' | 'hnsw';

/** A query's hits as slots of the layout it ran on, with rank distances (lower is better), best first. */
export interface IndexOutcome {
  slots: number[];
  distances: number[];
  /** Rows that were live and passed the filter (exact), or results the graph offered (hnsw). */
  candidates: number;
  /** Rows skipped by the sketch bound without computing their distance. */
  pruned: number;
  /** Distances computed for this query. */
  distanceCount: number;
  path: SearchPath;
  /** How each worker task that answered the query went (trace spans). */
  timings?: ScanTiming[];
}

/** Test-only fault carried by the first task of a batch. */
export type TaskFault = 'throw' | 'exit' | undefined;

/** A way to search the store's rows. Implementations know nothing of each other; the engine picks one per query. */
export interface VectorIndex {
  readonly kind: 'flat' | 'hnsw';
  search(batch: IndexQuery[], layout: ScanLayout, dim: number, fault?: TaskFault): Promise<IndexOutcome[]>;
}

/** The store's query sketching, which both indexes hand to their tasks (see src/store/row-sketcher.ts). */
export interface QuerySketcher {
  /**
   * Writes a query's sketch for the current basis into `out` at `offset` and returns the basis id (0: none). Called
   * when a batch is dispatched, together with the layout, so sketches and segments always agree.
   */
  sketchQuery: (query: Float32Array, out: Float64Array, offset: number) => number;
  /** Float64 values per sketch (0: no sketches). */
  sketchWidth: () => number;
}

/** The sketches of a task's queries, for the sketch bound in the workers. */
export function sketchQueries(sketcher: QuerySketcher, queries: IndexQuery[]): QuerySketches {
  const sketchWidth = sketcher.sketchWidth();
  const querySketches = new Float64Array(queries.length * sketchWidth);
  let basisId = 0;
  if (sketchWidth > 0) queries.forEach((request, q) => (basisId = sketcher.sketchQuery(request.query, querySketches, q * sketchWidth)));
  return { basisId, querySketches, sketchWidth };
}

/** Merges per-shard sorted lists (`k` entries per query, -1 slot = empty) for query `q` into its top `limit`. */
export function mergeSorted(
  lists: Array<{ slots: Int32Array; distances: Float64Array }>,
  q: number,
  stride: number,
  limit: number,
): { slots: number[]; distances: number[] } {
  const slots: number[] = [];
  const distances: number[] = [];
  const heads = new Array<number>(lists.length).fill(0);
  while (slots.length < limit) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      const at = q * stride + heads[i];
      if (heads[i] >= stride || lists[i].slots[at] < 0) continue;
      if (best < 0) {
        best = i;
        continue;
      }
      const bestAt = q * stride + heads[best];
      const d = lists[i].distances[at];
      const bd = lists[best].distances[bestAt];
      if (d < bd || (d === bd && lists[i].slots[at] < lists[best].slots[bestAt])) best = i;
    }
    if (best < 0) break;
    const at = q * stride + heads[best];
    slots.push(lists[best].slots[at]);
    distances.push(lists[best].distances[at]);
    heads[best]++;
  }
  return { slots, distances };
}

/** The ranges of slots [from, to) of a layout, split at segment boundaries. */
export function slotRanges(layout: ScanLayout, from: number, to: number): Array<{ segmentId: number; start: number; end: number; baseSlot: number }> {
  const ranges = [];
  for (let slot = from; slot < to; ) {
    const segIndex = Math.floor(slot / layout.rowsPerSegment);
    const baseSlot = segIndex * layout.rowsPerSegment;
    const end = Math.min(to, baseSlot + layout.rowsPerSegment);
    ranges.push({ segmentId: layout.segmentIds[segIndex], start: slot - baseSlot, end: end - baseSlot, baseSlot });
    slot = end;
  }
  return ranges;
}
