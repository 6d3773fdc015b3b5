// Exact search: the batch's queries scan every live row once, split into one contiguous shard per worker, then merge.
import type { MetricName } from '../distance/metric.js';
import type { ScanLayout } from '../store/segment-layout.js';
import type { ScanResult, ScanTask, ShardRange } from '../search/messages.js';
import type { ScanPool } from '../search/scan-pool.js';
import { mergeSorted, sketchQueries, slotRanges, type IndexOutcome, type IndexQuery, type QuerySketcher, type TaskFault, type VectorIndex } from './vector-index.js';

export interface FlatIndexOptions extends QuerySketcher {
  metric: MetricName;
  /** Fewest rows worth a shard of their own: smaller stores use fewer shards than workers. */
  minRowsPerShard?: number;
  /**
   * Most work (rows × queries × dimension) in one task: a large scan becomes many short tasks, so that on a shared
   * pool another collection's small query waits for one short task, not for a whole scan of a big collection.
   */
  maxTaskWork?: number;
}

/** Exact (pruned) k-NN over the shared segments. */
export class FlatIndex implements VectorIndex {
  readonly kind = 'flat';
  private readonly pool: ScanPool;
  /** This store's source in the pool's fair queue. */
  private readonly source: number;
  private readonly options: Required<FlatIndexOptions>;

  constructor(pool: ScanPool, source: number, options: FlatIndexOptions) {
    this.pool = pool;
    this.source = source;
    this.options = { minRowsPerShard: 2048, maxTaskWork: 1 << 22, ...options };
  }

  async search(batch: IndexQuery[], layout: ScanLayout, dim: number, fault?: TaskFault): Promise<IndexOutcome[]> {
    const task = this.buildTask(batch, dim);
    // While another store uses the pool: about 4M multiply-adds per task by default (32K rows for one 128-d query;
    // never under 1K rows). With row sketches most rows cost a sketch bound, not a distance: counting the bound keeps
    // tasks long enough for their heaps to fill and the bound to prune. Alone on the pool: one shard per worker.
    const perPair = this.options.sketchWidth() || dim;
    const maxRows = this.pool.sharedWith(this.source)
      ? Math.max(this.options.minRowsPerShard / 2, Math.floor(this.options.maxTaskWork / (batch.length * perPair)))
      : Number.POSITIVE_INFINITY;
    const shards = planShards(layout, this.pool.threads, this.options.minRowsPerShard, maxRows);
    const results = await Promise.all(shards.map((ranges, i) => this.pool.run({ ...task, ranges, fault: i === 0 ? fault : undefined }, this.source) as Promise<ScanResult>));
    const timings = results.flatMap((r) => (r.timing ? [r.timing] : []));
    return batch.map((request, q) => {
      let candidates = 0;
      let pruned = 0;
      let distanceCount = 0;
      for (const r of results) {
        candidates += r.candidates[q];
        pruned += r.pruned[q];
        distanceCount += r.distanceCounts[q];
      }
      return { ...mergeSorted(results, q, task.k, request.k), candidates, pruned, distanceCount, path: 'exact', timings };
    });
  }

  private buildTask(batch: IndexQuery[], dim: number): Omit<ScanTask, 'ranges'> {
    const queryCount = batch.length;
    const queries = new Float32Array(queryCount * dim);
    const queryK = new Int32Array(queryCount);
    const queryHorizon = new Int32Array(queryCount);
    const filterIndex = new Int32Array(queryCount).fill(-1);
    const filters: SharedArrayBuffer[] = [];
    let k = 1;
    batch.forEach((request, q) => {
      queries.set(request.query, q * dim);
      queryK[q] = request.k;
      queryHorizon[q] = request.horizon;
      k = Math.max(k, request.k);
      filterIndex[q] = filterSlot(filters, request.filter);
    });
    return { kind: 'scan', metric: this.options.metric, dim, k, queries, queryCount, queryK, queryHorizon, filterIndex, filters, ...sketchQueries(this.options, batch) };
  }
}

/** Index of `filter` in the task's shared filter list (added once), or -1 for none. */
export function filterSlot(filters: SharedArrayBuffer[], filter: SharedArrayBuffer | undefined): number {
  if (!filter) return -1;
  const index = filters.indexOf(filter);
  return index >= 0 ? index : filters.push(filter) - 1;
}

/**
 * Splits the used rows into contiguous shards of near-equal size, each a list of per-segment ranges: one per worker for
 * shards of at least `minRowsPerShard` rows, and more when a shard would exceed `maxRowsPerShard` rows.
 */
export function planShards(layout: ScanLayout, threads: number, minRowsPerShard: number, maxRowsPerShard = Number.POSITIVE_INFINITY): ShardRange[][] {
  const total = layout.slotsUsed;
  const shardCount = Math.max(1, Math.min(threads, Math.ceil(total / minRowsPerShard)), Math.ceil(total / maxRowsPerShard));
  const shards: ShardRange[][] = [];
  for (let s = 0; s < shardCount; s++) {
    shards.push(slotRanges(layout, Math.floor((total * s) / shardCount), Math.floor((total * (s + 1)) / shardCount)));
  }
  return shards;
}
