// The catalog in process, on real files and a real worker pool: create/drop, isolation, reopen, crash leftovers,
// the move of a single-store data directory into `default`, and limits.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Catalog, type CatalogOptions } from '../../src/catalog/catalog.js';
import type { CollectionSettings } from '../../src/catalog/collection-settings.js';

const DEFAULT_HNSW = { m: 16, ef_construction: 200, ef: 64 };
import { VecStoreEngine } from '../../src/engine/engine.js';
import { Durability } from '../../src/engine/durability.js';
import { DEFAULT_LIMITS } from '../../src/engine/limits.js';
import { ScanPool } from '../../src/search/scan-pool.js';
import { VecStoreError } from '../../src/errors.js';
import { crashCopy, dumpState, memoryLogger, tempDir } from '../helpers/durable-state.js';

let pool: ScanPool;
before(() => {
  pool = new ScanPool({ threads: 1 });
});
after(async () => {
  await pool.close();
});

function options(dataDir: string, extra: Partial<CatalogOptions> = {}): CatalogOptions {
  return { dataDir, pool, metric: 'euclidean', index: 'hnsw', hnsw: DEFAULT_HNSW, limits: DEFAULT_LIMITS, cacheSize: 100, fsync: { mode: 'always' }, maxCollections: 1000, logger: memoryLogger(), ...extra };
}

function settings(dimension: number | undefined, extra: Partial<CollectionSettings> = {}): CollectionSettings {
  return { dimension, metric: 'euclidean', index: 'flat', hnsw: { ...DEFAULT_HNSW }, ...extra };
}

const isCode = (code: string) => (err: unknown) => err instanceof VecStoreError && err.code === code;

