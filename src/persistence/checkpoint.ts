// Checkpoint files: raw float32 rows read straight into shared segments, JSON-lines records, and the CURRENT manifest.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MetricName } from '../distance/metric.js';
import type { Metadata, StoreCapture, StoredRecord, VectorStore } from '../store/vector-store.js';
import type { GraphCapture } from '../index/hnsw-index.js';
import { dataDirLayout, fsyncDir, writeFileAtomic } from './data-dir.js';
import { GRAPH_FILE, writeGraphFile } from './graph-file.js';
import type { SavedRecallTable } from '../index/recall-table.js';

/** What a checkpoint or snapshot holds: the store at one instant and, with an HNSW index, its graph. */
export type CheckpointCapture = StoreCapture & { graph?: GraphCapture; recall?: SavedRecallTable };

/** The manifest (`CURRENT`): the live checkpoint directory and the last log sequence folded into it. */
export interface CheckpointManifest {
  format: 1;
  /** Directory name under the data directory, or null for "no checkpoint yet". */
  checkpoint: string | null;
  /** Every log file with a sequence ≤ this is folded into the checkpoint; replay starts after it. */
  walSeq: number;
}

/** `meta.json` of a checkpoint or snapshot directory. */
export interface CheckpointMeta {
  format: 1;
  metric: MetricName;
  dimension: number | null;
  /** Rows in `vectors.f32` and lines in `records.jsonl`. */
  count: number;
  active: number;
  /** Unix seconds. */
  createdAt: number;
  /** The store's recall table when the checkpoint was taken (absent before the first calibration, or without a graph). */
  recall?: SavedRecallTable;
}

/** File names inside a checkpoint or snapshot directory. */
export const CHECKPOINT_FILES = { meta: 'meta.json', vectors: 'vectors.f32', records: 'records.jsonl' } as const;

const CHUNK_BYTES = 4 << 20;

if (os.endianness() !== 'LE') {
  // Rows are copied as raw bytes both ways; a big-endian host would need a conversion pass that nobody runs.
  throw new Error('VecStore checkpoints need a little-endian host');
}

/** The manifest of a data directory, or undefined when none has been written yet. */
export function readManifest(root: string): CheckpointManifest | undefined {
  let text: string;
  try {
    text = fs.readFileSync(dataDirLayout(root).current, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = JSON.parse(text) as CheckpointManifest;
  if (parsed.format !== 1 || typeof parsed.walSeq !== 'number') throw new Error(`unreadable manifest ${dataDirLayout(root).current}`);
  return parsed;
}

/** Replaces the manifest atomically (the single commit point of a checkpoint or a restore). */
export function writeManifest(root: string, manifest: CheckpointManifest): void {
  writeFileAtomic(dataDirLayout(root).current, `${JSON.stringify(manifest)}\n`);
}

/** The directory name of the checkpoint covering log sequence `seq`. */
export function checkpointDirName(seq: number): string {
  return `checkpoint-${String(seq).padStart(12, '0')}`;
}

/**
 * Writes a captured store into `dir` (which must not exist; callers write to a temporary name and rename it into place):
 * rows in slot order, the records file, then meta.json; every file and the directory are fsynced. Yields to the event
 * loop between chunks so that writes and queries keep being served.
 */
export async function writeCheckpointDir(dir: string, capture: CheckpointCapture): Promise<{ bytes: number; meta: CheckpointMeta }> {
  await fs.promises.mkdir(dir, { recursive: false });
  const dim = capture.dimension ?? 0;
  const rowBytes = dim * 4;
  let bytes = 0;

  const vectors = await fs.promises.open(path.join(dir, CHECKPOINT_FILES.vectors), 'w', 0o644);
  try {
    if (rowBytes > 0) {
      const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / rowBytes));
      const chunk = Buffer.allocUnsafe(rowsPerChunk * rowBytes);
      for (let i = 0; i < capture.records.length; i += rowsPerChunk) {
        const n = Math.min(rowsPerChunk, capture.records.length - i);
        for (let j = 0; j < n; j++) {
          const slot = capture.records[i + j].slot;
          const seg = capture.segments[Math.floor(slot / capture.rowsPerSegment)];
          const row = slot % capture.rowsPerSegment;
          chunk.set(new Uint8Array(seg.buffer, seg.byteOffset + row * rowBytes, rowBytes), j * rowBytes);
        }
        await vectors.write(chunk, 0, n * rowBytes);
        bytes += n * rowBytes;
      }
    }
    await vectors.sync();
  } finally {
    await vectors.close();
  }

  const recordsFile = await fs.promises.open(path.join(dir, CHECKPOINT_FILES.records), 'w', 0o644);
  let active = 0;
  try {
    let lines: string[] = [];
    let pending = 0;
    const flush = async (): Promise<void> => {
      if (lines.length === 0) return;
      const buf = Buffer.from(lines.join(''), 'utf8');
      lines = [];
      pending = 0;
      await recordsFile.write(buf);
      bytes += buf.length;
    };
    for (const r of capture.records) {
      if (!r.deleted) active++;
      // [id, metadata|null, text|null, softDeleted 0|1]: compact, and parseable in bulk as one JSON array.
      const line = `${JSON.stringify([r.id, r.metadata ?? null, r.text ?? null, r.deleted ? 1 : 0])}\n`;
      lines.push(line);
      pending += line.length;
      if (pending >= CHUNK_BYTES) await flush();
    }
    await flush();
    await recordsFile.sync();
  } finally {
    await recordsFile.close();
  }

  if (capture.graph) {
    // The graph goes in before meta.json, which marks the directory complete.
    bytes += await writeGraphFile(path.join(dir, GRAPH_FILE), capture.graph, Int32Array.from(capture.records, (r) => r.slot));
  }

  const meta: CheckpointMeta = {
    format: 1,
    metric: capture.metric,
    dimension: capture.dimension ?? null,
    count: capture.records.length,
    active,
    createdAt: Math.floor(Date.now() / 1000),
    ...(capture.recall ? { recall: capture.recall } : {}),
  };
  const metaText = `${JSON.stringify(meta)}\n`;
  const metaFile = await fs.promises.open(path.join(dir, CHECKPOINT_FILES.meta), 'w', 0o644);
  try {
    await metaFile.writeFile(metaText);
    await metaFile.sync();
  } finally {
    await metaFile.close();
  }
  bytes += Buffer.byteLength(metaText);
  fsyncDir(dir);
  return { bytes, meta };
}

