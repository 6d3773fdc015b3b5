// Piscina entry point: scans shard ranges of the shared segments for a batch of queries and returns local top-k lists.
import { BroadcastChannel, threadId } from 'node:worker_threads';
import { workerData } from 'piscina';
import { simsimd } from '../src/distance/simsimd-native.js';
import { headerView, livenessView, sketchView, supersededView, vectorView, type SegmentDescriptor } from '../src/store/segment-layout.js';
import { type ScanResult, type ScanWorkerData, type ScanTask, type SegmentBroadcast, type WorkerHello, type WorkerMetricsReport } from '../src/search/messages.js';
import { WorkerMetrics } from '../src/metrics/worker-metrics.js';

interface MappedSegment {
  data: Float32Array;
  liveness: Int32Array;
  header: Int32Array;
  sketches: Float32Array;
  superseded: Int32Array;
  dim: number;
  /** Per-row views, made on first use and kept: making them per task would cost more than the scan. */
  rows: Array<Float32Array | undefined>;
}

const segments = new Map<number, MappedSegment>();
/** Bound checks after which a query that the bound rarely prunes stops paying for it (unstructured data). */
const BOUND_TRIAL_CHECKS = 2048;

const waiting = new Map<number, Array<() => void>>();
const faultsEnabled = process.env.VECSTORE_TEST_FAULTS === '1';
/** This worker's pool's channels: their names are unique to the pool, so no other pool in the process hears them. */
const channels = workerData as ScanWorkerData;
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
  if (message.type === 'segments') message.segments.forEach(mapSegment);
  else if (message.type === 'drop') for (const id of message.ids) segments.delete(id);
};
// Idle workers must be able to exit; the channel alone should not keep the thread alive.
(channel as unknown as { unref(): void }).unref();
channel.postMessage({ type: 'hello' } satisfies WorkerHello);

function mapSegment(seg: SegmentDescriptor): void {
  if (segments.has(seg.id)) return;
  segments.set(seg.id, { data: vectorView(seg), liveness: livenessView(seg), header: headerView(seg), sketches: sketchView(seg), superseded: supersededView(seg), dim: seg.dim, rows: new Array(seg.rows) });
  const resolvers = waiting.get(seg.id);
  if (resolvers) {
    waiting.delete(seg.id);
    for (const resolve of resolvers) resolve();
  }
}

/** A task may arrive before the broadcast of a segment it names (they travel on different ports): wait for it. */
async function segmentFor(id: number): Promise<MappedSegment> {
  const known = segments.get(id);
  if (known) return known;
  await new Promise<void>((resolve, reject) => {
    const list = waiting.get(id) ?? [];
    list.push(resolve);
    waiting.set(id, list);
    setTimeout(() => reject(new Error(`segment ${id} was never announced to this worker`)), 10_000).unref();
  });
  return segments.get(id)!;
}

