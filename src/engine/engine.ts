// VecStore as a service: validated writes through the journal, exact and hybrid queries, deletes, compaction, stats.
import { VecStoreError } from '../errors.js';
import { higherScoreIsBetter, normalizeInPlace, rankDistanceFn, scoreFromRankDistance, vectorProblem, type MetricName } from '../distance/metric.js';
import { VectorStore, type Metadata, type RecordView, type StoredRecord, type StoreView } from '../store/vector-store.js';
import type { SketchBasis } from '../store/row-sketcher.js';
import { ScanPool } from '../search/scan-pool.js';
import { QueryBatcher, type SearchOutcome } from '../search/query-batcher.js';
import { FlatIndex } from '../index/flat-index.js';
import { DEFAULT_HNSW, HnswIndex, type HnswEvents, type HnswSettings, type LoadedGraph } from '../index/hnsw-index.js';
import type { SavedRecallTable } from '../index/recall-table.js';
import type { QuerySketcher, SearchPath, VectorIndex } from '../index/vector-index.js';
import { RecallMonitor } from './recall-monitor.js';
import type { CheckpointCapture } from '../persistence/checkpoint.js';
import { decodePayload, encodeRecord, RECORD_HEADER_BYTES } from '../persistence/wal.js';
import type { WorkerMetricsDelta } from '../search/messages.js';
import { fuseCandidates, type FusionMethod } from '../search/fusion.js';
import { compileFilter, type FilterPredicate } from './filter.js';
import { evaluateFilterBitmap, filterTooCostly } from './filter-bitmap.js';
import { inSlices } from './time-slices.js';
import { TextIndex } from './text-index.js';
import { QueryCache } from './query-cache.js';
import { DEFAULT_LIMITS, type Limits } from './limits.js';
import { parseMetadata, refuseUnstorable, validateBatch, type BatchError, type RecordInput, type ValidatedBatch } from './record-validation.js';
import { mergePatch } from './merge-patch.js';
import { IdOrder } from './id-order.js';
import { NO_JOURNAL, type Journal, type Mutation } from './mutation.js';
import { AutoCompactor, type AutoCompactorOptions } from './auto-compactor.js';
import { activeSpanParent } from '../telemetry/trace-seam.js';

export interface EngineOptions {
  metric: MetricName;
  dimension?: number;
  /**
   * The scan pool to share (a server's collections all use one). Without it the engine starts its own pool of
   * `threads` workers and closes it on close().
   */
  pool?: ScanPool;
  /** Workers of the engine's own pool (ignored with `pool`). */
  threads?: number;
  limits?: Limits;
  /** Query cache entries (0 turns the cache off). */
  cacheSize?: number;
  bm25?: { k1?: number; b?: number };
  /** Receives scan workers' metric deltas (none are collected without it). */
  onWorkerMetrics?: (delta: WorkerMetricsDelta) => void;
  /** Extra worker environment (the test-only fault switch). */
  workerEnv?: Record<string, string>;
  /** Rows per shared segment (default: about 32 MiB of vectors). */
  rowsPerSegment?: number;
  /** Most queries scanned together (1 turns batching off; benchmarks compare the two). */
  maxBatch?: number;
  /** Compact in the background once garbage slots pass this share of used slots (default 0: off). */
  autoCompactRatio?: number;
  /** Told about each automatic compaction (or its failure). */
  onAutoCompact?: AutoCompactorOptions['onCompacted'];
  /** `hnsw` (default): a graph index answers queries once the store is big enough; `flat`: every query scans exactly. */
  index?: IndexKind;
  hnsw?: HnswSettings;
  /** Below this many active vectors, queries scan exactly (default 10,000). */
  indexThreshold?: number;
  /** Graph build events (metrics). */
  indexEvents?: HnswEvents;
  /** Recall a query gets when it asks for neither `ef` nor `recall` (default 0.99). */
  targetRecall?: number;
  /** Share of graph answers re-run exactly to measure their recall (default 0.01; 0 turns audits off). */
  recallSampleRate?: number;
  /** Most recall audits started per second (default 5). */
  recallAuditsPerSecond?: number;
  /** Receives each audit's measured recall@k. */
  onRecallAudit?: (type: 'vector' | 'hybrid', recall: number) => void;
}

export type IndexKind = 'hnsw' | 'flat';

export const DEFAULT_INDEX_THRESHOLD = 10_000;

/** Sources for the pool's fair queue, unique in the process: each store's queries and its graph building take turns. */
let nextSource = 1;

/**
 * Below this share of active rows passing a filter, a filtered query scans the matching rows exactly instead of walking
 * the graph: a walk through a graph where few nodes qualify visits most of it anyway, and loses recall doing so.
 */
export const FILTER_GRAPH_MIN_SELECTIVITY = 0.1;

/** How a query wants its vector side searched: a breadth for the graph, a recall target, or exact. */
export interface SearchOptions {
  ef?: number;
  /** Recall target in (0, 1]; 1 means exact. */
  recall?: number;
  exact?: boolean;
}

export const DEFAULT_TARGET_RECALL = 0.99;

/** One result of a query. */
export interface QueryHit {
  id: string;
  score: number;
  /** Left out when the query asked for `includeMetadata: false`. */
  metadata?: Metadata;
  vector?: number[];
  /** The record's stored text, when the query asked for `includeText` and the record has one. */
  text?: string;
}

