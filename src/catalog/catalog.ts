// The catalog: the collections of one server by name, their directories under one locked data directory, and the
// one scan pool they share. Creates and drops are durable and atomic, and one at a time per name.
import fs from 'node:fs';
import path from 'node:path';
import { VecStoreError } from '../errors.js';
import type { MetricName } from '../distance/metric.js';
import { VecStoreEngine, type EngineOptions, type IndexKind } from '../engine/engine.js';
import type { HnswEvents } from '../index/hnsw-index.js';
import { Durability, type DurabilityLogger, type FsyncPolicy } from '../engine/durability.js';
import type { Limits } from '../engine/limits.js';
import { DataDirLock, fsyncDir } from '../persistence/data-dir.js';
import type { ScanPool } from '../search/scan-pool.js';
import { CatalogLayout, COLLECTION_FILE } from './catalog-layout.js';
import { Collection } from './collection.js';
import {
  DEFAULT_COLLECTION,
  fromCollectionFile,
  hnswFromWire,
  sameSettings,
  validateCollectionName,
  type CollectionSettings,
  type HnswSettings,
} from './collection-settings.js';

export interface CatalogOptions {
  dataDir: string;
  /** The scan pool every collection's queries run on. */
  pool: ScanPool;
  /** Metric of collections created without one (and of `default`). */
  metric: MetricName;
  /** Dimension of the `default` collection when it is created (undefined: its first vector fixes it). */
  dimension?: number;
  limits: Limits;
  cacheSize: number;
  bm25?: { k1?: number; b?: number };
  fsync: FsyncPolicy;
  checkpointWalBytes?: number;
  /** Most collections (409 too_many_collections past it). */
  maxCollections: number;
  /** Each collection compacts in the background once its garbage slots pass this share of its used slots (0: off). */
  autoCompactRatio?: number;
  /** Told about each automatic compaction of a collection (or its failure). */
  onAutoCompact?: (collection: string, outcome: Parameters<NonNullable<EngineOptions['onAutoCompact']>>[0]) => void;
  /** Index of collections created without one (and of `default`), and the HNSW settings they start from. */
  index: IndexKind;
  hnsw: HnswSettings;
  /** Below this many active vectors, a collection's queries scan exactly. */
  indexThreshold?: number;
  /** Graph build events of every collection (metrics, logs). */
  indexEvents?: Omit<HnswEvents, 'caughtUp'>;
  /** Recall targets and audits of every collection (see VecStoreEngine). */
  recall?: { target: number; sampleRate: number; auditsPerSecond: number; onAudit?: (type: 'vector' | 'hybrid', recall: number) => void };
  logger: DurabilityLogger;
}

export class Catalog {
  private readonly options: CatalogOptions;
  private readonly lock: DataDirLock;
  private readonly layout: CatalogLayout;
  private readonly collections = new Map<string, Collection>();
  /** Per name, the last create or drop: operations on one name run one at a time, in call order; names in parallel. */
  private readonly busy = new Map<string, Promise<unknown>>();
  /** Creates under way, counted against --max-collections before they finish. */
  private creating = 0;
  /** Answers reads of `default` before its first write: an empty collection that is never written or persisted. */
  private readonly emptyDefault: Collection;
  private closed = false;

  private constructor(options: CatalogOptions, lock: DataDirLock) {
    this.options = options;
    this.lock = lock;
    this.layout = new CatalogLayout(lock.root);
    this.emptyDefault = new Collection(DEFAULT_COLLECTION, this.defaultSettings(), this.newEngine(DEFAULT_COLLECTION, this.defaultSettings()), undefined);
  }

  /** Locks the data directory and recovers every collection (see `recover`). */
  static async open(options: CatalogOptions): Promise<Catalog> {
    const catalog = Catalog.lock(options);
    await catalog.recover();
    return catalog;
  }

  /** Takes the data directory's LOCK; the catalog is empty until `recover` resolves. */
  static lock(options: CatalogOptions): Catalog {
    return new Catalog(options, DataDirLock.acquire(options.dataDir));
  }

