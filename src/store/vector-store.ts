// The record store: id → slot map, metadata and text, and the shared segments it writes (the only writer).
import { VecStoreError } from '../errors.js';
import type { MetricName } from '../distance/metric.js';
import { RowSketcher, type SketchBasis } from './row-sketcher.js';
import { storedRow, type PreparedRow } from './row-preparation.js';
import {
  defaultRowsPerSegment,
  headerView,
  livenessView,
  sketchDimFor,
  sketchView,
  sketchWidth,
  segmentByteLength,
  supersededView,
  vectorView,
  type ScanLayout,
  type SegmentDescriptor,
} from './segment-layout.js';

/** Metadata of a record: a JSON object, stored as given. */
export type Metadata = Record<string, unknown>;

/** One stored record; the vector itself lives in a segment at `slot`. */
export interface StoredRecord {
  id: string;
  slot: number;
  metadata: Metadata | undefined;
  text: string | undefined;
  /** Soft-deleted: kept and restorable, but excluded from searches. */
  deleted: boolean;
}

/** What a caller needs to know about a record, with a copy of its vector. */
export interface RecordView {
  id: string;
  vector: Float32Array;
  metadata: Metadata | undefined;
  text: string | undefined;
  deleted: boolean;
}

interface Segment {
  descriptor: SegmentDescriptor;
  data: Float32Array;
  liveness: Int32Array;
  header: Int32Array;
  sketches: Float32Array;
  superseded: Int32Array;
}

/**
 * What one scan may see: the slots below `horizon` of one layout, as they were when the view opened. Opened before a
 * query's filter is evaluated and its scan dispatched, closed once its hits are resolved to records.
 */
export interface StoreView {
  layoutVersion: number;
  horizon: number;
}

/** An older version of an updated record, kept while a view that opened before the update may still return it. */
interface RetainedVersion {
  record: StoredRecord;
  /** The slot of the version that replaced it. */
  newSlot: number;
}

/** Rows needed before a sketch basis is computed (and the rows sampled for it). */
export const SKETCH_SAMPLE_ROWS = 1024;

/** A record as captured for a checkpoint: its slot in the captured layout and its flags at capture time. */
export interface CapturedRecord {
  id: string;
  slot: number;
  metadata: Metadata | undefined;
  text: string | undefined;
  deleted: boolean;
}

/** The store at one instant: records in slot order and the (immutable for that layout) segment rows they point into. */
export interface StoreCapture {
  metric: MetricName;
  dimension: number | undefined;
  rowsPerSegment: number;
  segments: Float32Array[];
  records: CapturedRecord[];
}

/** Listeners for segment lifecycle, so the scan pool can announce new segments and retire old ones. */
export interface SegmentListener {
  created(segments: SegmentDescriptor[]): void;
  /** Called with the previous layout when compaction replaces it; its segments may be freed once no scan uses them. */
  replaced(previous: ScanLayout): void;
}

let nextSegmentId = 1;

/** Vector rows in SharedArrayBuffer segments plus the records that own them. Slots are append-only until compaction. */
export class VectorStore {
  readonly metric: MetricName;
  private dim: number | undefined;
  private rowsPerSegment = 0;
  private readonly fixedRowsPerSegment: number | undefined;
  private segments: Segment[] = [];
  private slotsUsed = 0;
  private layoutVersion = 1;
  private readonly records = new Map<string, StoredRecord>();
  /** slot → id of the record living there (undefined for garbage slots left by deletes and updates). */
  private slotIds: Array<string | undefined> = [];
  /** Open views of the current layout: horizon → how many. */
  private readonly openViews = new Map<number, number>();
  /** Superseded versions still visible to an open view, by old slot; `retainedOrder` holds them by ascending newSlot. */
  private readonly retained = new Map<number, RetainedVersion>();
  private retainedOrder: number[] = [];
  private softDeleted = 0;
  /** Sketches rows for pruned scans, once enough rows exist to find a basis (dimensions ≥ 64 only). */
  private sketcher: RowSketcher | undefined;
  private readonly sketchScratch = new Float32Array(64);
  /** The current sketcher's basis as plain data, made once per sketcher (see sketchBasis). */
  private sketcherBasis: SketchBasis | undefined;
  /** Bumped by every change; query caches key on it so no stale answer survives a write. */
  generation = 0;
  listener: SegmentListener | undefined;

