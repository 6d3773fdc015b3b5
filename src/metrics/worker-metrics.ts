// The metrics a scan worker keeps in its own prom-client registry and reports to the front thread as deltas.
import { Counter, Histogram, Registry } from 'prom-client';

/** Histogram buckets for one scan task: 50 µs to 10 s. */
export const SCAN_DURATION_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One worker thread's registry and the metrics in it. */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly scanDuration = new Histogram({
    name: 'vecstore_worker_scan_duration_seconds',
    help: 'Time of one scan task in a worker thread (one shard, one batch of queries)',
    buckets: SCAN_DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly vectorsScanned = new Counter({
    name: 'vecstore_worker_vectors_scanned_total',
    help: 'Rows read by scan tasks; a row read once for a whole batch of queries counts once',
    registers: [this.registry],
  });
  readonly tasks = new Counter({
    name: 'vecstore_worker_tasks_total',
    help: 'Scan tasks completed by worker threads',
    registers: [this.registry],
  });

  /**
   * What changed since the last call: the registry as JSON, then reset, so the front thread can add it to its running
   * totals (a worker that dies or retires takes nothing away from those totals).
   */
  async takeDelta(): Promise<unknown[]> {
    const json = await this.registry.getMetricsAsJSON();
    this.registry.resetMetrics();
    return json as unknown[];
  }
}