  /**
   * Moves a single-store layout into `collections/default/`, clears what interrupted creates and drops left, and
   * recovers every collection. Serve `/ready` only after this resolves; on failure the catalog is closed.
   */
  async recover(): Promise<void> {
    const { logger } = this.options;
    try {
      if (this.layout.migrateLegacy(this.defaultSettings())) {
        logger.info({ data_dir: this.lock.root, collection: DEFAULT_COLLECTION }, 'moved a single-store data directory into collections/default');
      }
      const names = this.layout.listAndClean((obj, msg) => logger.warn(obj, msg));
      fsyncDir(this.lock.root);
      for (const name of names) {
        const dir = this.layout.dirOf(name);
        let settings: CollectionSettings;
        try {
          settings = fromCollectionFile(fs.readFileSync(path.join(dir, COLLECTION_FILE), 'utf8')).settings;
        } catch (err) {
          throw new VecStoreError('conflict', `${path.join(dir, COLLECTION_FILE)}: unreadable (${(err as Error).message})`);
        }
        this.collections.set(name, await this.openCollection(name, dir, settings));
      }
    } catch (err) {
      await this.close().catch(() => {});
      throw err;
    }
  }

  /** The collection named `name`; `invalid_collection_name` or `collection_not_found` otherwise. */
  require(name: string): Collection {
    const collection = this.collections.get(validateCollectionName(name));
    if (!collection) throw new VecStoreError('collection_not_found', `collection: no collection named ${JSON.stringify(name)}`);
    return collection;
  }

  get(name: string): Collection | undefined {
    return this.collections.get(name);
  }