/** A query's answer with the stats the API reports. */
export interface QueryAnswer {
  results: QueryHit[];
  /**
   * `pruned_fraction`: the share of the filtered candidates an exact scan skipped (of the nodes a graph walk reached)
   * because their sketch bound proved they could not make the results: their distance was never computed, and the
   * answer is the same as without the bound.
   */
  stats: {
    total_candidates: number;
    filtered_count: number;
    pruned_fraction: number;
    duration_ms: number;
    /** Which path answered: the graph (with the rows not yet in it scanned exactly) or an exact scan. */
    index: SearchPath;
    /** Search breadth used (graph path only). */
    ef?: number;
    /** The recall this path is expected to give (1 for exact; null before the store has measured its graph). */
    expected_recall: number | null;
    distance_computations: number;
  };
}

export interface VectorQuery extends SearchOptions {
  vector: Float32Array;
  k: number;
  filter?: string;
  includeVectors?: boolean;
  /** Hits carry the record's text. */
  includeText?: boolean;
  /** Hits carry metadata (default true). */
  includeMetadata?: boolean;
  /**
   * Hits worse than this are dropped: under cosine and dot (and for a hybrid query's fused score) a hit is kept when
   * its score is at least the threshold, under euclidean when its distance is at most the threshold.
   */
  scoreThreshold?: number;
}

/** What PATCH changes: `metadata` is a JSON merge patch (RFC 7396) of the stored metadata; `text: null` removes it. */
export interface RecordChanges {
  metadata?: Record<string, unknown>;
  text?: string | null;
}

/** A page request of a scroll through every record in id order. */
export interface ScrollRequest {
  filter?: string;
  limit: number;
  /** The last id of the previous page (undefined for the first page). */
  after?: string;
  includeVectors?: boolean;
  includeText?: boolean;
}

/** One record of a scroll page. */
export interface ScrolledRecord {
  id: string;
  metadata: Metadata;
  vector?: number[];
  text?: string;
}

export interface HybridQuery extends VectorQuery {
  textQuery: string;
  alpha: number;
  fusion: FusionMethod;
}

/** What applying a mutation did: for an upsert, whether each record was new; for a compaction, what it reclaimed. */
export interface Applied {
  outcomes: Array<'inserted' | 'updated'>;
  compacted?: { removedCount: number; freedBytes: number };
}

export type { BatchError } from './record-validation.js';

/** The answer of a batch upsert: counts of new and replaced records, and each bad record's error. */
export interface BatchOutcome {
  inserted: number;
  updated: number;
  errors: BatchError[];
}

/** The store, its text index, the scan pool and the query cache behind one API. */
export class VecStoreEngine {
  readonly store: VectorStore;
  readonly textIndex: TextIndex;
  readonly limits: Limits;
  private readonly pool: ScanPool;
  private readonly ownsPool: boolean;
  private readonly batcher: QueryBatcher;
  private readonly flat: FlatIndex;
  /** The graph index, when the store is configured for one. */
  readonly hnsw: HnswIndex | undefined;
  readonly indexThreshold: number;
  readonly targetRecall: number;
  /** Calibrates breadth → recall and audits graph answers (graph stores only). */
  readonly recall: RecallMonitor | undefined;
  private readonly cache: QueryCache<QueryAnswer>;
  private journal: Journal = NO_JOURNAL;
  private readonly idOrder: IdOrder;
  private readonly autoCompactor: AutoCompactor;

