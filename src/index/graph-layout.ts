// The shared-memory layout of an HNSW graph, the one file the front thread and the workers both read.

/**
 * The graph of a layout is split like its vectors: one graph segment per vector segment, with the same rows. A graph
 * segment is one SharedArrayBuffer of int32 words:
 *   - level 0: per row `1 + 2m` words (neighbour count, then up to 2m neighbour slots);
 *   - levels: per row the node's top level + 1 (0: not in the graph yet);
 *   - upper: per row 1 + the index of the node's first upper-level block in the pool (0: none);
 *   - locks: per row a lock word, held while a neighbour list is rewritten;
 *   - the pool's next free block (bumped with Atomics.add), then the pool: blocks of `1 + m` words, one per upper level.
 * Neighbours are global slots of the layout. A list is written first and published with one Atomics.store of its count;
 * a reader racing a rewrite may see a mix of old and new entries, every one of them a valid node.
 */
export interface GraphSegmentDescriptor {
  /** Unique for the life of the process, never reused (workers cache views by it). */
  id: number;
  rows: number;
  m: number;
  buffer: SharedArrayBuffer;
}

/** Word offsets inside a graph segment of `rows` rows with degree `m`. */
export interface GraphOffsets {
  stride0: number;
  levels: number;
  upper: number;
  locks: number;
  poolNext: number;
  pool: number;
  blockWords: number;
  poolBlocks: number;
  words: number;
}

const offsetCache = new Map<string, GraphOffsets>();

export function graphOffsets(rows: number, m: number): GraphOffsets {
  const key = `${rows}:${m}`;
  const known = offsetCache.get(key);
  if (known) return known;
  const stride0 = 1 + 2 * m;
  const levels = rows * stride0;
  const upper = levels + rows;
  const locks = upper + rows;
  const poolNext = locks + rows;
  const pool = poolNext + 1;
  const blockWords = 1 + m;
  // A node reaches level l with probability m^-l, so it needs 1/(m-1) upper blocks on average; reserve twice that.
  const poolBlocks = Math.ceil((rows * 2) / Math.max(1, m - 1)) + 64;
  const offsets = { stride0, levels, upper, locks, poolNext, pool, blockWords, poolBlocks, words: pool + poolBlocks * blockWords };
  offsetCache.set(key, offsets);
  return offsets;
}

export function graphSegmentBytes(rows: number, m: number): number {
  return graphOffsets(rows, m).words * 4;
}

/** The graph's global header: a few int32 words in their own SharedArrayBuffer. */
export const HEADER = {
  /** Slot of the entry node, -1 while the graph is empty. */
  entry: 0,
  /** Top level of the graph. */
  maxLevel: 1,
  /** Held while the entry node changes. */
  lock: 2,
  /** The entry node before the current one, -1 if none: where a task that does not know the current one's segment starts. */
  previousEntry: 3,
  words: 4,
} as const;

export function newGraphHeader(): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(HEADER.words * 4);
  const words = new Int32Array(buffer);
  words[HEADER.entry] = -1;
  words[HEADER.maxLevel] = -1;
  words[HEADER.previousEntry] = -1;
  return buffer;
}

/** Highest level a node can get (the pool is sized for the expected levels; this bounds the rare outlier). */
export const MAX_LEVEL = 12;

/**
 * The level of the node at `slot`: exponentially distributed with normalisation 1/ln(m), from a hash of the slot and
 * a seed, so a rebuild of the same rows makes the same graph and no thread needs a shared random state.
 */
export function levelFor(slot: number, m: number, seed: number): number {
  let h = (slot ^ seed) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  const u = (h + 1) / 4294967297;
  return Math.min(MAX_LEVEL, Math.floor(-Math.log(u) / Math.log(Math.max(2, m))));
}
