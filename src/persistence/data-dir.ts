// The data directory: its layout, durable file primitives (fsync, atomic rename) and the LOCK that keeps one owner.
import fs from 'node:fs';
import path from 'node:path';
import { VecStoreError } from '../errors.js';

/** Paths processes use inside a data directory. */
export interface DataDirLayout {
  root: string;
  lock: string;
  /** The manifest naming the live checkpoint and the log sequence it covers. */
  current: string;
  snapshots: string;
}

/** The layout of a data directory (see the README for what each entry holds). */
export function dataDirLayout(root: string): DataDirLayout {
  return {
    root,
    lock: path.join(root, 'LOCK'),
    current: path.join(root, 'CURRENT'),
    snapshots: path.join(root, 'snapshots'),
  };
}

/** Fsyncs a directory so that renames and creations inside it survive a crash. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Fsyncs a file by path. */
export function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Replaces `file` with `content` atomically: temp file, fsync, rename, fsync the directory. */
export function writeFileAtomic(file: string, content: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    fs.writeFileSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

/** Directories this process holds locks on, so a second open inside the same process is refused too. */
const heldHere = new Set<string>();

/** Whether process `pid` exists and looks like a Node process (a recycled pid of another program is not an owner). */
function ownerAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /node/i.test(cmdline);
  } catch {
    return true;
  }
}

/** An exclusive hold on a data directory; `release` removes the LOCK file if it is still ours. */
export class DataDirLock {
  readonly root: string;
  private released = false;

  private constructor(root: string) {
    this.root = root;
  }

  /**
   * Takes the LOCK (`O_CREAT|O_EXCL`, holding this pid). A live owner → `conflict`; a lock left by a dead process
   * (kill -9, power loss) is taken over.
   */
  static acquire(root: string): DataDirLock {
    fs.mkdirSync(root, { recursive: true });
    const real = fs.realpathSync(root);
    const lockPath = dataDirLayout(real).lock;
    if (heldHere.has(real)) {
      throw new VecStoreError('conflict', `data directory ${root} is in use by process ${process.pid}`);
    }
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const fd = fs.openSync(lockPath, 'wx', 0o644);
        try {
          fs.writeSync(fd, `${process.pid}\n`);
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
        heldHere.add(real);
        return new DataDirLock(real);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new VecStoreError('storage', `cannot create lock file ${lockPath}: ${(err as Error).message}`);
        }
      }
      let text = '';
      try {
        text = fs.readFileSync(lockPath, 'utf8');
      } catch {
        continue; // released between our open and read: try again
      }
      const pid = Number.parseInt(text.trim(), 10);
      // Our own pid in a lock we do not hold is a leftover from an earlier process that had the same pid.
      if (pid !== process.pid && ownerAlive(pid)) {
        throw new VecStoreError('conflict', `data directory ${root} is in use by process ${pid}`);
      }
      // Stale: move it aside atomically rather than unlink, so two racing takers cannot both delete a fresh lock.
      try {
        fs.renameSync(lockPath, `${lockPath}.stale-${process.pid}`);
        fs.rmSync(`${lockPath}.stale-${process.pid}`, { force: true });
      } catch {
        // Someone else moved it first; the next attempt sees their lock.
      }
    }
    throw new VecStoreError('conflict', `data directory ${root} is locked (could not take over ${lockPath})`);
  }

  /** Removes the lock if it still names this process. */
  release(): void {
    if (this.released) return;
    this.released = true;
    heldHere.delete(this.root);
    const lockPath = dataDirLayout(this.root).lock;
    try {
      if (Number.parseInt(fs.readFileSync(lockPath, 'utf8').trim(), 10) === process.pid) fs.unlinkSync(lockPath);
    } catch {
      // Already gone: nothing to release.
    }
  }
}
