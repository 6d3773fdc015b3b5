// The write-ahead log: checksummed binary mutation records appended synchronously, made durable by group commit.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { VecStoreError } from '../errors.js';
import type { Mutation } from '../engine/mutation.js';
import type { RecordInput } from '../engine/record-validation.js';

/** When the log is fsynced: after every write (group commit), on a timer, or never (left to the OS). */
export type FsyncPolicy = { mode: 'always' } | { mode: 'interval'; ms: number } | { mode: 'off' };

/** Bytes of a record's frame header: u32 payload length, u32 crc32 of the payload. */
export const RECORD_HEADER_BYTES = 8;
/**
 * No single record may claim more than this (a corrupt length must not make replay allocate gigabytes). Writing checks
 * the same bound, so no record is ever acknowledged that replay would refuse.
 */
export const MAX_RECORD_BYTES = 1 << 30;
const NO_VALUE = 0xffffffff;
const LITTLE_ENDIAN_HOST = os.endianness() === 'LE';

const TYPE_CODES = { upsert: 1, delete: 2, soft_delete: 3, restore: 4, compact: 5, delete_many: 7, patch: 8 } as const;
/** A compaction that keeps soft-deleted records (automatic compaction). */
const COMPACT_KEEPING_SOFT_DELETED = 6;

/** The file name of log file `seq` (zero-padded so that names sort in log order). */
export function walFileName(seq: number): string {
  return `wal-${String(seq).padStart(12, '0')}.log`;
}

/** The sequence number of a log file name, or undefined for any other file. */
export function walSeqOf(fileName: string): number | undefined {
  const m = /^wal-(\d+)\.log$/.exec(fileName);
  return m ? Number(m[1]) : undefined;
}