  constructor(options: EngineOptions) {
    this.limits = options.limits ?? DEFAULT_LIMITS;
    if (options.dimension !== undefined && options.dimension > this.limits.maxDimension) {
      throw new VecStoreError('dimension_too_large', `dimension: ${options.dimension} is over the limit of ${this.limits.maxDimension}`);
    }
    this.store = new VectorStore({ metric: options.metric, dimension: options.dimension, rowsPerSegment: options.rowsPerSegment });
    this.textIndex = new TextIndex(options.bm25);
    this.cache = new QueryCache(options.cacheSize ?? 10_000);
    this.ownsPool = options.pool === undefined;
    this.pool = options.pool ?? new ScanPool({ threads: options.threads ?? 1, onWorkerMetrics: options.onWorkerMetrics, env: options.workerEnv });
    // The pool's fair queue takes turns between sources: this store's queries, and its graph building, are two.
    const querySource = nextSource++;
    const buildSource = nextSource++;
    const sketcher: QuerySketcher = {
      sketchQuery: (query, out, offset) => this.store.sketchQuery(query, out, offset),
      sketchWidth: () => this.store.sketchWidth,
    };
    this.flat = new FlatIndex(this.pool, querySource, { metric: options.metric, ...sketcher });
    this.indexThreshold = options.indexThreshold ?? DEFAULT_INDEX_THRESHOLD;
    this.targetRecall = options.targetRecall ?? DEFAULT_TARGET_RECALL;
    const graph = (options.index ?? 'hnsw') === 'hnsw';
    this.recall = graph
      ? new RecallMonitor({
          search: async ({ query, k, filter, ef, exact, skip }) => {
            const view = this.store.openView();
            try {
              return await this.batcher.search({ query, k, filter, ef, horizon: view.horizon, skip, index: exact ? this.flat : this.hnsw! });
            } finally {
              this.store.closeView(view);
            }
          },
          sampleRows: (count) => this.sampleRows(count),
          indexedRows: () => this.hnsw?.indexedRows ?? 0,
          sampleRate: options.recallSampleRate ?? 0.01,
          maxAuditsPerSecond: options.recallAuditsPerSecond ?? 5,
          onAudit: options.onRecallAudit,
          onError: (err) => options.indexEvents?.failed?.(err),
        })
      : undefined;
    const events: HnswEvents = {
      ...options.indexEvents,
      caughtUp: () => {
        options.indexEvents?.caughtUp?.();
        // A store under the index threshold never walks its graph: nothing to calibrate yet.
        if (this.store.counts.active >= this.indexThreshold) this.recall?.indexCaughtUp();
      },
    };
    this.hnsw = graph
      ? new HnswIndex(this.pool, { querySource, buildSource, metric: options.metric, settings: options.hnsw ?? DEFAULT_HNSW, slotsUsed: () => this.store.slotCount, sketcher, events })
      : undefined;
    this.batcher = new QueryBatcher({
      dimension: () => this.store.dimension,
      layout: () => this.store.layout(),
      ...(options.maxBatch !== undefined ? { maxBatch: options.maxBatch } : {}),
    });
    this.idOrder = new IdOrder(this.store);
    this.autoCompactor = new AutoCompactor({
      ratio: options.autoCompactRatio ?? 0,
      usage: () => ({ slotCount: this.store.slotCount, recordCount: this.store.counts.total }),
      // Garbage only: soft-deleted records stay restorable until a compaction someone asked for.
      compact: async () => (await this.commit({ type: 'compact', keepSoftDeleted: true })).compacted!,
      onCompacted: options.onAutoCompact,
    });
    this.store.listener = {
      created: (segments) => {
        this.pool.announce(segments);
        this.hnsw?.segmentsCreated(this.store.layout().version, segments);
      },
      replaced: (previous) => {
        const current = this.store.layout();
        this.hnsw?.layoutReplaced(current.version, current.rowsPerSegment);
        this.batcher.whenLayoutIdle(previous.version, () => {
          this.pool.drop(previous.segmentIds);
          this.hnsw?.dropLayout(previous.version);
        });
      },
    };
  }

  get indexKind(): IndexKind {
    return this.hnsw ? 'hnsw' : 'flat';
  }

  /**
   * After a bulk load (recovery, restore): adopt the graph and recall table saved with the rows, then index whatever the
   * graph lacks.
   */
  rowsLoaded(graph: LoadedGraph | undefined, recall?: SavedRecallTable): void {
    if (graph) this.hnsw?.adopt(graph);
    if (recall) this.recall?.adopt(recall);
    this.hnsw?.rowsWritten();
  }

  /** Makes every later mutation go through this journal before it is applied and acknowledged. */
  useJournal(journal: Journal): void {
    this.journal = journal;
  }

  get metric(): MetricName {
    return this.store.metric;
  }

  get dimension(): number | undefined {
    return this.store.dimension;
  }

  /** The basis the store sketches rows with now (for parse workers preparing rows), if any. */
  get sketchBasis(): SketchBasis | undefined {
    return this.store.sketchBasis;
  }

  /** True once every scan worker has started. */
  get workersReady(): boolean {
    return this.pool.ready;
  }

  /** Queries of this engine waiting for a batch slot (a shared pool's depth adds these up over its engines). */
  get queriesWaiting(): number {
    return this.batcher.waiting;
  }

  get cacheEnabled(): boolean {
    return this.cache.enabled;
  }

  /** Test-only: makes the next scan batch's first task fail inside its worker. */
  injectWorkerFault(fault: 'throw' | 'exit'): void {
    this.batcher.injectFault = fault;
  }

  // ---- writes -------------------------------------------------------------------------------------------------------

  /** Inserts or replaces one record; resolves once it is durable. */
  async upsert(record: RecordInput): Promise<'inserted' | 'updated'> {
    this.store.checkDimension(record.vector.length, 'vector');
    this.checkVector(record.vector, 'vector');
    const { outcomes } = await this.commit({ type: 'upsert', records: [record] });
    return outcomes[0];
  }

  /**
   * Validates each record on its own; the good ones are written as one logged batch, the bad ones are reported by index.
   */
  async batchUpsert(records: unknown[]): Promise<BatchOutcome> {
    return this.batchUpsertValidated(validateBatch(records.length, (i) => records[i], this.limits, this.store.dimension));
  }

  /**
   * Writes a batch validated elsewhere (a parse worker) as one logged mutation. The store's dimension may have been fixed
   * by another batch since the validation ran, so good records are checked against it once more.
   */
  async batchUpsertValidated(batch: ValidatedBatch): Promise<BatchOutcome> {
    // Vectors the metric cannot score (see vectorProblem) are refused here unless a parse worker refused them for this
    // metric already: validation elsewhere does not know the metric.
    const usable = batch.preparedFor === undefined || batch.preparedFor === this.metric ? batch : recordsAsSent(batch);
    const checked = refuseUnstorable(usable, this.store.dimension, usable.preparedFor === this.metric ? undefined : this.metric);
    let inserted = 0;
    let updated = 0;
    if (checked.records.length > 0) {
      for (const outcome of (await this.commit({ type: 'upsert', records: checked.records, encoded: logRecordOfKept(usable, checked) })).outcomes) {
        if (outcome === 'inserted') inserted++;
        else updated++;
      }
    }
    return { inserted, updated, errors: checked.errors };
  }

