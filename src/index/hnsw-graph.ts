// HNSW search and insertion over a graph in shared memory (Malkov & Yashunin): pure code, run by the workers.
import { rowOf, type SegmentRows } from '../search/scan-kernel.js';
import { MinQueue, heapOffer, heapPopTop, heapSortAscending } from '../search/topk-heap.js';
import { sketchExceeds } from '../search/sketch-bound.js';
import { HEADER, graphOffsets, type GraphOffsets } from './graph-layout.js';

/** What a graph walk reads: the layout's vector segments and graph segments (by segment number) and the header. */
export interface GraphViews {
  m: number;
  rowsPerSegment: number;
  header: Int32Array;
  graph: Int32Array[];
  vectors: SegmentRows[];
  /** Rank distance (lower is better). */
  kernel: (a: Float32Array, b: Float32Array) => number;
  /** Projections per row sketch (0: rows have no sketches; see src/store/row-sketcher.ts). */
  sketchM: number;
  /** The rank distance is a negated dot product (cosine, dot) rather than a squared L2 distance. */
  negate: boolean;
}

/** A walk's query sketch: `values` from `offset`, made with basis `basisId`. */
export interface WalkSketch {
  values: Float64Array;
  offset: number;
  basisId: number;
}

/** Per-thread reusable memory for graph walks: the visited marks and the queues. */
export class GraphScratch {
  private visited = new Uint32Array(0);
  private epoch = 0;
  readonly queue = new MinQueue();
  resultDist = new Float64Array(256);
  resultSlots = new Int32Array(256);

  /** Visited marks for a new walk over up to `capacity` slots: `marks[slot] === epoch` means visited. */
  begin(capacity: number): { marks: Uint32Array; epoch: number } {
    if (this.visited.length < capacity) {
      this.visited = new Uint32Array(capacity);
      this.epoch = 0;
    }
    if (++this.epoch === 0xffffffff) {
      this.visited.fill(0);
      this.epoch = 1;
    }
    return { marks: this.visited, epoch: this.epoch };
  }

  /** Result heaps of at least `n` entries. */
  results(n: number): void {
    if (this.resultDist.length < n) {
      this.resultDist = new Float64Array(n);
      this.resultSlots = new Int32Array(n);
    }
  }
}

/** Accepts a node as a search result (live, passes the filter, ...); traversal goes through rejected nodes too. */
export type AcceptFn = (slot: number) => boolean;

const SPINS_BEFORE_WAIT = 256;
/** Bound checks after which a walk whose bound rarely prunes stops paying for it (data without low-dimensional structure). */
const BOUND_TRIAL_CHECKS = 1024;
/** A walk without a query sketch: no bound. */
const NO_SKETCH: WalkSketch = { values: new Float64Array(0), offset: 0, basisId: 0 };

/**
 * A graph walk over one layout's graph; cheap to make per task. Counts the distances it computes and those the sketch
 * bound saved: a neighbour that provably cannot enter the results (or improve the greedy descent) is skipped unread,
 * which leaves the walk exactly as it would be without the bound.
 */
export class HnswGraph {
  distances = 0;
  pruned = 0;
  private boundChecks = 0;
  /** The node the current walk treats as absent (-1: none). */
  private skip = -1;
  /** Set when the first checks of this task pruned too few to pay for the bound. */
  private boundUseless = false;
  /** The current walk's query sketch (basis 0: no bound). */
  private sketch: WalkSketch = NO_SKETCH;
  /** The sketch of the row being inserted (its walks' query sketch). */
  private readonly ownSketch: Float64Array;
  /** The sketch of the candidate the neighbour heuristic is weighing. */
  private readonly pairSketch: Float64Array;
  private readonly v: GraphViews;
  private readonly o: GraphOffsets;
  private readonly s: GraphScratch;
  /**
   * Slots of the segments this task knows. The graph can hold newer nodes: a task's segment list is fixed when it is
   * dispatched, and an insert task dispatched later (after a write opened a new segment) may run first and link a node
   * of that segment into lists this walk reads. Such a node is past every view this task serves, so walks pass it by.
   */
  private readonly capacity: number;
  /** Set by `listBase`: the words array holding the list whose count word it returned. */
  private words: Int32Array<ArrayBufferLike> = new Int32Array(0);
  // Scratch for neighbour selection.
  private candDist = new Float64Array(64);
  private candSlots = new Int32Array(64);
  private selected = new Int32Array(64);

