// The import's batch builder: vectors that follow each other in the source's array are taken as a view of it, and a
// row that breaks the run (a rejected row, a vector from elsewhere) still leaves every kept row's own vector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ColumnBatchBuilder } from '../../src/tools/import-sources.js';

const DIM = 3;
const flat = Float32Array.from({ length: 10 * DIM }, (_, i) => i);
const row = (i: number) => flat.subarray(i * DIM, (i + 1) * DIM);

test('contiguous rows are a view of the source array, not a copy', () => {
  const builder = new ColumnBatchBuilder({}, false, false);
  for (let i = 2; i < 6; i++) builder.add(i + 1, { id: `r${i}`, vector: row(i) });
  const batch = builder.take();
  assert.equal(batch.vectors.buffer, flat.buffer);
  assert.deepEqual(Array.from(batch.vectors), Array.from(flat.subarray(2 * DIM, 6 * DIM)));
  assert.deepEqual(batch.ids, ['r2', 'r3', 'r4', 'r5']);
});

test('a rejected row, a gap or a vector from another array: the kept rows keep their own vectors', () => {
  const builder = new ColumnBatchBuilder({}, false, true);
  builder.add(1, { id: 'r0', vector: row(0), metadata: '{"a":1}' });
  builder.add(2, { id: 'r1', vector: row(1), metadata: '{not json' }); // rejected: the view stops at r0
  builder.add(3, { id: 'r2', vector: row(2) });
  builder.add(4, { id: 'x', vector: [9, 9, 9] });
  builder.add(5, { id: 'r3', vector: row(3) });
  const batch = builder.take();
  assert.deepEqual(batch.ids, ['r0', 'r2', 'x', 'r3']);
  assert.deepEqual(Array.from(batch.vectors), [0, 1, 2, 6, 7, 8, 9, 9, 9, 9, 10, 11]);
  assert.deepEqual(batch.rejected, [{ row: 2, id: 'r1', error: 'metadata: not valid JSON text' }]);
  assert.deepEqual(batch.metadata, [{ a: 1 }, undefined, undefined, undefined]);
  // The next batch starts afresh, as a view again.
  builder.add(6, { id: 'r4', vector: row(4) });
  builder.add(7, { id: 'r5', vector: row(5) });
  const next = builder.take();
  assert.equal(next.vectors.buffer, flat.buffer);
  assert.deepEqual(Array.from(next.vectors), [12, 13, 14, 15, 16, 17]);
});
