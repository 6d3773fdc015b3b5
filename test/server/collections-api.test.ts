// Collections over real sockets: create/list/describe/drop, every data route under /v1/collections/:name/, the
// unprefixed routes on `default`, WebSocket queries naming a collection, metrics labels, and crash durability.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { postJson, requestJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess;

before(async () => {
  server = await startServerProcess({ args: ['--metric', 'euclidean', '--max-collections', '5'] });
});
after(async () => {
  await server.stop();
});

const put = (name: string, body?: unknown) => requestJson(`${server.url}/v1/collections/${name}`, { method: 'PUT', body: body === undefined ? undefined : JSON.stringify(body) });
const del = (path: string) => requestJson(`${server.url}${path}`, { method: 'DELETE' });
const get = (path: string) => requestJson(`${server.url}${path}`);

test('PUT creates (201), repeats (200), conflicts (409); names are checked; GET lists and describes; DELETE drops', async () => {
  const created = await put('docs', { dimension: 3, metric: 'cosine', index: 'flat', hnsw: { m: 8 } });
  assert.equal(created.status, 201);
  const { name, index, hnsw, total_vectors, active_vectors, deleted_vectors, dimension, metric, storage_bytes, slots_used, text_documents, indexed_vectors } = created.body;
  assert.deepEqual(
    { name, index, hnsw, total_vectors, active_vectors, deleted_vectors, dimension, metric, storage_bytes, slots_used, text_documents, indexed_vectors },
    { name: 'docs', index: 'flat', hnsw: { m: 8, ef_construction: 200, ef: 64 }, total_vectors: 0, active_vectors: 0, deleted_vectors: 0, dimension: 3, metric: 'cosine', storage_bytes: 0, slots_used: 0, text_documents: 0, indexed_vectors: 0 },
    'the settings asked for, the server defaults (--hnsw-ef-construction 200, --hnsw-ef 64) for the rest, and the stats',
  );
  assert.equal((await put('docs', { dimension: 3, metric: 'cosine', index: 'flat', hnsw: { m: 8 } })).status, 200);
  const conflict = await put('docs', { dimension: 4, metric: 'cosine', index: 'flat', hnsw: { m: 8 } });
  assert.equal(conflict.status, 409);
  assert.equal(conflict.body.code, 'conflict');
  for (const bad of ['has.dot', '_under', 'x'.repeat(65), '%C3%A9t%C3%A9']) {
    const answer = await put(bad, {});
    assert.equal(answer.status, 400, bad);
    assert.equal(answer.body.code, 'invalid_collection_name');
    assert.match(answer.body.error, /^name: /);
  }
  for (const [body, field, code] of [[{ dimension: 0 }, 'dimension', 'validation'], [{ metric: 'hamming' }, 'metric', 'validation'], [{ index: 'ivf' }, 'index', 'validation'], [{ hnsw: { m: 1 } }, 'hnsw.m', 'validation'], [{ shards: 2 }, 'shards', 'unknown_field']] as const) {
    const answer = await put('badsettings', body);
    assert.equal(answer.status, 400);
    assert.equal(answer.body.code, code);
    assert.ok(answer.body.error.startsWith(`${field}: `), answer.body.error);
  }
  const defaults = await put('plain');
  assert.equal(defaults.status, 201);
  assert.deepEqual([defaults.body.metric, defaults.body.index, defaults.body.dimension], ['euclidean', 'hnsw', null], 'server --metric, hnsw index, dimension from the first vector');

  const list = await get('/v1/collections');
  assert.deepEqual(list.body.collections.filter((c: { name: string }) => c.name === 'docs' || c.name === 'plain'), [
    { name: 'docs', dimension: 3, metric: 'cosine', index: 'flat', active_vectors: 0, deleted_vectors: 0 },
    { name: 'plain', dimension: null, metric: 'euclidean', index: 'hnsw', active_vectors: 0, deleted_vectors: 0 },
  ]);
  assert.equal((await get('/v1/collections/docs')).body.name, 'docs');
  const missing = await get('/v1/collections/nope');
  assert.deepEqual([missing.status, missing.body.code], [404, 'collection_not_found']);

  assert.deepEqual((await del('/v1/collections/plain')).body, { deleted: true });
  assert.deepEqual([(await del('/v1/collections/plain')).status, (await get('/v1/collections/plain/stats')).status], [404, 404]);
  assert.equal((await del('/v1/collections/docs')).status, 200);
});

