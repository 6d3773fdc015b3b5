// The HNSW index on the front thread: owns the graph's shared memory, keeps it built in the pool, plans graph searches.
import type { MetricName } from '../distance/metric.js';
import type { ScanLayout, SegmentDescriptor } from '../store/segment-layout.js';
import type { GraphRef, GraphSearchTask, ScanResult, GraphInsertResult } from '../search/messages.js';
import type { ScanPool } from '../search/scan-pool.js';
import { filterSlot } from './flat-index.js';
import { graphOffsets, graphSegmentBytes, newGraphHeader, type GraphSegmentDescriptor } from './graph-layout.js';
import { mergeSorted, sketchQueries, slotRanges, type IndexOutcome, type IndexQuery, type QuerySketcher, type TaskFault, type VectorIndex } from './vector-index.js';

/** The settings of an HNSW index (per collection). */
export interface HnswSettings {
  /** Neighbours per node on upper levels (2m on level 0). */
  m: number;
  efConstruction: number;
  /** Default search breadth. */
  ef: number;
}

export const DEFAULT_HNSW: HnswSettings = { m: 16, efConstruction: 200, ef: 64 };

/** Events the index reports (metrics, logs). */
export interface HnswEvents {
  inserted?(rows: number, ms: number): void;
  /** The graph holds every row written so far. */
  caughtUp?(): void;
  failed?(err: Error): void;
}

/** The graph of one layout version: its shared memory and how far it is built. */
interface GraphState {
  version: number;
  header: SharedArrayBuffer;
  rowsPerSegment: number;
  segments: GraphSegmentDescriptor[];
  /** The layout's vector segment ids, in slot order. */
  vectorSegmentIds: number[];
  /** Every slot below is in the graph. */
  indexedEnd: number;
  /** Next slot to hand to an insert task. */
  next: number;
  /** Insert tasks finished out of order: from → to. */
  done: Map<number, number>;
  /** Ranges whose task failed, to hand out again. */
  retry: Array<[number, number]>;
}

let nextGraphSegmentId = 1;
/** Rows per insert task: small enough that a query never waits long behind one, large enough to amortise the message. */
const INSERT_CHUNK = 64;
/** Seed of node levels; fixed so a rebuild of the same rows gives the same levels. */
const LEVEL_SEED = 0x5eed;

/** Graph search over the rows the graph holds, exact scan of the rows it does not hold yet. */
export class HnswIndex implements VectorIndex {
  readonly kind = 'hnsw';
  readonly settings: HnswSettings;
  private readonly pool: ScanPool;
  private readonly querySource: number;
  private readonly buildSource: number;
  private readonly metric: MetricName;
  private readonly slotsUsed: () => number;
  private readonly sketcher: QuerySketcher;
  private readonly events: HnswEvents;
  private graph: GraphState | undefined;
  private inserting = 0;
  private pumpScheduled = false;
  private closed = false;
  private readonly idleWaiters: Array<() => void> = [];
  /** Rows in the graph when `caughtUp` was last reported. */
  private reportedCaughtUp = 0;
  /** Graph segment ids of replaced layouts, by layout version, until no search reads them. */
  private readonly retired = new Map<number, number[]>();

  constructor(
    pool: ScanPool,
    options: { querySource: number; buildSource: number; metric: MetricName; settings: HnswSettings; slotsUsed: () => number; sketcher: QuerySketcher; events?: HnswEvents },
  ) {
    this.pool = pool;
    this.querySource = options.querySource;
    this.buildSource = options.buildSource;
    this.metric = options.metric;
    this.settings = options.settings;
    this.slotsUsed = options.slotsUsed;
    this.sketcher = options.sketcher;
    this.events = options.events ?? {};
  }

  // ---- shared memory lifecycle ----------------------------------------------------------------------------------------

