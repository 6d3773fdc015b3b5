// The TypeScript client against a real server: every method round-trips, on `default` (the client itself) and on a
// named collection; scroll yields every record once while others are written; errors carry status and code.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { VecStoreClient, VecStoreError } from '../../src/client/index.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { encodeArrowBatch } from '../../src/ingest/arrow-encode.js';

let server: ServerProcess;
let client: VecStoreClient;

before(async () => {
  server = await startServerProcess({ args: ['--index', 'flat', '--metric', 'euclidean'] });
  client = new VecStoreClient({ url: server.url, timeoutMs: 10_000 });
});
after(async () => {
  assert.equal(await server.stop(), 0);
});

/** Asserts that `work` rejects with a VecStoreError of this status and code whose message names `field`. */
async function rejectsWith(work: Promise<unknown>, status: number, code: string, field?: string): Promise<VecStoreError> {
  const err = await work.then(() => assert.fail('expected a VecStoreError'), (e: unknown) => e);
  assert.ok(err instanceof VecStoreError, String(err));
  assert.deepEqual([err.status, err.code], [status, code], err.message);
  if (field !== undefined) assert.ok(err.message.startsWith(`${field}:`), err.message);
  return err;
}

describe('collections', () => {
  test('create (and the same again), list, get, drop', async () => {
    const created = await client.collections.create('tmp', { dimension: 2, metric: 'cosine', index: 'flat' });
    assert.deepEqual([created.name, created.dimension, created.metric, created.index, created.total_vectors], ['tmp', 2, 'cosine', 'flat', 0]);
    assert.equal((await client.collections.create('tmp', { dimension: 2, metric: 'cosine', index: 'flat' })).name, 'tmp', 'the same settings again: confirmed');
    await rejectsWith(client.collections.create('tmp', { dimension: 3 }), 409, 'conflict');
    assert.ok((await client.collections.list()).some((c) => c.name === 'tmp' && c.dimension === 2));
    assert.equal((await client.collections.get('tmp')).metric, 'cosine');
    assert.deepEqual(await client.collections.drop('tmp'), { deleted: true });
    await rejectsWith(client.collections.get('tmp'), 404, 'collection_not_found');
    await rejectsWith(client.collections.create('bad.name'), 400, 'invalid_collection_name', 'name');
  });
});

describe('bulk load', () => {
  test('batchUpsertArrow sends an Arrow IPC stream: the records land with their metadata, bad rows come back as errors', async () => {
    await client.collections.create('arrowdocs', { dimension: 2, metric: 'euclidean' });
    const arrow = client.collection('arrowdocs');
    const stream = encodeArrowBatch({ ids: ['x', 'y', 'z'], dimension: 2, vectors: new Float32Array([1, 0, 0, 1, Number.NaN, 1]), metadata: [{ n: 1 }, { n: 2 }, undefined] });
    const answer = await arrow.batchUpsertArrow(stream);
    assert.deepEqual([answer.inserted, answer.updated, answer.errors.map((e) => [e.index, e.id, e.code])], [2, 0, [[2, 'z', 'validation']]]);
    assert.deepEqual(await arrow.get('y'), { id: 'y', vector: [0, 1], metadata: { n: 2 }, deleted: false });
    await rejectsWith(arrow.batchUpsertArrow(new Uint8Array([1, 2, 3])), 400, 'invalid_arrow');
    await client.collections.drop('arrowdocs');
  });
});

