// Exact k-NN on the front thread: batches waiting queries, splits the rows into shard tasks, merges local top-k lists.
import { VecStoreError } from '../errors.js';
import type { MetricName } from '../distance/metric.js';
import type { ScanLayout } from '../store/segment-layout.js';
import type { ScanResult, ScanTask, ShardRange } from './messages.js';
import type { ScanPool } from './scan-pool.js';
import { activeSpanParent, type SpanParent } from '../telemetry/trace-seam.js';
import { recordSearchSpans } from './search-spans.js';

/**
 * One query: a ready-to-scan vector (normalised for cosine), how many results, an optional slot bitmap filter, and the
 * horizon of the store view it opened (slots it may see; see `VectorStore.openView`).
 */
export interface SearchRequest {
  query: Float32Array;
  k: number;
  filter?: SharedArrayBuffer;
  horizon: number;
}

/** A hit is a slot of the layout the query ran on, with its rank distance (lower is better). */
export interface SearchOutcome {
  layoutVersion: number;
  slots: number[];
  distances: number[];
  /** Rows that were live and passed the filter. */
  candidates: number;
  /** Of those, rows skipped by the sketch bound without computing their distance. */
  pruned: number;
}

interface Pending {
  request: SearchRequest;
  resolve(outcome: SearchOutcome): void;
  reject(err: unknown): void;
  /** The traced request this query serves (its batch wait, scans and merge become child spans), if sampled. */
  trace: SpanParent | undefined;
  queuedAt: number;
}

export interface QueryBatcherOptions {
  metric: MetricName;
  dimension: () => number | undefined;
  layout: () => ScanLayout;
  /**
   * Writes a query's sketch for the current basis into `out` at `offset` and returns the basis id (0: none). Called
   * when a batch is dispatched, together with `layout`, so sketches and segments always agree.
   */
  sketchQuery: (query: Float32Array, out: Float64Array, offset: number) => number;
  /** Float32 values per sketch (0: no sketches). */
  sketchWidth: () => number;
  /** Most queries scanned together in one pass over the rows. */
  maxBatch?: number;
  /** Batches in flight at once; later queries wait and form the next batch. */
  maxConcurrentBatches?: number;
  /** Fewest rows worth a shard of their own: smaller stores use fewer shards than workers. */
  minRowsPerShard?: number;
  /**
   * Most work (rows × queries × dimension) in one task: a large scan becomes many short tasks, so that on a shared
   * pool another store's query waits for one short task, not for a whole large scan.
   */
  maxTaskWork?: number;
}

/** Sources for the pool's fair queue: one per batcher (per store) in the process. */
let nextSource = 1;

/** Coalesces concurrent queries so each row is read once per batch, not once per query. */
export class QueryBatcher {
  private readonly pool: ScanPool;
  private readonly options: Required<QueryBatcherOptions>;
  private pending: Pending[] = [];
  private batchesInFlight = 0;
  private flushScheduled = false;
  private readonly inFlightByLayout = new Map<number, number>();
  private readonly onLayoutIdle = new Map<number, () => void>();
  /** Test-only: the next batch's first task carries this fault. */
  injectFault: ScanTask['fault'];
  private readonly source = nextSource++;

  constructor(pool: ScanPool, options: QueryBatcherOptions) {
    this.pool = pool;
    this.options = { maxBatch: 64, maxConcurrentBatches: 2, minRowsPerShard: 2048, maxTaskWork: 1 << 22, ...options };
  }

  /** Runs one query, batched with whatever else is waiting. */
  search(request: SearchRequest): Promise<SearchOutcome> {
    return new Promise((resolve, reject) => {
      const trace = activeSpanParent();
      this.pending.push({ request, resolve, reject, trace, queuedAt: trace ? performance.now() : 0 });
      this.scheduleFlush();
    });
  }

  /** Queries waiting for a batch slot. */
  get waiting(): number {
    return this.pending.length;
  }