  /** `rowsPerSegment` overrides the size-based default (tests use small segments to cross segment boundaries). */
  constructor(options: { metric: MetricName; dimension?: number; rowsPerSegment?: number }) {
    this.metric = options.metric;
    this.fixedRowsPerSegment = options.rowsPerSegment;
    if (options.dimension !== undefined) this.setDimension(options.dimension);
  }

  /** The vector dimension, or undefined until fixed by configuration or the first vector. */
  get dimension(): number | undefined {
    return this.dim;
  }

  private setDimension(dim: number): void {
    this.dim = dim;
    this.rowsPerSegment = this.fixedRowsPerSegment ?? defaultRowsPerSegment(dim);
  }

  /** Fails unless `vector` has the store's dimension (fixing it on the first vector). */
  checkDimension(length: number, field: string): void {
    if (this.dim === undefined) return;
    if (length !== this.dim) {
      throw new VecStoreError('dimension_mismatch', `${field}: expected ${this.dim} dimensions, got ${length}`);
    }
  }

  /** Inserts or replaces a record. The vector is written into a fresh slot before its liveness bit is set. */
  upsert(id: string, vector: Float32Array, metadata: Metadata | undefined, text: string | undefined, prepared?: PreparedRow): 'inserted' | 'updated' {
    if (this.dim === undefined) this.setDimension(vector.length);
    this.checkDimension(vector.length, 'vector');
    const slot = this.allocateSlot();
    const { seg, row } = this.locate(slot);
    // Normalise and sketch an ordinary copy, then write it once: V8 reads and writes SharedArrayBuffer-backed arrays
    // element by element far more slowly than ordinary ones, while `set` copies between them at memcpy speed. A parse
    // worker may have done both already (see row-preparation.ts); its sketch counts only under the current basis.
    const row32 = prepared?.row ?? storedRow(vector, this.metric);
    seg.data.set(row32, row * this.dim!);
    if (prepared?.sketch && this.sketcher && prepared.sketchBasis === this.sketcher.id) seg.sketches.set(prepared.sketch, row * (this.sketcher.m + 2));
    else this.writeSketch(seg, row, row32);
    this.slotIds[slot] = id;
    const previous = this.records.get(id);
    const record: StoredRecord = { id, slot, metadata, text, deleted: false };
    this.records.set(id, record);
    setLive(seg.liveness, row, true);
    if (previous) {
      if (previous.deleted) {
        this.retireSlot(previous.slot);
        this.softDeleted--;
      } else this.supersede(previous, slot);
    }
    this.sketchOnceEnoughRows();
    this.generation++;
    return previous ? 'updated' : 'inserted';
  }

  /** Removes a record for good; its slot is garbage until compaction. */
  hardDelete(id: string): boolean {
    const record = this.records.get(id);
    if (!record) return false;
    this.retireSlot(record.slot);
    if (record.deleted) this.softDeleted--;
    this.records.delete(id);
    this.generation++;
    return true;
  }

  /** Hides a record from searches but keeps it restorable. False when unknown; true (idempotent) when already hidden. */
  softDelete(id: string): boolean {
    const record = this.records.get(id);
    if (!record) return false;
    if (!record.deleted) {
      record.deleted = true;
      this.softDeleted++;
      const { seg, row } = this.locate(record.slot);
      setLive(seg.liveness, row, false);
      this.generation++;
    }
    return true;
  }

  /**
   * Replaces a record's metadata and/or text in place, keeping its vector and slot (`undefined` leaves a field as it is).
   * The record object is replaced, not mutated, so an older version retained for an open view keeps its own fields.
   */
  setFields(id: string, fields: { metadata?: Metadata; text?: string | null }): boolean {
    const record = this.records.get(id);
    if (!record) return false;
    const next: StoredRecord = {
      ...record,
      ...(fields.metadata !== undefined ? { metadata: fields.metadata } : {}),
      ...(fields.text !== undefined ? { text: fields.text ?? undefined } : {}),
    };
    this.records.set(id, next);
    this.generation++;
    return true;
  }

