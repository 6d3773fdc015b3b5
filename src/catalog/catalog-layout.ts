// The data directory of a catalog: one LOCK at the root, one directory per collection under `collections/`, created
// and dropped by atomic renames, and the one-time move of a single-store data directory into `collections/default/`.
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { VecStoreError } from '../errors.js';
import { fsyncDir, writeFileAtomic } from '../persistence/data-dir.js';
import { DEFAULT_COLLECTION, toCollectionFile, type CollectionSettings } from './collection-settings.js';

/** The settings file inside each collection directory. */
export const COLLECTION_FILE = 'collection.json';
/** The directory, under the data directory, holding one directory per collection. */
export const COLLECTIONS_DIR = 'collections';
/** Prefixes of entries under `collections/` that are not collections: unfinished creates, drops, the migration. */
const TMP_PREFIX = '.tmp-';
const TRASH_PREFIX = '.trash-';
const MIGRATION_DIR = '.migrate-default';

/** Where the catalog keeps what. */
export class CatalogLayout {
  readonly root: string;
  readonly collections: string;

  /** One fsync of `collections/` serves every rename made before it started (group commit of directory entries). */
  private readonly collectionsSync: DirSync;

  constructor(root: string) {
    this.root = root;
    this.collections = path.join(root, COLLECTIONS_DIR);
    this.collectionsSync = new DirSync(this.collections);
  }

  dirOf(name: string): string {
    return path.join(this.collections, name);
  }

  /**
   * Names of the collection directories. Removes what crashes left: unfinished creates (never renamed into place, so
   * they never existed) and drops (renamed to the trash, so they no longer exist).
   */
  listAndClean(warn: (obj: object, msg: string) => void): string[] {
    fs.mkdirSync(this.collections, { recursive: true });
    const names: string[] = [];
    for (const entry of fs.readdirSync(this.collections, { withFileTypes: true })) {
      if (entry.name.startsWith(TMP_PREFIX) || entry.name.startsWith(TRASH_PREFIX)) {
        fs.rmSync(path.join(this.collections, entry.name), { recursive: true, force: true });
      } else if (entry.isDirectory() && fs.existsSync(path.join(this.collections, entry.name, COLLECTION_FILE))) {
        names.push(entry.name);
      } else if (entry.name !== MIGRATION_DIR) {
        warn({ entry: path.join(this.collections, entry.name) }, 'not a collection directory (no collection.json); left alone');
      }
    }
    return names.sort();
  }

  /**
   * Creates a collection directory atomically: settings written and fsynced in a temporary directory, which is then
   * renamed into place (the commit point) and the parent fsynced. A crash before the rename leaves nothing. The I/O is
   * asynchronous so that concurrent creates overlap, and they share the parent's fsync.
   */
  async create(name: string, settings: CollectionSettings): Promise<string> {
    const tmp = path.join(this.collections, `${TMP_PREFIX}${name}-${randomUUID()}`);
    await fs.promises.mkdir(tmp);
    try {
      // The directory is private until the rename, so the file needs no rename of its own: write, fsync, done.
      const file = await fs.promises.open(path.join(tmp, COLLECTION_FILE), 'wx', 0o644);
      try {
        await file.writeFile(JSON.stringify(toCollectionFile(name, settings)));
        await file.sync();
      } finally {
        await file.close();
      }
      await fsyncDirAsync(tmp);
      await fs.promises.rename(tmp, this.dirOf(name));
    } catch (err) {
      await fs.promises.rm(tmp, { recursive: true, force: true });
      throw err;
    }
    await this.collectionsSync.sync();
    return this.dirOf(name);
  }

  /**
   * Drops a collection directory: renamed to a trash name (the commit point; a crash after it leaves no collection) and
   * the parent fsynced. Returns the trash path, whose removal may run in the background.
   */
  moveToTrash(name: string): string {
    const trash = path.join(this.collections, `${TRASH_PREFIX}${name}-${randomUUID()}`);
    fs.renameSync(this.dirOf(name), trash);
    fsyncDir(this.collections);
    return trash;
  }

  /**
   * Moves a data directory written by the single-store version (log, checkpoints, snapshots at the root) into
   * `collections/default/`. Each file is moved by rename into a staging directory, which becomes the collection by one
   * more rename; a crash midway leaves every file either at the root or in the staging directory, and the next start
   * finishes the move. Returns true if it migrated.
   */
  migrateLegacy(settings: CollectionSettings): boolean {
    const staging = path.join(this.collections, MIGRATION_DIR);
    const legacy = fs.readdirSync(this.root).filter(isLegacyEntry);
    if (legacy.length === 0 && !fs.existsSync(staging)) return false;
    if (fs.existsSync(this.dirOf(DEFAULT_COLLECTION))) {
      throw new VecStoreError('conflict', `data directory ${this.root} holds both single-store files (${legacy.join(', ')}) and collections/${DEFAULT_COLLECTION}; move one of them away`);
    }
    fs.mkdirSync(staging, { recursive: true });
    for (const entry of legacy) fs.renameSync(path.join(this.root, entry), path.join(staging, entry));
    fsyncDir(staging);
    fsyncDir(this.root);
    if (!fs.existsSync(path.join(staging, COLLECTION_FILE))) writeFileAtomic(path.join(staging, COLLECTION_FILE), JSON.stringify(toCollectionFile(DEFAULT_COLLECTION, settings)));
    fs.renameSync(staging, this.dirOf(DEFAULT_COLLECTION));
    fsyncDir(this.collections);
    return true;
  }
}

async function fsyncDirAsync(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Fsyncs one directory on behalf of many callers: a call waits for an fsync that started after it, and calls that
 * arrive while one runs share the next one.
 */
class DirSync {
  private readonly dir: string;
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  constructor(dir: string) {
    this.dir = dir;
  }

  sync(): Promise<void> {
    if (!this.running) {
      this.running = fsyncDirAsync(this.dir).finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    // One is running but may have started before our rename: wait for the one after it, shared with later callers.
    this.next ??= this.running.catch(() => {}).then(() => {
      this.next = undefined;
      return this.sync();
    });
    return this.next;
  }
}

/** What the single-store version kept at the root of its data directory (everything but the LOCK). */
function isLegacyEntry(name: string): boolean {
  return name === 'CURRENT' || name === 'snapshots' || name.startsWith('CURRENT.tmp-') || name.startsWith('checkpoint-') || name.startsWith('tmp-') || /^wal-\d+\.log/.test(name);
}
