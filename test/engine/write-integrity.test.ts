// What is acknowledged is what comes back after a restart (issue 19): oversized log records, lone surrogates, and
// vectors whose scores would overflow float32 are refused up front instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VecStoreEngine } from '../../src/engine/engine.js';
import { Durability } from '../../src/engine/durability.js';
import { DEFAULT_LIMITS, type Limits } from '../../src/engine/limits.js';
import { VecStoreError } from '../../src/errors.js';
import { MAX_RECORD_BYTES } from '../../src/persistence/wal.js';
import { memoryLogger, tempDir } from '../helpers/durable-state.js';

const DIM = 4;

async function openStore(dataDir: string, limits: Limits = DEFAULT_LIMITS, metric: 'cosine' | 'dot' | 'euclidean' = 'cosine') {
  const engine = new VecStoreEngine({ metric, dimension: DIM, threads: 1, cacheSize: 0, limits });
  const durability = await Durability.open(engine, { dataDir, fsync: { mode: 'always' }, logger: memoryLogger() });
  return { engine, durability };
}

async function shut(s: { engine: VecStoreEngine; durability: Durability }) {
  await s.durability.close();
  await s.engine.close();
}

function isCode(code: string, field?: string) {
  return (err: unknown) => err instanceof VecStoreError && err.code === code && (field === undefined || err.message.startsWith(`${field}:`));
}

test('a batch whose log record would pass the replay limit is refused with payload_too_large, and nothing after it is lost', async () => {
  const dir = tempDir('log-limit');
  // Raised limits let the batch through validation; each text is 2 bytes per character in UTF-8.
  const limits = { ...DEFAULT_LIMITS, maxTextBytes: 2 ** 31 };
  const text = 'é'.repeat(Math.ceil(MAX_RECORD_BYTES / 4) + 1000);
  let live = await openStore(dir, limits);
  try {
    await live.engine.upsert({ id: 'before', vector: new Float32Array([1, 0, 0, 0]) });
    await assert.rejects(
      live.engine.batchUpsert([
        { id: 'big-1', vector: [0, 1, 0, 0], text },
        { id: 'big-2', vector: [0, 0, 1, 0], text },
      ]),
      isCode('payload_too_large', 'records'),
    );
    assert.equal(live.engine.get('big-1'), undefined, 'nothing of the refused batch was applied');
    await live.engine.upsert({ id: 'after', vector: new Float32Array([0, 0, 0, 1]) });
  } finally {
    await shut(live);
  }
  live = await openStore(dir, limits);
  try {
    assert.ok(live.engine.get('before'));
    assert.ok(live.engine.get('after'), 'the write acknowledged after the refusal survived the restart');
    assert.equal(live.engine.stats().total_vectors, 2);
  } finally {
    await shut(live);
  }
});

test('ids, texts, metadata keys and string values with a lone surrogate are refused; well-formed ones survive a restart', async () => {
  const dir = tempDir('surrogates');
  let live = await openStore(dir);
  try {
    const bad = await live.engine.batchUpsert([
      { id: 'x\ud800', vector: [1, 2, 3, 4] },
      { id: 'ok-1', vector: [1, 2, 3, 4], text: 'broken \udc00 text' },
      { id: 'ok-2', vector: [1, 2, 3, 4], metadata: { ['k\ud800']: 1 } },
      { id: 'ok-3', vector: [1, 2, 3, 4], metadata: { nested: { list: ['fine', 'bad\udfff'] } } },
      { id: 'emoji-😀', vector: [1, 2, 3, 4], metadata: { face: '😀' }, text: 'paired 😀 surrogates are fine' },
    ]);
    assert.deepEqual(bad.errors.map((e) => [e.index, e.code]), [[0, 'validation'], [1, 'validation'], [2, 'validation'], [3, 'validation']]);
    assert.match(bad.errors[0].error, /^records\[0\]\.id: not well-formed Unicode/);
    assert.match(bad.errors[1].error, /^records\[1\]\.text: /);
    assert.match(bad.errors[2].error, /^records\[2\]\.metadata: key /);
    assert.match(bad.errors[3].error, /^records\[3\]\.metadata\.nested\.list\[1\]: /);
    assert.equal(bad.inserted, 1);
  } finally {
    await shut(live);
  }
  live = await openStore(dir);
  try {
    assert.equal(live.engine.stats().total_vectors, 1);
    assert.deepEqual(live.engine.get('emoji-😀')?.metadata, { face: '😀' });
  } finally {
    await shut(live);
  }
});

