// Queries racing updates (issue 19): every live record is seen in its old or its new version, never in neither.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VecStoreEngine } from '../../src/engine/engine.js';
import { randomVectors } from '../helpers/random.js';

const DIM = 32;
const COUNT = 6000;

async function filled(): Promise<{ engine: VecStoreEngine; vectors: Float32Array[] }> {
  const engine = new VecStoreEngine({ metric: 'euclidean', threads: 2, cacheSize: 0, rowsPerSegment: 2048 });
  const vectors = randomVectors(COUNT, DIM, 19);
  for (let i = 0; i < COUNT; i += 1000) {
    await engine.batchUpsert(vectors.slice(i, i + 1000).map((v, j) => ({ id: `r${i + j}`, vector: Array.from(v), metadata: { n: i + j, even: (i + j) % 2 === 0 } })));
  }
  return { engine, vectors };
}

/** Re-upserts `ids` (same vector, new metadata) on every turn of the event loop until `stop` says so. */
function updateLoop(engine: VecStoreEngine, vectors: Float32Array[], ids: number[], stop: () => boolean): Promise<number> {
  return new Promise((resolve) => {
    let round = 0;
    const step = () => {
      if (stop()) return resolve(round);
      round++;
      for (const i of ids) void engine.upsert({ id: `r${i}`, vector: vectors[i], metadata: { n: i, even: i % 2 === 0, round } });
      setImmediate(step);
    };
    setImmediate(step);
  });
}

test('a record updated while scans run is found by every k = 1 query for its own vector', async () => {
  const { engine, vectors } = await filled();
  try {
    const hot = [0, 1, 2, 3];
    let done = false;
    const updating = updateLoop(engine, vectors, hot, () => done);
    let missed = 0;
    let total = 0;
    try {
      for (let wave = 0; wave < 20; wave++) {
        const answers = await Promise.all(hot.flatMap((i) => [0, 1, 2].map(() => engine.query({ vector: vectors[i], k: 1 }).then((a) => ({ i, a })))));
        for (const { i, a } of answers) {
          total++;
          if (a.results[0]?.id !== `r${i}`) missed++;
        }
      }
    } finally {
      done = true;
    }
    const rounds = await updating;
    assert.ok(rounds > 20, `the update loop ran (${rounds} rounds)`);
    assert.equal(missed, 0, `${missed} of ${total} k = 1 queries for an updated record's own vector missed it`);
    assert.equal(engine.store.openViewCount, 0, 'every query closed its store view');
  } finally {
    await engine.close();
  }
});

test('a limit equal to the live count returns every record, in one version each, while updates run (with and without a filter)', async () => {
  const { engine, vectors } = await filled();
  try {
    const hot = [10, 11, 12, 13, 14, 15, 16, 17];
    let done = false;
    const updating = updateLoop(engine, vectors, hot, () => done);
    try {
      for (let wave = 0; wave < 10; wave++) {
        const [all, even] = await Promise.all([
          engine.query({ vector: vectors[100], k: COUNT }),
          engine.query({ vector: vectors[100], k: COUNT, filter: 'even = true' }),
        ]);
        const ids = all.results.map((r) => r.id);
        assert.equal(ids.length, COUNT, `wave ${wave}: ${COUNT - ids.length} records missing from an unfiltered full scan`);
        assert.equal(new Set(ids).size, COUNT, 'no record twice');
        const evenIds = even.results.map((r) => r.id);
        assert.equal(evenIds.length, COUNT / 2, `wave ${wave}: ${COUNT / 2 - evenIds.length} records missing from a filtered full scan`);
        assert.equal(new Set(evenIds).size, COUNT / 2);
        for (const r of even.results) assert.equal(r.metadata?.even, true, 'the filter held for the version returned');
      }
    } finally {
      done = true;
    }
    await updating;
    assert.equal(engine.store.openViewCount, 0);
  } finally {
    await engine.close();
  }
});

test('a hybrid query whose text-side hit is hard-deleted while the vector side scans answers without it', async () => {
  const { engine, vectors } = await filled();
  try {
    await engine.upsert({ id: 'doc-a', vector: vectors[0], text: 'zebra crossing' });
    await engine.upsert({ id: 'doc-b', vector: vectors[1], text: 'zebra stripes' });
    // The keyword side runs synchronously when the query starts; the delete lands while the workers scan.
    const answering = engine.hybridQuery({ vector: vectors[3000], k: 5, textQuery: 'zebra', alpha: 0.5, fusion: 'linear' });
    await engine.delete('doc-a');
    const answer = await answering;
    const ids = answer.results.map((r) => r.id);
    assert.ok(!ids.includes('doc-a'), 'the deleted record is not returned');
    assert.ok(ids.includes('doc-b'));
  } finally {
    await engine.close();
  }
});

test('hybrid with alpha = 1 orders ties exactly as the vector query does (write order, not id order)', async () => {
  const engine = new VecStoreEngine({ metric: 'cosine', threads: 2, cacheSize: 0 });
  try {
    const same = [1, 0, 0, 0];
    for (const id of ['zeta', 'mu', 'alpha', 'omega', 'beta']) await engine.upsert({ id, vector: new Float32Array(same), text: `word ${id}` });
    await engine.upsert({ id: 'far', vector: new Float32Array([0, 1, 0, 0]), text: 'word far' });
    const vector = await engine.query({ vector: new Float32Array(same), k: 6 });
    const hybrid = await engine.hybridQuery({ vector: new Float32Array(same), k: 6, textQuery: 'word', alpha: 1, fusion: 'linear' });
    const rrf = await engine.hybridQuery({ vector: new Float32Array(same), k: 6, textQuery: 'word', alpha: 1, fusion: 'rrf' });
    assert.deepEqual(vector.results.map((r) => r.id), ['zeta', 'mu', 'alpha', 'omega', 'beta', 'far']);
    assert.deepEqual(hybrid.results.map((r) => r.id), vector.results.map((r) => r.id));
    assert.deepEqual(rrf.results.map((r) => r.id), vector.results.map((r) => r.id));
  } finally {
    await engine.close();
  }
});

test('auto-compaction reclaims garbage slots in the background while queries keep answering; ratio 0 turns it off', async () => {
  const compactions: unknown[] = [];
  const on = new VecStoreEngine({ metric: 'euclidean', threads: 2, cacheSize: 0, autoCompactRatio: 0.5, onAutoCompact: (o) => compactions.push(o) });
  const off = new VecStoreEngine({ metric: 'euclidean', threads: 2, cacheSize: 0, autoCompactRatio: 0 });
  try {
    const vectors = randomVectors(100, DIM, 5);
    for (const engine of [on, off]) {
      for (let round = 0; round < 60; round++) {
        const answering = engine.query({ vector: vectors[7], k: 100 });
        await engine.batchUpsert(vectors.map((v, i) => ({ id: `u${i}`, vector: Array.from(v), metadata: { round } })));
        const answer = await answering;
        assert.equal(answer.results.length, Math.min(100, round === 0 ? 0 : 100), 'every record, in one version, during compactions');
      }
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(compactions.length >= 2, `${compactions.length} automatic compactions`);
    assert.ok(compactions.every((c) => !('error' in (c as object))));
    assert.ok(on.store.slotCount <= 2048, `slots in use with auto-compaction: ${on.store.slotCount}`);
    assert.equal(off.store.slotCount, 6000, 'no compaction with ratio 0');
    assert.equal(on.stats().total_vectors, 100);
  } finally {
    await Promise.all([on.close(), off.close()]);
  }
});