  /** The store added vector segments to layout `version`: add the matching graph segments and announce them. */
  segmentsCreated(version: number, segments: SegmentDescriptor[]): void {
    const graph = this.graphFor(version, segments[0]?.rows ?? 0);
    // A layout announced before the store had a dimension (a restore or compaction while no vector had sized it) was
    // given no rows per segment; its first segment tells.
    if (graph.segments.length === 0 && segments.length > 0) graph.rowsPerSegment = segments[0].rows;
    const created: GraphSegmentDescriptor[] = segments.map((seg) => ({
      id: nextGraphSegmentId++,
      rows: seg.rows,
      m: this.settings.m,
      buffer: new SharedArrayBuffer(graphSegmentBytes(seg.rows, this.settings.m)),
    }));
    graph.segments.push(...created);
    graph.vectorSegmentIds.push(...segments.map((seg) => seg.id));
    this.pool.announceGraph(created);
  }

  /**
   * The store replaced its layout (compaction, clear): a new, empty graph is built for it in the background while queries
   * scan the unindexed rows exactly. The old graph's memory is freed by `dropLayout` once no search reads it.
   */
  layoutReplaced(version: number, rowsPerSegment: number): void {
    this.graphFor(version, rowsPerSegment);
    this.rowsWritten();
  }

  /** Frees every graph segment (the store is closing). */
  dropAll(): void {
    for (const version of [...this.retired.keys()]) this.dropLayout(version);
    if (this.graph) this.pool.dropGraph(this.graph.segments.map((s) => s.id));
    this.graph = undefined;
  }

  /** Frees the graph segments of an old layout (called once no batch on that layout is running). */
  dropLayout(version: number): void {
    const ids = this.retired.get(version);
    this.retired.delete(version);
    if (ids) this.pool.dropGraph(ids);
  }

  private graphFor(version: number, rowsPerSegment: number): GraphState {
    if (!this.graph || this.graph.version !== version) {
      if (this.graph) this.retired.set(this.graph.version, this.graph.segments.map((s) => s.id));
      this.graph = { version, header: newGraphHeader(), rowsPerSegment, segments: [], vectorSegmentIds: [], indexedEnd: 0, next: 0, done: new Map(), retry: [] };
    }
    return this.graph;
  }

  // ---- building ---------------------------------------------------------------------------------------------------------