/** The meta.json of a checkpoint or snapshot directory. */
export function readCheckpointMeta(dir: string): CheckpointMeta {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, CHECKPOINT_FILES.meta), 'utf8')) as CheckpointMeta;
  if (meta.format !== 1) throw new Error(`${dir}: unknown checkpoint format ${String(meta.format)}`);
  return meta;
}

/** A record as read back from a checkpoint, shaped as the store keeps it so that loading adopts it without a copy. */
export type LoadedRecord = StoredRecord;

/** Timings of one load, for the start-up log and the benchmark. */
export interface LoadStats {
  count: number;
  vectorBytes: number;
  /** The whole bulk load: row reads plus building the id map and liveness bits. */
  vectorMs: number;
  /** Just the reads of the rows into the segments (what the disk's read rate is compared with). */
  vectorReadMs: number;
  recordsMs: number;
}

/** A checkpoint's meta and records, read and checked against its vectors file before anything in memory changes. */
export interface CheckpointContents {
  dir: string;
  meta: CheckpointMeta;
  records: LoadedRecord[];
  recordsMs: number;
}

/** Reads meta.json and records.jsonl and checks the vectors file's size, without touching any store. */
export function readCheckpointDir(dir: string, metric: MetricName): CheckpointContents {
  const meta = readCheckpointMeta(dir);
  if (meta.metric !== metric) throw new Error(`${dir} holds ${meta.metric} vectors but the server is configured for ${metric}`);
  const started = performance.now();
  const records = parseRecordsFile(path.join(dir, CHECKPOINT_FILES.records));
  if (records.length !== meta.count) throw new Error(`${dir}: ${records.length} records, meta.json says ${meta.count}`);
  const expected = meta.dimension === null ? 0 : meta.count * meta.dimension * 4;
  const size = fs.statSync(path.join(dir, CHECKPOINT_FILES.vectors)).size;
  if (size !== expected) throw new Error(`${dir}: vectors file has ${size} bytes, expected ${expected}`);
  return { dir, meta, records, recordsMs: performance.now() - started };
}

/**
 * Loads checkpoint contents into an empty store: the rows are read with `readSync` straight into the shared segments
 * (one read per segment, no per-row work).
 */
export function loadCheckpointRows(contents: CheckpointContents, store: VectorStore): LoadStats {
  const { dir, meta, records } = contents;
  const started = performance.now();
  let vectorBytes = 0;
  let vectorReadMs = 0;
  if (meta.count > 0 && meta.dimension !== null) {
    const dim = meta.dimension;
    const fd = fs.openSync(path.join(dir, CHECKPOINT_FILES.vectors), 'r');
    try {
      store.loadRecords({
        dimension: dim,
        records,
        readRows: (target, firstRow) => {
          const readStarted = performance.now();
          let done = 0;
          const position = firstRow * dim * 4;
          while (done < target.length) {
            const n = fs.readSync(fd, target, done, target.length - done, position + done);
            if (n === 0) throw new Error(`${dir}: vectors file ends early`);
            done += n;
          }
          vectorBytes += done;
          vectorReadMs += performance.now() - readStarted;
        },
      });
    } finally {
      fs.closeSync(fd);
    }
  }
  return { count: meta.count, vectorBytes, vectorMs: performance.now() - started, vectorReadMs, recordsMs: contents.recordsMs };
}

/** Parses records.jsonl many lines per JSON.parse call (one call per line costs several times more at a million rows). */
function parseRecordsFile(file: string): LoadedRecord[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: LoadedRecord[] = [];
  const LINES_PER_PARSE = 20_000;
  let start = 0;
  while (start < text.length) {
    let end = start;
    for (let i = 0; i < LINES_PER_PARSE && end < text.length; i++) {
      const nl = text.indexOf('\n', end);
      end = nl === -1 ? text.length : nl + 1;
    }
    const body = text.slice(start, end).trimEnd().replaceAll('\n', ',');
    start = end;
    if (body.length === 0) continue;
    const rows = JSON.parse(`[${body}]`) as Array<[string, Metadata | null, string | null, 0 | 1]>;
    for (const [id, metadata, recText, deleted] of rows) {
      out.push({ id, slot: out.length, metadata: metadata ?? undefined, text: recText ?? undefined, deleted: deleted === 1 });
    }
  }
  return out;
}

/** Total bytes of the files in a directory (a snapshot's size). */
export function directoryBytes(dir: string): number {
  let total = 0;
  for (const name of fs.readdirSync(dir)) total += fs.statSync(path.join(dir, name)).size;
  return total;
}
