// Scans that skip rows by their sketch bound stay exact: structured data, every metric, filters, compaction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VecStoreEngine } from '../../src/engine/engine.js';
import { normalizeInPlace, rankDistanceFn, type MetricName } from '../../src/distance/metric.js';
import { principalBasis } from '../../src/store/projection-basis.js';
import { seededRandom } from '../helpers/random.js';

/** Vectors near a random `latent`-dimensional subspace of R^dim: the kind of data the sketch bound prunes well. */
function lowRankVectors(count: number, dim: number, latent: number, seed: number): Float32Array[] {
  const rand = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const axes = Array.from({ length: latent }, () => Float32Array.from({ length: dim }, gauss));
  return Array.from({ length: count }, () => {
    const v = new Float32Array(dim);
    for (const axis of axes) {
      const w = gauss();
      for (let i = 0; i < dim; i++) v[i] += w * axis[i];
    }
    for (let i = 0; i < dim; i++) v[i] += 0.05 * gauss();
    return v;
  });
}

function bruteForce(metric: MetricName, vectors: Float32Array[], alive: (i: number) => boolean, query: Float32Array, k: number): string[] {
  const rank = rankDistanceFn(metric);
  const prep = (v: Float32Array) => (metric === 'cosine' ? normalizeInPlace(Float32Array.from(v)) : v);
  const q = prep(query);
  return vectors
    .map((v, i) => ({ i, d: rank(q, prep(v)) }))
    .filter(({ i }) => alive(i))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .slice(0, k)
    .map(({ i }) => `p${i}`);
}

test('the principal basis is orthonormal and captures a low-rank sample', () => {
  const sample = lowRankVectors(1024, 96, 6, 1);
  const m = 16;
  const basis = principalBasis(sample, 96, m);
  for (let a = 0; a < m; a++) {
    for (let b = 0; b < m; b++) {
      let dot = 0;
      for (let i = 0; i < 96; i++) dot += basis[a * 96 + i] * basis[b * 96 + i];
      assert.ok(Math.abs(dot - (a === b ? 1 : 0)) < 1e-9, `rows ${a}, ${b}`);
    }
  }
  let energy = 0;
  let captured = 0;
  for (const v of sample) {
    for (let i = 0; i < 96; i++) energy += v[i] * v[i];
    for (let j = 0; j < m; j++) {
      let p = 0;
      for (let i = 0; i < 96; i++) p += basis[j * 96 + i] * v[i];
      captured += p * p;
    }
  }
  assert.ok(captured / energy > 0.99, `captured ${captured / energy}`);
});

for (const metric of ['cosine', 'dot', 'euclidean'] as MetricName[]) {
  test(`${metric}: pruned scans equal brute force on structured data, with filters and after compaction`, async () => {
    const dim = 256;
    const vectors = lowRankVectors(6000, dim, 8, 7);
    const engine = new VecStoreEngine({ metric, threads: 2, cacheSize: 0, rowsPerSegment: 1024 });
    try {
      for (let i = 0; i < vectors.length; i += 1000) {
        await engine.batchUpsert(vectors.slice(i, i + 1000).map((v, j) => ({ id: `p${i + j}`, vector: Array.from(v), metadata: { even: (i + j) % 2 === 0 } })));
      }
      const queries = lowRankVectors(24, dim, 8, 7).map((q, i) => {
        // Queries from the same subspace (same seed, so the same axes), nudged so they are not stored rows.
        const out = Float32Array.from(q);
        out[i % dim] += 0.01;
        return out;
      });
      let prunedSum = 0;
      const check = async (alive: (i: number) => boolean) => {
        await Promise.all(queries.map(async (query, qi) => {
          const filter = qi % 3 === 0 ? 'even = true' : undefined;
          const answer = await engine.query({ vector: query, k: 10, filter });
          const expected = bruteForce(metric, vectors, (i) => alive(i) && (filter === undefined || i % 2 === 0), query, 10);
          assert.deepEqual(answer.results.map((r) => r.id), expected, `query ${qi}`);
          prunedSum += answer.stats.pruned_fraction;
        }));
      };
      await check(() => true);
      assert.ok(prunedSum / queries.length > 0.5, `the bound skipped most rows (mean pruned fraction ${prunedSum / queries.length})`);
      for (let i = 0; i < 6000; i += 4) await engine.delete(`p${i}`);
      await engine.compact();
      await check((i) => i % 4 !== 0);
    } finally {
      await engine.close();
    }
  });
}
