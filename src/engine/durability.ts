// Durability for an engine: lock, recovery (checkpoint + log replay), the journal, checkpoints, snapshots and restore.
import fs from 'node:fs';
import path from 'node:path';
import { VecStoreError } from '../errors.js';
import type { VecStoreEngine } from './engine.js';
import type { Journal, Mutation } from './mutation.js';
import { DataDirLock, dataDirLayout, fsyncDir, fsyncFile } from '../persistence/data-dir.js';
import {
  CHECKPOINT_FILES,
  checkpointDirName,
  directoryBytes,
  loadCheckpointRows,
  readCheckpointDir,
  readManifest,
  writeCheckpointDir,
  writeManifest,
  type CheckpointContents,
  type CheckpointManifest,
} from '../persistence/checkpoint.js';
import { GRAPH_FILE, readGraphFile } from '../persistence/graph-file.js';
import { listWalFiles, replayWalFile, storageError, WriteAheadLog, type FsyncPolicy } from '../persistence/wal.js';
import { SnapshotStore, validateSnapshotName, type SnapshotInfo } from '../persistence/snapshots.js';
import type { SnapshotArchive } from '../persistence/snapshot-archive.js';

export type { FsyncPolicy } from '../persistence/wal.js';
export type { SnapshotInfo } from '../persistence/snapshots.js';

/** Structured logger (pino-compatible subset). */
export interface DurabilityLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Graph rows not in any checkpoint that make a finished build write one (see indexCaughtUp). */
const GRAPH_CHECKPOINT_ROWS = 10_000;

export interface DurabilityOptions {
  dataDir: string;
  fsync: FsyncPolicy;
  /** Log bytes after which a checkpoint starts in the background (default 256 MiB). */
  checkpointWalBytes?: number;
  logger: DurabilityLogger;
  /**
   * Take the data directory's LOCK (default). A catalog holding one lock over many collection directories passes
   * false for each of them.
   */
  lock?: boolean;
}

/** What start-up recovery did, for the log line and the benchmark. */
export interface RecoveryReport {
  checkpoint: string | null;
  checkpointRecords: number;
  checkpointVectorBytes: number;
  checkpointVectorMs: number;
  checkpointVectorReadMs: number;
  checkpointRecordsMs: number;
  walFiles: number;
  walRecords: number;
  walDroppedBytes: number;
  durationMs: number;
}

const DEFAULT_CHECKPOINT_WAL_BYTES = 256 * 1024 * 1024;

/**
 * Parses `--fsync`: `always`, `off` or `interval:<ms>` (1..3600000). Throws a `validation` error naming the flag otherwise.
 */
export function parseFsyncPolicy(text: string): FsyncPolicy {
  const t = text.trim();
  if (t === 'always') return { mode: 'always' };
  if (t === 'off') return { mode: 'off' };
  const m = /^interval:(\d+)$/.exec(t);
  if (m) {
    const ms = Number(m[1]);
    if (ms >= 1 && ms <= 3_600_000) return { mode: 'interval', ms };
  }
  throw new VecStoreError('validation', `fsync: expected "always", "off" or "interval:<ms>" with 1 ≤ ms ≤ 3600000, got ${JSON.stringify(text)}`);
}

/**
 * Makes an engine durable in a data directory. It is the engine's journal: every mutation is appended to the
 * write-ahead log before it is applied, and acknowledged once durable under the fsync policy.
 */
