// Data access over real sockets: count, get many, delete-by-filter, PATCH with a merge patch, and the query fields
// include_text / include_metadata / score_threshold over HTTP JSON, raw float32, hybrid and WebSocket; bad input is a 400
// naming the field. Mounted twice (/v1/... and /v1/collections/:name/...), so both prefixes are exercised.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { postJson, requestJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess;

before(async () => {
  server = await startServerProcess({ args: ['--index', 'flat'] });
  // `default` under /v1/ is euclidean (the collection is created by its first write with the server's metric flag);
  // `docs` is cosine.
  assert.equal((await requestJson(`${server.url}/v1/collections/docs`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dimension: 3, metric: 'cosine' }) })).status, 201);
  assert.equal((await requestJson(`${server.url}/v1/collections/euc`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dimension: 3, metric: 'euclidean' }) })).status, 201);
});
after(async () => {
  assert.equal(await server.stop(), 0);
});

const docs = () => `${server.url}/v1/collections/docs`;
const euc = () => `${server.url}/v1/collections/euc`;

async function patch(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await requestJson(url, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: res.body };
}

function expectError(res: { status: number; body: any }, status: number, code: string, field: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.code, code, JSON.stringify(res.body));
  assert.ok(res.body.error.startsWith(`${field}:`), `error names ${field}: ${res.body.error}`);
}

describe('count, vectors/get, delete-by-filter', () => {
  before(async () => {
    const records = Array.from({ length: 30 }, (_, i) => ({ id: `r${i}`, vector: [1, i, 0], metadata: { n: i, tenant: i % 3 === 0 ? 'a' : 'b' }, text: `doc ${i}` }));
    assert.equal((await postJson(`${docs()}/batch-upsert`, { records })).status, 200);
  });

  test('count with and without a filter; soft-deleted records are not counted', async () => {
    assert.deepEqual((await postJson(`${docs()}/count`, {})).body, { count: 30 });
    assert.deepEqual((await requestJson(`${docs()}/count`, { method: 'POST' })).body, { count: 30 });
    assert.deepEqual((await postJson(`${docs()}/count`, { filter: "tenant = 'a'" })).body, { count: 10 });
    assert.equal((await postJson(`${docs()}/soft-delete/r3`, {})).status, 200);
    assert.deepEqual((await postJson(`${docs()}/count`, { filter: "tenant = 'a'" })).body, { count: 9 });
    assert.deepEqual((await postJson(`${docs()}/count`, {})).body, { count: 29 });
    assert.equal((await postJson(`${docs()}/restore/r3`, {})).status, 200);
    expectError(await postJson(`${docs()}/count`, { filter: 5 }), 400, 'validation', 'filter');
    expectError(await postJson(`${docs()}/count`, { filter: 'n >' }), 400, 'invalid_filter', 'filter');
  });

  test('vectors/get returns records in request order and the missing ids', async () => {
    const res = await postJson(`${docs()}/vectors/get`, { ids: ['r2', 'nope', 'r1'] });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.missing, ['nope']);
    assert.deepEqual(res.body.records.map((r: any) => r.id), ['r2', 'r1']);
    assert.deepEqual(res.body.records[0].metadata, { n: 2, tenant: 'b' });
    assert.equal(res.body.records[0].text, 'doc 2');
    assert.equal(res.body.records[0].deleted, false);
    assert.equal(res.body.records[0].vector.length, 3);
    expectError(await postJson(`${docs()}/vectors/get`, { ids: [] }), 400, 'validation', 'ids');
    expectError(await postJson(`${docs()}/vectors/get`, { ids: 'r1' }), 400, 'validation', 'ids');
    expectError(await postJson(`${docs()}/vectors/get`, { ids: ['r1', 7] }), 400, 'validation', 'ids[1]');
  });

  test('delete-by-filter deletes every match (soft-deleted ones too) and nothing else', async () => {
    assert.equal((await postJson(`${docs()}/soft-delete/r6`, {})).status, 200);
    const res = await postJson(`${docs()}/delete-by-filter`, { filter: "tenant = 'a' AND n < 20" });
    assert.deepEqual(res.body, { deleted_count: 7 });
    assert.deepEqual((await postJson(`${docs()}/count`, {})).body, { count: 23 });
    const got = await postJson(`${docs()}/vectors/get`, { ids: ['r0', 'r6', 'r21', 'r1'] });
    assert.deepEqual(got.body.missing, ['r0', 'r6']);
    assert.deepEqual((await postJson(`${docs()}/delete-by-filter`, { filter: 'n > 1000' })).body, { deleted_count: 0 });
    expectError(await postJson(`${docs()}/delete-by-filter`, {}), 400, 'validation', 'filter');
    expectError(await postJson(`${docs()}/delete-by-filter`, { filter: ' ' }), 400, 'validation', 'filter');
    expectError(await postJson(`${docs()}/delete-by-filter`, { filter: 'tenant = ' }), 400, 'invalid_filter', 'filter');
    // Deleted ones are gone from queries and keyword search alike.
    const q = await postJson(`${docs()}/hybrid-query`, { vector: [1, 0, 0], text_query: 'doc', limit: 50 });
    assert.ok(!q.body.results.some((h: any) => h.metadata.tenant === 'a' && h.metadata.n < 20));
  });
});