test('create, repeat, conflict, list, drop; each collection in its own directory', async () => {
  const dir = tempDir('catalog');
  const catalog = await Catalog.open(options(dir));
  try {
    const a = await catalog.create('a', settings(2));
    assert.equal(a.created, true);
    assert.equal((await catalog.create('a', settings(2))).created, false, 'same settings: not created again');
    assert.equal((await catalog.create('a', settings(undefined))).created, false, 'an omitted dimension matches any');
    await assert.rejects(catalog.create('a', settings(3)), isCode('conflict'));
    await assert.rejects(catalog.create('a', settings(2, { metric: 'cosine' })), isCode('conflict'));
    await assert.rejects(catalog.create('a', settings(2, { index: 'hnsw' })), isCode('conflict'));
    await assert.rejects(catalog.create('a.b', settings(2)), isCode('invalid_collection_name'));
    await assert.rejects(catalog.create('-a', settings(2)), isCode('invalid_collection_name'));
    await assert.rejects(catalog.create('x'.repeat(65), settings(2)), isCode('invalid_collection_name'));
    await catalog.create('b', settings(undefined, { metric: 'cosine' }));
    assert.deepEqual(catalog.list().map((c) => c.name), ['a', 'b']);
    assert.ok(fs.existsSync(path.join(dir, 'collections', 'a', 'collection.json')));

    await catalog.drop('a');
    assert.deepEqual(catalog.list().map((c) => c.name), ['b']);
    assert.throws(() => catalog.require('a'), isCode('collection_not_found'));
    await assert.rejects(catalog.drop('a'), isCode('collection_not_found'));
    // The files go: the directory is renamed away at once and removed in the background.
    assert.equal(fs.existsSync(path.join(dir, 'collections', 'a')), false);
    for (let i = 0; i < 50 && fs.readdirSync(path.join(dir, 'collections')).length > 1; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(fs.readdirSync(path.join(dir, 'collections')), ['b']);
  } finally {
    await catalog.close();
  }
});

test('collections are isolated: the same id is two records, queries and compaction touch one collection', async () => {
  const catalog = await Catalog.open(options(tempDir('catalog-iso')));
  try {
    const a = (await catalog.create('a', settings(2))).collection;
    const b = (await catalog.create('b', settings(3))).collection;
    await a.engine.upsert({ id: 'x', vector: new Float32Array([1, 0]), metadata: { in: 'a' }, text: undefined });
    await b.engine.upsert({ id: 'x', vector: new Float32Array([0, 0, 1]), metadata: { in: 'b' }, text: undefined });
    await b.engine.upsert({ id: 'y', vector: new Float32Array([0, 1, 1]), metadata: { in: 'b' }, text: undefined });
    await b.engine.softDelete('y');
    assert.deepEqual((await a.engine.query({ vector: new Float32Array([1, 0]), k: 5 })).results.map((r) => r.metadata), [{ in: 'a' }]);
    assert.deepEqual((await b.engine.query({ vector: new Float32Array([0, 0, 1]), k: 5 })).results.map((r) => r.metadata), [{ in: 'b' }]);
    await assert.rejects(a.engine.query({ vector: new Float32Array([1, 0, 0]), k: 5 }), isCode('dimension_mismatch'));
    assert.equal((await b.engine.compact()).removedCount, 1);
    assert.equal(a.engine.store.counts.total, 1);
    // A dropped collection's segments leave the shared pool; the other's stay.
    const before = pool.segmentCount;
    await catalog.drop('b');
    assert.ok(pool.segmentCount < before);
    assert.equal((await a.engine.query({ vector: new Float32Array([1, 0]), k: 5 })).results.length, 1);
  } finally {
    await catalog.close();
  }
});

test('reopening recovers every collection with its settings and acknowledged writes; snapshots stay per collection', async () => {
  const dir = tempDir('catalog-reopen');
  let catalog = await Catalog.open(options(dir));
  const a = (await catalog.create('a', settings(2))).collection;
  const b = (await catalog.create('b', settings(undefined, { metric: 'cosine', index: 'hnsw', hnsw: { m: 8, ef_construction: 50, ef: 20 } }))).collection;
  await a.engine.batchUpsert([{ id: 'p', vector: [1, 2] }, { id: 'q', vector: [3, 4] }]);
  await b.engine.upsert({ id: 'p', vector: new Float32Array([1, 1, 1]), metadata: undefined, text: 'hello' });
  await a.createSnapshot('s1');
  await a.engine.delete('p');
  const stateA = dumpState(a.engine);
  const stateB = dumpState(b.engine);
  await catalog.close();

  catalog = await Catalog.open(options(dir));
  try {
    assert.deepEqual(dumpState(catalog.require('a').engine), stateA);
    assert.deepEqual(dumpState(catalog.require('b').engine), stateB);
    assert.deepEqual(catalog.require('b').settings, settings(undefined, { metric: 'cosine', index: 'hnsw', hnsw: { m: 8, ef_construction: 50, ef: 20 } }));
    assert.equal(catalog.require('b').dimension, 3, 'fixed by its first vector');
    assert.deepEqual((await catalog.require('b').listSnapshots()).map((s) => s.name), []);
    assert.deepEqual((await catalog.require('a').restoreSnapshot('s1')), { vectors_restored: 2 });
    assert.deepEqual(dumpState(catalog.require('b').engine), stateB, 'restoring a leaves b alone');
  } finally {
    await catalog.close();
  }
});

test('after a crash, an interrupted create leaves no collection and a committed drop leaves none either', async () => {
  const dir = tempDir('catalog-crash');
  const catalog = await Catalog.open(options(dir));
  await catalog.create('kept', settings(2));
  await catalog.require('kept').engine.upsert({ id: 'k', vector: new Float32Array([1, 1]), metadata: undefined, text: undefined });
  await catalog.create('dropped', settings(2));
  // What a process killed inside create (before its rename) and inside drop (after its rename, before the removal) leaves.
  fs.mkdirSync(path.join(dir, 'collections', '.tmp-half-1234'));
  fs.writeFileSync(path.join(dir, 'collections', '.tmp-half-1234', 'collection.json'), '{"format":1');
  fs.renameSync(path.join(dir, 'collections', 'dropped'), path.join(dir, 'collections', '.trash-dropped-1234'));
  const copy = crashCopy(dir);
  await catalog.close();

  const reopened = await Catalog.open(options(copy));
  try {
    assert.deepEqual(reopened.list().map((c) => c.name), ['kept']);
    assert.equal(reopened.require('kept').engine.store.counts.active, 1);
    assert.deepEqual(fs.readdirSync(path.join(copy, 'collections')), ['kept']);
  } finally {
    await reopened.close();
  }
});

/** Writes a data directory the way the single-store version did: its log and checkpoint at the root. */
async function legacyDataDir(): Promise<{ dir: string; state: ReturnType<typeof dumpState> }> {
  const dir = tempDir('catalog-legacy');
  const engine = new VecStoreEngine({ metric: 'euclidean', pool });
  const durability = await Durability.open(engine, { dataDir: dir, fsync: { mode: 'always' }, logger: memoryLogger() });
  await engine.batchUpsert(Array.from({ length: 20 }, (_, i) => ({ id: `r${i}`, vector: [i, i + 1, i + 2], text: `doc ${i}` })));
  await durability.checkpoint();
  await engine.upsert({ id: 'after-checkpoint', vector: new Float32Array([9, 9, 9]), metadata: { late: true }, text: undefined });
  await engine.softDelete('r3');
  await durability.createSnapshot('before');
  const state = dumpState(engine);
  await durability.close();
  await engine.close();
  return { dir, state };
}

test('a single-store data directory opens as `default` with all its data, snapshots included', async () => {
  const { dir, state } = await legacyDataDir();
  assert.ok(fs.existsSync(path.join(dir, 'CURRENT')));
  const catalog = await Catalog.open(options(dir));
  try {
    assert.deepEqual(catalog.list().map((c) => c.name), ['default']);
    assert.deepEqual(dumpState(catalog.require('default').engine), state);
    assert.deepEqual((await catalog.require('default').listSnapshots()).map((s) => s.name), ['before']);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['LOCK', 'collections']);
  } finally {
    await catalog.close();
  }
});

