// Records in id order for scrolling: a sorted id list rebuilt only when the store changed since the last page.
import type { StoredRecord, VectorStore } from '../store/vector-store.js';
import { filterTooCostly } from './filter-bitmap.js';
import { inSlices } from './time-slices.js';

/** One page of a scroll: the records and whether any record after the last one matched. */
export interface IdPage {
  records: StoredRecord[];
  more: boolean;
}

/**
 * Pages through a store in id order (UTF-16 code-unit order, as `<` compares strings). A page starts after the last id
 * of the previous one, so a record that exists for a whole scroll is returned exactly once however others are written.
 */
export class IdOrder {
  private sorted: string[] = [];
  private generation = -1;

  constructor(private readonly store: VectorStore) {}

  /**
   * Up to `limit` records with ids after `after` (from the start when undefined) that `accept` keeps, looked at in time
   * slices (a costly filter that matches little must not hold the front thread); `filter_too_costly` past `budgetMs`.
   */
  async page(after: string | undefined, limit: number, accept: (record: StoredRecord) => boolean, budgetMs: number): Promise<IdPage> {
    const ids = this.ids();
    let i = after === undefined ? 0 : firstAfter(ids, after);
    const records: StoredRecord[] = [];
    let more = false;
    await inSlices(
      (count) => {
        for (const end = Math.min(ids.length, i + count); i < end; i++) {
          const record = this.store.getRecord(ids[i]);
          if (!record || !accept(record)) continue;
          // One match past the page tells whether a next page exists, so the last page says so without an empty round trip.
          if (records.length === limit) {
            more = true;
            return true;
          }
          records.push(record);
        }
        return i >= ids.length;
      },
      budgetMs,
      () => filterTooCostly(budgetMs, `at id ${i} of ${ids.length}`),
    );
    return { records, more };
  }

  private ids(): string[] {
    if (this.generation !== this.store.generation) {
      const ids: string[] = [];
      for (const record of this.store.recordsInSlotOrder()) ids.push(record.id);
      this.sorted = ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      this.generation = this.store.generation;
    }
    return this.sorted;
  }
}

/** Index of the first id greater than `after` in a sorted list. */
function firstAfter(ids: string[], after: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid] <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
