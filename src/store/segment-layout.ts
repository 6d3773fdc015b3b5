// The shared-memory layout of a vector segment, the one file the front thread and the scan workers both read.

/**
 * A segment is one SharedArrayBuffer: `rows × dim` float32 values, then a liveness bitmap of `ceil(rows / 32)` int32 words
 * (bit set = the row holds a live, searchable vector), then a two-word header (word 0: the id of the projection basis
 * the row sketches were made with, 0 for none), then per row a sketch of `sketchDim + 2` float32 values: the row's
 * projection on the basis, the norm of what the projection leaves out, and the row's squared norm. Scans use sketches to
 * skip rows that provably cannot make the top k. Last comes one int32 per row, "superseded by": 0, or 1 + the slot of
 * the newer version of the row's record once an update replaced it (see `VectorStore.openView` for how scans use it).
 * Segments never move or grow; the store adds new ones.
 */
export interface SegmentDescriptor {
  /** Unique for the life of the process, never reused, so a worker's cache keyed by it can never be stale. */
  id: number;
  rows: number;
  dim: number;
  buffer: SharedArrayBuffer;
}

/** Bytes of a segment with `rows` rows of `dim` float32 values, its liveness bitmap, header and row sketches. */
export function segmentByteLength(rows: number, dim: number): number {
  return supersededOffset(rows, dim) + rows * 4;
}

/**
 * Dimensions of a row sketch: 32 from 256 dimensions up, none below. Under 256 dimensions a simsimd distance costs
 * little more than the bound would, while sketching every row (on write and at start-up) would cost ingest speed.
 */
export function sketchDimFor(dim: number): number {
  return dim < 256 ? 0 : 32;
}

/** Float32 values per row sketch: the projection, the residual norm and the squared norm (0 without sketches). */
export function sketchWidth(dim: number): number {
  const m = sketchDimFor(dim);
  return m === 0 ? 0 : m + 2;
}

function headerOffset(rows: number, dim: number): number {
  return rows * dim * 4 + livenessWords(rows) * 4;
}

function sketchOffset(rows: number, dim: number): number {
  return headerOffset(rows, dim) + 8;
}

/** The segment header: word 0 is the id of the basis its row sketches use (0: no valid sketches). */
export function headerView(seg: SegmentDescriptor): Int32Array {
  return new Int32Array(seg.buffer, headerOffset(seg.rows, seg.dim), 2);
}

function supersededOffset(rows: number, dim: number): number {
  return sketchOffset(rows, dim) + rows * sketchWidth(dim) * 4;
}

/**
 * Per row: 0, or 1 + the slot holding the newer version of its record, written before the row's live bit clears. A
 * scan whose view ends at slot `horizon` (exclusive) reads a row when `slot < horizon` and the row is live or its
 * superseded-by value is above `horizon`: the record was updated after the view opened, its newer version lies past the
 * horizon, and without the old row the record would be missing from that scan.
 */
export function supersededView(seg: SegmentDescriptor): Int32Array {
  return new Int32Array(seg.buffer, supersededOffset(seg.rows, seg.dim), seg.rows);
}

/** The row sketches, `sketchWidth(dim)` float32 values per row. */
export function sketchView(seg: SegmentDescriptor): Float32Array {
  return new Float32Array(seg.buffer, sketchOffset(seg.rows, seg.dim), seg.rows * sketchWidth(seg.dim));
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