  /** Deletes a record for good. Throws not_found for an unknown id. */
  async delete(id: string): Promise<void> {
    this.requireRecord(id);
    await this.commit({ type: 'delete', id });
  }

  /** Hides a record from searches; restorable until compaction. Throws not_found for an unknown id. */
  async softDelete(id: string): Promise<void> {
    this.requireRecord(id);
    await this.commit({ type: 'soft_delete', id });
  }

  /** Undoes a soft delete. Throws not_found for an unknown id. */
  async restore(id: string): Promise<void> {
    this.requireRecord(id);
    await this.commit({ type: 'restore', id });
  }

  /**
   * Deletes for good every record (soft-deleted ones too) whose metadata matches the filter, as one logged mutation:
   * after a crash either all of them are gone or none. Resolves to how many were deleted.
   */
  async deleteByFilter(source: string): Promise<number> {
    const filter = this.compileFilterOrThrow(source);
    const ids = (await this.matchingRecords(filter, true)).map((r) => r.id);
    if (ids.length > 0) await this.commit({ type: 'delete_many', ids });
    return ids.length;
  }

  /**
   * The current records (soft-deleted ones too if asked) whose metadata matches, evaluated in time slices under
   * `--max-filter-ms` so that a costly filter cannot hold the front thread. Records written meanwhile are evaluated in
   * the version that is current at the end; a compaction meanwhile starts the evaluation over.
   */
  private async matchingRecords(filter: FilterPredicate, includeSoftDeleted: boolean): Promise<StoredRecord[]> {
    for (;;) {
      const layoutVersion = this.store.layout().version;
      const matched: StoredRecord[] = [];
      let slot = 0;
      const complete = await inSlices(
        (count) => {
          // Slots appended meanwhile (new records and new versions) are evaluated too.
          const end = Math.min(this.store.slotCount, slot + count);
          for (; slot < end; slot++) {
            const record = this.store.recordAtSlot(slot);
            if (record && (includeSoftDeleted || !record.deleted) && filter(record.metadata)) matched.push(record);
          }
          return slot >= this.store.slotCount;
        },
        this.limits.maxFilterMs,
        () => filterTooCostly(this.limits.maxFilterMs, `at record ${slot} of ${this.store.slotCount}`),
        () => layoutVersion === this.store.layout().version,
      );
      if (!complete) continue;
      // A record replaced or deleted after it was looked at is left out (its new version, if any, was looked at too).
      return matched.filter((r) => this.store.getRecord(r.id) === r && (includeSoftDeleted || !r.deleted));
    }
  }

  /**
   * Changes a record's metadata (merge patch) and/or text, keeping its vector; one logged mutation holding the merged
   * result. Throws not_found for an unknown id, and the metadata limits' errors when the merged metadata breaks them.
   */
  async patch(id: string, changes: RecordChanges): Promise<void> {
    const record = this.store.getRecord(id);
    if (!record) throw new VecStoreError('not_found', `id: no vector with id ${JSON.stringify(id)}`);
    const mutation: Mutation = { type: 'patch', id };
    if (changes.metadata !== undefined) {
      mutation.metadata = parseMetadata(mergePatch(record.metadata ?? {}, changes.metadata), 'metadata', this.limits) ?? {};
    }
    if (changes.text !== undefined) mutation.text = changes.text;
    await this.commit(mutation);
  }

  /** Reclaims the slots of deleted and soft-deleted records while queries keep running. */
  async compact(): Promise<{ removedCount: number; freedBytes: number }> {
    return (await this.commit({ type: 'compact' })).compacted!;
  }

  /** Logs, applies, then waits for durability: log order is apply order, and nothing is acknowledged early. */
  private async commit(mutation: Mutation): Promise<Applied> {
    // A traced write gets child spans for its log append and for its wait on the (group-commit) fsync.
    const trace = this.journal === NO_JOURNAL ? undefined : activeSpanParent();
    const started = trace ? performance.now() : 0;
    const durable = this.journal.write(mutation);
    trace?.child('vecstore.wal.append', started, performance.now(), { 'vecstore.mutation': mutation.type });
    const result = this.apply(mutation);
    if (mutation.type === 'upsert' || mutation.type === 'delete' || mutation.type === 'delete_many') this.autoCompactor.afterWrite();
    if (!trace) {
      await durable;
      return result;
    }
    const waiting = performance.now();
    await durable.then(
      () => trace.child('vecstore.wal.fsync', waiting, performance.now()),
      (err: Error) => {
        trace.child('vecstore.wal.fsync', waiting, performance.now(), undefined, err.message);
        throw err;
      },
    );
    return result;
  }