export class Durability implements Journal {
  readonly dataDir: string;
  readonly recovery: RecoveryReport;
  private readonly engine: VecStoreEngine;
  private readonly logger: DurabilityLogger;
  private readonly lock: DataDirLock | undefined;
  private readonly wal: WriteAheadLog;
  private readonly snapshots: SnapshotStore;
  private readonly checkpointWalBytes: number;
  /**
   * Bytes of the newest checkpoint. The log may grow to that size too before it is folded into the next one: a bulk
   * load then writes each byte to checkpoints a bounded number of times (at most about twice in all) instead of once
   * per `checkpointWalBytes` of log, and recovery never replays more log than the checkpoint it starts from holds.
   */
  private checkpointBytes: number;
  /** Checkpoints and restores run one at a time, in call order. */
  private exclusiveTail: Promise<unknown> = Promise.resolve();
  private readonly background = new Set<Promise<unknown>>();
  private autoCheckpointPending = false;
  /** Graph rows in the last checkpoint (see indexCaughtUp). */
  private indexedAtCheckpoint = 0;
  private repairTimer: NodeJS.Timeout | undefined;
  /** Delay between attempts to repair a log whose fsync failed (tests shorten it). */
  repairDelayMs = 2000;
  private storageFailing = false;
  private closed = false;

  private constructor(init: {
    engine: VecStoreEngine;
    options: DurabilityOptions;
    root: string;
    lock: DataDirLock | undefined;
    wal: WriteAheadLog;
    snapshots: SnapshotStore;
    recovery: RecoveryReport;
  }) {
    this.engine = init.engine;
    this.dataDir = init.root;
    this.logger = init.options.logger;
    this.lock = init.lock;
    this.wal = init.wal;
    this.snapshots = init.snapshots;
    this.recovery = init.recovery;
    this.checkpointWalBytes = init.options.checkpointWalBytes ?? DEFAULT_CHECKPOINT_WAL_BYTES;
    this.checkpointBytes = init.recovery.checkpoint === null ? 0 : directoryBytes(path.join(init.root, init.recovery.checkpoint));
    this.wal.onBroken = (err) => {
      this.logger.error({ err: err.message }, 'write-ahead log fsync failed; refusing writes until a checkpoint succeeds');
      this.scheduleRepair();
    };
  }

  /** Retries the repairing checkpoint every few seconds until the disk takes it. */
  private scheduleRepair(): void {
    if (this.repairTimer || this.closed) return;
    this.repairTimer = setTimeout(() => {
      this.repairTimer = undefined;
      this.track(
        this.checkpoint()
          .catch((err: Error) => this.logger.warn({ err: err.message }, 'repairing checkpoint failed; retrying'))
          .finally(() => {
            if (this.wal.broken) this.scheduleRepair();
          }),
      );
    }, this.repairDelayMs);
    this.repairTimer.unref();
  }

