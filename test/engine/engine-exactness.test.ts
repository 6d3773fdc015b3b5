// Exact k-NN through real scan workers equals a brute-force reference, for every metric, with and without filters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VecStoreEngine } from '../../src/engine/engine.js';
import { simsimdIsNative } from '../../src/distance/simsimd-native.js';
import { normalizeInPlace, rankDistanceFn, scoreFromRankDistance, type MetricName } from '../../src/distance/metric.js';
import { referenceRankDistance } from '../../src/distance/reference.js';
import { compileFilter } from '../../src/engine/filter.js';
import { randomVectors } from '../helpers/random.js';

/** Brute force over the same stored vectors: rank by (distance, insertion order). */
function bruteForce(metric: MetricName, stored: Array<{ id: string; vector: Float32Array; metadata: Record<string, unknown> }>, query: Float32Array, k: number, filter?: string) {
  const rank = rankDistanceFn(metric);
  const q = metric === 'cosine' ? normalizeInPlace(Float32Array.from(query)) : query;
  const pred = filter ? compileFilter(filter) : () => true;
  return stored
    .map((r, order) => ({ id: r.id, order, d: rank(q, metric === 'cosine' ? normalizeInPlace(Float32Array.from(r.vector)) : r.vector), ok: pred(r.metadata) }))
    .filter((r) => r.ok)
    .sort((a, b) => a.d - b.d || a.order - b.order)
    .slice(0, k);
}

test('the native simsimd binary is in use', () => {
  assert.equal(simsimdIsNative, true);
});

for (const metric of ['cosine', 'dot', 'euclidean'] as MetricName[]) {
  for (const [count, dim] of [[5, 3], [300, 13], [5000, 37], [9000, 128]]) {
    test(`${metric}: ${count} × ${dim} equals brute force, with and without a filter`, async () => {
      const engine = new VecStoreEngine({ metric, threads: 2, cacheSize: 0, rowsPerSegment: count > 1000 ? 1024 : undefined });
      try {
        const vectors = randomVectors(count, dim, count * 31 + dim);
        const stored = vectors.map((vector, i) => ({ id: `v${i}`, vector, metadata: { i, bucket: i % 3 } }));
        for (let i = 0; i < stored.length; i += 1000) {
          const res = await engine.batchUpsert(stored.slice(i, i + 1000).map((r) => ({ id: r.id, vector: Array.from(r.vector), metadata: r.metadata })));
          assert.deepEqual(res.errors, []);
        }
        const queries = randomVectors(12, dim, 7);
        await Promise.all(queries.map(async (query, qi) => {
          const k = 1 + (qi % 10);
          const filter = qi % 2 === 0 ? undefined : 'bucket = 1';
          const answer = await engine.query({ vector: query, k, filter });
          const expected = bruteForce(metric, stored, query, k, filter);
          assert.deepEqual(answer.results.map((r) => r.id), expected.map((e) => e.id));
          for (let i = 0; i < expected.length; i++) {
            const ref = referenceRankDistance(metric, metric === 'cosine' ? normalizeInPlace(Float32Array.from(query)) : query,
              metric === 'cosine' ? normalizeInPlace(Float32Array.from(stored[expected[i].order].vector)) : stored[expected[i].order].vector);
            assert.ok(Math.abs(answer.results[i].score - scoreFromRankDistance(metric, ref)) < 1e-3, 'score matches the plain JavaScript reference');
          }
          if (filter) assert.equal(answer.stats.filtered_count, stored.filter((r) => r.metadata.bucket === 1).length);
        }));
      } finally {
        await engine.close();
      }
    });
  }
}

test('ties go to the record written first; duplicates never appear twice', async () => {
  const engine = new VecStoreEngine({ metric: 'euclidean', threads: 2, cacheSize: 0 });
  try {
    for (let i = 0; i < 5; i++) await engine.upsert({ id: `same${i}`, vector: Float32Array.of(1, 1) });
    await engine.upsert({ id: 'far', vector: Float32Array.of(9, 9) });
    const answer = await engine.query({ vector: Float32Array.of(1, 1), k: 3 });
    assert.deepEqual(answer.results.map((r) => r.id), ['same0', 'same1', 'same2']);
    assert.equal(answer.results[0].score, 0);
  } finally {
    await engine.close();
  }
});
