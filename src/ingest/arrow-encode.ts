// Encodes records as an Arrow IPC stream (apache-arrow): what `vecstore import` and the benchmarks send to batch-upsert.
import { Field, FixedSizeList, Float32, Table, Utf8, makeData, makeVector, tableToIPC, vectorFromArray, type Vector } from 'apache-arrow';

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
    id: vectorFromArray(batch.ids, new Utf8()),
    vector: makeVector(makeData({ type: listType, length: n, nullCount: 0, child: values })),
  };
  if (batch.metadata) columns.metadata = vectorFromArray(batch.metadata.map((m) => (m === undefined ? null : JSON.stringify(m))), new Utf8());
  if (batch.texts) columns.text = vectorFromArray(batch.texts.map((t) => t ?? null), new Utf8());
  return tableToIPC(new Table(columns), 'stream');
}