  /** Applies a mutation to memory (live writes and log replay share this). */
  apply(mutation: Mutation): Applied {
    switch (mutation.type) {
      case 'upsert': {
        const outcomes = mutation.records.map((r) => {
          const outcome = this.store.upsert(r.id, r.vector, r.metadata, r.text, r.prepared);
          this.textIndex.set(r.id, r.text ?? '');
          return outcome;
        });
        this.hnsw?.rowsWritten();
        return { outcomes };
      }
      case 'delete':
        this.store.hardDelete(mutation.id);
        this.textIndex.remove(mutation.id);
        return { outcomes: [] };
      case 'delete_many':
        for (const id of mutation.ids) {
          this.store.hardDelete(id);
          this.textIndex.remove(id);
        }
        return { outcomes: [] };
      case 'patch': {
        this.store.setFields(mutation.id, { metadata: mutation.metadata, text: mutation.text });
        const record = this.store.getRecord(mutation.id);
        // A soft-deleted record stays out of the text index until it is restored (restore indexes its text then).
        if (mutation.text !== undefined && record && !record.deleted) this.textIndex.set(mutation.id, mutation.text ?? '');
        return { outcomes: [] };
      }
      case 'soft_delete':
        this.store.softDelete(mutation.id);
        this.textIndex.remove(mutation.id);
        return { outcomes: [] };
      case 'restore': {
        this.store.restore(mutation.id);
        const record = this.store.getRecord(mutation.id);
        if (record?.text) this.textIndex.set(mutation.id, record.text);
        return { outcomes: [] };
      }
      case 'compact':
        return { outcomes: [], compacted: this.store.compact({ keepSoftDeleted: mutation.keepSoftDeleted }) };
    }
  }

  private requireRecord(id: string): void {
    if (!this.store.getRecord(id)) throw new VecStoreError('not_found', `id: no vector with id ${JSON.stringify(id)}`);
  }

  // ---- reads --------------------------------------------------------------------------------------------------------

  /** The record with its vector, soft-deleted ones included. */
  get(id: string): RecordView | undefined {
    return this.store.view(id);
  }

  /** The records with these ids (soft-deleted ones included, flagged), in request order, and the ids not found. */
  getMany(ids: string[]): { records: RecordView[]; missing: string[] } {
    const records: RecordView[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const record = this.store.view(id);
      if (record) records.push(record);
      else missing.push(id);
    }
    return { records, missing };
  }

  /** How many active (not soft-deleted) records match the filter (all of them without one). */
  async count(source?: string): Promise<number> {
    if (source === undefined) return this.store.counts.active;
    return (await this.matchingRecords(this.compileFilterOrThrow(source), false)).length;
  }

  /** Exact k-NN, optionally filtered. `cached` tells whether the answer came from the query cache. */
  async query(q: VectorQuery): Promise<QueryAnswer & { cached: boolean }> {
    const answer = await this.answer(q.vector, ['vector', q.k, q.filter ?? null, ...hitShapeKey(q), q.ef ?? null, q.recall ?? null, q.exact === true], async (query) => {
      const filter = q.filter !== undefined ? this.compileFilterOrThrow(q.filter) : undefined;
      const outcome = await this.search(query, q.k, filter, q, 'vector');
      const results = outcome.hits.map(({ record, distance }) => this.hit(record, scoreFromRankDistance(this.metric, distance), q));
      return { results, scan: outcome };
    });
    return withThreshold(answer, q.scoreThreshold, higherScoreIsBetter(this.metric));
  }

  /**
   * Keyword + vector search: candidates from both the vector top list and the BM25 top list, each scored on both sides,
   * fused linearly (`alpha·vector + (1 − alpha)·text` after per-query min-max normalisation) or by reciprocal rank.
   */
  async hybridQuery(q: HybridQuery): Promise<QueryAnswer & { cached: boolean }> {
    const keyParts = ['hybrid', q.k, q.filter ?? null, q.textQuery, q.alpha, q.fusion, ...hitShapeKey(q), q.ef ?? null, q.recall ?? null, q.exact === true];
    const answer = await this.answer(q.vector, keyParts, async (query) => {
      const filter = q.filter !== undefined ? this.compileFilterOrThrow(q.filter) : undefined;
      // Wider than k on each side so that fusion can promote a document that neither side ranks in its own top k.
      const candidateK = Math.min(this.limits.maxK, Math.max(q.k * 4, 50));
      const scanning = this.search(query, candidateK, filter, q, 'hybrid');
      const live = (id: string): StoredRecord | undefined => {
        const record = this.store.getRecord(id);
        return record === undefined || record.deleted ? undefined : record;
      };
      // Without a filter the keyword side runs here on the front thread while the workers scan for the vector side;
      // with one it waits for the scan's filter bitmap rather than evaluate the filter again on the front thread.
      let textSide = filter ? [] : this.textIndex.search(q.textQuery, candidateK, (id) => live(id) !== undefined);
      const vectorSide = await scanning;
      if (filter) {
        textSide = this.textIndex.search(q.textQuery, candidateK, (id) => {
          const record = live(id);
          return record !== undefined && vectorSide.matches(record);
        });
      }

      const rank = rankDistanceFn(this.metric);
      const textScore = this.textIndex.scorer(q.textQuery);
      const candidates = new Map<string, { id: string; record: StoredRecord; vectorScore: number | undefined; textScore: number; tieOrder: number }>();
      for (const { record, distance } of vectorSide.hits) {
        candidates.set(record.id, { id: record.id, record, vectorScore: scoreFromRankDistance(this.metric, distance), textScore: textScore(record.id), tieOrder: record.slot });
      }
      for (const { id, score } of textSide) {
        if (candidates.has(id)) continue;
        // Deleted (or its data replaced by a snapshot restore) while the vector side ran: it is simply gone.
        const record = this.store.getRecord(id);
        if (record === undefined || record.deleted) continue;
        const distance = rank(query, this.store.vectorAt(record.slot));
        candidates.set(id, { id, record, vectorScore: scoreFromRankDistance(this.metric, distance), textScore: score, tieOrder: record.slot });
      }
      const fused = fuseCandidates([...candidates.values()], {
        alpha: q.alpha,
        method: q.fusion,
        limit: q.k,
        higherVectorIsBetter: higherScoreIsBetter(this.metric),
      });
      const results = fused.map(({ id, score }) => this.hit(candidates.get(id)!.record, score, q));
      return { results, scan: vectorSide };
    });
    // Fused scores rank higher-is-better whatever the metric.
    return withThreshold(answer, q.scoreThreshold, true);
  }

