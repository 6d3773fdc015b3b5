// Evaluates a compiled filter over the records a store view sees, in short slices, into a slot bitmap for the scan.
import { VecStoreError } from '../errors.js';
import type { StoreView, VectorStore } from '../store/vector-store.js';
import type { FilterPredicate } from './filter.js';
import { inSlices } from './time-slices.js';

/**
 * Builds the bitmap (bit set = the record at that slot matches) and counts the matches, for the slots `view` sees, over
 * the record versions it sees (see `VectorStore.openView`), in time slices (see inSlices). Returns undefined when
 * compaction replaced the layout meanwhile (the caller reruns on the new one). Throws `filter_too_costly` past
 * `budgetMs` of evaluation.
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
  let slot = 0;
  // Rows that pass: the planner compares them with the active rows to choose between a graph walk and a scan.
  let matches = 0;
  const complete = await inSlices(
    (count) => {
      const end = Math.min(view.horizon, slot + count);
      for (; slot < end; slot++) {
        const record = store.versionAtSlot(slot, view);
        if (record && filter(record.metadata)) {
          bits[slot >>> 5] |= 1 << (slot & 31);
          matches++;
        }
      }
      return slot >= view.horizon;
    },
    budgetMs,
    () => filterTooCostly(budgetMs, `at record ${slot} of ${view.horizon}`),
    () => view.layoutVersion === store.layout().version,
  );
  return complete ? { buffer, matches } : undefined;
}

/** The error of a filter whose evaluation passed its time budget. */
export function filterTooCostly(budgetMs: number, where: string): VecStoreError {
  return new VecStoreError(
    'filter_too_costly',
    `filter: evaluating it took more than the limit of ${budgetMs} ms (${where}); simplify it or filter on smaller fields`,
  );
}