test('every data route works under /v1/collections/:name/ and touches that collection only', async () => {
  assert.equal((await put('left', { dimension: 2 })).status, 201);
  assert.equal((await put('right', { dimension: 2 })).status, 201);
  const base = (name: string) => `${server.url}/v1/collections/${name}`;
  for (const name of ['left', 'right']) {
    assert.deepEqual((await postJson(`${base(name)}/upsert`, { id: 'same', vector: [1, 0], metadata: { side: name }, text: `${name} fox` })).body, { success: true });
    const batch = await postJson(`${base(name)}/batch-upsert`, { records: [{ id: `${name}-2`, vector: [0, 1], text: 'other' }, { id: 'bad', vector: [1] }] });
    assert.deepEqual([batch.body.inserted, batch.body.errors[0].code], [1, 'dimension_mismatch']);
  }
  const query = await postJson(`${base('left')}/query`, { vector: [1, 0], limit: 5, filter: "side = 'left'" });
  assert.deepEqual(query.body.results.map((r: { id: string; metadata: unknown }) => [r.id, r.metadata]), [['same', { side: 'left' }]]);
  const hybrid = await postJson(`${base('right')}/hybrid-query`, { vector: [0, 1], text_query: 'fox', limit: 5 });
  assert.deepEqual(hybrid.body.results.map((r: { id: string }) => r.id).sort(), ['right-2', 'same']);
  assert.deepEqual((await get('/v1/collections/right/vectors/same')).body, { id: 'same', vector: [1, 0], metadata: { side: 'right' }, text: 'right fox', deleted: false });
  assert.deepEqual((await postJson(`${base('left')}/soft-delete/same`, {})).body, { found: true, marked_deleted: true });
  assert.equal((await get('/v1/collections/right/vectors/same')).body.deleted, false, 'right untouched');
  assert.deepEqual((await postJson(`${base('left')}/restore/same`, {})).body, { found: true, restored: true });
  assert.deepEqual((await del('/v1/collections/left/delete/left-2')).body, { found: true, deleted: true });
  assert.deepEqual((await postJson(`${base('left')}/compact`, {})).body.removed_count, 1);
  assert.deepEqual([(await get('/v1/collections/left/stats')).body.total_vectors, (await get('/v1/collections/right/stats')).body.total_vectors], [1, 2]);

  // Snapshots are per collection: restoring left's leaves right alone.
  assert.equal((await postJson(`${base('left')}/snapshots`, { name: 'one' })).body.success, true);
  assert.deepEqual((await get('/v1/collections/left/snapshots')).body.snapshots.map((s: { name: string }) => s.name), ['one']);
  assert.deepEqual((await get('/v1/collections/right/snapshots')).body.snapshots, []);
  await postJson(`${base('left')}/upsert`, { id: 'later', vector: [5, 5] });
  await postJson(`${base('right')}/upsert`, { id: 'later', vector: [5, 5] });
  assert.deepEqual((await postJson(`${base('left')}/snapshots/one/restore`, {})).body, { success: true, vectors_restored: 1 });
  assert.equal((await get('/v1/collections/left/vectors/later')).status, 404);
  assert.equal((await get('/v1/collections/right/vectors/later')).status, 200);

  const unknown = await postJson(`${server.url}/v1/collections/ghost/query`, { vector: [1, 0], limit: 1 });
  assert.deepEqual([unknown.status, unknown.body.code], [404, 'collection_not_found']);
  const wrongMethod = await requestJson(`${base('left')}/query`, { method: 'GET' });
  assert.equal(wrongMethod.status, 405);
});

test('the unprefixed routes act on `default`: created on first write, listed, and dropping it gives a fresh one', async () => {
  assert.deepEqual((await postJson(`${server.url}/v1/query`, { vector: [1, 2, 3], limit: 1 })).body.results, [], 'reads before the first write see an empty store');
  assert.equal((await get('/v1/collections')).body.collections.some((c: { name: string }) => c.name === 'default'), false);
  await postJson(`${server.url}/v1/upsert`, { id: 'd', vector: [1, 2, 3] });
  assert.equal((await get('/v1/collections/default/vectors/d')).status, 200);
  assert.equal((await postJson(`${server.url}/v1/upsert`, { id: 'e', vector: [1, 2] })).status, 409, 'dimension fixed at 3');
  assert.equal((await del('/v1/collections/default')).status, 200);
  assert.equal((await get('/v1/vectors/d')).status, 404);
  assert.deepEqual((await postJson(`${server.url}/v1/upsert`, { id: 'e', vector: [1, 2] })).body, { success: true }, 'a fresh default takes a new dimension');
});

