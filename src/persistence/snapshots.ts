// Named snapshots under <dataDir>/snapshots/<name>/: validated names, create from a capture, list, and lookup for restore.
import fs from 'node:fs';
import path from 'node:path';
import { VecStoreError } from '../errors.js';
import type { MetricName } from '../distance/metric.js';
import { CHECKPOINT_FILES, directoryBytes, readCheckpointDir, readCheckpointMeta, writeCheckpointDir, type CheckpointCapture, type CheckpointMeta } from './checkpoint.js';
import { ArchiveError, openArchive, receiveArchive, type SnapshotArchive } from './snapshot-archive.js';
import { fsyncDir } from './data-dir.js';

/** One entry of `GET /v1/snapshots`. */
export interface SnapshotInfo {
  name: string;
  /** Unix seconds. */
  created_at: number;
  size_bytes: number;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Throws a `validation` error naming `name` unless it is a safe single path component. */
export function validateSnapshotName(name: unknown): string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name) || name.includes('..')) {
    throw new VecStoreError(
      'validation',
      `name: must be 1-128 characters of letters, digits, '.', '_' or '-', starting with a letter or digit, without '..' (got ${JSON.stringify(name)})`,
    );
  }
  return name;
}

/** The snapshots directory of one data directory. */
export class SnapshotStore {
  readonly dir: string;
  /** Names being written right now, so a second create of the same name is a conflict, not a race. */
  private readonly inProgress = new Set<string>();
  private tmpCounter = 0;

  constructor(dir: string) {
    this.dir = dir;
    fs.mkdirSync(dir, { recursive: true });
    // Leftovers of creates interrupted by a crash: never visible as snapshots, so just remove them.
    for (const name of fs.readdirSync(dir)) {
      if (name.startsWith('.tmp-')) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    }
  }

  /** The directory of an existing snapshot; `not_found` otherwise. */
  pathOf(name: string): string {
    validateSnapshotName(name);
    const dir = path.join(this.dir, name);
    if (!fs.existsSync(path.join(dir, CHECKPOINT_FILES.meta))) throw new VecStoreError('not_found', `name: no snapshot named ${JSON.stringify(name)}`);
    return dir;
  }

  /** Fails with `conflict` when the name is taken or being created. */
  checkFree(name: string): void {
    validateSnapshotName(name);
    if (this.inProgress.has(name) || fs.existsSync(path.join(this.dir, name))) {
      throw new VecStoreError('conflict', `name: a snapshot named ${JSON.stringify(name)} already exists`);
    }
  }

  /**
   * Writes a capture (taken by the caller at one instant) as snapshot `name`: to a hidden temporary directory, fsynced,
   * then renamed into place, so a listed snapshot is always complete.
   */
  async create(name: string, capture: CheckpointCapture): Promise<{ name: string; path: string }> {
    this.checkFree(name);
    this.inProgress.add(name);
    const tmp = path.join(this.dir, `.tmp-${name}-${process.pid}-${++this.tmpCounter}`);
    try {
      await writeCheckpointDir(tmp, capture);
      const final = path.join(this.dir, name);
      // rename(2) onto an existing non-empty directory fails, so a name taken behind our back is never overwritten.
      try {
        fs.renameSync(tmp, final);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new VecStoreError('conflict', `name: a snapshot named ${JSON.stringify(name)} already exists`);
        throw err;
      }
      fsyncDir(this.dir);
      return { name, path: final };
    } catch (err) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw err;
    } finally {
      this.inProgress.delete(name);
    }
  }

  /**
   * Removes snapshot `name` (`not_found` when there is none): renamed to a hidden name first, so it stops being
   * listed at once and a crash midway leaves only a leftover that the next start removes.
   */
  delete(name: string): void {
    const dir = this.pathOf(name);
    const doomed = path.join(this.dir, `.tmp-delete-${name}-${process.pid}-${++this.tmpCounter}`);
    fs.renameSync(dir, doomed);
    fsyncDir(this.dir);
    fs.rmSync(doomed, { recursive: true, force: true });
  }

  /** Snapshot `name` as one file to stream (see snapshot-archive.ts). */
  archive(name: string): Promise<SnapshotArchive> {
    return openArchive(this.pathOf(name));
  }

  /**
   * Takes an uploaded archive as snapshot `name`: read into a hidden directory, its frame and checksum checked, then
   * its contents checked as a snapshot for this collection (metric, dimension, record and vector counts); only then
   * renamed into place. A refusal (`invalid_snapshot`, `conflict`) leaves nothing behind.
   */
  async receive(name: string, chunks: AsyncIterator<Buffer>, expect: { metric: MetricName; dimension: number | undefined; maxBytes: number }): Promise<{ bytes: number; meta: CheckpointMeta }> {
    this.checkFree(name);
    this.inProgress.add(name);
    const tmp = path.join(this.dir, `.tmp-upload-${name}-${process.pid}-${++this.tmpCounter}`);
    try {
      let bytes: number;
      try {
        ({ bytes } = await receiveArchive(chunks, tmp, expect.maxBytes));
      } catch (err) {
        if (err instanceof ArchiveError) throw new VecStoreError('invalid_snapshot', err.message);
        throw err;
      }
      let meta: CheckpointMeta;
      try {
        meta = readCheckpointDir(tmp, expect.metric).meta;
      } catch (err) {
        throw new VecStoreError('invalid_snapshot', `body: not a usable snapshot for this collection: ${(err as Error).message.replace(tmp, 'the upload')}`);
      }
      if (expect.dimension !== undefined && meta.dimension !== null && meta.dimension !== expect.dimension) {
        throw new VecStoreError('invalid_snapshot', `body: the snapshot has dimension ${meta.dimension}, the collection has ${expect.dimension}`);
      }
      fsyncDir(tmp);
      try {
        fs.renameSync(tmp, path.join(this.dir, name));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new VecStoreError('conflict', `name: a snapshot named ${JSON.stringify(name)} already exists`);
        throw err;
      }
      fsyncDir(this.dir);
      return { bytes, meta };
    } catch (err) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw err;
    } finally {
      this.inProgress.delete(name);
    }
  }

  /** Every complete snapshot, oldest first. */
  list(): SnapshotInfo[] {
    const out: SnapshotInfo[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      if (name.startsWith('.') || !NAME_PATTERN.test(name)) continue;
      const dir = path.join(this.dir, name);
      try {
        const meta = readCheckpointMeta(dir);
        out.push({ name, created_at: meta.createdAt, size_bytes: directoryBytes(dir) });
      } catch {
        // Not a snapshot (or unreadable): leave it out rather than fail the whole listing.
      }
    }
    return out.sort((a, b) => a.created_at - b.created_at || a.name.localeCompare(b.name));
  }
}
