// Every front-thread metric of VecStore, and the merge of the scan workers' deltas through AggregatorRegistry.
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue, type OpenMetricsContentType } from 'prom-client';
import { RequestMetrics } from './request-metrics.js';

/** Request latency buckets, 1 ms to 10 s. */
export const REQUEST_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Recall buckets, dense near 1 where targets sit. */
export const RECALL_BUCKETS = [0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 1];
/** Results-per-query buckets. */
export const QUERY_RESULT_BUCKETS = [0, 1, 5, 10, 20, 50, 100, 250, 500, 1000, 10000];

/** One collection's counts, as the per-collection gauges show them. */
export interface CollectionCounts {
  collection: string;
  total: number;
  active: number;
  deleted: number;
  dimension: number;
}

/** A metric as prom-client's `getMetricsAsJSON` lists it. */
type MetricJson = MetricObjectWithValues<MetricValue<string>>;

/** What the gauges read when scraped. */
export interface GaugeSource {
  counts(): CollectionCounts[];
  poolQueueDepth(): number;
  poolUtilization(): number;
  /** Per collection, its vector index: rows in the graph, rows waiting to be inserted, graph bytes (all 0 for flat). */
  index(): CollectionIndex[];
}

/** One collection's graph index, as the per-collection index gauges show it. */
export interface CollectionIndex {
  collection: string;
  indexed: number;
  pending: number;
  bytes: number;
}

/** What {@link VecStoreMetrics.snapshot} reads: cumulative counts since start. */
export interface MetricsSnapshot {
  requests: { count: number; perBucket: Float64Array; bounds: readonly number[] };
  /** Queries answered, by type (`vector`, `hybrid`). */
  queries: Record<string, number>;
  cacheHits: number | undefined;
  cacheMisses: number | undefined;
  /** Rows read by scan tasks in the workers. */
  vectorsScanned: number;
}

/** The front thread's registry plus the running totals of every worker's metrics. */
export class VecStoreMetrics {
  readonly registry = new Registry();
  private readonly requests: RequestMetrics;
  private readonly queries: Counter<'type'>;
  private readonly queryResults: Histogram<'type'>;
  private readonly queryPaths: Counter<'path'>;
  private readonly indexInserts: Counter;
  private readonly indexBuildSeconds: Counter;
  private readonly recall: Histogram<'type'>;
  private readonly recallAudits: Counter;
  readonly upserts: Counter<'batch'>;
  readonly deletes: Counter<'type'>;
  readonly errors: Counter<'error_type'>;
  readonly autoCompactions: Counter;
  private readonly cacheHits: Counter<'type'> | undefined;
  private readonly cacheMisses: Counter<'type'> | undefined;
  readonly wsConnections: Gauge;
  /** Bytes of request bodies being received or handled (the budget of --max-body-memory in use). */
  readonly requestBodyBytes: Gauge;
  private workerTotals: object[] = [];
  private pendingDeltas: object[][] = [];
  private folding: Promise<void> = Promise.resolve();