  /**
   * Locks the data directory, loads the live checkpoint, replays the log after it (truncating a torn or corrupt tail),
   * and installs itself as the engine's journal. The engine must be empty. Serve `/ready` only after this resolves.
   */
  static async open(engine: VecStoreEngine, options: DurabilityOptions): Promise<Durability> {
    const started = performance.now();
    const lock = options.lock === false ? undefined : DataDirLock.acquire(options.dataDir);
    try {
      const root = lock?.root ?? fs.realpathSync(options.dataDir);
      const manifest: CheckpointManifest = readManifest(root) ?? { format: 1, checkpoint: null, walSeq: 0 };
      removeLeftovers(root, manifest);

      const recovery: RecoveryReport = {
        checkpoint: manifest.checkpoint,
        checkpointRecords: 0,
        checkpointVectorBytes: 0,
        checkpointVectorMs: 0,
        checkpointVectorReadMs: 0,
        checkpointRecordsMs: 0,
        walFiles: 0,
        walRecords: 0,
        walDroppedBytes: 0,
        durationMs: 0,
      };
      if (manifest.checkpoint !== null) {
        const contents = readCheckpointDir(path.join(root, manifest.checkpoint), engine.store.metric);
        const stats = installCheckpoint(engine, contents);
        recovery.checkpointRecords = stats.count;
        recovery.checkpointVectorBytes = stats.vectorBytes;
        recovery.checkpointVectorMs = stats.vectorMs;
        recovery.checkpointVectorReadMs = stats.vectorReadMs;
        recovery.checkpointRecordsMs = stats.recordsMs;
      }

      let lastSeq = manifest.walSeq;
      const files = listWalFiles(root);
      for (let i = 0; i < files.length; i++) {
        const file = files[i];
        lastSeq = Math.max(lastSeq, file.seq);
        if (file.seq <= manifest.walSeq) {
          // Folded into the checkpoint; left behind by a crash between the manifest rename and the cleanup.
          fs.rmSync(file.path, { force: true });
          continue;
        }
        recovery.walFiles++;
        const result = replayWalFile(file.path, (mutation: Mutation) => {
          try {
            engine.apply(mutation);
          } catch (err) {
            // Every logged mutation applied once already; one that no longer does means the configuration changed
            // (dimension, metric). Refuse to start rather than silently drop acknowledged data.
            throw new VecStoreError(
              'conflict',
              `${file.path}: record ${recovery.walRecords + 1} (${mutation.type}) cannot be replayed: ${(err as Error).message}; was the data directory written with a different --dimension or --metric?`,
            );
          }
          recovery.walRecords++;
        });
        if (result.droppedBytes > 0) {
          recovery.walDroppedBytes += result.droppedBytes;
          options.logger.warn(
            { file: file.path, valid_bytes: result.validBytes, dropped_bytes: result.droppedBytes, reason: result.stopReason },
            'write-ahead log ends in a torn or corrupt record; truncated it there',
          );
          // Records after a gap would be applied out of context; keep later files aside for inspection instead.
          for (const later of files.slice(i + 1)) {
            lastSeq = Math.max(lastSeq, later.seq);
            fs.renameSync(later.path, `${later.path}.after-corruption`);
            options.logger.error({ file: later.path }, 'log file after a corrupt record set aside, not replayed');
          }
          break;
        }
        if (result.validBytes === 0) fs.rmSync(file.path, { force: true });
      }

      const wal = new WriteAheadLog(root, lastSeq + 1, options.fsync);
      fsyncDir(root);
      const snapshots = new SnapshotStore(dataDirLayout(root).snapshots);
      recovery.durationMs = performance.now() - started;
      const durability = new Durability({ engine, options, root, lock, wal, snapshots, recovery });
      engine.useJournal(durability);
      options.logger.info(
        {
          data_dir: root,
          fsync: options.fsync.mode === 'interval' ? `interval:${options.fsync.ms}` : options.fsync.mode,
          checkpoint: recovery.checkpoint,
          checkpoint_records: recovery.checkpointRecords,
          wal_files: recovery.walFiles,
          wal_records: recovery.walRecords,
          wal_dropped_bytes: recovery.walDroppedBytes,
          vectors: engine.store.counts.total,
          duration_ms: Math.round(recovery.durationMs),
        },
        'recovered data directory',
      );
      return durability;
    } catch (err) {
      lock?.release();
      throw err;
    }
  }

  /**
   * Appends the mutation to the log synchronously (throwing a `storage` error when the disk refuses it) and returns a
   * promise that resolves once it is durable under the fsync policy.
   */
  write(mutation: Mutation): Promise<void> {
    if (this.closed) throw new VecStoreError('unavailable', 'the store is shutting down');
    let durable: Promise<void>;
    try {
      durable = this.wal.append(mutation);
    } catch (err) {
      // A write too large for one log record is the client's to split; the disk is fine.
      if (err instanceof VecStoreError && err.code === 'payload_too_large') throw err;
      if (!this.storageFailing) {
        this.storageFailing = true;
        this.logger.error({ err: (err as Error).message }, 'write-ahead log write failed; refusing writes until the disk accepts them');
      }
      throw err;
    }
    if (this.storageFailing) {
      this.storageFailing = false;
      this.logger.info({}, 'write-ahead log writable again');
    }
    if (this.wal.bytesSinceRotation >= Math.max(this.checkpointWalBytes, this.checkpointBytes)) this.checkpointInBackground();
    return durable;
  }