  /**
   * Serves a query from the cache, or computes it and caches the answer under the store generation it started at
   * (an answer that raced a write is never cached for the newer generation).
   */
  private async answer(
    vector: Float32Array,
    keyParts: unknown[],
    compute: (query: Float32Array) => Promise<{ results: QueryHit[]; scan: { candidates: number; pruned: number; distanceCount: number; path: SearchPath; ef?: number; expectedRecall: number | null } }>,
  ): Promise<QueryAnswer & { cached: boolean }> {
    const started = performance.now();
    const query = this.prepareQueryVector(vector);
    const generation = this.store.generation;
    // The key (the vector's bytes as base64) costs a few µs a query: none without a cache.
    const key = this.cache.enabled ? QueryCache.key(query, keyParts) : '';
    const hit = this.cache.get(generation, key);
    if (hit) return { ...hit, stats: { ...hit.stats, duration_ms: elapsedMs(started) }, cached: true };
    const { results, scan } = await compute(query);
    const answer: QueryAnswer = {
      results,
      stats: {
        total_candidates: this.store.counts.active,
        filtered_count: scan.candidates,
        // Exact: of the candidates; graph: of the nodes the walk reached (those with a distance or a bound).
        pruned_fraction: fraction(scan.pruned, scan.path === 'exact' ? scan.candidates : scan.pruned + scan.distanceCount),
        duration_ms: elapsedMs(started),
        index: scan.path,
        ...(scan.path === 'hnsw' ? { ef: scan.ef } : {}),
        expected_recall: scan.path === 'exact' ? 1 : scan.expectedRecall,
        distance_computations: scan.distanceCount,
      },
    };
    this.cache.set(generation, key, answer);
    return { ...answer, cached: false };
  }

  /**
   * Plans and runs the vector side of a query over a store view, and resolves its slots to the record versions that view
   * sees (so a record updated while the search runs is found in its old version). Reruns if compaction swapped the
   * layout underneath it: slots (and a filter bitmap built over slots) mean nothing in another layout.
   */
  private async search(query: Float32Array, k: number, filter: FilterPredicate | undefined, options: SearchOptions, type: 'vector' | 'hybrid') {
    this.recall?.noteQuery(query);
    for (;;) {
      const view = this.store.openView();
      try {
        const filtered = filter ? await evaluateFilterBitmap(this.store, view, filter, this.limits.maxFilterMs) : undefined;
        if (filter && !filtered) continue;
        const bitmap = filtered?.buffer;
        const plan = this.plan(k, filtered?.matches, options);
        let outcome: SearchOutcome = await this.batcher.search({ query, k, filter: bitmap, horizon: view.horizon, ef: plan.ef, index: plan.index });
        // A graph walk can come back short (a filter few rows pass, many deleted rows): the exact scan never does.
        if (outcome.path === 'hnsw' && outcome.slots.length < k && (filtered?.matches ?? this.store.counts.active) > outcome.slots.length) {
          const exact = await this.batcher.search({ query, k, filter: bitmap, horizon: view.horizon, index: this.flat });
          outcome = { ...exact, distanceCount: exact.distanceCount + outcome.distanceCount };
        }
        if (outcome.layoutVersion !== view.layoutVersion || outcome.layoutVersion !== this.store.layout().version) continue;
        if (outcome.path === 'hnsw') this.recall?.maybeAudit(type, query, k, bitmap, outcome);
        const hits: Array<{ record: StoredRecord; distance: number }> = [];
        outcome.slots.forEach((slot, i) => {
          const record = this.store.versionAtSlot(slot, view);
          // A record deleted while the scan ran is left out; one updated meanwhile comes back as the version scanned.
          if (record) hits.push({ record, distance: outcome.distances[i] });
        });
        const candidates = outcome.path === 'exact' ? outcome.candidates : (filtered?.matches ?? this.store.counts.active);
        return {
          hits,
          candidates,
          pruned: outcome.pruned,
          distanceCount: outcome.distanceCount,
          path: outcome.path,
          ef: plan.ef,
          expectedRecall: plan.expected ?? null,
          matches: this.bitmapMatcher(view, bitmap, filter),
        };
      } finally {
        this.store.closeView(view);
      }
    }
  }