  /** Every collection, by name. */
  list(): Collection[] {
    return [...this.collections.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get size(): number {
    return this.collections.size;
  }

  /** `default` for a read: the real one, or an empty stand-in until its first write creates it. */
  defaultForRead(): Collection {
    return this.collections.get(DEFAULT_COLLECTION) ?? this.emptyDefault;
  }

  /** `default` for a write: created (with the server's --metric and --dimension) if it does not exist. */
  async defaultForWrite(): Promise<Collection> {
    const existing = this.collections.get(DEFAULT_COLLECTION);
    if (existing) return existing;
    return this.exclusive(DEFAULT_COLLECTION, async () => this.collections.get(DEFAULT_COLLECTION) ?? this.createNow(DEFAULT_COLLECTION, this.defaultSettings()));
  }

  /**
   * Creates a collection. `created` false: it existed with the same settings. `conflict` if it exists with others,
   * `too_many_collections` past the limit.
   */
  async create(name: string, settings: CollectionSettings): Promise<{ collection: Collection; created: boolean }> {
    validateCollectionName(name);
    return this.exclusive(name, async () => {
      const existing = this.collections.get(name);
      if (existing) {
        if (!sameSettings(existing.settings, existing.dimension, settings)) {
          throw new VecStoreError('conflict', `name: collection ${JSON.stringify(name)} exists with other settings (${JSON.stringify(existing.summary())})`);
        }
        return { collection: existing, created: false };
      }
      return { collection: await this.createNow(name, settings), created: true };
    });
  }

  /** Drops a collection: its memory is released and its files removed. `collection_not_found` if there is none. */
  async drop(name: string): Promise<void> {
    validateCollectionName(name);
    return this.exclusive(name, async () => {
      const collection = this.require(name);
      // Out of the table first: requests from here on see no collection (or, for `default`, a fresh one).
      this.collections.delete(name);
      try {
        await collection.close({ dropping: true });
      } catch (err) {
        this.options.logger.warn({ collection: name, err: (err as Error).message }, 'closing a dropped collection failed; dropping it anyway');
      }
      let trash: string;
      try {
        trash = this.layout.moveToTrash(name);
      } catch (err) {
        // Not dropped on disk: put it back as it is, so memory and disk agree.
        this.collections.set(name, await this.openCollection(name, this.layout.dirOf(name), collection.settings));
        throw new VecStoreError('storage', `cannot drop collection ${name}: ${(err as Error).message}`);
      }
      this.options.logger.info({ collection: name }, 'collection dropped');
      fs.promises.rm(trash, { recursive: true, force: true }).catch((err: Error) => {
        this.options.logger.warn({ path: trash, err: err.message }, 'could not remove a dropped collection\'s files; removed at the next start');
      });
    });
  }

  /** Closes every collection (their logs fsynced) and releases the data directory. The pool stays the caller's. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.busy.size > 0) await Promise.all([...this.busy.values()].map((p) => p.catch(() => {})));
    try {
      for (const collection of this.collections.values()) await collection.close();
      await this.emptyDefault.close();
    } finally {
      this.lock.release();
    }
  }

  private async createNow(name: string, settings: CollectionSettings): Promise<Collection> {
    if (this.closed) throw new VecStoreError('unavailable', 'the server is shutting down');
    if (this.collections.size + this.creating >= this.options.maxCollections) {
      throw new VecStoreError('too_many_collections', `name: this server already holds ${this.collections.size} collections, its limit (--max-collections)`);
    }
    this.creating++;
    try {
      let dir: string;
      try {
        dir = await this.layout.create(name, settings);
      } catch (err) {
        throw new VecStoreError('storage', `cannot create collection ${name}: ${(err as Error).message}`);
      }
      let collection: Collection;
      try {
        collection = await this.openCollection(name, dir, settings);
      } catch (err) {
        // Created on disk but unusable: take it back so that it does not appear at the next start either.
        try {
          await fs.promises.rm(this.layout.moveToTrash(name), { recursive: true, force: true });
        } catch {
          // left for the next start's cleanup or recovery
        }
        throw err instanceof VecStoreError ? err : new VecStoreError('storage', `cannot create collection ${name}: ${(err as Error).message}`);
      }
      this.collections.set(name, collection);
      this.options.logger.info({ collection: name, dimension: settings.dimension ?? null, metric: settings.metric, index: settings.index }, 'collection created');
      return collection;
    } finally {
      this.creating--;
    }
  }

  private async openCollection(name: string, dir: string, settings: CollectionSettings): Promise<Collection> {
    let durability: Durability | undefined;
    // A graph build that caught up with many rows no checkpoint holds writes one, so a restart loads the graph.
    const engine = this.newEngine(name, settings, () => durability?.indexCaughtUp());
    const logger = this.options.logger;
    const tagged: DurabilityLogger = {
      info: (obj, msg) => logger.info({ collection: name, ...obj }, msg),
      warn: (obj, msg) => logger.warn({ collection: name, ...obj }, msg),
      error: (obj, msg) => logger.error({ collection: name, ...obj }, msg),
    };
    try {
      durability = await Durability.open(engine, {
        dataDir: dir,
        fsync: this.options.fsync,
        checkpointWalBytes: this.options.checkpointWalBytes,
        logger: tagged,
        lock: false,
      });
      return new Collection(name, settings, engine, durability);
    } catch (err) {
      await engine.close();
      throw err;
    }
  }

  private newEngine(name: string, settings: CollectionSettings, caughtUp?: () => void): VecStoreEngine {
    const { onAutoCompact } = this.options;
    return new VecStoreEngine({
      metric: settings.metric,
      dimension: settings.dimension,
      pool: this.options.pool,
      limits: this.options.limits,
      cacheSize: this.options.cacheSize,
      bm25: this.options.bm25,
      autoCompactRatio: this.options.autoCompactRatio,
      onAutoCompact: onAutoCompact && ((outcome) => onAutoCompact(name, outcome)),
      index: settings.index,
      hnsw: hnswFromWire(settings.hnsw),
      indexThreshold: this.options.indexThreshold,
      indexEvents: { ...this.options.indexEvents, caughtUp },
      targetRecall: this.options.recall?.target,
      recallSampleRate: this.options.recall?.sampleRate,
      recallAuditsPerSecond: this.options.recall?.auditsPerSecond,
      onRecallAudit: this.options.recall?.onAudit,
    });
  }

  /** What a collection is created with when the request leaves a setting out: the server's configuration. */
  get defaults(): CollectionSettings {
    return { dimension: undefined, metric: this.options.metric, index: this.options.index, hnsw: { ...this.options.hnsw } };
  }

  private defaultSettings(): CollectionSettings {
    return { ...this.defaults, dimension: this.options.dimension };
  }

  /** Runs `fn` after every earlier create or drop of `name` has finished. */
  private exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.busy.get(name) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.catch(() => {});
    this.busy.set(name, settled);
    void settled.then(() => {
      if (this.busy.get(name) === settled) this.busy.delete(name);
    });
    return run;
  }
}