  constructor(views: GraphViews, scratch: GraphScratch) {
    this.v = views;
    this.o = graphOffsets(views.rowsPerSegment, views.m);
    this.s = scratch;
    this.capacity = Math.min(views.graph.length, views.vectors.length) * views.rowsPerSegment;
    this.ownSketch = new Float64Array(views.sketchM + 2);
    this.pairSketch = new Float64Array(views.sketchM + 2);
  }

  vector(slot: number): Float32Array {
    const rps = this.v.rowsPerSegment;
    return rowOf(this.v.vectors[(slot / rps) | 0], slot % rps);
  }

  private distance(q: Float32Array, slot: number): number {
    this.distances++;
    return this.v.kernel(q, this.vector(slot));
  }

  /** True when the sketches prove `slot` is farther than `worst` from the walk's query (so its distance is not needed). */
  private boundedAbove(slot: number, worst: number): boolean {
    const { values, offset, basisId } = this.sketch;
    if (this.boundExceeds(values, offset, basisId, slot, worst)) return true;
    if (++this.boundChecks === BOUND_TRIAL_CHECKS && this.pruned < BOUND_TRIAL_CHECKS / 8) {
      this.boundUseless = true;
      this.sketch = NO_SKETCH;
    }
    return false;
  }

  /** True when `slot`'s sketch is of basis `basisId` and the bound from `values[offset..]` puts it above `worst`. */
  private boundExceeds(values: Float64Array, offset: number, basisId: number, slot: number, worst: number): boolean {
    const rps = this.v.rowsPerSegment;
    const seg = this.v.vectors[(slot / rps) | 0];
    if (Atomics.load(seg.header, 0) !== basisId) return false;
    const m = this.v.sketchM;
    if (!sketchExceeds(values, offset, seg.sketches, (slot % rps) * (m + 2), m, this.v.negate, worst)) return false;
    this.pruned++;
    return true;
  }

  /** Copies the sketch of the stored row at `slot` into `into`; returns its basis (0: not sketched, or no bound). */
  private copyRowSketch(slot: number, into: Float64Array): number {
    if (this.v.sketchM === 0 || this.boundUseless) return 0;
    const rps = this.v.rowsPerSegment;
    const seg = this.v.vectors[(slot / rps) | 0];
    const basisId = Atomics.load(seg.header, 0);
    if (basisId === 0) return 0;
    const width = this.v.sketchM + 2;
    const at = (slot % rps) * width;
    for (let j = 0; j < width; j++) into[j] = seg.sketches[at + j];
    return basisId;
  }

  /** Uses `sketch` for the walks that follow (undefined: none). */
  private useSketch(sketch: WalkSketch | undefined): void {
    this.sketch = sketch !== undefined && this.v.sketchM > 0 && !this.boundUseless ? sketch : NO_SKETCH;
  }

  /** The node's top level, or -1 when it is not in the graph. */
  levelOf(slot: number): number {
    const rps = this.v.rowsPerSegment;
    return this.v.graph[(slot / rps) | 0][this.o.levels + (slot % rps)] - 1;
  }

  /** Index of the count word of `slot`'s list at `level`, in `this.words`. */
  private listBase(slot: number, level: number): number {
    const rps = this.v.rowsPerSegment;
    const words = this.v.graph[(slot / rps) | 0];
    const row = slot % rps;
    this.words = words;
    if (level === 0) return row * this.o.stride0;
    return this.o.pool + (words[this.o.upper + row] - 1 + level - 1) * this.o.blockWords;
  }

