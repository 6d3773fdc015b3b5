// The flat reader of Parquet vector columns: uniform non-null lists come back as one array, anything else is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { readFlatVectors } from '../../src/tools/parquet-vectors.js';

function file(vectors: Array<number[] | null>, elementType: 'FLOAT' | 'DOUBLE' = 'FLOAT', rowGroupSize = 1000) {
  const schema = [
    { name: 'root', num_children: 1 },
    { name: 'vector', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', type: elementType, repetition_type: 'OPTIONAL' },
  ];
  const buffer = parquetWriteBuffer({ columnData: [{ name: 'vector', data: vectors }], schema: schema as never, rowGroupSize });
  return { buffer, metadata: parquetMetadata(buffer) };
}

test('uniform lists of floats or doubles come back flat, group by group, equal to what hyparquet assembles', async () => {
  const vectors = Array.from({ length: 300 }, (_, i) => [i, -i / 7, Math.fround(1 / (i + 1)), 0.5]);
  for (const type of ['FLOAT', 'DOUBLE'] as const) {
    const { buffer, metadata } = file(vectors, type, 128);
    assert.equal(metadata.row_groups.length, 3);
    const assembled = (await parquetReadObjects({ file: buffer })).map((r) => r.vector as number[]);
    let row = 0;
    for (let g = 0; g < 3; g++) {
      const flat = await readFlatVectors(buffer, metadata, 'vector', g);
      assert.ok(flat, `group ${g} of ${type}`);
      assert.equal(flat.dimension, 4);
      assert.equal(flat.values instanceof (type === 'FLOAT' ? Float32Array : Float64Array), true);
      for (let i = 0; i < flat.values.length / 4; i++, row++) assert.deepEqual(Array.from(flat.values.subarray(i * 4, i * 4 + 4)), assembled[row]);
    }
    assert.equal(row, 300);
  }
});

test('ragged lists, a null list or a null element are left to the general path', async () => {
  for (const vectors of [[[1, 2], [3, 4, 5]], [[1, 2], null], [[1, 2], [3, null as unknown as number]], [[], []]]) {
    const { buffer, metadata } = file(vectors);
    assert.equal(await readFlatVectors(buffer, metadata, 'vector', 0), undefined, JSON.stringify(vectors));
  }
});
