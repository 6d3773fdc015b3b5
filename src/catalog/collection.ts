// One collection: its settings, its engine (store, text index, cache, batcher on the shared pool) and its journal
// (write-ahead log, checkpoints, snapshots in its own directory). Knows nothing of other collections.
import path from 'node:path';
import { VecStoreError } from '../errors.js';
import { COLLECTIONS_DIR } from './catalog-layout.js';
import type { VecStoreEngine } from '../engine/engine.js';
import type { Durability, SnapshotInfo } from '../engine/durability.js';
import type { SnapshotArchive } from '../persistence/snapshot-archive.js';
import type { CollectionSettings, HnswSettings, IndexKind } from './collection-settings.js';

/** One entry of `GET /v1/collections`. */
export interface CollectionSummary {
  name: string;
  dimension: number | null;
  metric: string;
  index: IndexKind;
  active_vectors: number;
  deleted_vectors: number;
}

export class Collection {
  readonly name: string;
  readonly settings: CollectionSettings;
  readonly engine: VecStoreEngine;
  /** Absent only for the stand-in that answers reads of a `default` collection not created yet. */
  private readonly durability: Durability | undefined;

  constructor(name: string, settings: CollectionSettings, engine: VecStoreEngine, durability: Durability | undefined) {
    this.name = name;
    this.settings = settings;
    this.engine = engine;
    this.durability = durability;
  }

  /** The current dimension: the configured one, or the one the first vector fixed. */
  get dimension(): number | undefined {
    return this.engine.dimension;
  }

  summary(): CollectionSummary {
    const counts = this.engine.store.counts;
    return { name: this.name, dimension: this.dimension ?? null, metric: this.settings.metric, index: this.settings.index, active_vectors: counts.active, deleted_vectors: counts.deleted };
  }

  /** `GET /v1/collections/:name`: the settings and the fields of `/v1/stats`. */
  describe(): { name: string; index: IndexKind; hnsw: HnswSettings } & ReturnType<VecStoreEngine['stats']> {
    return { name: this.name, ...this.engine.stats(), index: this.settings.index, hnsw: this.settings.hnsw };
  }

  /** Takes a snapshot; its `path` is relative to the server's data directory (never the server's absolute path). */
  async createSnapshot(name: string): Promise<{ name: string; path: string }> {
    const made = await this.journal().createSnapshot(name);
    return { name: made.name, path: path.join(COLLECTIONS_DIR, this.name, made.path) };
  }

  async listSnapshots(): Promise<SnapshotInfo[]> {
    return this.durability ? this.durability.listSnapshots() : [];
  }

  deleteSnapshot(name: string): Promise<void> {
    return this.journal().deleteSnapshot(name);
  }

  snapshotArchive(name: string): Promise<SnapshotArchive> {
    return this.journal().snapshotArchive(name);
  }

  receiveSnapshot(name: string, chunks: AsyncIterator<Buffer>, maxBytes: number): Promise<{ bytes: number; vectors: number; dimension: number | null }> {
    return this.journal().receiveSnapshot(name, chunks, maxBytes);
  }

  restoreSnapshot(name: string): Promise<{ vectors_restored: number }> {
    return this.journal().restoreSnapshot(name);
  }

  /** Waits for its checkpoints and snapshots, fsyncs and closes its log, and releases its segments in the pool. */
  async close(options: { dropping?: boolean } = {}): Promise<void> {
    try {
      // A collection being dropped does not save its graph: its files are removed next.
      await this.durability?.close({ saveGraph: !options.dropping });
    } finally {
      await this.engine.close();
    }
  }

  private journal(): Durability {
    if (!this.durability) throw new VecStoreError('collection_not_found', `collection: ${JSON.stringify(this.name)} does not exist yet`);
    return this.durability;
  }
}