  /** Makes a soft-deleted record searchable again. False when unknown. */
  restore(id: string): boolean {
    const record = this.records.get(id);
    if (!record) return false;
    if (record.deleted) {
      record.deleted = false;
      this.softDeleted--;
      const { seg, row } = this.locate(record.slot);
      setLive(seg.liveness, row, true);
      this.generation++;
    }
    return true;
  }

  /**
   * Rewrites the records into new segments, dropping the garbage rows of updates and hard deletes, and soft-deleted
   * records too unless `keepSoftDeleted` (automatic compaction keeps them restorable). Scans already running keep
   * reading the old segments, which the listener frees once they finish.
   */
  compact(options: { keepSoftDeleted?: boolean } = {}): { removedCount: number; freedBytes: number } {
    const before = this.storageBytes;
    const previous = this.layout();
    const oldSegments = this.segments;
    const oldSlotsUsed = this.slotsUsed;
    const dim = this.dim;
    const keepSoftDeleted = options.keepSoftDeleted === true;
    const kept = [...this.records.values()].filter((r) => keepSoftDeleted || !r.deleted).sort((a, b) => a.slot - b.slot);
    const removedCount = oldSlotsUsed - kept.length;
    if (!keepSoftDeleted) {
      for (const record of this.records.values()) if (record.deleted) this.records.delete(record.id);
      this.softDeleted = 0;
    }
    this.segments = [];
    this.slotsUsed = 0;
    this.slotIds = [];
    this.forgetViews();
    this.layoutVersion++;
    // The new segments get a basis found in the data as it is now.
    this.sketcher = undefined;
    if (dim !== undefined) {
      for (const record of kept) {
        const from = oldSegments[Math.floor(record.slot / this.rowsPerSegment)];
        const fromRow = record.slot % this.rowsPerSegment;
        const slot = this.allocateSlot();
        const { seg, row } = this.locate(slot);
        seg.data.set(from.data.subarray(fromRow * dim, (fromRow + 1) * dim), row * dim);
        if (!record.deleted) setLive(seg.liveness, row, true);
        record.slot = slot;
        this.slotIds[slot] = record.id;
      }
      this.sketchOnceEnoughRows();
    }
    this.generation++;
    this.listener?.replaced(previous);
    return { removedCount, freedBytes: Math.max(0, before - this.storageBytes) };
  }

  /** Removes every record and segment (used before loading a snapshot). */
  clear(): void {
    const previous = this.layout();
    this.records.clear();
    this.segments = [];
    this.slotsUsed = 0;
    this.slotIds = [];
    this.forgetViews();
    this.softDeleted = 0;
    this.sketcher = undefined;
    this.layoutVersion++;
    this.generation++;
    this.listener?.replaced(previous);
  }

  /**
   * Bulk load into an empty store (recovery and snapshot restore): allocates segments for every record and lets
   * `readRows` fill each segment's float32 rows in place (raw little-endian bytes straight from a file), so a million
   * rows cost a few large reads instead of per-row work. Rows are expected as stored (already unit length under cosine).
   */
  loadRecords(input: {
    dimension: number;
    /** Adopted as the store's own record objects (no copy): index i becomes slot i, whatever `slot` held. */
    records: StoredRecord[];
    readRows: (target: Uint8Array, firstRow: number, rowCount: number) => void;
  }): void {
    if (this.slotsUsed !== 0 || this.records.size !== 0) throw new Error('loadRecords needs an empty store');
    if (this.dim === undefined) this.setDimension(input.dimension);
    this.checkDimension(input.dimension, 'dimension');
    const dim = this.dim!;
    const total = input.records.length;
    // Allocate every segment before announcing work, then fill each with one read per segment.
    while (this.segments.length * this.rowsPerSegment < total) this.addSegment();
    for (let s = 0; s * this.rowsPerSegment < total; s++) {
      const first = s * this.rowsPerSegment;
      const rows = Math.min(this.rowsPerSegment, total - first);
      const seg = this.segments[s];
      input.readRows(new Uint8Array(seg.data.buffer, seg.data.byteOffset, rows * dim * 4), first, rows);
    }
    this.slotIds = new Array(total);
    for (let slot = 0; slot < total; slot++) {
      const r = input.records[slot];
      if (this.records.has(r.id)) throw new Error(`loadRecords: duplicate id ${JSON.stringify(r.id)}`);
      r.slot = slot;
      this.records.set(r.id, r);
      this.slotIds[slot] = r.id;
      if (r.deleted) this.softDeleted++;
      else {
        const { seg, row } = this.locate(slot);
        setLive(seg.liveness, row, true);
      }
    }
    this.slotsUsed = total;
    this.sketchOnceEnoughRows();
    this.generation++;
  }

