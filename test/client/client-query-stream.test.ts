// The client's query stream and API key against a real server started with a key: many queries in flight on one
// WebSocket answer exactly as HTTP does, errors reject only their own query, the key travels as a header (or, with a
// platform WebSocket as in browsers, as a subprotocol offer), and a missing key is a 401 VecStoreError.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { VecStoreClient, VecStoreError, type HybridQueryInput } from '../../src/client/index.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const KEY = 'client-test-key';
const SERVER_IN_FLIGHT = 16;
const CLIENT_INDEX = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/client/index.js');

let server: ServerProcess;
let client: VecStoreClient;
const dim = 8;
const vectorOf = (i: number) => Array.from({ length: dim }, (_, d) => Math.sin(i * 7.3 + d * 1.1));

before(async () => {
  server = await startServerProcess({ args: ['--index', 'flat', '--api-key', KEY, '--max-ws-in-flight', String(SERVER_IN_FLIGHT)] });
  client = new VecStoreClient({ url: server.url, apiKey: KEY, timeoutMs: 20_000 });
  await client.batchUpsert(Array.from({ length: 300 }, (_, i) => ({ id: `d${i}`, vector: vectorOf(i), metadata: { g: i % 3 } })));
  await client.collections.create('named', { dimension: dim, index: 'flat' });
  await client.collection('named').batchUpsert(Array.from({ length: 50 }, (_, i) => ({ id: `n${i}`, vector: vectorOf(i + 1000) })));
});
after(async () => {
  assert.equal(await server.stop(), 0);
});

test('200 queries in flight on one socket resolve each with the same answer as HTTP; the stream queues past maxInFlight', async () => {
  const stream = await client.queryStream({ maxInFlight: SERVER_IN_FLIGHT });
  try {
    const requests = Array.from({ length: 200 }, (_, i) => {
      const vector = vectorOf(i * 0.37 + 0.5);
      // Bare Float32Array queries go as binary frames; the rest as JSON messages (filters, hybrid, include_*).
      if (i % 4 === 0) return { vector: Float32Array.from(vector), limit: 5 };
      if (i % 4 === 1) return { vector, limit: 5, filter: `g = ${i % 3}` };
      if (i % 4 === 2) return { vector, limit: 4, text_query: 'nothing', alpha: 1 };
      return { vector, limit: 3, include_vectors: true, include_metadata: false };
    });
    const answers = await Promise.all(requests.map((r) => stream.query(r)));
    assert.equal(stream.inFlight, 0);
    for (let i = 0; i < requests.length; i += 9) {
      const r = requests[i];
      const http = r.text_query !== undefined ? await client.hybridQuery(r as HybridQueryInput) : await client.query(r);
      assert.deepEqual(answers[i].results, http.results, `query ${i}`);
      assert.equal(answers[i].stats.total_results, http.results.length);
    }
    assert.deepEqual(Object.keys(answers[3].results[0]).sort(), ['id', 'score', 'vector'], 'no request_id left on a hit');
  } finally {
    await stream.close();
  }
});

test('a stream of a named collection; a bad query rejects alone with status and code; close rejects what is pending', async () => {
  const stream = await client.collection('named').queryStream();
  // All four in flight at once; each settles on its own.
  const [good, bad, other, missing] = await Promise.allSettled([
    stream.query({ vector: vectorOf(1000), limit: 1 }),
    stream.query({ vector: vectorOf(1), limit: 1, filter: 'g = ' }),
    stream.query({ vector: vectorOf(5), limit: 1, collection: 'default' }),
    stream.query({ vector: vectorOf(5), limit: 1, collection: 'nope' }),
  ]);
  assert.equal(good.status === 'fulfilled' && good.value.results[0].id, 'n0');
  const err = bad.status === 'rejected' ? (bad.reason as VecStoreError) : assert.fail('expected an error');
  assert.ok(err instanceof VecStoreError);
  assert.deepEqual([err.status, err.code], [400, 'invalid_filter']);
  assert.match(err.message, /^filter:/);
  assert.equal(other.status === 'fulfilled' && other.value.results[0].id, 'd5');
  const notFound = missing.status === 'rejected' ? (missing.reason as VecStoreError) : assert.fail('expected an error');
  assert.deepEqual([notFound.status, notFound.code], [404, 'collection_not_found']);

  // Giving up on one query (signal, timeout) rejects it alone; the stream goes on.
  const controller = new AbortController();
  const given = stream.query({ vector: vectorOf(3), limit: 300 }, { signal: controller.signal }).catch((e: unknown) => e);
  controller.abort();
  assert.equal(((await given) as VecStoreError).code, 'aborted');
  await assert.rejects(stream.query({ vector: vectorOf(3), limit: 1 }, { signal: AbortSignal.abort() }), (e: VecStoreError) => e.code === 'aborted');
  assert.equal((await stream.query({ vector: vectorOf(1001), limit: 1 })).results[0].id, 'n1');

  const pending = stream.query({ vector: vectorOf(2), limit: 300 }).catch((e: unknown) => e);
  await stream.close();
  assert.equal(((await pending) as VecStoreError).code, 'closed');
  await assert.rejects(stream.query({ vector: vectorOf(2), limit: 1 }), (e: VecStoreError) => e.code === 'closed');
});

test('more in flight than the server allows: the excess is refused with 429 too_many_in_flight, the rest answered', async () => {
  const stream = await client.queryStream({ maxInFlight: 200 });
  try {
    const outcomes = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => stream.query({ vector: vectorOf(i), limit: 300 })));
    const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason as VecStoreError);
    assert.ok(refused.length > 0 && refused.length < 200, `${refused.length} refused`);
    for (const e of refused) assert.deepEqual([e.status, e.code], [429, 'too_many_in_flight']);
  } finally {
    await stream.close();
  }
});

test('without the key: HTTP and the WebSocket upgrade are 401 unauthorized', async () => {
  const anonymous = new VecStoreClient({ url: server.url });
  await assert.rejects(anonymous.count(), (e: VecStoreError) => e.status === 401 && e.code === 'unauthorized');
  await assert.rejects(anonymous.queryStream(), (e: VecStoreError) => e.status === 401 && e.code === 'unauthorized');
  const wrong = new VecStoreClient({ url: server.url, apiKey: 'wrong' });
  await assert.rejects(wrong.stats(), (e: VecStoreError) => e.status === 401);
});

test('with a platform WebSocket (node --experimental-websocket, as in a browser) the key goes as a subprotocol offer', async () => {
  const script = `
    import { VecStoreClient } from ${JSON.stringify(CLIENT_INDEX)};
    const client = new VecStoreClient({ url: ${JSON.stringify(server.url)}, apiKey: ${JSON.stringify(KEY)} });
    const stream = await client.queryStream();
    const answer = await stream.query({ vector: ${JSON.stringify(vectorOf(7))}, limit: 2 });
    await stream.close();
    const refused = await new VecStoreClient({ url: ${JSON.stringify(server.url)}, apiKey: 'wrong' }).queryStream().then(() => 'opened', (e) => e.code);
    console.log(JSON.stringify({ ids: answer.results.map((h) => h.id), refused, native: typeof WebSocket }));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--experimental-websocket', '--no-warnings', '--input-type=module', '-e', script], { timeout: 20_000 });
  const out = JSON.parse(stdout) as { ids: string[]; refused: string; native: string };
  assert.deepEqual(out, { ids: ['d7', out.ids[1]], refused: 'network', native: 'function' });
});
