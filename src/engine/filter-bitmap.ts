// Evaluates a compiled filter over the records a store view sees, in short slices, into a slot bitmap for the scan.
import { VecStoreError } from '../errors.js';
import type { StoreView, VectorStore } from '../store/vector-store.js';
import type { FilterPredicate } from './filter.js';

/**
 * Longest a slice may hold the front thread. Between slices the evaluation yields with setImmediate, so I/O (other
 * requests, `/health`) runs; one record's metadata is the smallest step, so a slice may run over by one evaluation.
 */
export const FILTER_SLICE_MS = 5;

/**
 * Builds the bitmap (bit set = the record at that slot matches) and counts the matches, for the slots `view` sees, over the record versions it
 * sees (see `VectorStore.openView`). Returns undefined when compaction replaced the layout meanwhile (the caller reruns
 * on the new one). Throws `filter_too_costly` once the slices together have taken more than `budgetMs` of front-thread
 * time: time spent waiting between slices is not counted, so concurrent queries do not eat each other's budgets.
 */
export async function evaluateFilterBitmap(
  store: VectorStore,
  view: StoreView,
  filter: FilterPredicate,
  budgetMs: number,
): Promise<{ buffer: SharedArrayBuffer; matches: number } | undefined> {
  const words = Math.ceil(Math.max(1, view.horizon) / 32);
  const buffer = new SharedArrayBuffer(words * 4);
  const bits = new Int32Array(buffer);
  let spent = 0;
  let slot = 0;
  // Rows that pass: the planner compares them with the active rows to choose between a graph walk and a scan.
  let matches = 0;
  // Records between clock reads: doubled while records are cheap (reading the clock per record would cost more than
  // a small filter does), back to 1 as soon as they are not (a record with large metadata can take milliseconds).
  let stride = 1;
  for (;;) {
    const started = performance.now();
    let last = started;
    while (slot < view.horizon && last - started < FILTER_SLICE_MS) {
      const end = Math.min(view.horizon, slot + stride);
      for (; slot < end; slot++) {
        const record = store.versionAtSlot(slot, view);
        if (record && filter(record.metadata)) {
          bits[slot >>> 5] |= 1 << (slot & 31);
          matches++;
        }
      }
      const now = performance.now();
      stride = now - last < 0.05 ? Math.min(stride * 2, 64) : 1;
      last = now;
    }
    spent += last - started;
    if (slot >= view.horizon) return { buffer, matches };
    if (spent > budgetMs) {
      throw new VecStoreError(
        'filter_too_costly',
        `filter: evaluating it took more than the limit of ${budgetMs} ms (at record ${slot} of ${view.horizon}); simplify it or filter on smaller fields`,
      );
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (view.layoutVersion !== store.layout().version) return undefined;
  }
}