describe('records and queries on a named collection', () => {
  const docs = () => client.collection('docs');
  before(async () => {
    await client.collections.create('docs', { dimension: 3, metric: 'euclidean' });
  });

  test('upsert (JSON and raw float32), get, getMany, batchUpsert', async () => {
    assert.deepEqual(await docs().upsert({ id: 'a', vector: [1, 0, 0], metadata: { lang: 'en', n: 1 }, text: 'red fox' }), { success: true });
    assert.deepEqual(await docs().upsert({ id: 'b/slash é', vector: new Float32Array([0, 1, 0]), metadata: { lang: 'de', n: 2 }, text: 'blue hare' }), { success: true });
    const b = await docs().get('b/slash é');
    assert.deepEqual(b, { id: 'b/slash é', vector: [0, 1, 0], metadata: { lang: 'de', n: 2 }, text: 'blue hare', deleted: false }, 'id with a slash and non-ASCII, fields from the query string');
    const batch = await docs().batchUpsert([
      { id: 'c', vector: new Float32Array([0, 0, 1]), metadata: { lang: 'en', n: 3 } },
      { id: 'd', vector: [1, 1, 0], metadata: { lang: 'fr', n: 4 }, text: 'green fox' },
      { id: 'bad', vector: [1, 2] },
    ]);
    assert.deepEqual([batch.inserted, batch.updated, batch.errors.map((e) => [e.index, e.code])], [2, 0, [[2, 'dimension_mismatch']]]);
    const many = await docs().getMany(['d', 'nope', 'a']);
    assert.deepEqual(many.records.map((r) => r.id), ['d', 'a']);
    assert.deepEqual(many.missing, ['nope']);
    await rejectsWith(docs().get('nope'), 404, 'not_found', 'id');
  });

  test('query and hybridQuery with a JSON array and a Float32Array give the same answer', async () => {
    const request = { limit: 3, filter: "lang != 'fr'", include_vectors: true, include_text: true };
    const json = await docs().query({ ...request, vector: [0.9, 0.1, 0] });
    const binary = await docs().query({ ...request, vector: new Float32Array([0.9, 0.1, 0]) });
    assert.deepEqual(json.results.map((h) => h.id), ['a', 'b/slash é', 'c']);
    assert.deepEqual(binary.results, json.results);
    assert.equal(json.results[0].text, 'red fox');
    assert.deepEqual(json.results[0].vector, [1, 0, 0]);
    assert.equal(json.stats.index, 'exact');
    const hybridRequest = { limit: 2, text_query: 'fox', alpha: 0.2 };
    const hybrid = await docs().hybridQuery({ ...hybridRequest, vector: [0, 1, 0] });
    assert.deepEqual(hybrid.results.map((h) => h.id).sort(), ['a', 'd'], 'keyword weight 0.8: the two foxes');
    assert.deepEqual((await docs().hybridQuery({ ...hybridRequest, vector: new Float32Array([0, 1, 0]) })).results, hybrid.results);
  });

  test('patch, count, softDelete, restore, delete, deleteByFilter, compact, stats', async () => {
    assert.deepEqual(await docs().patch('a', { metadata: { n: null, tag: 'x' }, text: null }), { found: true, updated: true });
    const a = await docs().get('a');
    assert.deepEqual([a.metadata, a.text, a.vector], [{ lang: 'en', tag: 'x' }, undefined, [1, 0, 0]]);
    assert.equal(await docs().count(), 4);
    assert.equal(await docs().count("lang = 'en'"), 2);
    assert.deepEqual(await docs().softDelete('c'), { found: true, marked_deleted: true });
    assert.equal(await docs().count("lang = 'en'"), 1);
    assert.equal((await docs().get('c')).deleted, true);
    assert.deepEqual(await docs().restore('c'), { found: true, restored: true });
    assert.equal(await docs().count("lang = 'en'"), 2);
    assert.deepEqual(await docs().delete('d'), { found: true, deleted: true });
    const gone = await rejectsWith(docs().delete('d'), 404, 'not_found');
    assert.equal(gone.body?.found, false, 'the error body is kept');
    assert.equal(await docs().deleteByFilter("lang = 'de'"), 1);
    assert.deepEqual((await docs().getMany(['a', 'b/slash é', 'c'])).missing, ['b/slash é']);
    const compacted = await docs().compact();
    assert.ok(compacted.removed_count >= 2, JSON.stringify(compacted));
    const stats = await docs().stats();
    assert.deepEqual([stats.active_vectors, stats.deleted_vectors, stats.dimension, stats.metric], [2, 0, 3, 'euclidean']);
  });

  test('snapshots: create, list, restore', async () => {
    const made = await docs().snapshots.create('before');
    assert.equal(made.name, 'before');
    await rejectsWith(docs().snapshots.create('before'), 409, 'conflict');
    assert.deepEqual((await docs().snapshots.list()).map((s) => s.name), ['before']);
    await docs().upsert({ id: 'later', vector: [5, 5, 5] });
    assert.deepEqual(await docs().snapshots.restore('before'), { success: true, vectors_restored: 2 });
    await rejectsWith(docs().get('later'), 404, 'not_found');
    await rejectsWith(docs().snapshots.restore('nope'), 404, 'not_found');
  });

  test('snapshot files: download (whole and streamed), upload into another collection, restore there; delete', async () => {
    const file = await docs().snapshots.download('before');
    const streamed = await docs().snapshots.downloadStream('before');
    const chunks: Uint8Array[] = [];
    for await (const chunk of streamed.body as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
    assert.equal(streamed.size, file.length);
    assert.deepEqual(Buffer.concat(chunks), Buffer.from(file));

    await client.collections.create('moved', { dimension: 3, metric: 'euclidean' });
    const moved = client.collection('moved');
    const uploaded = await moved.snapshots.upload('arrived', file);
    assert.deepEqual([uploaded.name, uploaded.size_bytes, uploaded.vectors, uploaded.dimension], ['arrived', file.length, 2, 3]);
    await rejectsWith(moved.snapshots.upload('arrived', new Blob([file.slice()])), 409, 'conflict');
    const damaged = file.slice();
    damaged[damaged.length >> 1] ^= 0xff;
    await rejectsWith(moved.snapshots.upload('damaged', new Blob([damaged])), 400, 'invalid_snapshot');
    assert.deepEqual((await moved.snapshots.list()).map((s) => s.name), ['arrived']);
    assert.deepEqual(await moved.snapshots.restore('arrived'), { success: true, vectors_restored: 2 });
    assert.deepEqual((await moved.getMany(['a', 'c'])).records.map((r) => r.id), ['a', 'c']);

    assert.deepEqual(await moved.snapshots.delete('arrived'), { deleted: true, name: 'arrived' });
    await rejectsWith(moved.snapshots.delete('arrived'), 404, 'not_found');
    await rejectsWith(docs().snapshots.download('nope'), 404, 'not_found');
  });

  test('a 400 names the field; an unknown field is unknown_field with its hint', async () => {
    await rejectsWith(docs().query({ vector: [1, 0, 0], limit: -1 }), 400, 'validation', 'limit');
    const unknown = await rejectsWith(docs().query({ vector: [1, 0, 0], top_k: 3 } as never), 400, 'unknown_field', 'top_k');
    assert.equal(unknown.body?.hint, 'limit');
    await rejectsWith(docs().query({ vector: new Float32Array([1, 0, 0]), filter: 'lang = ' }), 400, 'invalid_filter', 'filter');
    await rejectsWith(docs().upsert({ id: 'x', vector: [1, 2] }), 409, 'dimension_mismatch');
    await rejectsWith(client.collection('nope').count(), 404, 'collection_not_found');
  });
});

describe('the default collection through the client itself', () => {
  test('writes create it; reads, queries and snapshots use the unprefixed routes', async () => {
    await client.upsert({ id: 'one', vector: new Float32Array([1, 2]), metadata: { k: 1 } });
    await client.batchUpsert([{ id: 'two', vector: [2, 2] }, { id: 'three', vector: [3, 2] }]);
    assert.equal(await client.count(), 3);
    assert.deepEqual((await client.query({ vector: new Float32Array([3, 2]), limit: 2 })).results.map((h) => h.id), ['three', 'two']);
    assert.deepEqual((await client.get('one')).metadata, { k: 1 });
    assert.equal((await client.stats()).dimension, 2);
    assert.ok((await client.collections.list()).some((c) => c.name === 'default' && c.active_vectors === 3));
    assert.equal((await client.collection('default').get('two')).id, 'two', 'the same collection by name');
    await client.snapshots.create('d1');
    assert.deepEqual((await client.snapshots.list()).map((s) => s.name), ['d1']);
  });
});

describe('scroll', () => {
  const col = () => client.collection('scrolled');
  before(async () => {
    await client.collections.create('scrolled', { dimension: 2 });
    const records = Array.from({ length: 250 }, (_, i) => ({ id: `r${String(i).padStart(3, '0')}`, vector: [i, 1], metadata: { even: i % 2 === 0 } }));
    await col().batchUpsert(records);
  });

  test('iterates every record exactly once, following next_cursor, while others are written and deleted', async () => {
    const seen = new Map<string, number>();
    let n = 0;
    for await (const record of col().scroll({ limit: 7, include_vectors: true })) {
      seen.set(record.id, (seen.get(record.id) ?? 0) + 1);
      assert.equal(record.vector?.length, 2);
      // Writes between pages: new ids on both sides of the cursor, and deletes of ids not in the original 250.
      if (n % 20 === 0) {
        await col().upsert({ id: `new${n}`, vector: [0, 0] });
        await col().upsert({ id: `a-new${n}`, vector: [0, 0] });
        if (n > 0) await col().delete(`new${n - 20}`);
      }
      n++;
    }
    for (let i = 0; i < 250; i++) assert.equal(seen.get(`r${String(i).padStart(3, '0')}`), 1, `r${i}`);
    for (const [id, count] of seen) assert.equal(count, 1, id);
  });

  test('with a filter, a page size and a resume cursor', async () => {
    const evens: string[] = [];
    for await (const r of col().scroll({ filter: 'even = true', limit: 50 })) if (r.id.startsWith('r')) evens.push(r.id);
    assert.equal(evens.length, 125);
    const first = await col().scrollPage({ limit: 100 });
    assert.equal(first.records.length, 100);
    const rest: string[] = [];
    for await (const r of col().scroll({ cursor: first.next_cursor! })) rest.push(r.id);
    assert.equal(first.records.length + rest.length, await col().count());
    assert.equal(new Set([...first.records.map((r) => r.id), ...rest]).size, first.records.length + rest.length);
  });
});