  /** Calls `free` once no batch is still scanning the given layout (right away if none is). */
  whenLayoutIdle(version: number, free: () => void): void {
    if ((this.inFlightByLayout.get(version) ?? 0) === 0) free();
    else this.onLayoutIdle.set(version, free);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // setImmediate, not a microtask: requests that arrive in the same I/O turn join the same batch.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.pending.length > 0 && this.batchesInFlight < this.options.maxConcurrentBatches) {
      const batch = this.pending.splice(0, this.options.maxBatch);
      this.batchesInFlight++;
      this.runBatch(batch).finally(() => {
        this.batchesInFlight--;
        if (this.pending.length > 0) this.scheduleFlush();
      });
    }
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    const layout = this.options.layout();
    const dim = this.options.dimension();
    if (dim === undefined || layout.slotsUsed === 0) {
      for (const p of batch) p.resolve({ layoutVersion: layout.version, slots: [], distances: [], candidates: 0, pruned: 0 });
      return;
    }
    this.inFlightByLayout.set(layout.version, (this.inFlightByLayout.get(layout.version) ?? 0) + 1);
    const dispatchedAt = performance.now();
    try {
      const task = this.buildTask(batch, dim);
      // While another store uses the pool: about 4M multiply-adds per task by default (32K rows for one 128-d query;
      // never under 1K rows). With row sketches most rows cost a sketch bound, not a distance: counting the bound keeps
      // tasks long enough for their heaps to fill and the bound to prune. Alone on the pool: one shard per worker.
      const perPair = this.options.sketchWidth() || dim;
      const maxRows = this.pool.sharedWith(this.source)
        ? Math.max(this.options.minRowsPerShard / 2, Math.floor(this.options.maxTaskWork / (batch.length * perPair)))
        : Number.POSITIVE_INFINITY;
      const shards = planShards(layout, this.pool.threads, this.options.minRowsPerShard, maxRows);
      const fault = this.injectFault;
      this.injectFault = undefined;
      let results: ScanResult[];
      try {
        results = await Promise.all(shards.map((ranges, i) => this.pool.run({ ...task, ranges, fault: i === 0 ? fault : undefined }, this.source)));
      } catch (err) {
        const failure = new VecStoreError('unavailable', `search failed: a scan worker stopped (${(err as Error).message}); retry the query`);
        for (const p of batch) p.reject(failure);
        return;
      }
      batch.forEach((p, q) => {
        const mergeStarted = p.trace ? performance.now() : 0;
        const outcome = mergeQuery(results, q, task.k, p.request.k, layout.version);
        if (p.trace) recordSearchSpans(p.trace, { queuedAt: p.queuedAt, dispatchedAt, mergeStarted, batchSize: batch.length, results });
        p.resolve(outcome);
      });
    } finally {
      const left = this.inFlightByLayout.get(layout.version)! - 1;
      if (left > 0) this.inFlightByLayout.set(layout.version, left);
      else {
        this.inFlightByLayout.delete(layout.version);
        const free = this.onLayoutIdle.get(layout.version);
        this.onLayoutIdle.delete(layout.version);
        free?.();
      }
    }
  }

  private buildTask(batch: Pending[], dim: number): Omit<ScanTask, 'ranges'> {
    const queryCount = batch.length;
    const queries = new Float32Array(queryCount * dim);
    const queryK = new Int32Array(queryCount);
    const queryHorizon = new Int32Array(queryCount);
    const filterIndex = new Int32Array(queryCount).fill(-1);
    const filters: SharedArrayBuffer[] = [];
    const sketchWidth = this.options.sketchWidth();
    const querySketches = new Float64Array(queryCount * sketchWidth);
    let basisId = 0;
    let k = 1;
    batch.forEach((p, q) => {
      queries.set(p.request.query, q * dim);
      if (sketchWidth > 0) basisId = this.options.sketchQuery(p.request.query, querySketches, q * sketchWidth);
      queryK[q] = p.request.k;
      queryHorizon[q] = p.request.horizon;
      k = Math.max(k, p.request.k);
      if (p.request.filter) {
        let index = filters.indexOf(p.request.filter);
        if (index < 0) index = filters.push(p.request.filter) - 1;
        filterIndex[q] = index;
      }
    });
    return { metric: this.options.metric, dim, k, queries, queryCount, queryK, queryHorizon, filterIndex, filters, basisId, querySketches, sketchWidth };
  }
}

/**
 * Splits the used rows into contiguous shards of near-equal size, each a list of per-segment ranges: up to `threads`
 * shards of at least `minRowsPerShard` rows, and more when a shard would exceed `maxRowsPerShard` rows.
 */
export function planShards(layout: ScanLayout, threads: number, minRowsPerShard: number, maxRowsPerShard = Number.POSITIVE_INFINITY): ShardRange[][] {
  const total = layout.slotsUsed;
  const shardCount = Math.max(1, Math.min(threads, Math.ceil(total / minRowsPerShard)), Math.ceil(total / maxRowsPerShard));
  const shards: ShardRange[][] = [];
  for (let s = 0; s < shardCount; s++) {
    const from = Math.floor((total * s) / shardCount);
    const to = Math.floor((total * (s + 1)) / shardCount);
    const ranges: ShardRange[] = [];
    for (let slot = from; slot < to; ) {
      const segIndex = Math.floor(slot / layout.rowsPerSegment);
      const baseSlot = segIndex * layout.rowsPerSegment;
      const end = Math.min(to, baseSlot + layout.rowsPerSegment);
      ranges.push({ segmentId: layout.segmentIds[segIndex], start: slot - baseSlot, end: end - baseSlot, baseSlot });
      slot = end;
    }
    shards.push(ranges);
  }
  return shards;
}

/** Merges the shards' sorted lists for query `q` into its global top-k, ties to the lower slot. */
function mergeQuery(results: ScanResult[], q: number, taskK: number, k: number, layoutVersion: number): SearchOutcome {
  const slots: number[] = [];
  const distances: number[] = [];
  const heads = new Array<number>(results.length).fill(0);
  let candidates = 0;
  let pruned = 0;
  for (const r of results) {
    candidates += r.candidates[q];
    pruned += r.pruned[q];
  }
  while (slots.length < k) {
    let best = -1;
    for (let i = 0; i < results.length; i++) {
      const at = q * taskK + heads[i];
      if (heads[i] >= taskK || results[i].slots[at] < 0) continue;
      if (best < 0) { best = i; continue; }
      const bestAt = q * taskK + heads[best];
      const d = results[i].distances[at];
      const bd = results[best].distances[bestAt];
      if (d < bd || (d === bd && results[i].slots[at] < results[best].slots[bestAt])) best = i;
    }
    if (best < 0) break;
    const at = q * taskK + heads[best];
    slots.push(results[best].slots[at]);
    distances.push(results[best].distances[at]);
    heads[best]++;
  }
  return { layoutVersion, slots, distances, candidates, pruned };
}