  /** New rows were written: insert them into the graph in the background. */
  rowsWritten(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Hands insert tasks to the pool, at most one per worker; the first rows go alone so the graph starts from one entry. */
  private pump(): void {
    const graph = this.graph;
    if (!graph || this.closed) return;
    const end = this.slotsUsed();
    while (this.inserting < this.pool.threads) {
      let range = graph.retry.shift();
      if (!range) {
        if (graph.next >= end) break;
        if (graph.next > 0 && graph.indexedEnd === 0) break;
        const to = Math.min(end, graph.next + (graph.next === 0 ? 1 : INSERT_CHUNK));
        range = [graph.next, to];
        graph.next = to;
      }
      this.dispatch(graph, range[0], range[1]);
    }
    if (this.inserting === 0 && graph.indexedEnd >= end && end > 0) {
      for (const wake of this.idleWaiters.splice(0)) wake();
      if (graph.indexedEnd > this.reportedCaughtUp) {
        this.reportedCaughtUp = graph.indexedEnd;
        this.events.caughtUp?.();
      }
    }
  }

  private dispatch(graph: GraphState, from: number, to: number): void {
    this.inserting++;
    const task = { kind: 'graph-insert' as const, metric: this.metric, graph: this.ref(graph), from, to, efConstruction: this.settings.efConstruction, seed: LEVEL_SEED };
    (this.pool.run(task, this.buildSource) as Promise<GraphInsertResult>)
      .then((result) => {
        if (this.graph !== graph) return;
        graph.done.set(from, to);
        while (graph.done.has(graph.indexedEnd)) {
          const next = graph.done.get(graph.indexedEnd)!;
          graph.done.delete(graph.indexedEnd);
          graph.indexedEnd = next;
        }
        this.events.inserted?.(result.inserted, result.ms);
      })
      .catch((err: Error) => {
        if (this.graph === graph && !this.closed) graph.retry.push([from, to]);
        this.events.failed?.(err);
      })
      .finally(() => {
        this.inserting--;
        this.rowsWritten();
      });
  }

  /** Resolves once every row written so far is in the graph (tests and benchmarks). */
  whenBuilt(): Promise<void> {
    if (!this.graph || (this.inserting === 0 && this.graph.indexedEnd >= this.slotsUsed())) return Promise.resolve();
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.rowsWritten();
    });
  }

  /** Graph segments of the current layout, for a worker that has just started. */
  segmentDescriptors(): GraphSegmentDescriptor[] {
    return this.graph?.segments ?? [];
  }

  /** Rows reachable through the graph. */
  get indexedRows(): number {
    return this.graph?.indexedEnd ?? 0;
  }

  /** Rows written but not in the graph yet. */
  get pendingRows(): number {
    return Math.max(0, this.slotsUsed() - this.indexedRows);
  }

  get bytes(): number {
    let total = 0;
    for (const seg of this.graph?.segments ?? []) total += seg.buffer.byteLength;
    return total;
  }

  private ref(graph: GraphState): GraphRef {
    return {
      header: graph.header,
      m: this.settings.m,
      rowsPerSegment: graph.rowsPerSegment,
      segmentIds: graph.vectorSegmentIds,
      graphSegmentIds: graph.segments.map((s) => s.id),
    };
  }

  // ---- searching --------------------------------------------------------------------------------------------------------

  async search(batch: IndexQuery[], layout: ScanLayout, dim: number, fault?: TaskFault): Promise<IndexOutcome[]> {
    const graph = this.graph?.version === layout.version ? this.graph : undefined;
    const indexedEnd = graph ? Math.min(graph.indexedEnd, layout.slotsUsed) : 0;
    const tail = slotRanges(layout, indexedEnd, layout.slotsUsed);
    // Queries split across the workers; each walks the graph on its own, so no merge across tasks is needed.
    const chunks = Math.max(1, Math.min(this.pool.threads, batch.length));
    const ref = graph ? this.ref(graph) : { header: newGraphHeader(), m: this.settings.m, rowsPerSegment: layout.rowsPerSegment, segmentIds: layout.segmentIds, graphSegmentIds: [] };
    const tasks: Array<Promise<IndexOutcome[]>> = [];
    for (let c = 0; c < chunks; c++) {
      const part = batch.slice(Math.floor((batch.length * c) / chunks), Math.floor((batch.length * (c + 1)) / chunks));
      tasks.push(this.runChunk(part, ref, indexedEnd, tail, dim, c === 0 ? fault : undefined));
    }
    const path = indexedEnd > 0 ? 'hnsw' : 'exact';
    return (await Promise.all(tasks)).flat().map((outcome) => ({ ...outcome, path }));
  }

  private async runChunk(part: IndexQuery[], graph: GraphRef, indexedEnd: number, tail: GraphSearchTask['tail'], dim: number, fault: TaskFault): Promise<IndexOutcome[]> {
    const queryCount = part.length;
    const queries = new Float32Array(queryCount * dim);
    const queryK = new Int32Array(queryCount);
    const queryHorizon = new Int32Array(queryCount);
    const queryEf = new Int32Array(queryCount);
    const querySkip = new Int32Array(queryCount);
    const filterIndex = new Int32Array(queryCount);
    const filters: SharedArrayBuffer[] = [];
    let k = 1;
    part.forEach((request, q) => {
      queries.set(request.query, q * dim);
      queryK[q] = request.k;
      queryHorizon[q] = request.horizon;
      queryEf[q] = Math.max(request.k, request.ef ?? this.settings.ef);
      querySkip[q] = request.skip ?? -1;
      k = Math.max(k, request.k);
      filterIndex[q] = filterSlot(filters, request.filter);
    });
    const task: GraphSearchTask = { kind: 'graph-search', metric: this.metric, dim, k, queries, queryCount, queryK, queryEf, querySkip, queryHorizon, filterIndex, filters, graph, indexedEnd, tail, fault, ...sketchQueries(this.sketcher, part) };
    const result = (await this.pool.run(task, this.querySource)) as ScanResult;
    return part.map((request, q) => ({
      ...mergeSorted([result], q, k, request.k),
      candidates: result.candidates[q],
      pruned: result.pruned[q],
      distanceCount: result.distanceCounts[q],
      path: 'hnsw' as const,
      timings: result.timing ? [result.timing] : [],
    }));
  }

  // ---- persistence --------------------------------------------------------------------------------------------------------

  /** The graph of the current layout as it is now, for a checkpoint (lists may be mid-rewrite; every entry is valid). */
  capture(): GraphCapture | undefined {
    const graph = this.graph;
    if (!graph || graph.indexedEnd === 0) return undefined;
    const header = new Int32Array(graph.header);
    return {
      m: this.settings.m,
      rowsPerSegment: graph.rowsPerSegment,
      indexedEnd: graph.indexedEnd,
      entry: Atomics.load(header, 0),
      segments: graph.segments.map((s) => new Int32Array(s.buffer)),
    };
  }

  /**
   * Adopts a graph read from a checkpoint for the current layout (rows already loaded, slot i = record i): lists, levels
   * and the entry. The caller starts the build of the rows from its `indexedEnd` on (`rowsWritten`).
   */
  adopt(loaded: LoadedGraph): void {
    const graph = this.graph;
    if (!graph || loaded.m !== this.settings.m || loaded.count > this.slotsUsed()) return;
    const o = graphOffsets(graph.rowsPerSegment, this.settings.m);
    const segWords = graph.segments.map((s) => new Int32Array(s.buffer));
    const nextBlock = new Int32Array(graph.segments.length);
    const { words } = loaded;
    let at = loaded.offset;
    let entry = -1;
    let entryLevel = -1;
    for (let slot = 0; slot < loaded.count; slot++) {
      const level = words[at++];
      if (level < 0) continue;
      const seg = Math.floor(slot / graph.rowsPerSegment);
      const row = slot % graph.rowsPerSegment;
      const target = segWords[seg];
      let placed = level;
      if (level > 0) {
        if (nextBlock[seg] + level > o.poolBlocks) placed = 0;
        else {
          target[o.upper + row] = nextBlock[seg] + 1;
          nextBlock[seg] += level;
        }
      }
      for (let l = 0; l <= level; l++) {
        const count = words[at];
        if (l <= placed) {
          const base = l === 0 ? row * o.stride0 : o.pool + (target[o.upper + row] - 1 + l - 1) * o.blockWords;
          target.set(words.subarray(at, at + 1 + count), base);
        }
        at += 1 + count;
      }
      target[o.levels + row] = placed + 1;
      if (placed > entryLevel || (slot === loaded.entry && placed === entryLevel)) {
        entry = slot;
        entryLevel = placed;
      }
    }
    segWords.forEach((w, i) => (w[o.poolNext] = nextBlock[i]));
    const header = new Int32Array(graph.header);
    header[1] = entryLevel;
    header[0] = entry;
    graph.indexedEnd = loaded.indexedEnd;
    graph.next = loaded.indexedEnd;
  }

  /** Stops building; resolves once no insert task is running (the pool can then be destroyed). */
  async close(): Promise<void> {
    this.closed = true;
    while (this.inserting > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A graph as captured for a checkpoint: its segments' words (live views) and where the built part ends. */
export interface GraphCapture {
  m: number;
  rowsPerSegment: number;
  indexedEnd: number;
  entry: number;
  segments: Int32Array[];
}

/** A graph as read back from a checkpoint, in the loaded store's slot numbering (see src/persistence/graph-file.ts). */
export interface LoadedGraph {
  m: number;
  count: number;
  indexedEnd: number;
  entry: number;
  /** The file's words; per slot from `offset` on: level, then per level [count, ...neighbours]. */
  words: Int32Array;
  offset: number;
}
