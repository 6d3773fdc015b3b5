// Scan pools in one process: each pool's channels are its own (no pool hears another's segments or metric reports),
// and one pool serves many stores of different dimensions at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScanPool } from '../../src/search/scan-pool.js';
import { VecStoreEngine } from '../../src/engine/engine.js';
import type { WorkerMetricsDelta } from '../../src/search/messages.js';

/** Sums `vecstore_worker_tasks_total` over a list of worker deltas. */
function tasksIn(deltas: WorkerMetricsDelta[]): number {
  let sum = 0;
  for (const delta of deltas) {
    for (const metric of delta as Array<{ name: string; values: Array<{ value: number }> }>) {
      if (metric.name === 'vecstore_worker_tasks_total') for (const v of metric.values) sum += v.value;
    }
  }
  return sum;
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
}

test('two pools in one process never hear each other: each gets only its own workers\' metric reports', async () => {
  const reportsA: WorkerMetricsDelta[] = [];
  const reportsB: WorkerMetricsDelta[] = [];
  const poolA = new ScanPool({ threads: 1, onWorkerMetrics: (d) => reportsA.push(d) });
  const poolB = new ScanPool({ threads: 2, onWorkerMetrics: (d) => reportsB.push(d) });
  const a = new VecStoreEngine({ metric: 'euclidean', pool: poolA, cacheSize: 0 });
  const b = new VecStoreEngine({ metric: 'euclidean', pool: poolB, cacheSize: 0 });
  try {
    await a.batchUpsert(Array.from({ length: 50 }, (_, i) => ({ id: `a${i}`, vector: [i, 0] })));
    await b.batchUpsert(Array.from({ length: 50 }, (_, i) => ({ id: `b${i}`, vector: [0, 0, i] })));
    // One shard per query at this size: one task each. Sequential, so no two queries share a batch.
    for (let i = 0; i < 5; i++) assert.equal((await a.query({ vector: new Float32Array([i, 0]), k: 1 })).results[0].id, `a${i}`);
    for (let i = 0; i < 3; i++) assert.equal((await b.query({ vector: new Float32Array([0, 0, i]), k: 1 })).results[0].id, `b${i}`);
    await until(() => tasksIn(reportsA) >= 5 && tasksIn(reportsB) >= 3);
    // Reports come every 200 ms; wait past one more round so that a cross-talking report would have arrived.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(tasksIn(reportsA), 5);
    assert.equal(tasksIn(reportsB), 3);
  } finally {
    await a.close();
    await b.close();
    await poolA.close();
    await poolB.close();
  }
});

test('one pool serves stores of different dimensions at once; closing one store leaves the other searchable', async () => {
  const pool = new ScanPool({ threads: 2 });
  const small = new VecStoreEngine({ metric: 'euclidean', pool, rowsPerSegment: 64 });
  const wide = new VecStoreEngine({ metric: 'dot', pool, rowsPerSegment: 64 });
  try {
    await small.batchUpsert(Array.from({ length: 300 }, (_, i) => ({ id: `s${i}`, vector: [i, -i] })));
    await wide.batchUpsert(Array.from({ length: 300 }, (_, i) => ({ id: `w${i}`, vector: Array.from({ length: 16 }, (_, j) => (j === 0 ? i : 0)) })));
    const queries = [];
    for (let i = 0; i < 20; i++) {
      queries.push(small.query({ vector: new Float32Array([i * 10, -i * 10]), k: 1 }).then((r) => assert.equal(r.results[0].id, `s${i * 10}`)));
      queries.push(wide.query({ vector: new Float32Array(16).fill(0).map((_, j) => (j === 0 ? 1 : 0)), k: 1 }).then((r) => assert.equal(r.results[0].id, 'w299')));
    }
    await Promise.all(queries);
    const segments = pool.segmentCount;
    await small.close();
    assert.equal(pool.segmentCount, segments - 5, 'the closed store\'s 5 segments are dropped from the pool');
    assert.equal((await wide.query({ vector: new Float32Array(16).fill(1), k: 3 })).results.length, 3);
  } finally {
    await wide.close();
    await pool.close();
  }
});
