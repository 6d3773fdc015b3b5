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

/** Something to Atomics.wait on for a short synchronous pause. */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

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

/**
 * Replaces a stale LOCK (whose content `staleText` names a dead process) with one naming this process, atomically: under
 * a claim file created with O_EXCL, so one taker at a time, it checks that LOCK still holds `staleText` and renames its
 * own lock file over it. LOCK never disappears on the way, so a starter creating LOCK with O_EXCL cannot slip in, and a
 * fresh lock written by a live process is never moved aside. False when another taker holds the claim or LOCK changed
 * (the caller looks again). A claim left by a taker that died holding it (a window of microseconds) is removed once
 * its process is gone.
 */
function takeOverStaleLock(lockPath: string, staleText: string): boolean {
  const claim = `${lockPath}.takeover`;
  let fd: number;
  try {
    fd = fs.openSync(claim, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new VecStoreError('storage', `cannot create ${claim}: ${(err as Error).message}`);
    let holder = NaN;
    try {
      holder = Number.parseInt(fs.readFileSync(claim, 'utf8').trim(), 10);
    } catch {
      return false; // released meanwhile
    }
    if (!ownerAlive(holder) && holder !== process.pid) fs.rmSync(claim, { force: true });
    return false;
  }
  try {
    fs.writeSync(fd, `${process.pid}\n`);
    fs.closeSync(fd);
    let current: string;
    try {
      current = fs.readFileSync(lockPath, 'utf8');
    } catch {
      return false; // removed meanwhile: the caller creates it with O_EXCL
    }
    if (current !== staleText) return false;
    const mine = `${lockPath}.new-${process.pid}`;
    fs.writeFileSync(mine, `${process.pid}\n`, { mode: 0o644 });
    const written = fs.openSync(mine, 'r+');
    try {
      fs.fsyncSync(written);
    } finally {
      fs.closeSync(written);
    }
    fs.renameSync(mine, lockPath);
    fsyncDir(path.dirname(lockPath));
    return true;
  } finally {
    fs.rmSync(claim, { force: true });
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
   * (kill -9, power loss) is taken over atomically (see takeOverStaleLock).
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
      if (takeOverStaleLock(lockPath, text)) {
        heldHere.add(real);
        return new DataDirLock(real);
      }
      // Another taker is at it: give it a moment before looking again.
      Atomics.wait(PAUSE, 0, 0, 10);
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
