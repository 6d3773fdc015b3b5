// The flat reader of Parquet vector columns: uniform non-null lists come back as flat spans of whole rows, equal to
// what hyparquet assembles, in the layouts hyparquet-writer and pyarrow write; anything else is left to the general
// path from the first row it cannot read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { parquetMetadata, parquetReadObjects, type FileMetaData } from 'hyparquet';
import { PARQUET_COMPRESSORS, readFlatVectors, type FlatSpan } from '../../src/tools/parquet-vectors.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/parquet');

function written(vectors: Array<number[] | null>, elementType: 'FLOAT' | 'DOUBLE' = 'FLOAT', rowGroupSize = 1000) {
  const schema = [
    { name: 'root', num_children: 1 },
    { name: 'vector', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', type: elementType, repetition_type: 'OPTIONAL' },
  ];
  const buffer = parquetWriteBuffer({ columnData: [{ name: 'vector', data: vectors }], schema: schema as never, rowGroupSize });
  return { buffer, metadata: parquetMetadata(buffer) };
}

function fixture(name: string) {
  const bytes = fs.readFileSync(path.join(FIXTURES, name));
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return { buffer, metadata: parquetMetadata(buffer) };
}

/** Every span of a group, and whether the reader read all of it. */
async function spansOf(buffer: ArrayBuffer, metadata: FileMetaData, group: number, minRows: number): Promise<{ spans: FlatSpan[]; whole: boolean }> {
  const spans: FlatSpan[] = [];
  const reader = readFlatVectors(buffer, metadata, 'vector', group, minRows);
  for (;;) {
    const step = await reader.next();
    if (step.done) return { spans, whole: step.value };
    spans.push(step.value);
  }
}

/** The rows the reader yields, checked against hyparquet's assembled lists; returns how many rows it read of each group. */
async function compareWithHyparquet(buffer: ArrayBuffer, metadata: FileMetaData, minRows: number, type: typeof Float32Array | typeof Float64Array) {
  // hyparquet with its own Snappy decoder: the reference shares no code with the reader under test.
  const assembled = (await parquetReadObjects({ file: buffer })).map((r) => r.vector as number[]);
  const read: Array<{ rows: number; whole: boolean }> = [];
  let groupStart = 0;
  for (let g = 0; g < metadata.row_groups.length; g++) {
    const { spans, whole } = await spansOf(buffer, metadata, g, minRows);
    let row = groupStart;
    for (const [i, span] of spans.entries()) {
      assert.ok(span.values instanceof type, `group ${g} span ${i}: ${span.values.constructor.name}`);
      assert.equal(span.values.length, span.rows * span.dimension);
      if (i < spans.length - 1 || !whole) assert.ok(span.rows >= minRows, `group ${g} span ${i} holds ${span.rows} rows`);
      for (let r = 0; r < span.rows; r++, row++) assert.deepEqual(Array.from(span.values.subarray(r * span.dimension, (r + 1) * span.dimension)), assembled[row], `row ${row}`);
    }
    read.push({ rows: row - groupStart, whole });
    groupStart += Number(metadata.row_groups[g].num_rows);
  }
  return read;
}

test("hyparquet-writer's layout (version 2 pages): floats and doubles come back flat, in spans of whole rows", async () => {
  const vectors = Array.from({ length: 300 }, (_, i) => [i, -i / 7, Math.fround(1 / (i + 1)), 0.5]);
  for (const [type, array] of [['FLOAT', Float32Array], ['DOUBLE', Float64Array]] as const) {
    const { buffer, metadata } = written(vectors, type, 128);
    assert.equal(metadata.row_groups.length, 3);
    assert.deepEqual(await compareWithHyparquet(buffer, metadata, 50, array), [{ rows: 128, whole: true }, { rows: 128, whole: true }, { rows: 44, whole: true }]);
  }
});

test("pyarrow's layouts: a dictionary that falls back to PLAIN pages, version 2 pages, doubles without compression", async () => {
  for (const [name, array] of [['pyarrow-dictionary.parquet', Float32Array], ['pyarrow-v2-plain.parquet', Float32Array], ['pyarrow-double-uncompressed.parquet', Float64Array]] as const) {
    const { buffer, metadata } = fixture(name);
    // Small pages: spans of 10 rows gather several pages, and rows may straddle pages.
    assert.deepEqual(await compareWithHyparquet(buffer, metadata, 10, array), [{ rows: 128, whole: true }, { rows: 128, whole: true }, { rows: 44, whole: true }], name);
  }
  const { metadata } = fixture('pyarrow-dictionary.parquet');
  assert.ok(metadata.row_groups[0].columns[1].meta_data!.encodings.includes('RLE_DICTIONARY'));
});

test('ZSTD (Polars\' default), GZIP, BROTLI and LZ4_RAW pages: the flat reader and the general path give the Snappy file\'s rows', async () => {
  const reference = await parquetReadObjects({ file: fixture('pyarrow-v2-plain.parquet').buffer });
  for (const codec of ['zstd', 'gzip', 'brotli', 'lz4']) {
    const { buffer, metadata } = fixture(`pyarrow-${codec}.parquet`);
    assert.notEqual(metadata.row_groups[0].columns[1].meta_data!.codec, 'SNAPPY');
    const flat: number[][] = [];
    for (let g = 0; g < metadata.row_groups.length; g++) {
      const { spans, whole } = await spansOf(buffer, metadata, g, 10);
      assert.ok(whole, `${codec}: group ${g} not read flat`);
      for (const span of spans) for (let r = 0; r < span.rows; r++) flat.push(Array.from(span.values.subarray(r * span.dimension, (r + 1) * span.dimension)));
    }
    assert.deepEqual(flat, reference.map((row) => row.vector), codec);
    assert.deepEqual(await parquetReadObjects({ file: buffer, compressors: PARQUET_COMPRESSORS }), reference, codec);
  }
});

test('BYTE_STREAM_SPLIT pages (floats in version 1 pages, doubles in version 2) are read flat, as hyparquet reads them', async () => {
  const reference = await parquetReadObjects({ file: fixture('pyarrow-v2-plain.parquet').buffer });
  for (const [name, array] of [['pyarrow-byte-stream-split.parquet', Float32Array], ['pyarrow-byte-stream-split-double.parquet', Float64Array]] as const) {
    const { buffer, metadata } = fixture(name);
    assert.ok(metadata.row_groups[0].columns[1].meta_data!.encodings.includes('BYTE_STREAM_SPLIT'), name);
    assert.deepEqual(await compareWithHyparquet(buffer, metadata, 10, array), [{ rows: 128, whole: true }, { rows: 128, whole: true }, { rows: 44, whole: true }], name);
    // The same values as the PLAIN file (written as float32, so the doubles are those floats widened).
    const values = (await parquetReadObjects({ file: buffer })).map((row) => row.vector);
    assert.deepEqual(values, reference.map((row) => row.vector), name);
  }
});

test('a ragged row or a null element stops the flat reader; the rows before it are yielded whole and right', async () => {
  const { buffer, metadata } = fixture('pyarrow-ragged.parquet');
  const [{ rows, whole }] = await compareWithHyparquet(buffer, metadata, 10, Float32Array);
  assert.equal(whole, false);
  // Row 200 is one value longer than the others: no row from it on is yielded, and those of the pages before it are.
  assert.ok(rows <= 200 && rows >= 100, `${rows} rows read flat`);
  for (const vectors of [[[1, 2], [3, 4, 5]], [[1, 2], null], [[1, 2], [3, null as unknown as number]], [[], []]]) {
    const { buffer: b, metadata: m } = written(vectors);
    const { spans, whole: w } = await spansOf(b, m, 0, 1);
    assert.equal(w, false, JSON.stringify(vectors));
    assert.ok(spans.reduce((n, s) => n + s.rows, 0) <= 1, JSON.stringify(vectors));
  }
});
