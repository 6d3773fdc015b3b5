// The graph kernel without threads: HNSW built over a store's shared segments finds the true neighbours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VectorStore } from '../../src/store/vector-store.js';
import { mapSegmentRows } from '../../src/search/scan-kernel.js';
import { GraphScratch, HnswGraph, type GraphViews } from '../../src/index/hnsw-graph.js';
import { graphSegmentBytes, levelFor, newGraphHeader } from '../../src/index/graph-layout.js';
import { rankDistanceFn } from '../../src/distance/metric.js';
import { MinQueue, heapOffer, heapSortAscending } from '../../src/search/topk-heap.js';
import { syntheticDataset, rowOf } from '../../bench/datasets.js';
import { sketchDimFor } from '../../src/store/segment-layout.js';
import type { MetricName } from '../../src/distance/metric.js';

function buildGraph(metric: MetricName, count: number, dim: number, m = 12, efConstruction = 100, sketches = false) {
  const base = syntheticDataset({ count, dim, seed: 11, latentDim: 8, clusters: 20 });
  const store = new VectorStore({ metric, rowsPerSegment: 1024 });
  for (let i = 0; i < count; i++) store.upsert(`r${i}`, Float32Array.from(rowOf(base, i)), undefined, undefined);
  const segments = store.segmentDescriptors();
  const views: GraphViews = {
    m,
    rowsPerSegment: 1024,
    header: new Int32Array(newGraphHeader()),
    graph: segments.map((s) => new Int32Array(new SharedArrayBuffer(graphSegmentBytes(s.rows, m)))),
    vectors: segments.map(mapSegmentRows),
    kernel: rankDistanceFn(metric),
    // The store sketches rows from 256 dimensions on; a graph without sketches must not rely on them.
    sketchM: sketches ? sketchDimFor(dim) : 0,
    negate: metric !== 'euclidean',
  };
  const graph = new HnswGraph(views, new GraphScratch());
  for (let slot = 0; slot < count; slot++) graph.insert(slot, levelFor(slot, m, 7), efConstruction);
  return { store, views, graph, base };
}

function exactTop(store: VectorStore, kernel: (a: Float32Array, b: Float32Array) => number, query: Float32Array, k: number, accept: (slot: number) => boolean): number[] {
  const all: Array<[number, number]> = [];
  for (let slot = 0; slot < store.slotCount; slot++) if (accept(slot)) all.push([kernel(query, store.vectorAt(slot)), slot]);
  return all.sort((a, b) => a[0] - b[0] || a[1] - b[1]).slice(0, k).map(([, slot]) => slot);
}

for (const metric of ['euclidean', 'cosine'] as MetricName[]) {
  test(`${metric}: HNSW over 4,000 × 24 vectors has recall@10 ≥ 0.95 at ef 64, and a wider ef does not lose recall`, () => {
    const { store, views, graph } = buildGraph(metric, 4000, 24);
    const queries = syntheticDataset({ count: 50, dim: 24, seed: 11, latentDim: 8, clusters: 20, stream: 1 });
    const dist = new Float64Array(10);
    const slots = new Int32Array(10);
    const recallAt = (ef: number) => {
      let hit = 0;
      for (let q = 0; q < queries.count; q++) {
        let query = Float32Array.from(rowOf(queries, q));
        if (metric === 'cosine') query = query.map((x, _, a) => x / Math.hypot(...a));
        const n = graph.search(query, 10, ef, () => true, dist, slots, 0);
        const truth = new Set(exactTop(store, views.kernel, query, 10, () => true));
        for (let i = 0; i < n; i++) if (truth.has(slots[i])) hit++;
        for (let i = 1; i < n; i++) assert.ok(dist[i - 1] <= dist[i], 'results come best first');
      }
      return hit / (queries.count * 10);
    };
    const at64 = recallAt(64);
    assert.ok(at64 >= 0.95, `recall@10 at ef 64 was ${at64}`);
    assert.ok(recallAt(256) >= at64 - 0.01);
  });
}

for (const metric of ['euclidean', 'cosine'] as MetricName[]) {
  test(`${metric}: the sketch bound skips many distances of a walk on structured data and changes none of its results`, () => {
    const { store, views, graph } = buildGraph(metric, 3000, 256, 12, 100, true);
    assert.ok(graph.pruned > 0, 'building with sketches skipped distances');
    const plain = new HnswGraph({ ...views, sketchM: 0 }, new GraphScratch());
    const width = sketchDimFor(256) + 2;
    const sketch = new Float64Array(width);
    const dist = new Float64Array(10);
    const slots = new Int32Array(10);
    const plainDist = new Float64Array(10);
    const plainSlots = new Int32Array(10);
    let hit = 0;
    const buildDistances = graph.distances;
    for (let q = 0; q < 40; q++) {
      const query = Float32Array.from(store.vectorAt(q * 61 + 5));
      query[q % 256] += 0.25;
      if (metric === 'cosine') query.set(query.map((x, _, a) => x / Math.hypot(...a)));
      const basisId = store.sketchQuery(query, sketch, 0);
      assert.ok(basisId > 0);
      const n = graph.search(query, 10, 64, () => true, dist, slots, 0, { values: sketch, offset: 0, basisId });
      const plainN = plain.search(query, 10, 64, () => true, plainDist, plainSlots, 0);
      assert.equal(n, plainN);
      assert.deepEqual([...slots.subarray(0, n)], [...plainSlots.subarray(0, n)], 'the bound never drops a result');
      const truth = new Set(exactTop(store, views.kernel, query, 10, () => true));
      for (let i = 0; i < n; i++) if (truth.has(slots[i])) hit++;
    }
    const walked = graph.distances - buildDistances;
    assert.ok(walked < plain.distances * 0.7, `with the bound ${walked} distances, without ${plain.distances}`);
    assert.ok(hit / 400 >= 0.95, `recall@10 of a graph built with the bound: ${hit / 400}`);
  });
}