  /**
   * A point-in-time view for checkpoints and snapshots, taken synchronously: the records in slot order (with their
   * soft-delete flag copied now) and the segments holding their rows. Rows of a layout are never rewritten in place
   * (updates take fresh slots, compaction and clear build new segments), so the rows stay valid while writes go on.
   */
  capture(): StoreCapture {
    const records: CapturedRecord[] = [];
    for (const r of this.recordsInSlotOrder()) records.push({ id: r.id, slot: r.slot, metadata: r.metadata, text: r.text, deleted: r.deleted });
    return {
      metric: this.metric,
      dimension: this.dim,
      rowsPerSegment: this.rowsPerSegment,
      segments: this.segments.map((s) => s.data),
      records,
    };
  }

  /** The record with this id, soft-deleted or not. */
  getRecord(id: string): StoredRecord | undefined {
    return this.records.get(id);
  }

  /** A copy of the record's vector (as stored: unit length under cosine). */
  view(id: string): RecordView | undefined {
    const record = this.records.get(id);
    if (!record) return undefined;
    return { id, vector: Float32Array.from(this.vectorAt(record.slot)), metadata: record.metadata, text: record.text, deleted: record.deleted };
  }

  /** A view (not a copy) of the vector stored at a slot of the current layout. */
  vectorAt(slot: number): Float32Array {
    const { seg, row } = this.locate(slot);
    return seg.data.subarray(row * this.dim!, (row + 1) * this.dim!);
  }

  /** The record owning a slot of the current layout, if the slot is still that record's live home. */
  recordAtSlot(slot: number): StoredRecord | undefined {
    const id = this.slotIds[slot];
    if (id === undefined) return undefined;
    const record = this.records.get(id);
    return record && record.slot === slot ? record : undefined;
  }

  /**
   * Opens a view for one scan. Updates never rewrite a row: they write the new version to a fresh slot (at or past the
   * horizon of every view already open) and mark the old row "superseded by" that slot before clearing its live bit.
   * A scan reads slots below its horizon that are live or were superseded by a slot at or past its horizon, so a record
   * updated while the scan runs is seen in its old version, one updated before the view opened in its new version, and
   * never in both or neither. The old version's record object is kept (`versionAtSlot`) until every view that could
   * return it has closed; the row itself is garbage like any other until compaction. Views of an older layout see
   * nothing: a scan that raced compaction reruns.
   */
  openView(): StoreView {
    const view = { layoutVersion: this.layoutVersion, horizon: this.slotsUsed };
    this.openViews.set(view.horizon, (this.openViews.get(view.horizon) ?? 0) + 1);
    return view;
  }

  /** Closes a view and frees the old versions no open view can see any more. */
  closeView(view: StoreView): void {
    if (view.layoutVersion !== this.layoutVersion) return;
    const left = (this.openViews.get(view.horizon) ?? 1) - 1;
    if (left > 0) this.openViews.set(view.horizon, left);
    else this.openViews.delete(view.horizon);
    let oldest = Infinity;
    for (const horizon of this.openViews.keys()) oldest = Math.min(oldest, horizon);
    // A version superseded by slot n is visible only to views with horizon <= n.
    let freed = 0;
    while (freed < this.retainedOrder.length) {
      const slot = this.retainedOrder[freed];
      const version = this.retained.get(slot);
      if (version && version.newSlot >= oldest) break;
      this.retained.delete(slot);
      freed++;
    }
    if (freed > 0) this.retainedOrder = this.retainedOrder.slice(freed);
  }