/** Log files in `dir` in log order. */
export function listWalFiles(dir: string): Array<{ seq: number; path: string }> {
  const out: Array<{ seq: number; path: string }> = [];
  for (const name of fs.readdirSync(dir)) {
    const seq = walSeqOf(name);
    if (seq !== undefined) out.push({ seq, path: path.join(dir, name) });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

// ---- encoding ---------------------------------------------------------------------------------------------------------

/**
 * Encodes a mutation as one framed record. Payload: u8 type; for upsert a u32 record count, then per record
 * u32 dim, id, metadata JSON and text (each u32 byte length + UTF-8, 0xFFFFFFFF = absent), then dim float32 LE values;
 * for delete_many a u32 count then the ids; for patch the id, the metadata JSON (absent = unchanged), a u8 text state
 * (0 unchanged, 1 removed, 2 set) and the text; for the others the id alone.
 */
export function encodeRecord(mutation: Mutation): Buffer {
  let payloadBytes = 1;
  let parts: Array<{ id: Buffer; meta: Buffer | undefined; text: Buffer | undefined; vector: Float32Array }> = [];
  let single: Buffer | undefined;
  let ids: Buffer[] = [];
  let patch: { meta: Buffer | undefined; textState: number; text: Buffer | undefined } | undefined;
  if (mutation.type === 'upsert') {
    parts = mutation.records.map((r: RecordInput) => ({
      id: Buffer.from(r.id, 'utf8'),
      meta: r.metadata === undefined ? undefined : Buffer.from(JSON.stringify(r.metadata), 'utf8'),
      text: r.text === undefined ? undefined : Buffer.from(r.text, 'utf8'),
      vector: r.vector,
    }));
    payloadBytes += 4;
    for (const p of parts) payloadBytes += 4 + 4 + p.id.length + 4 + (p.meta?.length ?? 0) + 4 + (p.text?.length ?? 0) + p.vector.length * 4;
  } else if (mutation.type === 'delete_many') {
    ids = mutation.ids.map((id) => Buffer.from(id, 'utf8'));
    payloadBytes += 4;
    for (const id of ids) payloadBytes += 4 + id.length;
  } else if (mutation.type !== 'compact') {
    single = Buffer.from(mutation.id, 'utf8');
    payloadBytes += 4 + single.length;
    if (mutation.type === 'patch') {
      const text = typeof mutation.text === 'string' ? Buffer.from(mutation.text, 'utf8') : undefined;
      patch = {
        meta: mutation.metadata === undefined ? undefined : Buffer.from(JSON.stringify(mutation.metadata), 'utf8'),
        textState: mutation.text === undefined ? 0 : mutation.text === null ? 1 : 2,
        text,
      };
      payloadBytes += 4 + (patch.meta?.length ?? 0) + 1 + (text ? 4 + text.length : 0);
    }
  }
  if (payloadBytes > MAX_RECORD_BYTES) {
    throw new VecStoreError(
      'payload_too_large',
      `records: the write encodes to ${payloadBytes} bytes in the log (metadata as JSON, texts as UTF-8), over the limit of ${MAX_RECORD_BYTES} bytes for one log record; send it in smaller batches`,
    );
  }
  const buf = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payloadBytes);
  let o = RECORD_HEADER_BYTES;
  buf[o++] = mutation.type === 'compact' && mutation.keepSoftDeleted ? COMPACT_KEEPING_SOFT_DELETED : TYPE_CODES[mutation.type];
  const putBytes = (b: Buffer | undefined): void => {
    if (b === undefined) {
      buf.writeUInt32LE(NO_VALUE, o);
      o += 4;
      return;
    }
    buf.writeUInt32LE(b.length, o);
    o += 4;
    b.copy(buf, o);
    o += b.length;
  };
  if (mutation.type === 'upsert') {
    buf.writeUInt32LE(parts.length, o);
    o += 4;
    for (const p of parts) {
      buf.writeUInt32LE(p.vector.length, o);
      o += 4;
      putBytes(p.id);
      putBytes(p.meta);
      putBytes(p.text);
      if (LITTLE_ENDIAN_HOST) {
        Buffer.from(p.vector.buffer, p.vector.byteOffset, p.vector.byteLength).copy(buf, o);
        o += p.vector.byteLength;
      } else {
        for (let i = 0; i < p.vector.length; i++, o += 4) buf.writeFloatLE(p.vector[i], o);
      }
    }
  } else if (mutation.type === 'delete_many') {
    buf.writeUInt32LE(ids.length, o);
    o += 4;
    for (const id of ids) putBytes(id);
  } else if (single !== undefined) {
    putBytes(single);
    if (patch) {
      putBytes(patch.meta);
      buf[o++] = patch.textState;
      if (patch.text) putBytes(patch.text);
    }
  }
  const payload = buf.subarray(RECORD_HEADER_BYTES);
  buf.writeUInt32LE(payload.length, 0);
  buf.writeUInt32LE(zlib.crc32(payload), 4);
  return buf;
}

/** Decodes a payload written by encodeRecord; throws on any inconsistency (replay treats that as corruption). */
export function decodePayload(payload: Buffer): Mutation {
  let o = 0;
  const need = (n: number): void => {
    if (o + n > payload.length) throw new Error('record payload ends early');
  };
  const u32 = (): number => {
    need(4);
    const v = payload.readUInt32LE(o);
    o += 4;
    return v;
  };
  const str = (): string | undefined => {
    const len = u32();
    if (len === NO_VALUE) return undefined;
    need(len);
    const s = payload.toString('utf8', o, o + len);
    o += len;
    return s;
  };
  need(1);
  const type = payload[o++];
  let mutation: Mutation;
  if (type === TYPE_CODES.upsert) {
    const count = u32();
    if (count === 0) throw new Error('upsert record with no records');
    const records: RecordInput[] = [];
    for (let i = 0; i < count; i++) {
      const dim = u32();
      const id = str();
      if (id === undefined) throw new Error('record without id');
      const meta = str();
      const text = str();
      need(dim * 4);
      const vector = new Float32Array(dim);
      if (LITTLE_ENDIAN_HOST) new Uint8Array(vector.buffer).set(payload.subarray(o, o + dim * 4));
      else for (let j = 0; j < dim; j++) vector[j] = payload.readFloatLE(o + j * 4);
      o += dim * 4;
      const record: RecordInput = { id, vector };
      if (meta !== undefined) record.metadata = JSON.parse(meta) as Record<string, unknown>;
      if (text !== undefined) record.text = text;
      records.push(record);
    }
    mutation = { type: 'upsert', records };
  } else if (type === TYPE_CODES.delete || type === TYPE_CODES.soft_delete || type === TYPE_CODES.restore) {
    const id = str();
    if (id === undefined) throw new Error('record without id');
    mutation = { type: type === TYPE_CODES.delete ? 'delete' : type === TYPE_CODES.soft_delete ? 'soft_delete' : 'restore', id };
  } else if (type === TYPE_CODES.delete_many) {
    const count = u32();
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = str();
      if (id === undefined) throw new Error('record without id');
      ids.push(id);
    }
    mutation = { type: 'delete_many', ids };
  } else if (type === TYPE_CODES.patch) {
    const id = str();
    if (id === undefined) throw new Error('record without id');
    const meta = str();
    need(1);
    const textState = payload[o++];
    if (textState > 2) throw new Error(`patch record with text state ${textState}`);
    const patched: Mutation = { type: 'patch', id };
    if (meta !== undefined) patched.metadata = JSON.parse(meta) as Record<string, unknown>;
    if (textState === 1) patched.text = null;
    if (textState === 2) {
      const text = str();
      if (text === undefined) throw new Error('patch record without its text');
      patched.text = text;
    }
    mutation = patched;
  } else if (type === TYPE_CODES.compact) {
    mutation = { type: 'compact' };
  } else if (type === COMPACT_KEEPING_SOFT_DELETED) {
    mutation = { type: 'compact', keepSoftDeleted: true };
  } else {
    throw new Error(`unknown record type ${type}`);
  }
  if (o !== payload.length) throw new Error('record payload has trailing bytes');
  return mutation;
}