test('a move into `default` interrupted by a crash is finished at the next start, losing nothing', async () => {
  const { dir, state } = await legacyDataDir();
  // Killed after moving some files into the staging directory.
  const staging = path.join(dir, 'collections', '.migrate-default');
  fs.mkdirSync(staging, { recursive: true });
  const moved = fs.readdirSync(dir).filter((n) => n.startsWith('wal-') || n === 'snapshots');
  assert.ok(moved.length >= 2);
  for (const name of moved) fs.renameSync(path.join(dir, name), path.join(staging, name));
  const catalog = await Catalog.open(options(dir));
  try {
    assert.deepEqual(dumpState(catalog.require('default').engine), state);
    assert.deepEqual((await catalog.require('default').listSnapshots()).map((s) => s.name), ['before']);
  } finally {
    await catalog.close();
  }
});

test('default is created on first write, reads before it see an empty store; too_many_collections past the limit', async () => {
  const catalog = await Catalog.open(options(tempDir('catalog-default'), { maxCollections: 2, dimension: 2 }));
  try {
    assert.equal(catalog.defaultForRead().engine.stats().total_vectors, 0);
    assert.equal(catalog.size, 0, 'a read creates nothing');
    const [first, second] = await Promise.all([catalog.defaultForWrite(), catalog.defaultForWrite()]);
    assert.equal(first, second, 'concurrent first writes share one create');
    assert.equal(first.dimension, 2, 'default takes --dimension');
    await catalog.create('one-more', settings(2));
    await assert.rejects(catalog.create('too-many', settings(2)), isCode('too_many_collections'));
    await catalog.drop('default');
    const fresh = await catalog.defaultForWrite();
    assert.notEqual(fresh, first);
    assert.equal(fresh.engine.stats().total_vectors, 0);
  } finally {
    await catalog.close();
  }
});

test('concurrent creates: different names run together, the same name is created once, the limit holds', async () => {
  const dir = tempDir('catalog-concurrent');
  const catalog = await Catalog.open(options(dir, { maxCollections: 20 }));
  try {
    const outcomes = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => catalog.create(`n${i}`, settings(2))));
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 20);
    assert.ok(outcomes.filter((o) => o.status === 'rejected').every((o) => isCode('too_many_collections')((o as PromiseRejectedResult).reason)));
    await Promise.all(catalog.list().slice(0, 5).map((c) => catalog.drop(c.name)));
    const same = await Promise.all(Array.from({ length: 5 }, () => catalog.create('same', settings(2))));
    assert.deepEqual(same.map((s) => s.created).sort(), [false, false, false, false, true]);
    assert.equal(new Set(same.map((s) => s.collection)).size, 1);
  } finally {
    await catalog.close();
  }
  const reopened = await Catalog.open(options(dir, { maxCollections: 20 }));
  try {
    assert.equal(reopened.size, 16);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'collections')).filter((n) => n.startsWith('.')), []);
  } finally {
    await reopened.close();
  }
});

test('closing keeps a built graph in a checkpoint; dropping writes none (its files go next)', async () => {
  const dir = tempDir('catalog-graph');
  const logger = memoryLogger();
  const catalog = await Catalog.open(options(dir, { logger }));
  try {
    for (const name of ['kept', 'dropped']) {
      const { collection } = await catalog.create(name, settings(4, { index: 'hnsw' }));
      await collection.engine.batchUpsert(Array.from({ length: 300 }, (_, i) => ({ id: `${name}${i}`, vector: [i, i % 7, i % 11, 1] })));
      await collection.engine.whenIndexed();
    }
    await catalog.drop('dropped');
  } finally {
    await catalog.close();
  }
  const checkpoints = logger.lines.filter((l) => l.msg === 'checkpoint written').map((l) => (l.obj as { collection?: string }).collection);
  assert.deepEqual(checkpoints, ['kept']);
});
