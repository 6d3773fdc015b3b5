// Metadata keys __proto__, constructor and prototype are data: stored, returned, filtered as own keys, never polluting.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { postJson, requestJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const DIM = 3;
// Written as raw JSON text: an object literal's `__proto__` would set a prototype here instead of sending a key.
const HOSTILE = '{"__proto__":{"polluted":1,"isAdmin":true},"constructor":{"prototype":{"polluted":2}},"prototype":5,"kind":"hostile"}';
const NESTED = '{"a":{"__proto__":{"polluted":3}},"tags":["x"],"kind":"nested"}';

let server: ServerProcess;
before(async () => {
  server = await startServerProcess({ args: ['--dimension', String(DIM), '--metric', 'euclidean'] });
  await load(server.url);
});
after(async () => {
  await server.stop();
});

async function load(url: string): Promise<void> {
  assert.equal((await postJson(`${url}/v1/upsert`, `{"id":"hostile","vector":[1,0,0],"metadata":${HOSTILE}}`)).status, 200);
  const batch = await postJson(`${url}/v1/batch-upsert`, `{"records":[{"id":"nested","vector":[0,1,0],"metadata":${NESTED}},{"id":"plain","vector":[0,0,1],"metadata":{"kind":"plain"}}]}`);
  assert.equal(batch.body.inserted, 2);
  // A binary upsert carries its metadata as JSON in the query string.
  const binary = await fetch(`${url}/v1/upsert?id=binary&metadata=${encodeURIComponent('{"__proto__":{"polluted":4},"kind":"binary"}')}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: Buffer.from(new Float32Array([1, 1, 0]).buffer),
  });
  assert.equal(binary.status, 200);
}

async function filtered(url: string, filter: string): Promise<string[]> {
  const res = await postJson(`${url}/v1/query`, { vector: [0, 0, 0], limit: 10, filter });
  assert.equal(res.status, 200, `${filter}: ${JSON.stringify(res.body)}`);
  return res.body.results.map((r: { id: string }) => r.id).sort();
}

/** Checks the stored metadata comes back with the dangerous keys as own, ordinary keys. */
async function checkStored(url: string): Promise<void> {
  const text = await (await fetch(`${url}/v1/vectors/hostile`)).text();
  assert.ok(text.includes('"__proto__":{"polluted":1,"isAdmin":true}'), text);
  const metadata = JSON.parse(text).metadata;
  assert.deepEqual(Object.keys(metadata), ['__proto__', 'constructor', 'prototype', 'kind']);
  assert.ok(Object.hasOwn(metadata, '__proto__'));
  assert.equal(Object.getPrototypeOf(metadata), Object.prototype);
  assert.equal(metadata.prototype, 5);
  const nested = JSON.parse(await (await fetch(`${url}/v1/vectors/nested`)).text()).metadata;
  assert.deepEqual(Object.keys(nested.a), ['__proto__']);
  const binary = await (await fetch(`${url}/v1/vectors/binary`)).text();
  assert.ok(binary.includes('"__proto__":{"polluted":4}'), binary);
}

test('GET /v1/vectors/:id returns __proto__, constructor and prototype as ordinary keys', async () => {
  await checkStored(server.url);
});

test('query results (HTTP and WebSocket) return them as ordinary keys', async () => {
  const text = await (await fetch(`${server.url}/v1/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ vector: [1, 0, 0], limit: 1 }) })).text();
  assert.ok(text.includes(`"metadata":${HOSTILE}`), text);
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws/query-stream`);
  await new Promise((resolve) => ws.once('open', resolve));
  const first = await new Promise<string>((resolve) => {
    ws.once('message', (d) => resolve(d.toString()));
    ws.send(JSON.stringify({ vector: [1, 0, 0], limit: 1, request_id: 1 }));
  });
  assert.ok(first.includes(`"metadata":${HOSTILE}`), first);
  ws.close();
});

test('filters on those keys read own properties only', async () => {
  const url = server.url;
  assert.deepEqual(await filtered(url, '`__proto__`.polluted = 1'), ['hostile']);
  assert.deepEqual(await filtered(url, '`__proto__`.isAdmin = true'), ['hostile']);
  assert.deepEqual(await filtered(url, '`__proto__`.polluted > 0'), ['binary', 'hostile']);
  assert.deepEqual(await filtered(url, 'constructor.prototype.polluted = 2'), ['hostile']);
  assert.deepEqual(await filtered(url, 'prototype = 5'), ['hostile']);
  assert.deepEqual(await filtered(url, 'a.`__proto__`.polluted = 3'), ['nested']);
  // Inherited members are absent: a comparison on them is false, even != and NOT IN.
  for (const f of ['constructor != 1', 'toString != 1', 'hasOwnProperty != 1', 'valueOf NOT IN [1]', 'kind.length > 0', 'tags.constructor != 1', 'a.`__proto__`.constructor != 1']) {
    const expected = f === 'constructor != 1' ? ['hostile'] : [];
    assert.deepEqual(await filtered(url, f), expected, f);
  }
  // Arrays' own `length` is the one member that is meant to be readable.
  assert.deepEqual(await filtered(url, 'tags.length = 1'), ['nested']);
});

test('nothing was polluted: absent keys behave as absent everywhere, and the server keeps working', async () => {
  const url = server.url;
  // Were Object.prototype polluted in the server, `polluted` and `isAdmin` would be found on every record.
  for (const f of ['polluted = 1', 'polluted != 999', 'isAdmin = true', 'kind.polluted = 1', 'tags.polluted = 1']) {
    assert.deepEqual(await filtered(url, f), [], f);
  }
  assert.deepEqual(await filtered(url, 'NOT polluted = 1'), ['binary', 'hostile', 'nested', 'plain']);
  const plain = await requestJson(`${url}/v1/vectors/plain`);
  assert.deepEqual(plain.body.metadata, { kind: 'plain' });
  assert.equal(Object.getPrototypeOf(plain.body.metadata), Object.prototype);
  assert.equal((await requestJson(`${url}/health`)).status, 200);
  assert.equal((await requestJson(`${url}/v1/stats`)).body.active_vectors, 4);
  // Queries, body keys and query-string keys named like prototypes are plain input errors or ignored, never 5xx.
  for (const body of ['{"__proto__":{"limit":1},"vector":[1,0,0]}', '{"vector":[1,0,0],"constructor":{"prototype":{"limit":99999}}}', '{"records":[],"__proto__":[]}']) {
    const res = await postJson(`${url}/v1/query`, body);
    assert.ok(res.status < 500, `${body}: ${res.status}`);
  }
  // Query-string keys are checked like body fields: a key named like a prototype is an unknown field, named as such.
  const qs = await fetch(`${url}/v1/query?__proto__=1&constructor=2`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(new Float32Array([1, 0, 0]).buffer) });
  assert.equal(qs.status, 400);
  const answer = (await qs.json()) as { code: string; error: string };
  assert.equal(answer.code, 'unknown_field');
  assert.match(answer.error, /^__proto__: unknown field/);
});

test('after a restart (log replay) the keys are still ordinary data', async () => {
  await server.stop();
  server = await startServerProcess({ args: ['--dimension', String(DIM), '--metric', 'euclidean'], dataDir: server.dataDir });
  await checkStored(server.url);
  assert.deepEqual(await filtered(server.url, '`__proto__`.polluted = 1'), ['hostile']);
  assert.deepEqual(await filtered(server.url, 'polluted = 1'), []);
});
