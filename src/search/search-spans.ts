// Child spans of a traced query: the wait for its batch, each worker's scan (timed in the worker), and the merge.
import type { SpanParent } from '../telemetry/trace-seam.js';
import type { ScanTiming } from './messages.js';

export interface SearchTimes {
  /** `performance.now()` when the query joined the queue, when its batch was dispatched, when its merge began. */
  queuedAt: number;
  dispatchedAt: number;
  mergeStarted: number;
  batchSize: number;
  /** The worker tasks that answered the query, as each worker timed itself. */
  timings: ScanTiming[];
}

/**
 * Records the spans of one query of a batch. The scans are shared by every query of the batch, so each traced query
 * gets its own copy of them (a span has one parent), with the worker's own timing and counts.
 */
export function recordSearchSpans(parent: SpanParent, times: SearchTimes): void {
  parent.child('vecstore.batch_wait', times.queuedAt, times.dispatchedAt, { 'vecstore.batch.size': times.batchSize });
  times.timings.forEach((t, shard) => {
    parent.child('vecstore.scan', t.startedAt, t.endedAt, {
      'vecstore.worker.id': t.worker,
      'vecstore.shard': shard,
      'vecstore.rows.visited': t.rowsVisited,
      'vecstore.rows.pruned': t.rowsPruned,
      'vecstore.distances.computed': t.distances,
      'vecstore.batch.size': times.batchSize,
    });
  });
  parent.child('vecstore.merge', times.mergeStarted, performance.now(), { 'vecstore.shards': times.timings.length });
}