test('a walk returns only accepted nodes, and still finds them when half the graph is rejected', () => {
  const { store, views, graph } = buildGraph('euclidean', 3000, 16);
  const accept = (slot: number) => slot % 2 === 0;
  const dist = new Float64Array(10);
  const slots = new Int32Array(10);
  let hit = 0;
  for (let q = 0; q < 30; q++) {
    const query = Float32Array.from(store.vectorAt(q * 7 + 1));
    const n = graph.search(query, 10, 128, accept, dist, slots, 0);
    assert.equal(n, 10);
    const truth = new Set(exactTop(store, views.kernel, query, 10, accept));
    for (let i = 0; i < n; i++) {
      assert.ok(accept(slots[i]), `slot ${slots[i]} was rejected by the filter`);
      if (truth.has(slots[i])) hit++;
    }
  }
  assert.ok(hit / 300 >= 0.95, `filtered recall ${hit / 300}`);
});

test('a walk with a skipped node neither returns it nor needs it to find its neighbours', () => {
  const { store, views, graph } = buildGraph('euclidean', 3000, 16);
  const dist = new Float64Array(10);
  const slots = new Int32Array(10);
  let hit = 0;
  for (let q = 0; q < 30; q++) {
    const self = q * 97 + 3;
    const query = Float32Array.from(store.vectorAt(self));
    const n = graph.search(query, 10, 64, () => true, dist, slots, 0, undefined, self);
    assert.equal(n, 10);
    assert.ok(![...slots].includes(self), 'the skipped node is not a result');
    const truth = new Set(exactTop(store, views.kernel, query, 10, (slot) => slot !== self));
    for (let i = 0; i < n; i++) if (truth.has(slots[i])) hit++;
  }
  assert.ok(hit / 300 >= 0.9, `recall@10 without the query's own node: ${hit / 300}`);
});

test('every level-0 list stays within 2m neighbours, every neighbour is a node, and the graph is connected', () => {
  const m = 8;
  const { store, graph, views } = buildGraph('euclidean', 2000, 12, m, 64);
  const seen = new Uint8Array(store.slotCount);
  const stack = [Atomics.load(views.header, 0)];
  seen[stack[0]] = 1;
  let reached = 0;
  while (stack.length > 0) {
    const slot = stack.pop()!;
    reached++;
    const words = views.graph[Math.floor(slot / 1024)];
    const base = (slot % 1024) * (1 + 2 * m);
    const count = words[base];
    assert.ok(count <= 2 * m && count > 0, `node ${slot} has ${count} neighbours`);
    for (let j = 1; j <= count; j++) {
      const e = words[base + j];
      assert.ok(e >= 0 && e < store.slotCount && e !== slot);
      assert.ok(graph.levelOf(e) >= 0);
      if (!seen[e]) {
        seen[e] = 1;
        stack.push(e);
      }
    }
  }
  assert.equal(reached, 2000, 'every node is reachable from the entry on level 0');
});

test('the top-k heap keeps the k smallest, ties to the lower slot; the min-queue pops in order', () => {
  const dist = new Float64Array(3);
  const slots = new Int32Array(3);
  let size = 0;
  for (const [d, s] of [[5, 1], [1, 2], [3, 3], [1, 0], [9, 4], [3, 5]]) size = heapOffer(dist, slots, 0, size, 3, d, s);
  heapSortAscending(dist, slots, 0, size);
  assert.deepEqual([...slots], [0, 2, 3]);
  const queue = new MinQueue();
  const values = [5, 3, 8, 1, 9, 2, 7, 0, 6, 4, ...Array.from({ length: 100 }, (_, i) => 100 - i)];
  values.forEach((v, i) => queue.push(v, i));
  const popped: number[] = [];
  while (queue.size > 0) popped.push(values[queue.pop()]);
  assert.deepEqual(popped, [...values].sort((a, b) => a - b));
});

test('a recall table keeps its running maximum and picks the smallest breadth that reaches a target', async () => {
  const { RecallTable, overlap } = await import('../../src/index/recall-table.js');
  const table = new RecallTable([{ ef: 10, recall: 0.8 }, { ef: 32, recall: 0.95 }, { ef: 16, recall: 0.9 }, { ef: 64, recall: 0.94 }, { ef: 128, recall: 0.99 }], 1000, 64);
  assert.deepEqual(table.points.map((p) => p.recall), [0.8, 0.9, 0.95, 0.95, 0.99]);
  assert.deepEqual(table.breadthFor(0.9), { ef: 16, recall: 0.9 });
  assert.deepEqual(table.breadthFor(0.999), { ef: 128, recall: 0.99 }, 'past the table: its widest breadth');
  assert.equal(table.expectedAt(24), 0.925);
  assert.equal(table.expectedAt(5), 0.8);
  assert.equal(overlap([1, 2, 3, 4], [4, 3, 9, 8]), 0.5);
  assert.equal(overlap([], []), 1);
});