// ---- replay -------------------------------------------------------------------------------------------------------------

/** What replaying one log file found. */
export interface ReplayResult {
  records: number;
  /** Bytes of whole, valid records. */
  validBytes: number;
  /** Bytes after the last valid record (a torn or corrupt tail); the file has been truncated to `validBytes`. */
  droppedBytes: number;
  /** Why replay stopped early, when it did. */
  stopReason?: string;
}

/**
 * Feeds every valid record of a log file to `apply`, in order, stopping at the first torn or corrupt one (bad length,
 * bad crc, undecodable payload) and truncating the file there so that later appends never follow garbage.
 */
export function replayWalFile(file: string, apply: (mutation: Mutation) => void, options: { truncate?: boolean } = {}): ReplayResult {
  const fd = fs.openSync(file, 'r+');
  try {
    const size = fs.fstatSync(fd).size;
    // Reads go through a large buffer: one syscall per many small records, one per large batch record.
    let chunk = Buffer.allocUnsafe(8 << 20);
    let chunkStart = 0;
    let chunkLen = 0;
    const view = (pos: number, len: number): Buffer => {
      if (pos < chunkStart || pos + len > chunkStart + chunkLen) {
        if (len > chunk.length) chunk = Buffer.allocUnsafe(len);
        chunkStart = pos;
        chunkLen = 0;
        const want = Math.min(chunk.length, size - pos);
        while (chunkLen < want) {
          const n = fs.readSync(fd, chunk, chunkLen, want - chunkLen, pos + chunkLen);
          if (n === 0) break;
          chunkLen += n;
        }
      }
      return chunk.subarray(pos - chunkStart, pos - chunkStart + len);
    };
    let pos = 0;
    let records = 0;
    let stopReason: string | undefined;
    while (pos < size) {
      if (size - pos < RECORD_HEADER_BYTES) {
        stopReason = 'torn record header';
        break;
      }
      const header = view(pos, RECORD_HEADER_BYTES);
      const length = header.readUInt32LE(0);
      const crc = header.readUInt32LE(4);
      if (length === 0 || length > MAX_RECORD_BYTES) {
        stopReason = `invalid record length ${length}`;
        break;
      }
      if (pos + RECORD_HEADER_BYTES + length > size) {
        stopReason = 'torn record';
        break;
      }
      const payload = view(pos + RECORD_HEADER_BYTES, length);
      if (zlib.crc32(payload) !== crc) {
        stopReason = 'checksum mismatch';
        break;
      }
      let mutation: Mutation;
      try {
        mutation = decodePayload(payload);
      } catch (err) {
        stopReason = `undecodable record: ${(err as Error).message}`;
        break;
      }
      apply(mutation);
      records++;
      pos += RECORD_HEADER_BYTES + length;
    }
    const droppedBytes = size - pos;
    if (droppedBytes > 0 && options.truncate !== false) {
      fs.ftruncateSync(fd, pos);
      fs.fsyncSync(fd);
    }
    return { records, validBytes: pos, droppedBytes, ...(stopReason ? { stopReason } : {}) };
  } finally {
    fs.closeSync(fd);
  }
}

