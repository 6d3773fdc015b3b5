// Tests of the benchmark's exact ground truth (brute-force top-k, ties by index) and of recall@k.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rankDistanceFn, type MetricName } from '../../src/distance/metric.js';
import { syntheticDataset, type Dataset } from '../../bench/datasets.js';
import {
  exactTopK,
  groundTruthFromIds,
  prepareForMetric,
  recallAtK,
  withDistances,
  type GroundTruth,
} from '../../bench/ground-truth.js';

function ds(rows: number[][]): Dataset {
  return { dim: rows[0].length, count: rows.length, data: new Float32Array(rows.flat()) };
}

function idsOf(t: GroundTruth, q: number): number[] {
  return Array.from(t.ids.subarray(q * t.k, (q + 1) * t.k));
}

test('euclidean: nearest first, by squared L2 as the rank distance', () => {
  const base = ds([[0, 0], [10, 0], [1, 1], [3, 0], [-2, 0]]);
  const t = exactTopK(base, ds([[0.1, 0], [9, 0]]), 3, 'euclidean');
  assert.deepEqual(idsOf(t, 0), [0, 2, 4]);
  assert.deepEqual(idsOf(t, 1), [1, 3, 2]);
  assert.ok(t.distances);
  assert.ok(Math.abs(t.distances[0] - 0.01) < 1e-6);
  assert.ok(Math.abs(t.distances[1] - (0.81 + 1)) < 1e-5);
});

test('ties are broken by row index, whatever the scan order of the heap', () => {
  // Rows 1, 3, 4 and 6 are the same point; only the two lowest indexes may be in a top-3 that starts with row 0.
  const base = ds([[0, 0], [1, 0], [5, 5], [1, 0], [1, 0], [9, 9], [1, 0]]);
  const t = exactTopK(base, ds([[0, 0]]), 3, 'euclidean');
  assert.deepEqual(idsOf(t, 0), [0, 1, 3]);
  const all = exactTopK(base, ds([[1, 0]]), 7, 'euclidean');
  assert.deepEqual(idsOf(all, 0), [1, 3, 4, 6, 0, 2, 5]);
});

test('cosine ignores length; dot does not', () => {
  const base = ds([[10, 0], [0.5, 0.5], [0, 3], [1, 0.01]]);
  const q = ds([[2, 0]]);
  assert.deepEqual(idsOf(exactTopK(base, q, 2, 'cosine'), 0), [0, 3]);
  // Dot rewards length: [10, 0] first, then the long-ish [1, 0.01].
  assert.deepEqual(idsOf(exactTopK(base, q, 2, 'dot'), 0), [0, 3]);
  const q2 = ds([[1, 1]]);
  assert.deepEqual(idsOf(exactTopK(base, q2, 2, 'cosine'), 0), [1, 3]);
  assert.deepEqual(idsOf(exactTopK(base, q2, 2, 'dot'), 0), [0, 2]);
  // The caller's data is not normalised in place.
  assert.equal(base.data[0], 10);
});

test('k larger than the candidates pads with -1; accept restricts candidates', () => {
  const base = ds([[0], [1], [2], [3], [4], [5]]);
  const t = exactTopK(base, ds([[2.2]]), 8, 'euclidean');
  assert.deepEqual(idsOf(t, 0), [2, 3, 1, 4, 0, 5, -1, -1]);
  const odd = exactTopK(base, ds([[2.2]]), 2, 'euclidean', { accept: (r) => r % 2 === 1 });
  assert.deepEqual(idsOf(odd, 0), [3, 1]);
});

test('matches a sort of every row by the same kernel, for every metric', () => {
  const base = syntheticDataset({ count: 700, dim: 19, seed: 11 });
  const queries = syntheticDataset({ count: 9, dim: 19, seed: 11, stream: 1 });
  for (const metric of ['cosine', 'dot', 'euclidean'] as MetricName[]) {
    const k = 13;
    const t = exactTopK(base, queries, k, metric);
    const b = prepareForMetric(base, metric);
    const q = prepareForMetric(queries, metric);
    const dist = rankDistanceFn(metric);
    for (let i = 0; i < queries.count; i++) {
      const qv = q.data.subarray(i * 19, (i + 1) * 19);
      const expected = Array.from({ length: base.count }, (_, r) => ({ r, d: dist(qv, b.data.subarray(r * 19, (r + 1) * 19)) }))
        .sort((x, y) => x.d - y.d || x.r - y.r)
        .slice(0, k)
        .map((x) => x.r);
      assert.deepEqual(idsOf(t, i), expected, `${metric} query ${i}`);
    }
  }
});

