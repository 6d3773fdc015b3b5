// Strict request bodies over real sockets: an unknown field is a 400 unknown_field naming it, with the field meant for
// other engines' habits (top_k, n_results, topK, payload, with_vectors), on every body route, in batch records, in the
// query string of raw float32 queries and in WebSocket query messages.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { postJson, requestJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess;

before(async () => {
  server = await startServerProcess({ args: ['--dimension', '3', '--metric', 'euclidean'] });
  assert.equal((await postJson(`${server.url}/v1/upsert`, { id: 'a', vector: [1, 0, 0], metadata: { k: 1 } })).status, 200);
});
after(async () => {
  assert.equal(await server.stop(), 0);
});

function expectUnknown(res: { status: number; body: any }, field: string, meant?: string): void {
  assert.equal(res.status, 400, JSON.stringify(res.body));
  assert.equal(res.body.code, 'unknown_field');
  assert.equal(res.body.field, field);
  assert.ok(res.body.error.startsWith(`${field}: unknown field`), res.body.error);
  if (meant) {
    assert.equal(res.body.hint, meant);
    assert.match(res.body.error, new RegExp(`did you mean "${meant}"`));
  } else {
    assert.equal(res.body.hint, undefined);
    assert.match(res.body.error, /allowed: /);
  }
}

test('other engines\' habits are refused with the field meant', async () => {
  const url = server.url;
  for (const habit of ['top_k', 'n_results', 'topK']) {
    expectUnknown(await postJson(`${url}/v1/query`, { vector: [1, 0, 0], [habit]: 5 }), habit, 'limit');
    expectUnknown(await postJson(`${url}/v1/hybrid-query`, { vector: [1, 0, 0], text_query: 'x', [habit]: 5 }), habit, 'limit');
  }
  expectUnknown(await postJson(`${url}/v1/query`, { vector: [1, 0, 0], with_vectors: true }), 'with_vectors', 'include_vectors');
  expectUnknown(await postJson(`${url}/v1/scroll`, { with_vectors: true }), 'with_vectors', 'include_vectors');
  expectUnknown(await postJson(`${url}/v1/upsert`, { id: 'b', vector: [1, 0, 0], payload: { k: 1 } }), 'payload', 'metadata');
  const patched = await requestJson(`${url}/v1/vectors/a`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload: { k: 2 } }) });
  expectUnknown({ status: patched.status, body: patched.body }, 'payload', 'metadata');
  // Nothing was written by the refused requests.
  assert.equal((await requestJson(`${url}/v1/vectors/b`)).status, 404);
  assert.deepEqual((await requestJson(`${url}/v1/vectors/a`)).body.metadata, { k: 1 });
});

test('every body route refuses a field outside its table', async () => {
  const url = server.url;
  expectUnknown(await postJson(`${url}/v1/count`, { filter: 'k = 1', where: 1 }), 'where');
  expectUnknown(await postJson(`${url}/v1/vectors/get`, { ids: ['a'], with_payload: true }), 'with_payload');
  expectUnknown(await postJson(`${url}/v1/delete-by-filter`, { filter: 'k = 1', dry_run: true }), 'dry_run');
  expectUnknown(await postJson(`${url}/v1/scroll`, { offset: 3 }), 'offset');
  expectUnknown(await postJson(`${url}/v1/snapshots`, { name: 's', compress: true }), 'compress');
  expectUnknown(await postJson(`${url}/v1/batch-upsert`, { records: [], upsert: true }), 'upsert');
  const put = await requestJson(`${url}/v1/collections/c1`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dimension: 3, distance: 'Cosine' }) });
  expectUnknown({ status: put.status, body: put.body }, 'distance');
  // `hybrid-query` fields are not query fields.
  expectUnknown(await postJson(`${url}/v1/query`, { vector: [1, 0, 0], text_query: 'x' }), 'text_query');
  assert.equal((await postJson(`${url}/v1/delete-by-filter`, { filter: 'k = 1' })).body.deleted_count, 1);
});

test('a batch record with an unknown field is that record\'s error; the others are written', async () => {
  const res = await postJson(`${server.url}/v1/batch-upsert`, { records: [{ id: 'g1', vector: [0, 1, 0] }, { id: 'g2', vector: [0, 1, 0], payload: {} }] });
  assert.equal(res.status, 200);
  assert.equal(res.body.inserted, 1);
  assert.deepEqual(res.body.errors, [{ index: 1, id: 'g2', error: 'records[1].payload: unknown field; did you mean "metadata"?', code: 'unknown_field' }]);
});

test('raw float32 queries check their query string the same way', async () => {
  const body = Buffer.from(new Float32Array([1, 0, 0]).buffer);
  const post = (qs: string) => requestJson(`${server.url}/v1/query?${qs}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });
  const bad = await post('top_k=3');
  expectUnknown({ status: bad.status, body: bad.body }, 'top_k', 'limit');
  assert.equal((await post('limit=3&include_text=true')).status, 200);
  const up = await requestJson(`${server.url}/v1/upsert?id=r&payload=%7B%7D`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });
  expectUnknown({ status: up.status, body: up.body }, 'payload', 'metadata');
});

test('WebSocket query messages share the table, plus request_id, collection and traceparent', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws/query-stream`);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const messages: any[] = [];
  const done = new Promise<void>((resolve) => ws.on('message', (data) => {
    messages.push(JSON.parse(String(data)));
    if (messages.filter((m) => m.complete || m.code).length === 2) resolve();
  }));
  ws.send(JSON.stringify({ request_id: 'bad', vector: [1, 0, 0], top_k: 2 }));
  ws.send(JSON.stringify({ request_id: 'ok', collection: 'default', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', vector: [0, 1, 0], limit: 1, text_query: 'x' }));
  await done;
  ws.close();
  const bad = messages.find((m) => m.request_id === 'bad');
  assert.equal(bad.code, 'unknown_field');
  assert.match(bad.error, /^top_k: unknown field; did you mean "limit"\?/);
  assert.ok(messages.some((m) => m.request_id === 'ok' && m.complete), JSON.stringify(messages));
});
