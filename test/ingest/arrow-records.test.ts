// The Arrow stream reader alone (no threads, no server): multi-batch streams, list layouts, nulls, the end-of-stream check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Field, Float64, List, RecordBatchStreamWriter, Table, Utf8, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { VecStoreError } from '../../src/errors.js';
import { encodeArrowBatch } from '../../src/ingest/arrow-encode.js';
import { decodeArrowStream } from '../../src/ingest/arrow-records.js';

test('rows of a stream of several record batches are read across batch boundaries', () => {
  const batch = (from: number) => encodeArrowBatch({ ids: [`a${from}`, `a${from + 1}`, `a${from + 2}`], dimension: 2, vectors: Float32Array.from([from, 0, from + 1, 0, from + 2, 0]) });
  // One stream with three record batches: the schema once, the batches, one end-of-stream marker.
  const writer = new RecordBatchStreamWriter();
  for (const from of [0, 3, 6]) for (const rb of tableFromIPC(batch(from)).batches) writer.write(rb);
  writer.finish();
  const rows = decodeArrowStream(writer.toUint8Array(true));
  assert.equal(rows.count, 9);
  for (let i = 0; i < 9; i++) {
    const row = rows.rowAt(i) as { id: string; vector: Float32Array };
    assert.equal(row.id, `a${i}`);
    assert.deepEqual(Array.from(row.vector), [i, 0]);
  }
});

test('list<float64> rows come out as numbers, with nulls where the list or an element is null', () => {
  const table = new Table({
    id: vectorFromArray(['x', 'y', 'z'], new Utf8()),
    vector: vectorFromArray([[1.5, 2.5], null, [3, null]], new List(new Field('item', new Float64(), true))),
  });
  const rows = decodeArrowStream(tableToIPC(table, 'stream'));
  assert.deepEqual([0, 1, 2].map((i) => (rows.rowAt(i) as { vector: unknown }).vector), [[1.5, 2.5], null, [3, null]]);
});

test('a stream without its end-of-stream marker, or with a broken message, is invalid_arrow', () => {
  const stream = encodeArrowBatch({ ids: ['a'], dimension: 2, vectors: Float32Array.from([1, 2]) });
  for (const bytes of [stream.subarray(0, stream.length - 8), stream.subarray(0, stream.length - 4), new Uint8Array(0), Uint8Array.from([...stream.subarray(0, 16), 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])]) {
    assert.throws(() => decodeArrowStream(bytes), (err: unknown) => err instanceof VecStoreError && err.code === 'invalid_arrow');
  }
});

test('the encoder writes ids, metadata and text as apache-arrow reads them: non-ASCII text, absent values as nulls', () => {
  const ids = ['a', 'é', '日本', 'emoji-😀', ''];
  const metadata = [{ lang: 'fr', note: 'déjà vu' }, undefined, { n: 1 }, undefined, { s: '"quoted"\n' }];
  const texts = [undefined, 'naïve café', '', 'x😀y', undefined];
  const table = tableFromIPC(encodeArrowBatch({ ids, dimension: 1, vectors: Float32Array.from([1, 2, 3, 4, 5]), metadata, texts }));
  assert.deepEqual(table.getChild('id')!.toArray(), ids);
  assert.deepEqual(Array.from(table.getChild('metadata')!), metadata.map((m) => (m === undefined ? null : JSON.stringify(m))));
  assert.deepEqual(Array.from(table.getChild('text')!), texts.map((t) => t ?? null));
  assert.equal(table.getChild('metadata')!.nullCount, 2);
});