  /** Starts a checkpoint after this tick unless one is already on its way. */
  private checkpointInBackground(): void {
    if (this.autoCheckpointPending || this.closed) return;
    this.autoCheckpointPending = true;
    // After this tick: the engine applies the mutation right after write returns, and the capture must include it.
    setImmediate(() => {
      this.track(
        this.checkpoint()
          .catch((err: Error) => this.logger.error({ err: err.message }, 'background checkpoint failed; the log is kept'))
          .finally(() => {
            this.autoCheckpointPending = false;
          }),
      );
    });
  }

  /**
   * The graph index has caught up with the writes. When it holds many rows that no checkpoint has, write one: a crash
   * or restart then loads the graph instead of rebuilding it, and replays only the log written after.
   */
  indexCaughtUp(): void {
    const indexed = this.engine.hnsw?.indexedRows ?? 0;
    if (indexed - this.indexedAtCheckpoint >= Math.max(GRAPH_CHECKPOINT_ROWS, this.indexedAtCheckpoint)) this.checkpointInBackground();
  }

  /**
   * Folds the log into a new checkpoint: captures the store and rotates the log in one synchronous step, writes the
   * checkpoint in the background under a temporary name, renames it, then switches the manifest (the commit point)
   * and deletes what it replaces. A crash at any point leaves the previous checkpoint and its log.
   */
  checkpoint(): Promise<void> {
    return this.exclusive(async () => {
      if (this.closed) return;
      const capture = this.engine.capture();
      this.indexedAtCheckpoint = capture.graph?.indexedEnd ?? 0;
      const coveredSeq = this.wal.seq;
      try {
        this.wal.rotate(coveredSeq + 1);
      } catch (err) {
        throw storageError('cannot start a new write-ahead log file', err);
      }
      const root = this.dataDir;
      const name = checkpointDirName(coveredSeq);
      const tmp = path.join(root, `tmp-${name}-${process.pid}`);
      const started = performance.now();
      try {
        fs.rmSync(tmp, { recursive: true, force: true });
        const { bytes } = await writeCheckpointDir(tmp, capture);
        fs.rmSync(path.join(root, name), { recursive: true, force: true });
        fs.renameSync(tmp, path.join(root, name));
        fsyncDir(root);
        const previous = readManifest(root);
        writeManifest(root, { format: 1, checkpoint: name, walSeq: coveredSeq });
        this.checkpointBytes = bytes;
        this.logger.info({ checkpoint: name, records: capture.records.length, bytes, duration_ms: Math.round(performance.now() - started) }, 'checkpoint written');
        // Everything in a file whose fsync failed is now in the checkpoint, and later records go to a fresh file.
        if (this.wal.repairedUpTo(coveredSeq)) this.logger.info({}, 'write-ahead log repaired by a checkpoint; accepting writes again');
        await this.removeReplaced(previous?.checkpoint ?? null, name, coveredSeq);
      } catch (err) {
        fs.rmSync(tmp, { recursive: true, force: true });
        throw err instanceof VecStoreError ? err : storageError('checkpoint failed', err);
      }
    });
  }

  /**
   * Takes a named snapshot of the state at the moment of the call (captured synchronously) and writes it in the
   * background while writes continue. `validation` for a bad name, `conflict` for a taken one.
   */
  async createSnapshot(name: string): Promise<{ name: string; path: string }> {
    if (this.closed) throw new VecStoreError('unavailable', 'the store is shutting down');
    this.snapshots.checkFree(name);
    const capture = this.engine.capture();
    // The answer names the snapshot relative to the data directory: the server's own file paths are not the client's business.
    const work = this.snapshots.create(name, capture).then(
      (made) => ({ name: made.name, path: path.relative(this.dataDir, made.path) }),
      (err: unknown) => {
        throw err instanceof VecStoreError ? err : storageError(`cannot write snapshot ${name}`, err);
      },
    );
    this.track(work.catch(() => {}));
    return work;
  }

  /** Every complete snapshot with its creation time (Unix seconds) and size. */
  async listSnapshots(): Promise<SnapshotInfo[]> {
    return this.snapshots.list();
  }