  /** The entry node and the level to start from, or -1 when the graph is empty. */
  private entry(): { slot: number; level: number } {
    let slot = Atomics.load(this.v.header, HEADER.entry);
    if (slot < 0) return { slot: -1, level: -1 };
    if (slot >= this.capacity) {
      // A new top node in a segment this task does not know: start from the node it replaced, which is older. Only when
      // that one is unknown too (two new top nodes in new segments since dispatch) does the task fail, to be retried
      // (an insert) or answered with a 503 (a query).
      slot = Atomics.load(this.v.header, HEADER.previousEntry);
      if (slot < 0 || slot >= this.capacity) throw new Error('the graph entry is in a segment this task does not know yet');
    }
    // The header's level can be ahead of the entry read just before it: never start above the entry's own level.
    return { slot, level: Math.min(Atomics.load(this.v.header, HEADER.maxLevel), this.levelOf(slot)) };
  }

  /** Moves greedily to the closest node on each level from `top` down to `bottom + 1`. */
  private descend(q: Float32Array, start: number, startDist: number, top: number, bottom: number): number {
    let cur = start;
    let curDist = startDist;
    for (let level = top; level > bottom; level--) {
      for (let changed = true; changed; ) {
        changed = false;
        const base = this.listBase(cur, level);
        const words = this.words;
        const count = Atomics.load(words, base);
        for (let j = 1; j <= count; j++) {
          const e = words[base + j];
          if (e === this.skip || e >= this.capacity) continue;
          if (this.sketch.basisId !== 0 && this.boundedAbove(e, curDist)) continue;
          const d = this.distance(q, e);
          if (d < curDist) {
            curDist = d;
            cur = e;
            changed = true;
          }
        }
      }
    }
    return cur;
  }

  /**
   * Best-first search of one level from `entry`, keeping the `ef` closest accepted nodes in the scratch result heap
   * (a max-heap: worst on top). Returns how many it holds.
   */
  private searchLayer(q: Float32Array, entry: number, ef: number, level: number, accept: AcceptFn | null): number {
    const { marks, epoch } = this.s.begin(this.capacity);
    this.s.results(ef);
    const dist = this.s.resultDist;
    const slots = this.s.resultSlots;
    const queue = this.s.queue;
    queue.clear();
    let size = 0;
    if (this.skip >= 0) marks[this.skip] = epoch;
    marks[entry] = epoch;
    const d0 = this.distance(q, entry);
    queue.push(d0, entry);
    if (accept === null || accept(entry)) size = heapOffer(dist, slots, 0, size, ef, d0, entry);
    while (queue.size > 0) {
      if (size >= ef && queue.topDistance() > dist[0]) break;
      const c = queue.pop();
      const base = this.listBase(c, level);
      const words = this.words;
      const count = Atomics.load(words, base);
      for (let j = 1; j <= count; j++) {
        const e = words[base + j];
        if (e >= this.capacity || marks[e] === epoch) continue;
        marks[e] = epoch;
        // A full result set admits only nodes closer than its worst: the bound may prove this one is not.
        if (size >= ef && this.sketch.basisId !== 0 && this.boundedAbove(e, dist[0])) continue;
        const d = this.distance(q, e);
        if (size < ef || d < dist[0]) {
          queue.push(d, e);
          if (accept === null || accept(e)) size = heapOffer(dist, slots, 0, size, ef, d, e);
        }
      }
    }
    return size;
  }

  /**
   * The `k` closest accepted nodes to `q` with search breadth `ef`, best first, into `outDist`/`outSlots` at `offset`.
   * Returns how many were found. `sketch`, the query's sketch, lets the walk skip neighbours the bound rules out;
   * `skip` is a node the walk treats as absent (not returned, its links not followed), or -1.
   */
  search(q: Float32Array, k: number, ef: number, accept: AcceptFn, outDist: Float64Array, outSlots: Int32Array, offset: number, sketch?: WalkSketch, skip = -1): number {
    this.useSketch(sketch);
    this.skip = skip;
    const { slot: ep, level } = this.entry();
    if (ep < 0) return 0;
    const start = this.descend(q, ep, this.distance(q, ep), level, 0);
    let size = this.searchLayer(q, start, Math.max(ef, k), 0, accept);
    const dist = this.s.resultDist;
    const slots = this.s.resultSlots;
    while (size > k) size = heapPopTop(dist, slots, 0, size);
    heapSortAscending(dist, slots, 0, size);
    outDist.set(dist.subarray(0, size), offset);
    outSlots.set(slots.subarray(0, size), offset);
    return size;
  }

