// The shared-memory layout of a vector segment, the one file the front thread and the scan workers both read.

/**
 * A segment is one SharedArrayBuffer: `rows × dim` float32 values, then a liveness bitmap of `ceil(rows / 32)` int32 words
 * (bit set = the row holds a live, searchable vector). Segments never move or grow; the store adds new ones.
 */
export interface SegmentDescriptor {
  /** Unique for the life of the process, never reused, so a worker's cache keyed by it can never be stale. */
  id: number;
  rows: number;
  dim: number;
  buffer: SharedArrayBuffer;
}

/** Bytes of a segment with `rows` rows of `dim` float32 values and its liveness bitmap. */
export function segmentByteLength(rows: number, dim: number): number {
  return rows * dim * 4 + livenessWords(rows) * 4;
}

/** Number of int32 words in the liveness bitmap of a segment with `rows` rows. */
export function livenessWords(rows: number): number {
  return Math.ceil(rows / 32);
}

/** The float32 view of a segment's vector rows. */
export function vectorView(seg: SegmentDescriptor): Float32Array {
  return new Float32Array(seg.buffer, 0, seg.rows * seg.dim);
}

/** The int32 view of a segment's liveness bitmap, read and written with Atomics. */
export function livenessView(seg: SegmentDescriptor): Int32Array {
  return new Int32Array(seg.buffer, seg.rows * seg.dim * 4, livenessWords(seg.rows));
}

/** Whether row `row` is live, read with Atomics so a row written before its bit was set is seen whole. */
export function isLive(liveness: Int32Array, row: number): boolean {
  return (Atomics.load(liveness, row >>> 5) & (1 << (row & 31))) !== 0;
}

/**
 * Rows per segment for a dimension: about 32 MiB of vectors per segment (a power of two between 1,024 and 65,536 rows),
 * small enough that a small store does not reserve much, large enough that a million rows need few segments.
 */
export function defaultRowsPerSegment(dim: number): number {
  const target = Math.floor((32 * 1024 * 1024) / (dim * 4));
  let rows = 1024;
  while (rows * 2 <= target && rows < 65536) rows *= 2;
  return rows;
}

/** The row space a query scans: its segments in slot order. Slot s lives in segment floor(s / rowsPerSegment). */
export interface ScanLayout {
  /** Changes when compaction swaps in new segments; slots of different versions are unrelated. */
  version: number;
  rowsPerSegment: number;
  /** Slots in use (high-water mark); rows past it are empty. */
  slotsUsed: number;
  segmentIds: number[];
}