describe('PATCH /vectors/:id', () => {
  test('merges metadata (RFC 7396), sets or removes text, keeps the vector', async () => {
    const url = `${server.url}/v1/collections/docs/vectors/p1`;
    assert.equal((await postJson(`${docs()}/upsert`, { id: 'p1', vector: [0, 0, 1], metadata: { a: 1, nested: { x: 1, y: 2 }, gone: true }, text: 'alpha' })).status, 200);
    const res = await patch(url, { metadata: { a: 2, nested: { y: null, z: [1] }, gone: null, added: 'yes' } });
    assert.deepEqual(res.body, { found: true, updated: true });
    const after1 = (await requestJson(url)).body;
    assert.deepEqual(after1.metadata, { a: 2, nested: { x: 1, z: [1] }, added: 'yes' });
    assert.equal(after1.text, 'alpha');
    assert.deepEqual(after1.vector, [0, 0, 1]);
    // The new metadata is what filters see; the new text what keyword search sees.
    assert.deepEqual((await postJson(`${docs()}/count`, { filter: "added = 'yes'" })).body, { count: 1 });
    await patch(url, { text: 'bravo' });
    const hq = await postJson(`${docs()}/hybrid-query`, { vector: [1, 0, 0], text_query: 'bravo', alpha: 0, limit: 1, include_text: true });
    assert.equal(hq.body.results[0].id, 'p1');
    assert.equal(hq.body.results[0].text, 'bravo');
    await patch(url, { text: null });
    assert.equal((await requestJson(url)).body.text, undefined);
    // A key called __proto__ is data, not a prototype.
    await patch(url, JSON.parse('{"metadata":{"__proto__":{"polluted":1}}}'));
    assert.deepEqual((await requestJson(url)).body.metadata.__proto__, { polluted: 1 });
    assert.equal(({} as any).polluted, undefined);
  });

  test('bad patches are a 400 naming the field; unknown ids a 404', async () => {
    const url = `${server.url}/v1/collections/docs/vectors/p1`;
    expectError(await patch(url, { metadata: [1] }), 400, 'validation', 'metadata');
    expectError(await patch(url, { metadata: 'x' }), 400, 'validation', 'metadata');
    expectError(await patch(url, { text: 5 }), 400, 'validation', 'text');
    expectError(await patch(url, {}), 400, 'validation', 'metadata');
    expectError(await patch(url, { metadata: { big: 'x'.repeat(70_000) } }), 413, 'metadata_too_large', 'metadata');
    const missing = await patch(`${server.url}/v1/collections/docs/vectors/nobody`, { text: 'x' });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.found, false);
  });

  test('the same routes under /v1/ act on the default collection', async () => {
    assert.equal((await postJson(`${server.url}/v1/upsert`, { id: 'd1', vector: [1, 2, 3], metadata: { k: 1 } })).status, 200);
    await patch(`${server.url}/v1/vectors/d1`, { metadata: { k: 2 } });
    assert.deepEqual((await postJson(`${server.url}/v1/vectors/get`, { ids: ['d1'] })).body.records[0].metadata, { k: 2 });
    assert.deepEqual((await postJson(`${server.url}/v1/count`, { filter: 'k = 2' })).body, { count: 1 });
    assert.deepEqual((await postJson(`${server.url}/v1/delete-by-filter`, { filter: 'k = 2' })).body, { deleted_count: 1 });
    assert.deepEqual((await postJson(`${server.url}/v1/count`, {})).body, { count: 0 });
  });
});

