// Every message that crosses the thread boundary between the front thread and the scan workers: plain data and SABs only.
import type { MetricName } from '../distance/metric.js';
import type { SegmentDescriptor } from '../store/segment-layout.js';
import type { GraphSegmentDescriptor } from '../index/graph-layout.js';

/**
 * What a pool hands its workers at start (Piscina `workerData`): the names of that pool's own channels. Names are
 * unique per pool, so two pools (or engines) in one process never hear each other's segments or metric reports.
 */
export interface ScanWorkerData {
  /** The BroadcastChannel on which the front thread announces segments to every worker of the pool, once each. */
  segmentChannel: string;
  /** The BroadcastChannel on which the pool's workers report their metric deltas; absent when metrics are off. */
  metricsChannel?: string;
  /** Nice steps this worker's thread sits below the process (graph builders: they yield to the query workers). */
  niceness?: number;
}

/** Broadcast by the front thread: new vector or graph segments to map, or old ones (after compaction) to forget. */
export type SegmentBroadcast =
  | { type: 'segments'; segments: SegmentDescriptor[] }
  | { type: 'graph-segments'; segments: GraphSegmentDescriptor[] }
  | { type: 'drop'; ids: number[] }
  | { type: 'drop-graph'; ids: number[] };

/** A worker's metric delta: what it counted since its previous report (prom-client JSON after a reset). */
export interface WorkerMetricsReport {
  type: 'metrics';
  delta: WorkerMetricsDelta;
}

/** Broadcast by a worker when it starts, asking the front thread to announce every current segment again. */
export interface WorkerHello {
  type: 'hello';
}

/** A contiguous range of rows of one segment that a scan task reads. */
export interface ShardRange {
  segmentId: number;
  start: number;
  end: number;
  /** Global slot number of row 0 of this segment, so results can be reported as slots. */
  baseSlot: number;
}

/** Every task the workers run, told apart by `kind`. */
export type WorkerTask = ScanTask | GraphSearchTask | GraphInsertTask;

/**
 * The sketches of a task's queries. A segment whose header names the same basis has valid row sketches, and a row
 * whose bound proves it cannot enter a query's results is skipped without its full distance (see sketch-bound.ts).
 */
export interface QuerySketches {
  /** The basis the query sketches were made with (0: no sketches). */
  basisId: number;
  /** Per query, `sketchWidth` values: projection, residual norm, squared norm (see src/store/row-sketcher.ts). */
  querySketches: Float64Array;
  sketchWidth: number;
}

/** The queries of a task, as both search tasks carry them. */
export interface QueryBatch extends QuerySketches {
  metric: MetricName;
  dim: number;
  /** Heap capacity per query: the largest k of the batch. */
  k: number;
  /** All queries of the batch, back to back (`queryCount × dim` float32, already normalised for cosine). */
  queries: Float32Array;
  queryCount: number;
  /** Per query: k for that query (≤ task k). */
  queryK: Int32Array;
  /**
   * Per query: the horizon of its store view. A row is read for a query when its slot is below the horizon and it is
   * live, or its "superseded by" value is above the horizon (updated after the query's view opened; see segment-layout).
   */
  queryHorizon: Int32Array;
  /**
   * Per query: index into `filters`, or -1 for no filter. A filter is a bitmap over global slots (bit set = allowed),
   * evaluated on the front thread where the metadata lives.
   */
  filterIndex: Int32Array;
  filters: SharedArrayBuffer[];
  /** Test-only fault injection (honoured only when the worker was started with VECSTORE_TEST_FAULTS=1). */
  fault?: 'throw' | 'exit';
}

/** One scan task: a shard (a list of ranges) scanned once for every query of a batch. */
export interface ScanTask extends QueryBatch {
  kind: 'scan';
  ranges: ShardRange[];
}

/** Which graph a graph task walks: the layout's vector segments and graph segments by segment number, and the header. */
export interface GraphRef {
  header: SharedArrayBuffer;
  m: number;
  rowsPerSegment: number;
  segmentIds: number[];
  graphSegmentIds: number[];
}

/**
 * Graph search for some queries of a batch: each query walks the graph (results limited to live, allowed slots below
 * `indexedEnd`) and the rows not yet in the graph (`tail`, slots from `indexedEnd` on) are scanned exactly and merged,
 * so a row is searchable as soon as it is written.
 */
export interface GraphSearchTask extends QueryBatch {
  kind: 'graph-search';
  /** Per query: search breadth (≥ its k). */
  queryEf: Int32Array;
  /** Per query: a slot the walk must neither return nor pass through (-1: none; see IndexQuery.skip). */
  querySkip: Int32Array;
  graph: GraphRef;
  indexedEnd: number;
  tail: ShardRange[];
}

/** Inserts the rows at slots [from, to) into the graph. */
export interface GraphInsertTask {
  kind: 'graph-insert';
  metric: MetricName;
  graph: GraphRef;
  from: number;
  to: number;
  efConstruction: number;
  seed: number;
}

export interface GraphInsertResult {
  inserted: number;
  distances: number;
  ms: number;
}

/** Metric deltas a worker has accumulated since its last report (prom-client `getMetricsAsJSON` after a reset). */
export type WorkerMetricsDelta = unknown[];

/** A scan task's answer: per query, its local top-k as slots and rank distances, best first. */
export interface ScanResult {
  /** `queryCount × k` slots, -1 where fewer than k rows qualified. */
  slots: Int32Array;
  distances: Float64Array;
  /** Per query: rows that passed liveness and the filter (candidates considered). */
  candidates: Int32Array;
  /** Per query: candidates skipped because their sketch bound ruled them out (no distance computed). */
  pruned: Int32Array;
  /** Per query: distances computed (graph searches: the walk plus the tail scan). */
  distanceCounts: Int32Array;
  /** How the task went, measured in the worker (trace spans show it per worker). */
  timing?: ScanTiming;
}

/** One scan task as its worker saw it. */
export interface ScanTiming {
  /** The worker's thread id. */
  worker: number;
  /** Epoch milliseconds (`performance.timeOrigin + performance.now()` in the worker), comparable across threads. */
  startedAt: number;
  endedAt: number;
  /** Live rows read. */
  rowsVisited: number;
  /** Row × query pairs skipped by the sketch bound. */
  rowsPruned: number;
  /** Row × query distances computed. */
  distances: number;
}