test('--max-collections answers 409 too_many_collections', async () => {
  const existing = (await get('/v1/collections')).body.collections.length;
  for (let i = existing; i < 5; i++) assert.equal((await put(`fill${i}`)).status, 201);
  const over = await put('one-too-many');
  assert.deepEqual([over.status, over.body.code], [409, 'too_many_collections']);
  for (let i = existing; i < 5; i++) await del(`/v1/collections/fill${i}`);
});

test('WebSocket queries name their collection; without one they use default; unknown ones get an error message', async () => {
  await put('wsc', { dimension: 2 });
  await postJson(`${server.url}/v1/collections/wsc/upsert`, { id: 'in-wsc', vector: [3, 3] });
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws/query-stream`);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const answers = new Map<string, unknown[]>();
  const done = new Promise<void>((resolve) => {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      answers.set(msg.request_id, [...(answers.get(msg.request_id) ?? []), msg]);
      if (['a', 'b', 'c'].every((id) => answers.get(id)?.some((m) => (m as { complete?: boolean; code?: string }).complete || (m as { code?: string }).code))) resolve();
    });
  });
  ws.send(JSON.stringify({ collection: 'wsc', vector: [3, 3], limit: 1, request_id: 'a' }));
  ws.send(JSON.stringify({ vector: [1, 2], limit: 1, request_id: 'b' }));
  ws.send(JSON.stringify({ collection: 'ghost', vector: [1, 2], limit: 1, request_id: 'c' }));
  await done;
  ws.close();
  assert.equal((answers.get('a')![0] as { id: string }).id, 'in-wsc');
  assert.equal((answers.get('b')![0] as { id: string }).id, 'e');
  assert.equal((answers.get('c')![0] as { code: string }).code, 'collection_not_found');
});

test('vector gauges carry a collection label; request metrics use route templates, never a name', async () => {
  await put('metered', { dimension: 2 });
  await postJson(`${server.url}/v1/collections/metered/upsert`, { id: 'm', vector: [1, 1] });
  await postJson(`${server.url}/v1/collections/metered/query`, { vector: [1, 1], limit: 1 });
  const text = (await get('/metrics')).body as string;
  assert.match(text, /^vecstore_vectors_total\{collection="metered"\} 1$/m);
  assert.match(text, /^vecstore_vectors_active\{collection="metered"\} 1$/m);
  assert.match(text, /^vecstore_dimension\{collection="metered"\} 2$/m);
  assert.match(text, /vecstore_requests_total\{endpoint="\/v1\/collections\/:name\/query",method="POST"\} \d+/);
  assert.doesNotMatch(text, /endpoint="[^"]*metered/);
  await del('/v1/collections/metered');
  assert.doesNotMatch((await get('/metrics')).body as string, /collection="metered"/, 'a dropped collection\'s series go');
});

test('after kill -9, acknowledged writes in every collection and acknowledged creates and drops hold', async () => {
  const crashed = await startServerProcess({ args: ['--fsync', 'always'] });
  try {
    for (const name of ['c1', 'c2', 'gone']) assert.equal((await requestJson(`${crashed.url}/v1/collections/${name}`, { method: 'PUT', body: '{"dimension":2}' })).status, 201);
    const writes = [];
    for (let i = 0; i < 50; i++) {
      writes.push(postJson(`${crashed.url}/v1/collections/c1/upsert`, { id: `a${i}`, vector: [i, 1] }));
      writes.push(postJson(`${crashed.url}/v1/collections/c2/upsert`, { id: `b${i}`, vector: [1, i] }));
    }
    for (const w of await Promise.all(writes)) assert.equal(w.status, 200);
    assert.equal((await requestJson(`${crashed.url}/v1/collections/gone`, { method: 'DELETE' })).status, 200);
    await crashed.kill();
    const again = await startServerProcess({ dataDir: crashed.dataDir });
    try {
      const list = (await requestJson(`${again.url}/v1/collections`)).body.collections;
      assert.deepEqual(list.map((c: { name: string; active_vectors: number }) => [c.name, c.active_vectors]), [['c1', 50], ['c2', 50]]);
    } finally {
      await again.stop();
    }
  } finally {
    await crashed.kill();
  }
});