test('dimension mismatch and bad k are refused', () => {
  assert.throws(() => exactTopK(ds([[1, 2]]), ds([[1, 2, 3]]), 1, 'dot'), /dimension mismatch/);
  assert.throws(() => exactTopK(ds([[1, 2]]), ds([[1, 2]]), 0, 'dot'), /k must be a positive integer/);
});

const truth: GroundTruth = {
  k: 4,
  count: 3,
  ids: new Int32Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
  distances: new Float64Array([1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]),
};

test('recall@k: intersection over k, mean over answered queries', () => {
  assert.deepEqual(recallAtK([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]], truth, 4), { recall: 1, evaluated: 3 });
  // Order within the top-k does not matter.
  assert.equal(recallAtK([[3, 2, 1, 0]], truth, 4).recall, 1);
  // Query 0: 2 of 4; query 1: 1 of 4; query 2 unanswered and not counted.
  assert.deepEqual(recallAtK([[0, 1, 99, 98], [7, 50, 51, 52], null], truth, 4), { recall: (0.5 + 0.25) / 2, evaluated: 2 });
  // Recall@2 uses the first two truths and the first two answers.
  assert.equal(recallAtK([[1, 0, 2, 3]], truth, 2).recall, 1);
  assert.equal(recallAtK([[2, 3, 0, 1]], truth, 2).recall, 0);
  // Duplicates count once; short answers are penalised.
  assert.equal(recallAtK([[0, 0, 0, 0]], truth, 4).recall, 0.25);
  assert.equal(recallAtK([[0, 1]], truth, 4).recall, 0.5);
  assert.deepEqual(recallAtK([null, undefined], truth, 4), { recall: NaN, evaluated: 0 });
  assert.throws(() => recallAtK([[0]], truth, 5), /larger than the ground truth/);
});

test('recall@k credits an answer that ties the k-th true distance, and nothing farther', () => {
  const tie = (_q: number, row: number): number => (row === 42 ? 4 : row === 43 ? 4.01 : 100);
  assert.equal(recallAtK([[0, 1, 2, 42]], truth, 4, tie).recall, 1);
  assert.equal(recallAtK([[0, 1, 2, 43]], truth, 4, tie).recall, 0.75);
  // A row clearly closer than the k-th truth is one the truth excluded (e.g. filtered out): not a tie.
  const closer = (_q: number, row: number): number => (row === 42 ? 0.5 : 100);
  assert.equal(recallAtK([[0, 1, 2, 42]], truth, 4, closer).recall, 0.75);
  // Without distances in the truth, only the listed ids count.
  assert.equal(recallAtK([[0, 1, 2, 42]], { ...truth, distances: null }, 4, tie).recall, 0.75);
});

test('recall@k when fewer than k rows qualify (e.g. a narrow filter)', () => {
  const t: GroundTruth = { k: 3, count: 2, ids: new Int32Array([5, 6, -1, -1, -1, -1]), distances: null };
  assert.equal(recallAtK([[5, 6]], t, 3).recall, 1);
  assert.equal(recallAtK([[6]], t, 3).recall, 0.5);
  assert.equal(recallAtK([null, []], t, 3).recall, 1);
  assert.equal(recallAtK([null, [1]], t, 3).recall, 0);
});

test('ground truth from an id matrix keeps the first k columns; distances can be added for tie checks', () => {
  const m = { dim: 3, count: 2, data: new Int32Array([2, 1, 0, 1, 0, 2]) };
  const t = groundTruthFromIds(m, 2);
  assert.deepEqual(Array.from(t.ids), [2, 1, 1, 0]);
  assert.equal(t.distances, null);
  assert.throws(() => groundTruthFromIds(m, 4), /fewer than k = 4/);

  const base = ds([[0, 0], [1, 0], [3, 0]]);
  const queries = ds([[3, 0], [1, 0]]);
  const withD = withDistances(t, base, queries, 'euclidean');
  assert.deepEqual(Array.from(withD.distances ?? []), [0, 4, 0, 1]);
  // The file's truth agrees with the computed one here.
  assert.deepEqual(Array.from(exactTopK(base, queries, 2, 'euclidean').ids), Array.from(t.ids));
});
