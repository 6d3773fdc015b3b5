// The client's HTTP behaviour against a real tiny HTTP server on loopback that answers as told: 429/503 retried with
// backoff (and Retry-After) for idempotent calls only, deadlines, lost connections, the API key header, raw float32
// bodies, and error answers that are not VecStore's own.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { VecStoreClient, VecStoreError } from '../../src/client/index.js';
import { MAX_BINARY_QUERY_STRING } from '../../src/client/vector-encoding.js';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

/** Answers for the next requests, in order; when they run out, 200 `{"ok":true}`. */
type Answer = { status: number; body?: string; headers?: Record<string, string> } | 'hang' | 'reset';
let script: Answer[] = [];
let seen: Seen[] = [];
let server: http.Server;
let url: string;

before(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks), at: Date.now() });
      const answer = script.shift() ?? { status: 200, body: '{"ok":true}' };
      if (answer === 'hang') return;
      if (answer === 'reset') return void req.socket.destroy();
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body ?? '{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  script = [];
  seen = [];
});

const unavailable = { status: 503, body: '{"error":"server: starting up","code":"unavailable"}' };
const busy = { status: 429, body: '{"error":"slow down","code":"too_many_in_flight"}' };

test('503 twice, then 200: an idempotent call is retried and succeeds, with growing waits', async () => {
  script = [unavailable, unavailable, { status: 200, body: '{"count":7}' }];
  const client = new VecStoreClient({ url });
  assert.equal(await client.count('a = 1'), 7);
  assert.equal(seen.length, 3);
  for (const s of seen) assert.deepEqual([s.method, s.url, s.body.toString()], ['POST', '/v1/count', '{"filter":"a = 1"}'], 'the same request each time');
});

test('429 with Retry-After is retried after the time the server asks for', async () => {
  script = [{ ...busy, headers: { 'retry-after': '1' } }, { status: 200, body: '{"id":"x","vector":[1],"metadata":{},"deleted":false}' }];
  const client = new VecStoreClient({ url });
  assert.equal((await client.collection('c').get('x')).id, 'x');
  assert.equal(seen.length, 2);
  assert.ok(seen[1].at - seen[0].at >= 950, `waited ${seen[1].at - seen[0].at} ms`);
  assert.equal(seen[0].url, '/v1/collections/c/vectors/x');
});

test('idempotent calls retry; non-idempotent ones (delete, soft delete, restore, delete-by-filter, compact, snapshots, drop) do not', async () => {
  const client = new VecStoreClient({ url });
  const retried: Array<() => Promise<unknown>> = [
    () => client.query({ vector: [1], limit: 1 }),
    () => client.hybridQuery({ vector: [1], text_query: 'a' }),
    () => client.upsert({ id: 'a', vector: [1] }),
    () => client.batchUpsert([{ id: 'a', vector: [1] }]),
    () => client.patch('a', { text: 'x' }),
    () => client.getMany(['a']),
    () => client.stats(),
    () => client.scrollPage(),
    () => client.snapshots.list(),
    () => client.snapshots.download('s'),
    () => client.snapshots.downloadStream('s'),
    () => client.collections.create('c'),
    () => client.collections.list(),
  ];
  for (const call of retried) {
    seen = [];
    script = [busy];
    await call();
    assert.equal(seen.length, 2, `${call.toString()} was retried`);
  }
  const notRetried: Array<() => Promise<unknown>> = [
    () => client.delete('a'),
    () => client.softDelete('a'),
    () => client.restore('a'),
    () => client.deleteByFilter('a = 1'),
    () => client.compact(),
    () => client.snapshots.create('s'),
    () => client.snapshots.restore('s'),
    () => client.snapshots.delete('s'),
    () => client.snapshots.upload('s', new Uint8Array(8)),
    () => client.collections.drop('c'),
  ];
  for (const call of notRetried) {
    seen = [];
    script = [unavailable, unavailable];
    await assert.rejects(call(), (e: VecStoreError) => e instanceof VecStoreError && e.status === 503 && e.code === 'unavailable' && e.message === 'server: starting up');
    assert.equal(seen.length, 1, `${call.toString()} was sent once`);
  }
});