test('vectors whose scores overflow float32 are refused under dot and euclidean; a zero vector under cosine', async () => {
  const dot = new VecStoreEngine({ metric: 'dot', dimension: 2, threads: 1, cacheSize: 0 });
  const euclidean = new VecStoreEngine({ metric: 'euclidean', dimension: 2, threads: 1, cacheSize: 0 });
  const cosine = new VecStoreEngine({ metric: 'cosine', dimension: 2, threads: 1, cacheSize: 0 });
  try {
    await assert.rejects(dot.upsert({ id: 'huge', vector: new Float32Array([3e38, -3e38]) }), isCode('validation', 'vector'));
    const batch = await dot.batchUpsert([{ id: 'a', vector: [1, 0] }, { id: 'huge', vector: [2e19, 0] }]);
    assert.deepEqual(batch.errors.map((e) => [e.index, e.code]), [[1, 'validation']]);
    assert.match(batch.errors[0].error, /^records\[1\]\.vector: .*overflow float32/);
    await assert.rejects(dot.query({ vector: new Float32Array([3e38, 0]), k: 1 }), isCode('validation', 'vector'));
    // The largest accepted vectors still score finitely against each other.
    await dot.upsert({ id: 'big', vector: new Float32Array([1.3e19, 1.3e19]) });
    const top = await dot.query({ vector: new Float32Array([1.3e19, 1.3e19]), k: 2 });
    assert.deepEqual(top.results.map((r) => r.id), ['big', 'a']);
    assert.ok(top.results.every((r) => Number.isFinite(r.score)));

    await assert.rejects(euclidean.upsert({ id: 'far', vector: new Float32Array([1e19, 1e19]) }), isCode('validation', 'vector'));
    await euclidean.upsert({ id: 'ok', vector: new Float32Array([6e18, 6e18]) });
    await euclidean.upsert({ id: 'near', vector: new Float32Array([0, 0]) });
    const near = await euclidean.query({ vector: new Float32Array([-6e18, -6e18]), k: 2 });
    assert.deepEqual(near.results.map((r) => r.id), ['near', 'ok']);
    assert.ok(near.results.every((r) => Number.isFinite(r.score)));

    await assert.rejects(cosine.upsert({ id: 'zero', vector: new Float32Array([0, 0]) }), (err: unknown) =>
      err instanceof VecStoreError && err.code === 'validation' && err.message === 'vector: a zero vector cannot be normalised under cosine');
    await assert.rejects(cosine.query({ vector: new Float32Array([0, 0]), k: 1 }), isCode('validation', 'vector'));
  } finally {
    await Promise.all([dot.close(), euclidean.close(), cosine.close()]);
  }
});

test('a row whose distance overflows (written before vectors were checked) ranks last and never displaces a good neighbour', async () => {
  for (const metric of ['dot', 'euclidean'] as const) {
    const engine = new VecStoreEngine({ metric, dimension: 2, threads: 2, cacheSize: 0 });
    try {
      // apply() is the log-replay path: it takes what an older server accepted, without today's checks.
      engine.apply({ type: 'upsert', records: [
        { id: 'bad-1', vector: new Float32Array([3e38, -3e38]) },
        { id: 'good-1', vector: new Float32Array([1, 0]) },
        { id: 'bad-2', vector: new Float32Array([-3e38, 3e38]) },
        { id: 'good-2', vector: new Float32Array([0, 1]) },
      ] });
      // Within the accepted range; against the bad rows simsimd's float32 sums overflow to ±Infinity (or NaN).
      const query = new Float32Array(metric === 'dot' ? [1e19, 0] : [1e18, 0]);
      const answer = await engine.query({ vector: query, k: 2 });
      assert.deepEqual(answer.results.map((r) => r.id).sort(), ['good-1', 'good-2'], `${metric}: ${JSON.stringify(answer.results)}`);
      assert.ok(answer.results.every((r) => Number.isFinite(r.score)));
      const all = await engine.query({ vector: query, k: 4 });
      assert.deepEqual(all.results.slice(2).map((r) => r.id).sort(), ['bad-1', 'bad-2'], `${metric}: overflowed rows rank last`);
    } finally {
      await engine.close();
    }
  }
});

test('automatic compaction reclaims garbage but keeps soft-deleted records restorable, across a restart', async () => {
  const dir = tempDir('auto-compact');
  const open = async () => {
    const engine = new VecStoreEngine({ metric: 'euclidean', dimension: DIM, threads: 1, cacheSize: 0, autoCompactRatio: 0.5 });
    const durability = await Durability.open(engine, { dataDir: dir, fsync: { mode: 'always' }, logger: memoryLogger() });
    return { engine, durability };
  };
  let live = await open();
  try {
    await live.engine.batchUpsert(Array.from({ length: 50 }, (_, i) => ({ id: `s${i}`, vector: [i, 1, 0, 0] })));
    await live.engine.softDelete('s7');
    for (let round = 0; round < 40; round++) {
      await live.engine.batchUpsert(Array.from({ length: 50 }, (_, i) => ({ id: `u${i}`, vector: [i, round, 1, 0], metadata: { round } })));
    }
    await new Promise((r) => setImmediate(r));
    // 2,050 writes: without compaction over 2,000 slots would be in use.
    assert.ok(live.engine.store.slotCount < 1500, `slots in use: ${live.engine.store.slotCount}`);
    assert.equal(live.engine.get('s7')?.deleted, true, 'the soft-deleted record survived automatic compaction');
  } finally {
    await shut(live);
  }
  live = await open();
  try {
    assert.equal(live.engine.get('s7')?.deleted, true, 'and the replayed log kept it too');
    await live.engine.restore('s7');
    const top = await live.engine.query({ vector: new Float32Array([7, 1, 0, 0]), k: 1 });
    assert.equal(top.results[0].id, 's7');
    assert.equal(live.engine.stats().total_vectors, 100);
  } finally {
    await shut(live);
  }
});