describe('query fields', () => {
  before(async () => {
    const records = [
      { id: 'x', vector: [1, 0, 0], metadata: { m: 'x' }, text: 'text of x' },
      { id: 'xy', vector: [1, 1, 0], metadata: { m: 'xy' }, text: 'text of xy' },
      { id: 'y', vector: [0, 1, 0], metadata: { m: 'y' } },
    ];
    assert.equal((await postJson(`${euc()}/batch-upsert`, { records })).status, 200);
  });

  test('include_text and include_metadata shape the hits', async () => {
    const res = await postJson(`${euc()}/query`, { vector: [1, 0, 0], limit: 3, include_text: true, include_metadata: false });
    assert.deepEqual(res.body.results.map((h: any) => Object.keys(h).sort()), [['id', 'score', 'text'], ['id', 'score', 'text'], ['id', 'score']]);
    assert.equal(res.body.results[0].text, 'text of x');
    // The same query without the fields (a cached answer must not leak the other shape).
    const plain = await postJson(`${euc()}/query`, { vector: [1, 0, 0], limit: 3 });
    assert.deepEqual(plain.body.results[0], { id: 'x', score: 0, metadata: { m: 'x' } });
  });

  test('score_threshold: euclidean keeps distances at most it, cosine scores at least it', async () => {
    const e = await postJson(`${euc()}/query`, { vector: [1, 0, 0], limit: 3, score_threshold: 1 });
    assert.deepEqual(e.body.results.map((h: any) => h.id), ['x', 'xy']);
    // docs holds [1, i, 0] for i ≥ 1: only r1 (cosine 0.707) is at least 0.5, r2 (0.447) is not.
    const c = await postJson(`${docs()}/query`, { vector: [1, 0, 0], limit: 50, score_threshold: 0.5 });
    assert.deepEqual(c.body.results.map((h: any) => h.id), ['r1']);
    const none = await postJson(`${docs()}/query`, { vector: [1, 0, 0], limit: 5, score_threshold: 2 });
    assert.deepEqual(none.body.results, []);
    const h = await postJson(`${euc()}/hybrid-query`, { vector: [1, 0, 0], text_query: 'text', limit: 3, score_threshold: 0.5 });
    assert.ok(h.body.results.every((hit: any) => hit.score >= 0.5));
    expectError(await postJson(`${euc()}/query`, { vector: [1, 0, 0], score_threshold: '1' }), 400, 'validation', 'score_threshold');
    expectError(await postJson(`${euc()}/query`, { vector: [1, 0, 0], include_text: 'yes' }), 400, 'validation', 'include_text');
    expectError(await postJson(`${euc()}/query`, { vector: [1, 0, 0], include_metadata: 0 }), 400, 'validation', 'include_metadata');
  });

  test('raw float32 queries take the fields from the query string', async () => {
    const body = Buffer.from(new Float32Array([1, 0, 0]).buffer);
    const res = await requestJson(`${euc()}/query?limit=3&include_text=true&include_metadata=false&score_threshold=1`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.results, [{ id: 'x', score: 0, text: 'text of x' }, { id: 'xy', score: 1, text: 'text of xy' }]);
    const bad = await requestJson(`${euc()}/query?score_threshold=abc`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });
    expectError({ status: bad.status, body: bad.body }, 400, 'validation', 'score_threshold');
  });

  test('WebSocket queries take the same fields', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws/query-stream`);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const messages: any[] = [];
    const done = new Promise<void>((resolve) => ws.on('message', (data) => {
      const msg = JSON.parse(String(data));
      messages.push(msg);
      if (messages.filter((m) => m.complete || m.code).length === 2) resolve();
    }));
    ws.send(JSON.stringify({ request_id: 1, collection: 'euc', vector: [1, 0, 0], limit: 3, include_text: true, include_metadata: false, score_threshold: 1 }));
    ws.send(JSON.stringify({ request_id: 2, collection: 'euc', vector: [1, 0, 0], score_threshold: 'no' }));
    await done;
    ws.close();
    const hits = messages.filter((m) => m.request_id === 1 && m.id !== undefined);
    assert.deepEqual(hits, [{ id: 'x', score: 0, text: 'text of x', request_id: 1 }, { id: 'xy', score: 1, text: 'text of xy', request_id: 1 }]);
    const error = messages.find((m) => m.request_id === 2);
    assert.equal(error.code, 'validation');
    assert.match(error.error, /^score_threshold:/);
  });
});