test('retries run out: the last 503 is thrown after 1 + retries attempts; retries: 0 sends once', async () => {
  script = [unavailable, unavailable, unavailable, unavailable];
  await assert.rejects(new VecStoreClient({ url, retries: 2 }).stats(), (e: VecStoreError) => e.status === 503);
  assert.equal(seen.length, 3);
  seen = [];
  script = [unavailable];
  await assert.rejects(new VecStoreClient({ url, retries: 0 }).stats(), (e: VecStoreError) => e.code === 'unavailable');
  assert.equal(seen.length, 1);
});

test('a 400 is not retried and keeps the whole error body', async () => {
  script = [{ status: 400, body: '{"error":"top_k: unknown field; did you mean \\"limit\\"?","code":"unknown_field","field":"top_k","hint":"limit"}' }];
  const err = await new VecStoreClient({ url }).query({ vector: [1] }).catch((e: unknown) => e as VecStoreError);
  assert.ok(err instanceof VecStoreError);
  assert.deepEqual([err.status, err.code, err.message, err.body?.hint, seen.length], [400, 'unknown_field', 'top_k: unknown field; did you mean "limit"?', 'limit', 1]);
});

test('an answer that is not a VecStore error keeps its status, with code http_<status>', async () => {
  script = [{ status: 502, body: '<html>bad gateway</html>' }];
  await assert.rejects(new VecStoreClient({ url }).stats(), (e: VecStoreError) => e.status === 502 && e.code === 'http_502' && e.message.includes('bad gateway'));
});

test('timeout: a server that never answers is cut off at timeoutMs with code timeout', async () => {
  script = ['hang'];
  const t0 = Date.now();
  const err = await new VecStoreClient({ url, timeoutMs: 300 }).stats().catch((e: unknown) => e as VecStoreError);
  assert.ok(err instanceof VecStoreError);
  assert.deepEqual([err.code, err.status], ['timeout', 0]);
  assert.match(err.message, /300 ms/);
  assert.ok(Date.now() - t0 < 5_000);
  assert.equal(seen.length, 1);
});

test('per call: a signal aborts with code aborted; timeoutMs overrides the client\'s deadline', async () => {
  const client = new VecStoreClient({ url, timeoutMs: 60_000 });
  script = ['hang'];
  const controller = new AbortController();
  const pending = client.query({ vector: [1], limit: 1 }, { signal: controller.signal }).catch((e: unknown) => e as VecStoreError);
  while (seen.length === 0) await new Promise((r) => setTimeout(r, 10));
  controller.abort();
  const aborted = await pending;
  assert.ok(aborted instanceof VecStoreError);
  assert.deepEqual([aborted.code, aborted.status], ['aborted', 0]);
  await assert.rejects(client.count(undefined, { signal: AbortSignal.abort() }), (e: VecStoreError) => e.code === 'aborted');
  script = ['hang'];
  const t0 = Date.now();
  await assert.rejects(client.stats({ timeoutMs: 200 }), (e: VecStoreError) => e.code === 'timeout' && /200 ms/.test(e.message));
  assert.ok(Date.now() - t0 < 5_000);
  // A signal also ends the wait before a retry.
  script = [{ ...unavailable, headers: { 'retry-after': '30' } }];
  const later = new AbortController();
  setTimeout(() => later.abort(), 200);
  await assert.rejects(client.stats({ signal: later.signal }), (e: VecStoreError) => e.code === 'aborted');
});

test('the deadline covers retries: backoff that would pass it ends the call with the last answer', async () => {
  script = [{ ...unavailable, headers: { 'retry-after': '10' } }];
  const t0 = Date.now();
  await assert.rejects(new VecStoreClient({ url, timeoutMs: 2_000 }).stats(), (e: VecStoreError) => e.code === 'unavailable');
  assert.ok(Date.now() - t0 < 1_500, 'did not sleep 10 s');
});

test('a lost connection is retried for idempotent calls and is a network error otherwise', async () => {
  script = ['reset'];
  assert.deepEqual(await new VecStoreClient({ url }).stats(), { ok: true });
  assert.equal(seen.length, 2);
  seen = [];
  script = ['reset'];
  await assert.rejects(new VecStoreClient({ url }).compact(), (e: VecStoreError) => e.code === 'network' && e.status === 0);
  assert.equal(seen.length, 1);
  // A port nobody listens on: bound once to find a free one, then closed.
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const closedPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  await assert.rejects(new VecStoreClient({ url: `http://127.0.0.1:${closedPort}`, retries: 0 }).stats(), (e: VecStoreError) => e.code === 'network' && /ECONNREFUSED/.test(e.message));
});