  /** Adds the node at `slot` (its vector already written) at `level`, linking it with breadth `efConstruction`. */
  insert(slot: number, level: number, efConstruction: number): void {
    const header = this.v.header;
    const vec = this.vector(slot);
    const basisId = this.copyRowSketch(slot, this.ownSketch);
    this.useSketch(basisId === 0 ? undefined : { values: this.ownSketch, offset: 0, basisId });
    this.skip = -1;
    level = this.placeNode(slot, level);
    if (Atomics.load(header, HEADER.entry) < 0) {
      this.lock(header, HEADER.lock);
      const empty = header[HEADER.entry] < 0;
      if (empty) {
        Atomics.store(header, HEADER.maxLevel, level);
        Atomics.store(header, HEADER.entry, slot);
      }
      this.unlock(header, HEADER.lock);
      if (empty) return;
    }
    const { slot: ep, level: top } = this.entry();
    let cur = ep === slot ? ep : this.descend(vec, ep, this.distance(vec, ep), top, level);
    // The node's own lists are all written before any node links to it (the same graph as linking level by level: a
    // level's search reads only that level's lists). Otherwise a concurrent insert could reach it through an upper
    // level while its level-0 list is still empty, and find no one else there to link its own node to.
    const backLinks: Array<{ level: number; picked: Int32Array; pickedDist: Float64Array }> = [];
    for (let l = Math.min(level, top); l >= 0; l--) {
      let size = this.searchLayer(vec, cur, efConstruction, l, null);
      const dist = this.s.resultDist;
      const slots = this.s.resultSlots;
      heapSortAscending(dist, slots, 0, size);
      // Copy out: linking below reuses the scratch heaps.
      this.ensureCandidates(size);
      let n = 0;
      for (let i = 0; i < size; i++) {
        if (slots[i] === slot) continue;
        this.candDist[n] = dist[i];
        this.candSlots[n++] = slots[i];
      }
      size = n;
      if (size === 0) continue;
      cur = this.candSlots[0];
      const chosen = this.selectNeighbours(this.candDist, this.candSlots, size, this.v.m);
      const picked = this.selected.slice(0, chosen);
      const pickedDist = new Float64Array(chosen);
      for (let i = 0, j = 0; i < size && j < chosen; i++) if (this.candSlots[i] === picked[j]) pickedDist[j++] = this.candDist[i];
      this.writeList(slot, l, picked, chosen);
      backLinks.push({ level: l, picked, pickedDist });
    }
    for (const { level: l, picked, pickedDist } of backLinks) {
      for (let i = 0; i < picked.length; i++) this.link(picked[i], slot, l, pickedDist[i]);
    }
    if (level > Atomics.load(header, HEADER.maxLevel)) {
      this.lock(header, HEADER.lock);
      if (level > header[HEADER.maxLevel]) {
        Atomics.store(header, HEADER.previousEntry, header[HEADER.entry]);
        Atomics.store(header, HEADER.maxLevel, level);
        Atomics.store(header, HEADER.entry, slot);
      }
      this.unlock(header, HEADER.lock);
    }
  }

  /** Gives the node its upper-level blocks and publishes its level; returns the level it got (lower if the pool ran out). */
  private placeNode(slot: number, level: number): number {
    const rps = this.v.rowsPerSegment;
    const words = this.v.graph[(slot / rps) | 0];
    const row = slot % rps;
    const o = this.o;
    words[row * o.stride0] = 0;
    if (level > 0) {
      const first = Atomics.add(words, o.poolNext, level);
      if (first + level > o.poolBlocks) level = 0;
      else {
        for (let b = 0; b < level; b++) words[o.pool + (first + b) * o.blockWords] = 0;
        words[o.upper + row] = first + 1;
      }
    }
    Atomics.store(words, o.levels + row, level + 1);
    return level;
  }

