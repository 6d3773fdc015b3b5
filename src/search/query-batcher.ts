// Coalesces concurrent queries into batches, hands each batch to the index each query chose, tracks layouts in use.
import { VecStoreError } from '../errors.js';
import type { ScanLayout } from '../store/segment-layout.js';
import type { IndexOutcome, IndexQuery, TaskFault, VectorIndex } from '../index/vector-index.js';
import { activeSpanParent, type SpanParent } from '../telemetry/trace-seam.js';
import { recordSearchSpans } from './search-spans.js';

/** One query and the index that answers it. */
export interface SearchRequest extends IndexQuery {
  index: VectorIndex;
}

/** A query's hits as slots of the layout it ran on (`layoutVersion`), with rank distances, best first. */
export interface SearchOutcome extends IndexOutcome {
  layoutVersion: number;
}

interface Pending {
  request: SearchRequest;
  resolve(outcome: SearchOutcome): void;
  reject(err: unknown): void;
  /** The traced request this query serves (its batch wait, worker tasks and merge become child spans), if sampled. */
  trace: SpanParent | undefined;
  queuedAt: number;
}

export interface QueryBatcherOptions {
  dimension: () => number | undefined;
  layout: () => ScanLayout;
  /** Most queries searched together (one pass over the rows for exact search, one message per worker for graphs). */
  maxBatch?: number;
  /** Batches in flight at once; later queries wait and form the next batch. */
  maxConcurrentBatches?: number;
}

/** Coalesces concurrent queries so each row is read once per batch, not once per query. */
export class QueryBatcher {
  private readonly options: Required<QueryBatcherOptions>;
  private pending: Pending[] = [];
  private batchesInFlight = 0;
  private flushScheduled = false;
  private readonly inFlightByLayout = new Map<number, number>();
  private readonly onLayoutIdle = new Map<number, Array<() => void>>();
  /** Test-only: the next batch's first task carries this fault. */
  injectFault: TaskFault;

  constructor(options: QueryBatcherOptions) {
    this.options = { maxBatch: 64, maxConcurrentBatches: 2, ...options };
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

  /** Calls `free` once no batch is still searching the given layout (right away if none is). */
  whenLayoutIdle(version: number, free: () => void): void {
    if ((this.inFlightByLayout.get(version) ?? 0) === 0) free();
    else this.onLayoutIdle.set(version, [...(this.onLayoutIdle.get(version) ?? []), free]);
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
      for (const p of batch) p.resolve({ layoutVersion: layout.version, slots: [], distances: [], candidates: 0, pruned: 0, distanceCount: 0, path: 'exact' });
      return;
    }
    this.inFlightByLayout.set(layout.version, (this.inFlightByLayout.get(layout.version) ?? 0) + 1);
    try {
      // One sub-batch per index the queries chose; they run side by side on the pool.
      const groups = new Map<VectorIndex, Pending[]>();
      for (const p of batch) groups.set(p.request.index, [...(groups.get(p.request.index) ?? []), p]);
      let fault = this.injectFault;
      this.injectFault = undefined;
      await Promise.all(
        [...groups].map(async ([index, group]) => {
          const groupFault = fault;
          fault = undefined;
          try {
            const dispatchedAt = performance.now();
            const outcomes = await index.search(group.map((p) => p.request), layout, dim, groupFault);
            const mergeStarted = performance.now();
            group.forEach((p, i) => {
              const { timings, ...outcome } = outcomes[i];
              if (p.trace) recordSearchSpans(p.trace, { queuedAt: p.queuedAt, dispatchedAt, mergeStarted, batchSize: batch.length, timings: timings ?? [] });
              p.resolve({ ...outcome, layoutVersion: layout.version });
            });
          } catch (err) {
            const failure = new VecStoreError('unavailable', `search failed: a worker stopped (${(err as Error).message}); retry the query`);
            for (const p of group) p.reject(failure);
          }
        }),
      );
    } finally {
      const left = this.inFlightByLayout.get(layout.version)! - 1;
      if (left > 0) this.inFlightByLayout.set(layout.version, left);
      else {
        this.inFlightByLayout.delete(layout.version);
        const waiters = this.onLayoutIdle.get(layout.version) ?? [];
        this.onLayoutIdle.delete(layout.version);
        for (const free of waiters) free();
      }
    }
  }
}