test('the API key is sent as an Authorization header on every request', async () => {
  const client = new VecStoreClient({ url: `${url}/`, apiKey: 's3cret' });
  await client.stats();
  await client.collection('x').count();
  assert.deepEqual(seen.map((s) => [s.url, s.headers.authorization]), [['/v1/stats', 'Bearer s3cret'], ['/v1/collections/x/count', 'Bearer s3cret']]);
  seen = [];
  await new VecStoreClient({ url }).stats();
  assert.equal(seen[0].headers.authorization, undefined);
});

test('a Float32Array goes as raw little-endian float32 with the other fields in the query string; too long a query string falls back to JSON', async () => {
  const client = new VecStoreClient({ url });
  const vector = new Float32Array([0.5, -1.25, 3]);
  await client.query({ vector, limit: 3, filter: "lang = 'en'", include_text: true });
  await client.upsert({ id: 'a b', vector, metadata: { lang: 'en' }, text: 'fox' });
  await client.hybridQuery({ vector: vector.subarray(1), text_query: 'fox', alpha: 0.5 });
  const [query, upsert, hybrid] = seen;
  assert.equal(query.headers['content-type'], 'application/octet-stream');
  assert.deepEqual(Object.fromEntries(new URL(query.url, url).searchParams), { limit: '3', filter: "lang = 'en'", include_text: 'true' });
  assert.deepEqual(new Float32Array(query.body.buffer.slice(query.body.byteOffset, query.body.byteOffset + query.body.length)), vector);
  assert.equal(query.body.readFloatLE(4), -1.25);
  assert.deepEqual(Object.fromEntries(new URL(upsert.url, url).searchParams), { id: 'a b', metadata: '{"lang":"en"}', text: 'fox' });
  assert.equal(new URL(hybrid.url, url).pathname, '/v1/hybrid-query');
  assert.deepEqual([hybrid.body.length, hybrid.body.readFloatLE(0)], [8, -1.25], 'a subarray sends only its own bytes');

  seen = [];
  const longFilter = `tag in [${Array.from({ length: MAX_BINARY_QUERY_STRING / 4 }, (_, i) => `'${i}'`).join(', ')}]`;
  await client.query({ vector, limit: 1, filter: longFilter });
  await client.batchUpsert([{ id: 'x', vector }]);
  assert.equal(seen[0].headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(seen[0].body.toString()), { limit: 1, filter: longFilter, vector: [0.5, -1.25, 3] });
  assert.deepEqual(JSON.parse(seen[1].body.toString()), { records: [{ id: 'x', vector: [0.5, -1.25, 3] }] });
});

test('ids and collection names are percent-encoded into the path', async () => {
  const client = new VecStoreClient({ url });
  await client.collection('a b').get('x/y?z#');
  assert.equal(seen[0].url, '/v1/collections/a%20b/vectors/x%2Fy%3Fz%23');
});

test('the base URL may carry a path prefix (a reverse proxy\'s) and user info; a body is copied when the call is made', async () => {
  const port = (server.address() as AddressInfo).port;
  const client = new VecStoreClient({ url: `http://us%40er:p%3Ass@127.0.0.1:${port}/vecstore/` });
  await client.stats();
  assert.equal(seen[0].url, '/vecstore/v1/stats');
  assert.equal(seen[0].headers.authorization, `Basic ${Buffer.from('us@er:p:ss').toString('base64')}`);
  // A caller that reuses its array for the next query right away sends each vector as it was at the call.
  seen = [];
  const vector = new Float32Array([1, 2]);
  const first = client.query({ vector, limit: 1 });
  vector[0] = 9;
  await Promise.all([first, client.query({ vector, limit: 1 })]);
  assert.deepEqual(seen.map((s) => s.body.readFloatLE(0)).sort(), [1, 9]);
});

test('an unusable url is a TypeError at construction', () => {
  assert.throws(() => new VecStoreClient({ url: 'localhost:8080' }), TypeError);
});