  /**
   * HNSW's neighbour heuristic: walk candidates from closest, keep one unless it is closer to an already kept neighbour
   * than to the base node (so links spread in different directions). Writes the kept slots to `this.selected`.
   */
  private selectNeighbours(candDist: Float64Array, candSlots: Int32Array, n: number, max: number): number {
    if (this.selected.length < max) this.selected = new Int32Array(max);
    let count = 0;
    for (let i = 0; i < n && count < max; i++) {
      const e = candSlots[i];
      const ve = this.vector(e);
      const basisId = this.copyRowSketch(e, this.pairSketch);
      let good = true;
      for (let j = 0; j < count; j++) {
        // The bound may prove the kept neighbour farther from `e` than the base node is, without reading it.
        if (basisId !== 0 && this.boundExceeds(this.pairSketch, 0, basisId, this.selected[j], candDist[i])) continue;
        this.distances++;
        if (this.v.kernel(ve, this.vector(this.selected[j])) < candDist[i]) {
          good = false;
          break;
        }
      }
      if (good) this.selected[count++] = e;
    }
    return count;
  }

  private writeList(slot: number, level: number, list: Int32Array, count: number): void {
    const lockWords = this.lockOf(slot);
    this.lock(lockWords.words, lockWords.index);
    const base = this.listBase(slot, level);
    const words = this.words;
    for (let i = 0; i < count; i++) words[base + 1 + i] = list[i];
    Atomics.store(words, base, count);
    this.unlock(lockWords.words, lockWords.index);
  }

  /** Adds `slot` to `node`'s list at `level`; a full list is pruned with the heuristic. */
  private link(node: number, slot: number, level: number, distance: number): void {
    const cap = level === 0 ? 2 * this.v.m : this.v.m;
    const lockWords = this.lockOf(node);
    this.lock(lockWords.words, lockWords.index);
    try {
      const base = this.listBase(node, level);
      const words = this.words;
      const count = words[base];
      for (let i = 1; i <= count; i++) if (words[base + i] === slot) return;
      if (count < cap) {
        words[base + 1 + count] = slot;
        Atomics.store(words, base, count + 1);
        return;
      }
      // A list holding a node this task cannot read is left as it is (the new node keeps its own links).
      for (let i = 1; i <= count; i++) if (words[base + i] >= this.capacity) return;
      this.ensureCandidates(count + 1);
      const nodeVec = this.vector(node);
      const cd = this.candDist;
      const cs = this.candSlots;
      for (let i = 0; i < count; i++) {
        cs[i] = words[base + 1 + i];
        this.distances++;
        cd[i] = this.v.kernel(nodeVec, this.vector(cs[i]));
      }
      cd[count] = distance;
      cs[count] = slot;
      sortPairs(cd, cs, count + 1);
      const kept = this.selectNeighbours(cd, cs, count + 1, cap);
      for (let i = 0; i < kept; i++) words[base + 1 + i] = this.selected[i];
      Atomics.store(words, base, kept);
    } finally {
      this.unlock(lockWords.words, lockWords.index);
    }
  }

  private lockOf(slot: number): { words: Int32Array; index: number } {
    const rps = this.v.rowsPerSegment;
    return { words: this.v.graph[(slot / rps) | 0], index: this.o.locks + (slot % rps) };
  }

  private lock(words: Int32Array, index: number): void {
    for (let spins = 0; Atomics.compareExchange(words, index, 0, 1) !== 0; spins++) {
      if (spins >= SPINS_BEFORE_WAIT) Atomics.wait(words, index, 1, 1);
    }
  }

  private unlock(words: Int32Array, index: number): void {
    Atomics.store(words, index, 0);
    Atomics.notify(words, index, 1);
  }

  private ensureCandidates(n: number): void {
    if (this.candDist.length < n) {
      this.candDist = new Float64Array(n * 2);
      this.candSlots = new Int32Array(n * 2);
    }
  }
}

/** Insertion sort of parallel (distance, slot) arrays, ascending: lists are short (≤ 2m + 1). */
function sortPairs(dist: Float64Array, slots: Int32Array, n: number): void {
  for (let i = 1; i < n; i++) {
    const d = dist[i];
    const s = slots[i];
    let j = i - 1;
    while (j >= 0 && (dist[j] > d || (dist[j] === d && slots[j] > s))) {
      dist[j + 1] = dist[j];
      slots[j + 1] = slots[j];
      j--;
    }
    dist[j + 1] = d;
    slots[j + 1] = s;
  }
}