  /**
   * Chooses the index for a query: exact when asked, without a graph, on a store under the index threshold, or when a
   * filter keeps too few rows for a graph walk; otherwise the graph, at the query's breadth or the one its recall target
   * (or the server's) needs on this store, widened by how few rows the filter keeps (a walk must look at about
   * ef / selectivity nodes to find ef that pass).
   */
  private plan(k: number, filterMatches: number | undefined, options: SearchOptions): { index: VectorIndex; ef?: number; expected?: number } {
    const active = this.store.counts.active;
    if (options.exact || !this.hnsw || !this.recall || active < this.indexThreshold) return { index: this.flat };
    let ef: number;
    let expected: number | undefined;
    if (options.ef !== undefined) {
      ef = options.ef;
      expected = this.recall.expectedAt(ef);
    } else {
      // A recall target (the query's or the server's) becomes the smallest breadth measured to reach it on this store.
      const target = this.recall.plan(options.recall ?? this.targetRecall);
      if (target.exact) return { index: this.flat };
      ef = target.ef ?? this.hnsw.settings.ef;
      expected = target.expected;
    }
    ef = Math.max(k, ef);
    if (filterMatches !== undefined) {
      if (filterMatches < FILTER_GRAPH_MIN_SELECTIVITY * active) return { index: this.flat };
      ef = Math.min(this.limits.maxEf, Math.ceil((ef * active) / Math.max(1, filterMatches)));
    }
    return { index: this.hnsw, ef, expected };
  }

  /** Up to `count` live rows of the graph, picked at random, for calibrating recall (vectors copied). */
  private sampleRows(count: number): Array<{ slot: number; vector: Float32Array }> {
    const end = this.hnsw?.indexedRows ?? 0;
    const out: Array<{ slot: number; vector: Float32Array }> = [];
    const seen = new Set<number>();
    for (let tries = 0; out.length < count && tries < count * 20 && end > 0; tries++) {
      const slot = Math.floor(Math.random() * end);
      if (seen.has(slot)) continue;
      seen.add(slot);
      const record = this.store.recordAtSlot(slot);
      if (record && !record.deleted) out.push({ slot, vector: Float32Array.from(this.store.vectorAt(slot)) });
    }
    return out;
  }

  /**
   * A page of every active (not soft-deleted) record matching the filter, in id order after `after`; `last` is the id
   * to continue after, or null when nothing more matched.
   */
  async scroll(request: ScrollRequest): Promise<{ records: ScrolledRecord[]; last: string | null }> {
    const filter = request.filter !== undefined ? this.compileFilterOrThrow(request.filter) : undefined;
    const page = await this.idOrder.page(request.after, request.limit, (r) => !r.deleted && (filter === undefined || filter(r.metadata)), this.limits.maxFilterMs);
    const records = page.records.map((r) => {
      const out: ScrolledRecord = { id: r.id, metadata: r.metadata ?? {} };
      if (request.includeVectors) out.vector = Array.from(this.store.vectorAt(r.slot));
      if (request.includeText && r.text !== undefined) out.text = r.text;
      return out;
    });
    return { records, last: page.more ? page.records[page.records.length - 1].id : null };
  }

  /**
   * Whether a current record passes the query's filter: read from the bitmap for the slots it covers, evaluated for
   * the few records written since (or after a compaction).
   */
  private bitmapMatcher(view: StoreView, bitmap: SharedArrayBuffer | undefined, filter: FilterPredicate | undefined): (record: StoredRecord) => boolean {
    if (!filter || !bitmap) return () => true;
    const bits = new Int32Array(bitmap);
    return (record) => {
      const { slot } = record;
      if (this.store.layout().version === view.layoutVersion && slot < view.horizon) return (bits[slot >>> 5] & (1 << (slot & 31))) !== 0;
      return filter(record.metadata);
    };
  }

  private compileFilterOrThrow(source: string): FilterPredicate {
    if (source.length > this.limits.maxFilterLength) {
      throw new VecStoreError('filter_too_long', `filter: ${source.length} characters is over the limit of ${this.limits.maxFilterLength}`);
    }
    try {
      return compileFilter(source, { maxLength: this.limits.maxFilterLength, maxDepth: this.limits.maxFilterDepth });
    } catch (err) {
      // The parser reports nesting past the limit as a parse error; the API gives that limit its own code.
      if (err instanceof VecStoreError && /nested deeper than the limit/.test(err.message)) throw new VecStoreError('filter_too_deep', err.message);
      throw err;
    }
  }

  /** Refuses a vector the metric cannot score (see vectorProblem), naming the field. */
  private checkVector(vector: Float32Array, field: string): void {
    const problem = vectorProblem(this.metric, vector);
    if (problem !== undefined) throw new VecStoreError('validation', `${field}: ${problem}`);
  }

  private prepareQueryVector(vector: Float32Array): Float32Array {
    this.store.checkDimension(vector.length, 'vector');
    this.checkVector(vector, 'vector');
    const copy = Float32Array.from(vector);
    return this.metric === 'cosine' ? normalizeInPlace(copy) : copy;
  }