/** Scans every range of the task once, comparing each live row with every query of the batch. */
export async function scan(task: ScanTask): Promise<ScanResult> {
  if (faultsEnabled && task.fault === 'throw') throw new Error('injected worker fault');
  if (faultsEnabled && task.fault === 'exit') process.exit(1);
  const started = process.hrtime.bigint();
  const startedAt = performance.timeOrigin + performance.now();
  const { dim, k, queryCount } = task;
  const mapped: MappedSegment[] = [];
  for (const range of task.ranges) mapped.push(await segmentFor(range.segmentId));

  const queries: Float32Array[] = [];
  for (let q = 0; q < queryCount; q++) queries.push(task.queries.subarray(q * dim, (q + 1) * dim));
  const filters = task.filters.map((buf) => new Int32Array(buf));
  const queryFilter: Array<Int32Array | undefined> = [];
  for (let q = 0; q < queryCount; q++) queryFilter.push(task.filterIndex[q] >= 0 ? filters[task.filterIndex[q]] : undefined);

  const heapSlots = new Int32Array(queryCount * k).fill(-1);
  const heapDistances = new Float64Array(queryCount * k);
  const heapSizes = new Int32Array(queryCount);
  const candidates = new Int32Array(queryCount);
  const pruned = new Int32Array(queryCount);
  const negate = task.metric !== 'euclidean';
  // Locals, not properties of the cloned task object, inside the hot loop.
  const { basisId, querySketches: qs, sketchWidth: width, queryK, queryHorizon } = task;
  let minHorizon = Infinity;
  for (let q = 0; q < queryCount; q++) minHorizon = Math.min(minHorizon, queryHorizon[q]);
  const m = width - 2;
  const kernel = negate ? simsimd.dot : simsimd.sqeuclidean;
  let rowsScanned = 0;
  // Per query: whether the bound is still worth computing, and how it has done so far.
  const useBound = new Uint8Array(queryCount).fill(1);
  const boundChecks = new Int32Array(queryCount);

  for (let i = 0; i < task.ranges.length; i++) {
    const range = task.ranges[i];
    const seg = mapped[i];
    const { liveness, data, rows, sketches, superseded } = seg;
    // Sketches are usable only if this segment's were made with the basis the query sketches use.
    const sketched = basisId !== 0 && Atomics.load(seg.header, 0) === basisId;
    let word = 0;
    for (let r = range.start; r < range.end; r++) {
      if ((r & 31) === 0 || r === range.start) word = Atomics.load(liveness, r >>> 5);
      // A row that is not live is still read by the queries that opened their view before its record was updated.
      const live = (word & (1 << (r & 31))) !== 0;
      const supersededBy = live ? 0 : Atomics.load(superseded, r);
      if (!live && supersededBy <= minHorizon) continue;
      // The row's view is made on first use only: a row the bound always prunes never needs one.
      let row: Float32Array | undefined;
      const slot = range.baseSlot + r;
      rowsScanned++;
      for (let q = 0; q < queryCount; q++) {
        const horizon = queryHorizon[q];
        if (slot >= horizon || (supersededBy !== 0 && supersededBy <= horizon)) continue;
        const filter = queryFilter[q];
        if (filter !== undefined && (filter[slot >>> 5] & (1 << (slot & 31))) === 0) continue;
        candidates[q]++;
        const qk = queryK[q];
        const base = q * k;
        const size = heapSizes[q];
        if (sketched && size === qk && useBound[q] === 1) {
          // Upper bound on q·r from the sketches, turned into a lower bound on the rank distance. The margin covers
          // float32 rounding in the sketches and in simsimd, so no row that could enter the top k is ever skipped.
          const so = r * width;
          const qo = q * width;
          let bound = qs[qo + m] * sketches[so + m];
          for (let j = 0; j < m; j++) bound += qs[qo + j] * sketches[so + j];
          const squares = qs[qo + m + 1] + sketches[so + m + 1];
          const lower = negate ? -bound : squares - 2 * bound;
          if (lower > heapDistances[base] + 1e-4 * squares) {
            pruned[q]++;
            continue;
          }
          // On data without low-dimensional structure the bound almost never prunes: stop paying for it.
          if (++boundChecks[q] === BOUND_TRIAL_CHECKS && pruned[q] < BOUND_TRIAL_CHECKS / 4) useBound[q] = 0;
        }
        row ??= rows[r] ??= data.subarray(r * dim, (r + 1) * dim);
        let d = kernel(queries[q], row);
        if (negate) d = -d;
        // An overflowed distance (rows written before vectors were checked) ranks last: see worstIfNotFinite.
        if (!(d < Infinity && d > -Infinity)) d = Infinity;
        if (size < qk) {
          heapPush(heapDistances, heapSlots, base, size, d, slot);
          heapSizes[q] = size + 1;
        } else if (d < heapDistances[base]) {
          // Rows arrive in slot order, so an equal distance never displaces the earlier row: ties go to the older slot.
          heapReplaceTop(heapDistances, heapSlots, base, size, d, slot);
        }
      }
    }
  }
  for (let q = 0; q < queryCount; q++) heapSortAscending(heapDistances, heapSlots, q * k, heapSizes[q]);

  if (metrics) {
    metrics.tasks.inc();
    metrics.vectorsScanned.inc(rowsScanned);
    metrics.scanDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    metricsDirty = true;
  }
  return { slots: heapSlots, distances: heapDistances, candidates, pruned, timing: scanTiming(startedAt, rowsScanned, candidates, pruned) };
}

/** The task's timing for trace spans; every candidate was either pruned or had its distance computed. */
function scanTiming(startedAt: number, rowsVisited: number, candidates: Int32Array, pruned: Int32Array): ScanResult['timing'] {
  let considered = 0;
  let skipped = 0;
  for (let q = 0; q < candidates.length; q++) {
    considered += candidates[q];
    skipped += pruned[q];
  }
  return { worker: threadId, startedAt, endedAt: performance.timeOrigin + performance.now(), rowsVisited, rowsPruned: skipped, distances: considered - skipped };
}

// A max-heap by (distance, slot) stored in parallel typed arrays at offset `base`, so the worst kept row is at the top.
function worse(dist: Float64Array, slots: Int32Array, a: number, b: number): boolean {
  return dist[a] > dist[b] || (dist[a] === dist[b] && slots[a] > slots[b]);
}

function swap(dist: Float64Array, slots: Int32Array, a: number, b: number): void {
  const d = dist[a];
  dist[a] = dist[b];
  dist[b] = d;
  const s = slots[a];
  slots[a] = slots[b];
  slots[b] = s;
}

function heapPush(dist: Float64Array, slots: Int32Array, base: number, size: number, d: number, slot: number): void {
  let i = size;
  dist[base + i] = d;
  slots[base + i] = slot;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!worse(dist, slots, base + i, base + parent)) break;
    swap(dist, slots, base + i, base + parent);
    i = parent;
  }
}

function siftDown(dist: Float64Array, slots: Int32Array, base: number, size: number, start: number): void {
  let i = start;
  for (;;) {
    const left = 2 * i + 1;
    const right = left + 1;
    let largest = i;
    if (left < size && worse(dist, slots, base + left, base + largest)) largest = left;
    if (right < size && worse(dist, slots, base + right, base + largest)) largest = right;
    if (largest === i) return;
    swap(dist, slots, base + i, base + largest);
    i = largest;
  }
}

function heapReplaceTop(dist: Float64Array, slots: Int32Array, base: number, size: number, d: number, slot: number): void {
  dist[base] = d;
  slots[base] = slot;
  siftDown(dist, slots, base, size, 0);
}

/** Heap-sorts in place so the kept rows read best first. */
function heapSortAscending(dist: Float64Array, slots: Int32Array, base: number, size: number): void {
  for (let end = size - 1; end > 0; end--) {
    swap(dist, slots, base, base + end);
    siftDown(dist, slots, base, end, 0);
  }
}