  /** Removes a snapshot (`not_found` without one); waits for a restore that may be reading it. */
  deleteSnapshot(name: string): Promise<void> {
    validateSnapshotName(name);
    return this.exclusive(async () => {
      try {
        this.snapshots.delete(name);
      } catch (err) {
        throw err instanceof VecStoreError ? err : storageError(`cannot delete snapshot ${name}`, err);
      }
    });
  }

  /** A snapshot as one file to stream (its files are opened now; see snapshot-archive.ts). */
  snapshotArchive(name: string): Promise<SnapshotArchive> {
    validateSnapshotName(name);
    return this.snapshots.archive(name);
  }

  /** Takes an uploaded snapshot file as snapshot `name`, checked against this store's metric and dimension first. */
  async receiveSnapshot(name: string, chunks: AsyncIterator<Buffer>, maxBytes: number): Promise<{ bytes: number; vectors: number; dimension: number | null }> {
    if (this.closed) throw new VecStoreError('unavailable', 'the store is shutting down');
    validateSnapshotName(name);
    const { bytes, meta } = await this.snapshots.receive(name, chunks, { metric: this.engine.store.metric, dimension: this.engine.store.dimension, maxBytes });
    this.logger.info({ snapshot: name, bytes, vectors: meta.count }, 'snapshot uploaded');
    return { bytes, vectors: meta.count, dimension: meta.dimension };
  }

  /**
   * Replaces the live state with a snapshot. The snapshot's files become a new checkpoint (hard links), then in one
   * synchronous step — so no write interleaves — the log is rotated, the manifest switched (the commit point) and memory
   * reloaded. A crash before the manifest rename leaves the old state; after it, the restored one.
   */
  async restoreSnapshot(name: string): Promise<{ vectors_restored: number }> {
    validateSnapshotName(name);
    const source = this.snapshots.pathOf(name);
    return this.exclusive(async () => {
      if (this.closed) throw new VecStoreError('unavailable', 'the store is shutting down');
      let contents: CheckpointContents;
      try {
        contents = readCheckpointDir(source, this.engine.store.metric);
      } catch (err) {
        throw new VecStoreError('conflict', `name: snapshot ${JSON.stringify(name)} cannot be restored: ${(err as Error).message}`);
      }
      const dim = this.engine.store.dimension;
      if (dim !== undefined && contents.meta.dimension !== null && contents.meta.dimension !== dim) {
        throw new VecStoreError('dimension_mismatch', `name: snapshot ${JSON.stringify(name)} has dimension ${contents.meta.dimension}, the store has ${dim}`);
      }
      const root = this.dataDir;
      const seq = this.wal.seq + 1;
      const checkpointName = checkpointDirName(seq);
      const tmp = path.join(root, `tmp-restore-${checkpointName}-${process.pid}`);
      try {
        fs.rmSync(tmp, { recursive: true, force: true });
        fs.mkdirSync(tmp);
        const graphFile = fs.existsSync(path.join(source, GRAPH_FILE)) ? [GRAPH_FILE] : [];
        for (const file of [...Object.values(CHECKPOINT_FILES), ...graphFile]) {
          // Checkpoint and snapshot files are never modified after they are written, so sharing inodes is safe.
          try {
            fs.linkSync(path.join(source, file), path.join(tmp, file));
          } catch {
            fs.copyFileSync(path.join(source, file), path.join(tmp, file));
            fsyncFile(path.join(tmp, file));
          }
        }
        fsyncDir(tmp);
        fs.rmSync(path.join(root, checkpointName), { recursive: true, force: true });
        fs.renameSync(tmp, path.join(root, checkpointName));
        fsyncDir(root);
      } catch (err) {
        fs.rmSync(tmp, { recursive: true, force: true });
        throw storageError(`cannot restore snapshot ${name}`, err);
      }
      contents = { ...contents, dir: path.join(root, checkpointName) };

      // From here to the end of the memory swap nothing awaits: no write can land between the switch and the reload.
      const previous = readManifest(root);
      try {
        this.wal.rotate(seq + 1);
        writeManifest(root, { format: 1, checkpoint: checkpointName, walSeq: seq });
        this.checkpointBytes = directoryBytes(contents.dir);
      } catch (err) {
        // The old manifest still rules, and every write (old file or new) is in the log it replays.
        throw storageError(`cannot restore snapshot ${name}`, err);
      }
      this.engine.store.clear();
      this.engine.textIndex.clear();
      try {
        installCheckpoint(this.engine, contents);
      } catch (err) {
        // The restored state is committed on disk; memory can only be rebuilt by a restart.
        this.logger.error({ err: (err as Error).message, snapshot: name }, 'restore committed on disk but could not be loaded into memory; restart the server');
        throw new VecStoreError('internal', `snapshot ${name} was restored on disk but not loaded: ${(err as Error).message}`);
      }
      const vectorsRestored = this.engine.store.counts.active;
      this.logger.info({ snapshot: name, vectors_restored: vectorsRestored }, 'snapshot restored');
      await this.removeReplaced(previous?.checkpoint ?? null, checkpointName, seq);
      return { vectors_restored: vectorsRestored };
    });
  }