  /** A result; the vector is read from the record version's own slot (an old version's row stays until compaction). */
  private hit(record: StoredRecord, score: number, q: VectorQuery): QueryHit {
    const hit: QueryHit = { id: record.id, score };
    if (q.includeMetadata !== false) hit.metadata = record.metadata ?? {};
    if (q.includeVectors) hit.vector = Array.from(this.store.vectorAt(record.slot));
    if (q.includeText && record.text !== undefined) hit.text = record.text;
    return hit;
  }

  /** Counts and sizes for `/v1/stats` and the gauges. */
  stats() {
    const counts = this.store.counts;
    return {
      total_vectors: counts.total,
      active_vectors: counts.active,
      deleted_vectors: counts.deleted,
      dimension: this.store.dimension ?? null,
      metric: this.metric,
      storage_bytes: this.store.storageBytes,
      slots_used: this.store.slotCount,
      text_documents: this.textIndex.size,
      workers: this.pool.threads,
      index: this.indexKind,
      indexed_vectors: this.hnsw?.indexedRows ?? 0,
      pending_vectors: this.hnsw?.pendingRows ?? 0,
      index_bytes: this.hnsw?.bytes ?? 0,
      index_threshold: this.indexThreshold,
      ...(this.hnsw ? { hnsw: { m: this.hnsw.settings.m, ef_construction: this.hnsw.settings.efConstruction, ef: this.hnsw.settings.ef } } : {}),
      target_recall: this.targetRecall,
      recall_estimate: this.recall?.estimate() ?? { value: null, audits: 0 },
      recall_table: this.recall?.table?.points ?? [],
      recall_table_source: this.recall?.tableSource ?? null,
    };
  }

  /** The store and its graph at this instant, for a checkpoint or snapshot (taken synchronously). */
  capture(): CheckpointCapture {
    const graph = this.hnsw?.capture();
    const recall = graph ? this.recall?.saved() : undefined;
    return { ...this.store.capture(), graph, ...(recall ? { recall } : {}) };
  }

  /** Resolves once every row written so far is in the graph (benchmarks and tests). */
  whenIndexed(): Promise<void> {
    return this.hnsw?.whenBuilt() ?? Promise.resolve();
  }

  /**
   * Stops graph building, then closes the engine's own pool, or, on a shared pool, makes the workers forget this
   * engine's vector and graph segments once no search of them is running (as compaction does with what it replaces).
   */
  async close(): Promise<void> {
    await this.recall?.close();
    await this.hnsw?.close();
    if (this.ownsPool) return this.pool.close();
    const ids = this.store.segmentDescriptors().map((s) => s.id);
    const version = this.store.layout().version;
    this.batcher.whenLayoutIdle(version, () => {
      this.pool.drop(ids);
      this.hnsw?.dropAll();
    });
  }
}

/** Milliseconds since `started`, rounded to microseconds (the timer's digits past that are noise, not precision). */
function elapsedMs(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}

/** The cache-key parts of what a hit carries. */
function hitShapeKey(q: VectorQuery): unknown[] {
  return [q.includeVectors === true, q.includeText === true, q.includeMetadata !== false];
}

/** Drops the hits worse than the threshold (applied after the cache: the same answer serves every threshold). */
function withThreshold<T extends QueryAnswer>(answer: T, threshold: number | undefined, higherIsBetter: boolean): T {
  if (threshold === undefined) return answer;
  const results = answer.results.filter((h) => (higherIsBetter ? h.score >= threshold : h.score <= threshold));
  return results.length === answer.results.length ? answer : { ...answer, results };
}

function fraction(part: number, whole: number): number {
  return whole > 0 ? part / whole : 0;
}

/**
 * A batch a parse worker prepared for another metric (a store's metric never changes, so this is a safeguard) taken
 * back to its records as sent: its log record holds them, the records themselves may hold rows normalised already.
 */
function recordsAsSent(batch: ValidatedBatch): ValidatedBatch {
  // Without a log record the worker left the vectors as sent and prepared nothing.
  if (!batch.logRecord) return { ...batch, preparedFor: undefined };
  return { records: sentRecords(batch.logRecord), indexes: batch.indexes, errors: batch.errors, logRecord: batch.logRecord };
}

/**
 * The log record of the records kept from a prepared batch. Its own log record holds exactly its records, with the
 * vectors as sent (the records themselves may hold them normalised already); when some were refused here, the kept
 * ones are taken from it and encoded again, so the log never holds a vector other than the one sent.
 */
function logRecordOfKept(batch: ValidatedBatch, kept: ValidatedBatch): Buffer | undefined {
  if (kept === batch || !batch.logRecord) return batch.logRecord;
  const keep = new Set(kept.records);
  return encodeRecord({ type: 'upsert', records: sentRecords(batch.logRecord).filter((_, i) => keep.has(batch.records[i])) });
}

/** The records a prepared batch's log record holds, in the batch's order, with the vectors as sent. */
function sentRecords(logRecord: Buffer): RecordInput[] {
  const sent = decodePayload(logRecord.subarray(RECORD_HEADER_BYTES));
  if (sent.type !== 'upsert') throw new Error('a prepared batch\'s log record is not an upsert');
  return sent.records;
}
