// Piscina entry point: maps shared vector and graph segments once, then runs exact scans, graph searches and graph inserts
// (a pool's query workers run the first two, its graph builders, at a lower priority, the inserts).
import { BroadcastChannel, threadId } from 'node:worker_threads';
import { workerData } from 'piscina';
import { finishScan, mapSegmentRows, newScanHeaps, scanRanges, visibleRow, type ScanQueries, type SegmentRows } from '../src/search/scan-kernel.js';
import { rankDistanceFn } from '../src/distance/metric.js';
import { heapOffer, heapSortAscending } from '../src/search/topk-heap.js';
import { GraphScratch, HnswGraph, type GraphViews } from '../src/index/hnsw-graph.js';
import { levelFor } from '../src/index/graph-layout.js';
import { sketchDimFor } from '../src/store/segment-layout.js';
import {
  type GraphInsertResult,
  type GraphInsertTask,
  type GraphRef,
  type GraphSearchTask,
  type QueryBatch,
  type ScanResult,
  type ScanTask,
  type ScanWorkerData,
  type SegmentBroadcast,
  type WorkerHello,
  type WorkerMetricsReport,
  type WorkerTask,
} from '../src/search/messages.js';
import { WorkerMetrics } from '../src/metrics/worker-metrics.js';
import { collectDroppedSoon } from '../src/search/dropped-memory.js';
import { lowerThreadPriority } from '../src/worker-threads.js';

const segments = new Map<number, SegmentRows>();
const graphSegments = new Map<number, Int32Array>();
const scratch = new GraphScratch();

const waiting = new Map<string, Array<() => void>>();
const faultsEnabled = process.env.VECSTORE_TEST_FAULTS === '1';
/** This worker's pool's channels: their names are unique to the pool, so no other pool in the process hears them. */
const channels = workerData as ScanWorkerData;
if (channels.niceness) lowerThreadPriority(channels.niceness);
const metrics = channels.metricsChannel === undefined ? undefined : new WorkerMetrics();
/** How often a worker reports what it counted; a report per task would cost more than the metric updates. */
const METRICS_REPORT_MS = 200;
let metricsDirty = false;
if (metrics && channels.metricsChannel !== undefined) {
  const metricsChannel = new BroadcastChannel(channels.metricsChannel);
  (metricsChannel as unknown as { unref(): void }).unref();
  setInterval(() => {
    if (!metricsDirty) return;
    metricsDirty = false;
    void metrics.takeDelta().then((delta) => metricsChannel.postMessage({ type: 'metrics', delta } satisfies WorkerMetricsReport));
  }, METRICS_REPORT_MS).unref();
}

const channel = new BroadcastChannel(channels.segmentChannel);
channel.onmessage = (event: unknown) => {
  const message = (event as { data: SegmentBroadcast | WorkerHello }).data;
  if (message.type === 'segments') {
    for (const seg of message.segments) if (!segments.has(seg.id)) mapped(`v${seg.id}`, () => segments.set(seg.id, mapSegmentRows(seg)));
  } else if (message.type === 'graph-segments') {
    for (const seg of message.segments) if (!graphSegments.has(seg.id)) mapped(`g${seg.id}`, () => graphSegments.set(seg.id, new Int32Array(seg.buffer)));
  } else if (message.type === 'drop') {
    for (const id of message.ids) segments.delete(id);
    collectDroppedSoon();
  } else if (message.type === 'drop-graph') {
    for (const id of message.ids) graphSegments.delete(id);
    collectDroppedSoon();
  }
};
// Idle workers must be able to exit; the channel alone should not keep the thread alive.
(channel as unknown as { unref(): void }).unref();
channel.postMessage({ type: 'hello' } satisfies WorkerHello);

function mapped(key: string, map: () => void): void {
  map();
  const resolvers = waiting.get(key);
  if (resolvers) {
    waiting.delete(key);
    for (const resolve of resolvers) resolve();
  }
}

