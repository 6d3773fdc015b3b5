// Encodes records as an Arrow IPC stream (apache-arrow): what `vecstore import` and the benchmarks send to batch-upsert.
import { Field, FixedSizeList, Float32, Table, Utf8, makeData, makeVector, tableToIPC, type Vector } from 'apache-arrow';

/** Columns of a batch: vectors back to back (`ids.length × dimension` float32). */
export interface ColumnBatch {
  ids: string[];
  dimension: number;
  vectors: Float32Array;
  /** Per record, its metadata object (encoded as JSON text) or undefined. */
  metadata?: Array<Record<string, unknown> | undefined>;
  texts?: Array<string | undefined>;
}

/** One Arrow IPC stream: `id` utf8, `vector` fixed-size list of float32, optional `metadata` (JSON utf8) and `text`. */
export function encodeArrowBatch(batch: ColumnBatch): Uint8Array {
  const n = batch.ids.length;
  const values = makeData({ type: new Float32(), length: n * batch.dimension, data: batch.vectors.subarray(0, n * batch.dimension) });
  const listType = new FixedSizeList(batch.dimension, new Field('item', new Float32(), false));
  const columns: Record<string, Vector> = {
    id: utf8Vector(batch.ids),
    vector: makeVector(makeData({ type: listType, length: n, nullCount: 0, child: values })),
  };
  if (batch.metadata) columns.metadata = utf8Vector(batch.metadata.map((m) => (m === undefined ? undefined : JSON.stringify(m))));
  if (batch.texts) columns.text = utf8Vector(batch.texts);
  return tableToIPC(new Table(columns), 'stream');
}

const utf8 = new TextEncoder();

/**
 * A utf8 column (undefined → null) written in one pass into its offsets, bytes and validity buffers. apache-arrow's
 * vectorFromArray goes through a builder that encodes and grows value by value: for a batch's ids and metadata that
 * cost ~3 µs a row, as much as the rest of the encoding.
 */
function utf8Vector(strings: ReadonlyArray<string | undefined>): Vector<Utf8> {
  const n = strings.length;
  let units = 0;
  for (const s of strings) if (s !== undefined) units += s.length;
  // A UTF-16 code unit takes at most 3 bytes of UTF-8 (a surrogate pair, two units, takes 4).
  const bytes = new Uint8Array(3 * units);
  const offsets = new Int32Array(n + 1);
  let validity: Uint8Array | undefined;
  let nulls = 0;
  let used = 0;
  for (let i = 0; i < n; i++) {
    const s = strings[i];
    if (s === undefined) {
      validity ??= new Uint8Array((n + 7) >> 3).fill(0xff);
      validity[i >> 3] &= ~(1 << (i & 7));
      nulls++;
    } else {
      used += utf8.encodeInto(s, bytes.subarray(used)).written;
    }
    offsets[i + 1] = used;
  }
  return makeVector(makeData({ type: new Utf8(), length: n, nullCount: nulls, nullBitmap: validity, valueOffsets: offsets, data: bytes.subarray(0, used) }));
}