// ---- appending ----------------------------------------------------------------------------------------------------------

interface Waiter {
  /** End offset of the waiter's bytes; durable once an fsync that started at or after this offset completes. */
  end: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

type Fdatasync = (fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => void;
let fdatasyncImpl: Fdatasync = fs.fdatasync;

/** Test-only: replaces fdatasync (an I/O error on fsync cannot be provoked on a healthy disk); `undefined` restores it. */
export function setFdatasyncForTests(impl: Fdatasync | undefined): void {
  fdatasyncImpl = impl ?? fs.fdatasync;
}

/** One open log file with its own group-commit state (a rotated file finishes its pending fsyncs on its own). */
class LogFile {
  readonly seq: number;
  readonly path: string;
  private readonly fd: number;
  /** Bytes of whole records in the file. */
  size: number;
  private synced: number;
  private syncing = false;
  private waiters: Waiter[] = [];
  private closed = false;
  /** Set when a failed write could not be rolled back; cleared once the truncate succeeds. */
  private dirtyTail = false;

  /** Told about a failed fsync (the log owner stops accepting writes until a checkpoint supersedes this file). */
  private readonly onSyncError: (err: Error, seq: number) => void;

  constructor(dir: string, seq: number, onSyncError: (err: Error, seq: number) => void) {
    this.onSyncError = onSyncError;
    this.seq = seq;
    this.path = path.join(dir, walFileName(seq));
    this.fd = fs.openSync(this.path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_APPEND, 0o644);
    this.size = fs.fstatSync(this.fd).size;
    this.synced = this.size;
  }

  /** Appends whole or not at all: on failure the file is cut back so that no torn record precedes later ones. */
  append(frame: Buffer): number {
    if (this.closed) throw new VecStoreError('storage', 'write-ahead log is closed');
    if (this.dirtyTail) {
      try {
        fs.ftruncateSync(this.fd, this.size);
        this.dirtyTail = false;
      } catch (err) {
        throw storageError('cannot repair the write-ahead log tail', err);
      }
    }
    let written = 0;
    try {
      while (written < frame.length) written += fs.writeSync(this.fd, frame, written, frame.length - written);
    } catch (err) {
      if (written > 0) {
        try {
          fs.ftruncateSync(this.fd, this.size);
        } catch {
          this.dirtyTail = true;
        }
      }
      throw storageError('cannot append to the write-ahead log', err);
    }
    this.size += frame.length;
    return this.size;
  }

  /** A promise that settles once an fsync started after byte `end` was written has completed. */
  waitDurable(end: number): Promise<void> {
    if (end <= this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ end, resolve, reject });
      this.kick();
    });
  }

  /** Starts an fsync unless one is in flight; the one in flight starts the next when it completes (group commit). */
  kick(): void {
    if (this.syncing || this.closed) return;
    if (this.synced >= this.size) {
      this.settle(undefined);
      return;
    }
    this.syncing = true;
    const target = this.size;
    fdatasyncImpl(this.fd, (err) => {
      this.syncing = false;
      if (err) {
        // Linux may drop the dirty pages after a failed fsync: those writes can no longer be promised.
        const error = storageError('cannot fsync the write-ahead log', err);
        this.settle(error, target);
        this.onSyncError(error, this.seq);
      } else {
        this.synced = Math.max(this.synced, target);
        this.settle(undefined);
      }
      if (this.waiters.length > 0) this.kick();
    });
  }

  private settle(err: Error | undefined, upTo = this.synced): void {
    if (this.waiters.length === 0) return;
    const keep: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.end <= upTo) {
        if (err) w.reject(err);
        else w.resolve();
      } else keep.push(w);
    }
    this.waiters = keep;
  }

  get unsynced(): boolean {
    return this.synced < this.size;
  }

  get busy(): boolean {
    return this.syncing || this.waiters.length > 0;
  }

  /** Fsyncs everything written, settles every waiter and closes the descriptor. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.unsynced || this.busy) {
      // A failed fsync here has already been reported to the writers waiting on it.
      await this.waitDurable(this.size).catch(() => {});
    }
    while (this.syncing) await new Promise((resolve) => setTimeout(resolve, 1));
    this.closed = true;
    this.settle(new VecStoreError('storage', 'write-ahead log closed before its fsync'), Number.MAX_SAFE_INTEGER);
    fs.closeSync(this.fd);
  }
}

/** The error a write is refused with when the disk refuses it (full, read-only, permission, I/O). */
export function storageError(what: string, err: unknown): VecStoreError {
  const e = err as NodeJS.ErrnoException;
  return new VecStoreError('storage', `${what}: ${e?.code ?? ''} ${e?.message ?? String(err)}`.trim());
}