/** A task may arrive before the broadcast of a segment it names (they travel on different ports): wait for it. */
async function lookup<T>(map: Map<number, T>, prefix: string, id: number): Promise<T> {
  const known = map.get(id);
  if (known) return known;
  const key = `${prefix}${id}`;
  await new Promise<void>((resolve, reject) => {
    const list = waiting.get(key) ?? [];
    list.push(resolve);
    waiting.set(key, list);
    setTimeout(() => reject(new Error(`segment ${key} was never announced to this worker`)), 10_000).unref();
  });
  return map.get(id)!;
}

/** The one exported task handler: dispatches on the task's kind. */
export async function run(task: WorkerTask): Promise<ScanResult | GraphInsertResult> {
  if (task.kind === 'graph-insert') return graphInsert(task);
  if (faultsEnabled && task.fault === 'throw') throw new Error('injected worker fault');
  if (faultsEnabled && task.fault === 'exit') process.exit(1);
  return task.kind === 'scan' ? scan(task) : graphSearch(task);
}

function scanQueries(task: QueryBatch): ScanQueries {
  const { dim, queryCount } = task;
  const queries: Float32Array[] = [];
  for (let q = 0; q < queryCount; q++) queries.push(task.queries.subarray(q * dim, (q + 1) * dim));
  const filters = task.filters.map((buf) => new Int32Array(buf));
  const queryFilter: Array<Int32Array | undefined> = [];
  for (let q = 0; q < queryCount; q++) queryFilter.push(task.filterIndex[q] >= 0 ? filters[task.filterIndex[q]] : undefined);
  return {
    metric: task.metric,
    k: task.k,
    queries,
    queryK: task.queryK,
    queryFilter,
    queryHorizon: task.queryHorizon,
    basisId: task.basisId,
    querySketches: task.querySketches,
    sketchWidth: task.sketchWidth,
  };
}

/** Exact scan: every range of the task once, every live row against every query of the batch. */
async function scan(task: ScanTask): Promise<ScanResult> {
  const started = process.hrtime.bigint();
  const startedAt = performance.timeOrigin + performance.now();
  const views: SegmentRows[] = [];
  for (const range of task.ranges) views.push(await lookup(segments, 'v', range.segmentId));
  const heaps = newScanHeaps(task.queryCount, task.k);
  scanRanges(scanQueries(task), task.ranges, views, heaps);
  finishScan(heaps, task.queryCount, task.k);
  const distanceCounts = new Int32Array(task.queryCount);
  for (let q = 0; q < task.queryCount; q++) distanceCounts[q] = heaps.candidates[q] - heaps.pruned[q];
  record(started, heaps.rowsScanned);
  const timing = scanTiming(startedAt, heaps.rowsScanned, heaps.pruned, distanceCounts);
  return { slots: heaps.slots, distances: heaps.distances, candidates: heaps.candidates, pruned: heaps.pruned, distanceCounts, timing };
}

async function graphViews(ref: GraphRef, metric: ScanTask['metric']): Promise<GraphViews> {
  const vectors: SegmentRows[] = [];
  for (const id of ref.segmentIds) vectors.push(await lookup(segments, 'v', id));
  const graph: Int32Array[] = [];
  for (const id of ref.graphSegmentIds) graph.push(await lookup(graphSegments, 'g', id));
  const sketchM = vectors.length > 0 ? sketchDimFor(vectors[0].dim) : 0;
  return { m: ref.m, rowsPerSegment: ref.rowsPerSegment, header: new Int32Array(ref.header), graph, vectors, kernel: rankDistanceFn(metric), sketchM, negate: metric !== 'euclidean' };
}

