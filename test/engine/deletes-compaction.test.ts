// Deletes, soft deletes, restore and compaction through real workers, including compaction while queries run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VecStoreEngine } from '../../src/engine/engine.js';
import { VecStoreError } from '../../src/errors.js';
import { randomVectors } from '../helpers/random.js';

const DIM = 24;

async function filled(count: number): Promise<{ engine: VecStoreEngine; vectors: Float32Array[] }> {
  const engine = new VecStoreEngine({ metric: 'euclidean', threads: 2, cacheSize: 0, rowsPerSegment: 1024 });
  const vectors = randomVectors(count, DIM, 77);
  for (let i = 0; i < count; i += 1000) {
    await engine.batchUpsert(vectors.slice(i, i + 1000).map((v, j) => ({ id: `v${i + j}`, vector: Array.from(v), metadata: { n: i + j } })));
  }
  return { engine, vectors };
}

function reference(vectors: Float32Array[], alive: (i: number) => boolean, query: Float32Array, k: number): string[] {
  const scored: Array<[number, number]> = [];
  vectors.forEach((v, i) => {
    if (!alive(i)) return;
    let d = 0;
    for (let j = 0; j < DIM; j++) d += (v[j] - query[j]) ** 2;
    scored.push([d, i]);
  });
  return scored.sort((a, b) => a[0] - b[0] || a[1] - b[1]).slice(0, k).map(([, i]) => `v${i}`);
}

test('counts, hard and soft delete, restore, and not_found for unknown ids', async () => {
  const { engine, vectors } = await filled(3000);
  try {
    const deleted = new Set<number>();
    const soft = new Set<number>();
    for (let i = 0; i < 3000; i += 7) { await engine.delete(`v${i}`); deleted.add(i); }
    for (let i = 1; i < 3000; i += 11) if (!deleted.has(i)) { await engine.softDelete(`v${i}`); soft.add(i); }
    const stats = engine.stats();
    assert.equal(stats.total_vectors, 3000 - deleted.size);
    assert.equal(stats.deleted_vectors, soft.size);
    assert.equal(stats.active_vectors, 3000 - deleted.size - soft.size);
    const query = randomVectors(1, DIM, 5)[0];
    const alive = (i: number) => !deleted.has(i) && !soft.has(i);
    assert.deepEqual((await engine.query({ vector: query, k: 25 })).results.map((r) => r.id), reference(vectors, alive, query, 25));
    for (const i of soft) await engine.restore(`v${i}`);
    assert.deepEqual((await engine.query({ vector: query, k: 25 })).results.map((r) => r.id), reference(vectors, (i) => !deleted.has(i), query, 25));
    await assert.rejects(engine.delete('v0'), (e: VecStoreError) => e.code === 'not_found');
    await assert.rejects(engine.softDelete('nope'), (e: VecStoreError) => e.code === 'not_found');
    await assert.rejects(engine.restore('nope'), (e: VecStoreError) => e.code === 'not_found');
  } finally {
    await engine.close();
  }
});

test('compaction reclaims deleted and soft-deleted slots while queries keep running and stay exact', async () => {
  const { engine, vectors } = await filled(6000);
  try {
    const gone = new Set<number>();
    for (let i = 0; i < 6000; i += 3) { await engine.delete(`v${i}`); gone.add(i); }
    for (let i = 1; i < 6000; i += 9) { await engine.softDelete(`v${i}`); gone.add(i); }
    const storageBefore = engine.stats().storage_bytes;
    const queries = randomVectors(40, DIM, 8);
    const expected = queries.map((q) => reference(vectors, (i) => !gone.has(i), q, 10));
    let compacted: Promise<{ removedCount: number; freedBytes: number }> | undefined;
    for (let round = 0; round < 6; round++) {
      const answers = queries.map((q) => engine.query({ vector: q, k: 10 }));
      // Compaction starts while this round's scans are in flight on the old segments.
      if (round === 2) compacted = engine.compact();
      const results = await Promise.all(answers);
      results.forEach((answer, qi) => assert.deepEqual(answer.results.map((r) => r.id), expected[qi], `round ${round}`));
    }
    const { removedCount, freedBytes } = await compacted!;
    assert.equal(removedCount, gone.size);
    assert.ok(freedBytes > 0 && engine.stats().storage_bytes < storageBefore);
    const stats = engine.stats();
    assert.equal(stats.total_vectors, 6000 - gone.size, 'soft-deleted records are purged by compaction');
    assert.equal(stats.deleted_vectors, 0);
    assert.equal(stats.slots_used, 6000 - gone.size);
    await assert.rejects(engine.restore('v1'), (e: VecStoreError) => e.code === 'not_found');
    for (let qi = 0; qi < queries.length; qi++) {
      assert.deepEqual((await engine.query({ vector: queries[qi], k: 10 })).results.map((r) => r.id), expected[qi]);
    }
  } finally {
    await engine.close();
  }
});

test('validation: wrong length, NaN, Infinity and non-numbers are rejected with the reason; nothing is half-applied', async () => {
  const engine = new VecStoreEngine({ metric: 'cosine', threads: 1, cacheSize: 0, dimension: 3 });
  try {
    await assert.rejects(engine.upsert({ id: 'a', vector: Float32Array.of(1, 2) }), (e: VecStoreError) => e.code === 'dimension_mismatch' && /expected 3/.test(e.message));
    const batch = await engine.batchUpsert([
      { id: 'ok', vector: [1, 2, 3] },
      { id: 'nan', vector: [1, Number.NaN, 3] },
      { id: 'str', vector: [1, '2', 3] },
      { id: 'short', vector: [1, 2] },
      { id: 'inf', vector: [1, 2, Infinity] },
    ]);
    assert.equal(batch.inserted, 1);
    assert.deepEqual(batch.errors.map((e) => [e.index, e.code]), [[1, 'validation'], [2, 'validation'], [3, 'dimension_mismatch'], [4, 'validation']]);
    assert.match(batch.errors[0].error, /records\[1\]\.vector\[1\]/);
    assert.equal(engine.stats().total_vectors, 1);
  } finally {
    await engine.close();
  }
});