  /**
   * The record version a view sees at a slot: the current record living there, or the older version of one updated
   * after the view opened; undefined for garbage, for soft-deleted records, and for views of another layout.
   */
  versionAtSlot(slot: number, view: StoreView): StoredRecord | undefined {
    if (view.layoutVersion !== this.layoutVersion || slot >= view.horizon) return undefined;
    const current = this.recordAtSlot(slot);
    if (current) return current.deleted ? undefined : current;
    const old = this.retained.get(slot);
    return old && old.newSlot >= view.horizon ? old.record : undefined;
  }

  /** Open views of the current layout (tests check that every query closes its view). */
  get openViewCount(): number {
    let n = 0;
    for (const count of this.openViews.values()) n += count;
    return n;
  }

  /** Every record, in slot order (soft-deleted included). */
  *recordsInSlotOrder(): IterableIterator<StoredRecord> {
    for (let slot = 0; slot < this.slotsUsed; slot++) {
      const record = this.recordAtSlot(slot);
      if (record) yield record;
    }
  }

  /** The current layout, for planning scans. */
  layout(): ScanLayout {
    return {
      version: this.layoutVersion,
      rowsPerSegment: this.rowsPerSegment,
      slotsUsed: this.slotsUsed,
      segmentIds: this.segments.map((s) => s.descriptor.id),
    };
  }

  /** Every segment currently in use, for announcing to a worker that has just started. */
  segmentDescriptors(): SegmentDescriptor[] {
    return this.segments.map((s) => s.descriptor);
  }

  get counts(): { total: number; active: number; deleted: number } {
    const total = this.records.size;
    return { total, active: total - this.softDeleted, deleted: this.softDeleted };
  }

  /** Bytes held by vector segments (allocated capacity, including garbage rows). */
  get storageBytes(): number {
    let bytes = 0;
    for (const s of this.segments) bytes += s.descriptor.buffer.byteLength;
    return bytes;
  }

  /** Slots of the current layout in use (high-water mark, garbage included). */
  get slotCount(): number {
    return this.slotsUsed;
  }

  /**
   * Writes the sketch of a query for the current basis, made when its batch is dispatched (so it always matches the
   * segments of that batch's layout), and returns the basis id; 0 (nothing written) while rows are not sketched.
   */
  sketchQuery(query: Float32Array, out: Float64Array, offset: number): number {
    if (!this.sketcher) return 0;
    this.sketcher.sketch(query, out, offset);
    return this.sketcher.id;
  }

  /** The basis rows are sketched with now, for a parse worker to prepare rows with (undefined while rows are not sketched). */
  get sketchBasis(): SketchBasis | undefined {
    if (this.sketcher && this.sketcherBasis?.id !== this.sketcher.id) this.sketcherBasis = this.sketcher.basis();
    return this.sketcher ? this.sketcherBasis : undefined;
  }

  /** Float32 values per row sketch for this store's dimension (0: rows are never sketched). */
  get sketchWidth(): number {
    return this.dim === undefined ? 0 : sketchWidth(this.dim);
  }

  /** Sketches `vector` (an ordinary array holding the row as stored) into the segment's sketch of `row`. */
  private writeSketch(seg: Segment, row: number, vector: Float32Array): void {
    if (!this.sketcher) return;
    const width = this.sketcher.m + 2;
    this.sketcher.sketch(vector, this.sketchScratch, 0);
    seg.sketches.set(this.sketchScratch.subarray(0, width), row * width);
  }

  /** Builds the sketches the first time the layout holds enough rows, for dimensions that have sketches at all. */
  private sketchOnceEnoughRows(): void {
    if (!this.sketcher && this.slotsUsed >= SKETCH_SAMPLE_ROWS && this.sketchWidth > 0) this.buildSketches();
  }