  constructor(source: GaugeSource, options: { wsConnectionLimit: number; bodyMemoryLimit?: number; cacheEnabled: boolean; targetRecall?: number }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // These three default gauges end in _total, which Prometheus reserves for counters (promtool flags them); the same
    // numbers stay available per type in nodejs_active_handles / _requests / _resources.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      this.registry.removeSingleMetric(name);
    }
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({ name, help, registers, collect() { this.set(read()); } });
    // One series per collection; reset first so that a dropped collection's series disappears.
    const perCollection = <T extends { collection: string }>(name: string, help: string, read: () => T[], field: keyof T) =>
      new Gauge({
        name, help, labelNames: ['collection'], registers,
        collect() {
          this.reset();
          for (const c of read()) this.set({ collection: c.collection }, c[field] as number);
        },
      });
    const counts = () => source.counts();
    const index = () => source.index();
    perCollection('vecstore_vectors_total', 'Vectors stored, active + soft-deleted, per collection', counts, 'total');
    perCollection('vecstore_vectors_active', 'Active (searchable) vectors per collection', counts, 'active');
    perCollection('vecstore_vectors_deleted', 'Soft-deleted vectors per collection', counts, 'deleted');
    perCollection('vecstore_dimension', 'Vector dimension per collection (0 until the first vector fixes it)', counts, 'dimension');
    gauge('vecstore_pool_queue_depth', 'Scan tasks and queries waiting for a worker', () => source.poolQueueDepth());
    gauge('vecstore_pool_utilization', 'Fraction of scan workers busy, 0 to 1', () => source.poolUtilization());
    perCollection('vecstore_index_vectors', 'Vectors reachable through the HNSW graph, per collection', index, 'indexed');
    perCollection('vecstore_index_pending_vectors', 'Vectors written but not yet in the HNSW graph (found by exact scans meanwhile), per collection', index, 'pending');
    perCollection('vecstore_index_bytes', 'Shared memory held by the HNSW graph, per collection', index, 'bytes');
    const wsLimit = new Gauge({ name: 'vecstore_websocket_connections_limit', help: 'Configured maximum of open WebSocket connections', registers });
    wsLimit.set(options.wsConnectionLimit);
    this.wsConnections = new Gauge({ name: 'vecstore_websocket_connections', help: 'Open WebSocket connections', registers });
    this.requestBodyBytes = new Gauge({ name: 'vecstore_request_body_bytes', help: 'Bytes of request bodies being received or handled', registers });
    const bodyLimit = new Gauge({ name: 'vecstore_request_body_bytes_limit', help: 'Bytes of request bodies held at once before more wait with 429 (--max-body-memory)', registers });
    bodyLimit.set(options.bodyMemoryLimit ?? 0);
    this.requests = new RequestMetrics(this.registry, REQUEST_DURATION_BUCKETS);
    this.queries = new Counter({ name: 'vecstore_queries_total', help: 'Queries by type (HTTP and WebSocket)', labelNames: ['type'], registers });
    this.queryResults = new Histogram({ name: 'vecstore_query_results', help: 'Results returned per query', labelNames: ['type'], buckets: QUERY_RESULT_BUCKETS, registers });
    this.queryPaths = new Counter({ name: 'vecstore_query_paths_total', help: 'Queries by the path that answered their vector side: hnsw or exact', labelNames: ['path'], registers });
    this.indexInserts = new Counter({ name: 'vecstore_index_inserts_total', help: 'Vectors inserted into the HNSW graph', registers });
    this.indexBuildSeconds = new Counter({ name: 'vecstore_index_build_seconds_total', help: 'Worker time spent inserting into the HNSW graph', registers });
    this.recall = new Histogram({ name: 'vecstore_index_recall', help: 'Measured recall@k of audited graph answers (re-run exactly in the background)', labelNames: ['type'], buckets: RECALL_BUCKETS, registers });
    this.recallAudits = new Counter({ name: 'vecstore_index_recall_audits_total', help: 'Graph answers re-run exactly to measure their recall', registers });
    const target = new Gauge({ name: 'vecstore_index_recall_target', help: 'Recall that queries asking for neither ef nor recall are planned for (--target-recall)', registers });
    target.set(options.targetRecall ?? 0.99);
    this.upserts = new Counter({ name: 'vecstore_upserts_total', help: 'Upsert operations: single or batch', labelNames: ['batch'], registers });
    this.deletes = new Counter({ name: 'vecstore_deletes_total', help: 'Deletes performed: hard or soft', labelNames: ['type'], registers });
    this.errors = new Counter({ name: 'vecstore_errors_total', help: 'Errors answered, by stable error type', labelNames: ['error_type'], registers });
    this.autoCompactions = new Counter({ name: 'vecstore_auto_compactions_total', help: 'Compactions started automatically by --auto-compact-ratio and finished', registers });
    // The cache counters exist only while the cache does (`--cache-size 0` turns both off).
    if (options.cacheEnabled) {
      this.cacheHits = new Counter({ name: 'vecstore_cache_hits_total', help: 'Query cache hits by query type', labelNames: ['type'], registers });
      this.cacheMisses = new Counter({ name: 'vecstore_cache_misses_total', help: 'Query cache misses by query type', labelNames: ['type'], registers });
    }
    // Known label values start at zero so that rates and alerts have a series before the first event.
    for (const type of ['vector', 'hybrid']) {
      this.queries.inc({ type }, 0);
      this.cacheHits?.inc({ type }, 0);
      this.cacheMisses?.inc({ type }, 0);
    }
    for (const path of ['hnsw', 'exact']) this.queryPaths.inc({ path }, 0);
    for (const batch of ['single', 'batch']) this.upserts.inc({ batch }, 0);
    for (const type of ['hard', 'soft']) this.deletes.inc({ type }, 0);
  }

  /** Counts one answered query (HTTP or WebSocket): its type, path, how many results, and whether the cache answered it. */
  observeQuery(type: 'vector' | 'hybrid', results: number, cached: boolean, path: 'hnsw' | 'exact'): void {
    this.queries.inc({ type });
    this.queryPaths.inc({ path });
    this.queryResults.observe({ type }, results);
    (cached ? this.cacheHits : this.cacheMisses)?.inc({ type });
  }

  /** Records one recall audit. */
  observeRecall(type: 'vector' | 'hybrid', recall: number): void {
    this.recall.observe({ type }, recall);
    this.recallAudits.inc();
  }

  /** Counts rows inserted into the graph by one insert task and the worker time it took. */
  observeIndexInsert(rows: number, ms: number): void {
    this.indexInserts.inc(rows);
    this.indexBuildSeconds.inc(ms / 1000);
  }

  /** Counts one answered request and its latency; a sampled request's trace id becomes an exemplar. */
  observeRequest(endpoint: string, method: string, seconds: number, traceId?: string): void {
    this.requests.observe(endpoint, method, seconds, traceId);
  }

  /**
   * Cumulative counts read from the metrics above (worker totals merged in), for the console's live summary: requests
   * and their latency buckets (every endpoint but `excludedEndpoints`), queries by type, cache hits and misses (undefined
   * with the cache off), rows read by scan workers. Reads only; resets nothing.
   */
  async snapshot(excludedEndpoints: ReadonlySet<string>): Promise<MetricsSnapshot> {
    await this.foldWorkerDeltas();
    const byLabel = async (counter: Counter<string>, label: string) => {
      const out: Record<string, number> = {};
      for (const v of (await counter.get()).values) out[String(v.labels[label])] = (out[String(v.labels[label])] ?? 0) + v.value;
      return out;
    };
    const sum = async (counter: Counter<string> | undefined) => (counter ? (await counter.get()).values.reduce((total, v) => total + v.value, 0) : undefined);
    const worker = (name: string) => {
      const metric = (this.workerTotals as MetricJson[]).find((m) => m.name === name);
      return metric ? metric.values.reduce((total, v) => total + v.value, 0) : 0;
    };
    return {
      requests: this.requests.totals(excludedEndpoints),
      queries: await byLabel(this.queries, 'type'),
      cacheHits: await sum(this.cacheHits),
      cacheMisses: await sum(this.cacheMisses),
      vectorsScanned: worker('vecstore_worker_vectors_scanned_total'),
    };
  }

  /** Queues a worker's delta (a few per second per worker); folded into the totals at the next scrape or fold. */
  addWorkerDelta(delta: unknown[]): void {
    this.pendingDeltas.push(delta as object[]);
    // Bounded even when nothing scrapes: past a few dozen queued deltas, fold them in.
    if (this.pendingDeltas.length >= 64) void this.foldWorkerDeltas();
  }

  /**
   * Folds the queued deltas into the totals, one fold at a time: two overlapping folds (a scrape, the live summary, a
   * full queue) would each add their deltas to the same old totals, and the first one's would be lost.
   */
  private foldWorkerDeltas(): Promise<void> {
    // A failed fold does not stop later ones (its caller sees the error).
    const next = this.folding.catch(() => undefined).then(() => this.foldPending());
    this.folding = next;
    return next;
  }

  private async foldPending(): Promise<void> {
    if (this.pendingDeltas.length === 0) return;
    const deltas = this.pendingDeltas;
    this.pendingDeltas = [];
    // Totals live here, not in the workers: a worker that dies or is replaced takes nothing away from the counters.
    this.workerTotals = (await AggregatorRegistry.aggregate([this.workerTotals, ...deltas]).getMetricsAsJSON()) as object[];
  }

  /**
   * The exposition: this thread's metrics merged with every worker's totals, in the Prometheus text format, or in
   * OpenMetrics (with the request-duration exemplars) when `openMetrics` is asked for.
   */
  async exposition(openMetrics = false): Promise<{ body: string; contentType: string }> {
    await this.foldWorkerDeltas();
    const own = (await this.registry.getMetricsAsJSON()) as MetricJson[];
    if (!openMetrics) {
      const merged = this.workerTotals.length > 0 ? AggregatorRegistry.aggregate([own, this.workerTotals]) : this.registry;
      return { body: await merged.metrics(), contentType: this.registry.contentType };
    }
    // Merging drops exemplars, and only this thread records requests: its request metrics are taken as they are.
    const merged = this.workerTotals.length > 0 ? ((await AggregatorRegistry.aggregate([own, this.workerTotals]).getMetricsAsJSON()) as MetricJson[]) : own;
    const ownByName = new Map(own.map((m) => [m.name, m]));
    // A registry of plain snapshots: prom-client renames counters in place while writing OpenMetrics, which must not
    // reach the live metrics that the next Prometheus-format scrape reads.
    const snapshot = new Registry<OpenMetricsContentType>();
    snapshot.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    for (const metric of merged) {
      const item = metric.name === 'vecstore_request_duration_seconds' ? (ownByName.get(metric.name) ?? metric) : metric;
      // The name is read back at write time: for counters the registry strips `_total` from it first.
      const plain = { ...item, get: async () => ({ ...item, name: plain.name }), reset: () => undefined };
      snapshot.registerMetric(plain as never);
    }
    return { body: await snapshot.metrics(), contentType: snapshot.contentType };
  }
}