/**
 * The appending side of the log in a directory: the current file, rotation to a new one (after a checkpoint), and the
 * fsync policy. `append` writes synchronously (log order is apply order) and returns the durability promise.
 */
export class WriteAheadLog {
  readonly dir: string;
  readonly policy: FsyncPolicy;
  private current: LogFile;
  private readonly retiring = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  /** Bytes appended since the log was opened or last rotated. */
  bytesSinceRotation = 0;
  /**
   * Set by a failed fsync. After one, the kernel may have dropped pages of the file, so a later record could follow a
   * hole; appending more would risk replay stopping before acknowledged records. Only a checkpoint (which rewrites the
   * whole state and makes this file obsolete) clears it.
   */
  broken: Error | undefined;
  /** The newest file whose fsync failed: a checkpoint covering it repairs the log. */
  private brokenSeq = 0;
  /** Called once per failure streak so the owner can schedule the repairing checkpoint. */
  onBroken: ((err: Error) => void) | undefined;

  private readonly syncFailed = (err: Error, seq: number): void => {
    const first = this.broken === undefined;
    this.broken = err;
    this.brokenSeq = Math.max(this.brokenSeq, seq);
    if (first) this.onBroken?.(err);
  };

  /** After a checkpoint covering every file up to `seq` is committed: clears a failure that only touched those files. */
  repairedUpTo(seq: number): boolean {
    if (this.broken === undefined || this.brokenSeq > seq) return false;
    this.broken = undefined;
    return true;
  }

  constructor(dir: string, seq: number, policy: FsyncPolicy) {
    this.dir = dir;
    this.policy = policy;
    this.current = new LogFile(dir, seq, this.syncFailed);
    if (policy.mode === 'interval') {
      this.timer = setInterval(() => this.current.kick(), policy.ms);
      this.timer.unref();
    }
  }

  /** Sequence number of the file being appended to. */
  get seq(): number {
    return this.current.seq;
  }

  get currentPath(): string {
    return this.current.path;
  }

  /** Appends one mutation; throws a `storage` VecStoreError synchronously when the disk refuses the bytes. */
  append(mutation: Mutation): Promise<void> {
    const frame = (mutation.type === 'upsert' ? mutation.encoded : undefined) ?? encodeRecord(mutation);
    return this.appendFrame(frame);
  }

  /** Appends an already encoded record (tests use it to write raw frames). */
  appendFrame(frame: Buffer): Promise<void> {
    if (this.broken) {
      throw new VecStoreError('storage', `the write-ahead log could not be fsynced (${this.broken.message}); writes are refused until a checkpoint succeeds`);
    }
    const file = this.current;
    const end = file.append(frame);
    this.bytesSinceRotation += frame.length;
    if (this.policy.mode === 'always') return file.waitDurable(end);
    return Promise.resolve();
  }

  /**
   * Switches appends to a new file `seq` (synchronously, so that every record before the switch is in the old files
   * and every record after it in the new one); the old file finishes its fsyncs and closes in the background.
   */
  rotate(seq: number): void {
    if (seq <= this.current.seq) throw new Error(`wal rotate: ${seq} is not after ${this.current.seq}`);
    const next = new LogFile(this.dir, seq, this.syncFailed);
    const old = this.current;
    this.current = next;
    this.bytesSinceRotation = 0;
    const done = old.close().catch(() => {});
    this.retiring.add(done);
    void done.then(() => this.retiring.delete(done));
  }

  /** Resolves when every file rotated away from has been fsynced and closed (before deleting it). */
  async settled(): Promise<void> {
    await Promise.all([...this.retiring]);
  }

  /** Fsyncs and closes everything. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.settled();
    await this.current.close();
  }
}