  /**
   * Finds a basis in a sample of the rows, sketches every row, and only then marks each segment's sketches valid:
   * a scan running meanwhile sees the old header and reads no half-written sketch.
   */
  private buildSketches(): void {
    const dim = this.dim!;
    const m = sketchDimFor(dim);
    const stride = Math.max(1, Math.floor(this.slotsUsed / SKETCH_SAMPLE_ROWS));
    const sample: Float32Array[] = [];
    for (let slot = 0; slot < this.slotsUsed && sample.length < SKETCH_SAMPLE_ROWS; slot += stride) {
      const copy = new Float32Array(dim);
      copy.set(this.vectorAt(slot));
      sample.push(copy);
    }
    this.sketcher = RowSketcher.fromSample(sample, m, dim);
    const width = m + 2;
    // Rows are read and sketches written a block at a time through ordinary arrays (see upsert for why).
    const block = 1024;
    const rows = new Float32Array(block * dim);
    const sketches = new Float32Array(block * width);
    for (let first = 0; first < this.slotsUsed; ) {
      // A block never crosses a segment boundary, so it is one contiguous copy each way.
      const count = Math.min(block, this.slotsUsed - first, this.rowsPerSegment - (first % this.rowsPerSegment));
      const { seg, row } = this.locate(first);
      rows.set(seg.data.subarray(row * dim, (row + count) * dim));
      for (let i = 0; i < count; i++) this.sketcher.sketch(rows.subarray(i * dim, (i + 1) * dim), sketches, i * width);
      seg.sketches.set(sketches.subarray(0, count * width), row * width);
      first += count;
    }
    for (const seg of this.segments) Atomics.store(seg.header, 0, this.sketcher.id);
  }

  private allocateSlot(): number {
    const slot = this.slotsUsed;
    if (slot === this.segments.length * this.rowsPerSegment) this.addSegment();
    this.slotsUsed++;
    return slot;
  }

  private addSegment(): void {
    const dim = this.dim!;
    const rows = this.rowsPerSegment;
    const descriptor: SegmentDescriptor = { id: nextSegmentId++, rows, dim, buffer: new SharedArrayBuffer(segmentByteLength(rows, dim)) };
    const segment: Segment = { descriptor, data: vectorView(descriptor), liveness: livenessView(descriptor), header: headerView(descriptor), sketches: sketchView(descriptor), superseded: supersededView(descriptor) };
    // Rows are sketched as they are written, so a new segment's sketches are valid from the start.
    if (this.sketcher) Atomics.store(segment.header, 0, this.sketcher.id);
    this.segments.push(segment);
    this.listener?.created([descriptor]);
  }

  private locate(slot: number): { seg: Segment; row: number } {
    return { seg: this.segments[Math.floor(slot / this.rowsPerSegment)], row: slot % this.rowsPerSegment };
  }

  /** Retires the slot of a live record's previous version, keeping it readable for the views open before the update. */
  private supersede(previous: StoredRecord, newSlot: number): void {
    const { seg, row } = this.locate(previous.slot);
    // Marked before the live bit clears, so a scan that sees the bit cleared also sees the mark (Atomics are ordered).
    Atomics.store(seg.superseded, row, newSlot + 1);
    if (this.openViews.size > 0) {
      this.retained.set(previous.slot, { record: previous, newSlot });
      this.retainedOrder.push(previous.slot);
    }
    this.retireSlot(previous.slot);
  }

  /** A new layout: views of the old one see nothing, and its retained versions are gone with it. */
  private forgetViews(): void {
    this.openViews.clear();
    this.retained.clear();
    this.retainedOrder = [];
  }

  private retireSlot(slot: number): void {
    const { seg, row } = this.locate(slot);
    setLive(seg.liveness, row, false);
    this.slotIds[slot] = undefined;
  }
}

function setLive(liveness: Int32Array, row: number, live: boolean): void {
  const bit = 1 << (row & 31);
  if (live) Atomics.or(liveness, row >>> 5, bit);
  else Atomics.and(liveness, row >>> 5, ~bit);
}