/** Graph search of every query, merged with an exact scan of the rows the graph does not hold yet. */
async function graphSearch(task: GraphSearchTask): Promise<ScanResult> {
  const started = process.hrtime.bigint();
  const startedAt = performance.timeOrigin + performance.now();
  const views = await graphViews(task.graph, task.metric);
  const graph = new HnswGraph(views, scratch);
  const { k, queryCount, indexedEnd } = task;
  const input = scanQueries(task);
  // The tail first: its exact top k per query seeds the heaps the graph results are merged into.
  const tailViews: SegmentRows[] = [];
  for (const range of task.tail) tailViews.push(await lookup(segments, 'v', range.segmentId));
  const heaps = newScanHeaps(queryCount, k);
  if (task.tail.length > 0) scanRanges(input, task.tail, tailViews, heaps);
  const rps = task.graph.rowsPerSegment;
  const found = new Float64Array(k);
  const foundSlots = new Int32Array(k);
  const distanceCounts = new Int32Array(queryCount);
  for (let q = 0; q < queryCount; q++) {
    const filter = input.queryFilter[q];
    const horizon = task.queryHorizon[q];
    // Results: rows in the graph (the rest are the tail's), in the query's store view, passing its filter.
    const accept = (slot: number): boolean => {
      if (slot >= indexedEnd) return false;
      if (filter !== undefined && (filter[slot >>> 5] & (1 << (slot & 31))) === 0) return false;
      return visibleRow(views.vectors[(slot / rps) | 0], slot % rps, slot, horizon);
    };
    const before = graph.distances;
    const qk = task.queryK[q];
    const sketch = task.basisId !== 0 ? { values: task.querySketches, offset: q * task.sketchWidth, basisId: task.basisId } : undefined;
    const prunedBefore = graph.pruned;
    const n = graph.search(input.queries[q], qk, task.queryEf[q], accept, found, foundSlots, 0, sketch, task.querySkip[q]);
    distanceCounts[q] = graph.distances - before + (heaps.candidates[q] - heaps.pruned[q]);
    heaps.pruned[q] += graph.pruned - prunedBefore;
    heaps.candidates[q] += n;
    let size = heaps.sizes[q];
    for (let i = 0; i < n; i++) size = heapOffer(heaps.distances, heaps.slots, q * k, size, qk, found[i], foundSlots[i]);
    heaps.sizes[q] = size;
    heapSortAscending(heaps.distances, heaps.slots, q * k, size);
  }
  record(started, heaps.rowsScanned);
  const timing = scanTiming(startedAt, heaps.rowsScanned, heaps.pruned, distanceCounts);
  return { slots: heaps.slots, distances: heaps.distances, candidates: heaps.candidates, pruned: heaps.pruned, distanceCounts, timing };
}

/** Inserts a range of rows into the graph; other workers may be inserting other rows at the same time. */
async function graphInsert(task: GraphInsertTask): Promise<GraphInsertResult> {
  const started = performance.now();
  const graph = new HnswGraph(await graphViews(task.graph, task.metric), scratch);
  for (let slot = task.from; slot < task.to; slot++) graph.insert(slot, levelFor(slot, task.graph.m, task.seed), task.efConstruction);
  return { inserted: task.to - task.from, distances: graph.distances, ms: performance.now() - started };
}

/** The task's timing for trace spans: the worker, its clock, rows read, pairs pruned and distances computed. */
function scanTiming(startedAt: number, rowsVisited: number, pruned: Int32Array, distanceCounts: Int32Array): ScanResult['timing'] {
  let rowsPruned = 0;
  let distances = 0;
  for (let q = 0; q < pruned.length; q++) {
    rowsPruned += pruned[q];
    distances += distanceCounts[q];
  }
  return { worker: threadId, startedAt, endedAt: performance.timeOrigin + performance.now(), rowsVisited, rowsPruned, distances };
}

function record(started: bigint, rowsScanned: number): void {
  if (!metrics) return;
  metrics.tasks.inc();
  metrics.vectorsScanned.inc(rowsScanned);
  metrics.scanDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
  metricsDirty = true;
}