  /** Bytes appended to the current log file (for metrics). */
  get walBytes(): number {
    return this.wal.bytesSinceRotation;
  }

  /** Waits for running checkpoints and snapshots, fsyncs and closes the log, and releases the lock. */
  async close(options: { saveGraph?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    // A graph built since the last checkpoint is saved, so the next start loads it instead of rebuilding it (not when
    // the files are about to be removed: a dropped collection).
    if ((options.saveGraph ?? true) && (this.engine.hnsw?.indexedRows ?? 0) > this.indexedAtCheckpoint && this.wal.bytesSinceRotation > 0) {
      await this.checkpoint().catch((err: Error) => this.logger.warn({ err: err.message }, 'checkpoint at shutdown failed; the log is kept'));
    }
    await this.exclusive(async () => {});
    this.closed = true;
    if (this.repairTimer) clearTimeout(this.repairTimer);
    while (this.background.size > 0) await Promise.all([...this.background]);
    try {
      await this.wal.close();
    } finally {
      this.lock?.release();
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.exclusiveTail.then(fn, fn);
    this.exclusiveTail = run.catch(() => {});
    return run;
  }

  private track(work: Promise<unknown>): void {
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
  }

  /** After a manifest switch: deletes the replaced checkpoint and every log file it folded in. Failures only warn. */
  private async removeReplaced(previousCheckpoint: string | null, live: string, coveredSeq: number): Promise<void> {
    await this.wal.settled();
    try {
      if (previousCheckpoint !== null && previousCheckpoint !== live) fs.rmSync(path.join(this.dataDir, previousCheckpoint), { recursive: true, force: true });
      for (const file of listWalFiles(this.dataDir)) if (file.seq <= coveredSeq) fs.rmSync(file.path, { force: true });
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not delete replaced checkpoint files; they are removed at the next start');
    }
  }
}

/** Clears what interrupted checkpoints and restores left behind: temporary directories and unreferenced checkpoints. */
function removeLeftovers(root: string, manifest: CheckpointManifest): void {
  for (const name of fs.readdirSync(root)) {
    const stale = name.startsWith('tmp-') || (name.startsWith('checkpoint-') && name !== manifest.checkpoint) || name.startsWith('CURRENT.tmp-');
    if (stale) fs.rmSync(path.join(root, name), { recursive: true, force: true });
  }
}

/** Loads checkpoint contents into the engine's (empty) store and rebuilds the text index for searchable records. */
function installCheckpoint(engine: VecStoreEngine, contents: CheckpointContents) {
  const stats = loadCheckpointRows(contents, engine.store);
  for (const r of contents.records) if (!r.deleted && r.text) engine.textIndex.set(r.id, r.text);
  // The saved graph, when there is one for these rows, spares the rebuild; rows it lacks are indexed in the background.
  engine.rowsLoaded(engine.hnsw ? readGraphFile(path.join(contents.dir, GRAPH_FILE), contents.records.length) : undefined, contents.meta.recall);
  return stats;
}
