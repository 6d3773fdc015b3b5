// JSON batch-upsert through the fast reader (the default) against real servers: 17-digit floats come back bit-exact
// from large (parse pool) and small (inline) bodies, and every answer equals that of a server on `--json-reader builtin`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { INLINE_JSON_BYTES } from '../../src/ingest/parse-pool.js';
import { postJson, requestJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { seededRandom } from '../helpers/random.js';

const DIM = 768;
let fast: ServerProcess;
let builtin: ServerProcess;

before(async () => {
  // euclidean stores vectors as sent (cosine would normalise them), so what comes back is what was read.
  const args = ['--dimension', String(DIM), '--metric', 'euclidean', '--index', 'flat'];
  [fast, builtin] = await Promise.all([startServerProcess({ args }), startServerProcess({ args, env: { VECSTORE_JSON_READER: 'builtin' } })]);
});
after(async () => {
  assert.deepEqual(await Promise.all([fast.stop(), builtin.stop()]), [0, 0]);
});

/** Records with full-precision doubles (JSON.stringify writes 17 significant digits), exponent forms and metadata. */
function records(prefix: string, n: number, seed: number) {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}-ü`,
    vector: Array.from({ length: DIM }, (_, j) => (j % 97 === 0 ? (rand() - 0.5) * 1e-5 : rand() * 2 - 1)),
    metadata: { i, tag: i % 2 ? 'odd' : 'even', note: 'quote " and \\ and ✓' },
    text: `row ${i}`,
  }));
}

/** The stored records of `ids`, through POST {base}/vectors/get (`base`: `/v1` or a collection's `/v1/collections/{name}`). */
async function fetchRecords(base: string, ids: string[]): Promise<Array<{ id: string; vector: number[]; metadata: unknown; text: unknown }>> {
  const res = await postJson(`${base}/vectors/get`, { ids });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.missing, []);
  return res.body.records;
}

/** Every vector comes back as Math.fround of what was sent, bit for bit, with its metadata and text. */
async function assertStored(base: string, sent: ReturnType<typeof records>): Promise<void> {
  const got = await fetchRecords(base, sent.map((r) => r.id));
  got.forEach((g, i) => {
    assert.equal(g.id, sent[i].id);
    const want = Float32Array.from(sent[i].vector);
    const have = Float32Array.from(g.vector);
    assert.deepEqual(new Uint32Array(have.buffer), new Uint32Array(want.buffer), `${g.id}: vector bits`);
    assert.deepEqual([g.metadata, g.text], [sent[i].metadata, sent[i].text]);
  });
}

describe('JSON batch-upsert through the fast reader', () => {
  test('the reader is fast by default and builtin when VECSTORE_JSON_READER says so', () => {
    const reader = (server: ServerProcess) => server.logs.map((l) => JSON.parse(l) as { msg?: string; config?: { jsonReader?: string } }).find((e) => e.msg === 'listening')?.config?.jsonReader;
    assert.deepEqual([reader(fast), reader(builtin)], ['fast', 'builtin']);
  });

  test('a large body (parse pool) and a small one (inline) of 17-digit floats are stored bit-exactly', async () => {
    const large = records('large', 150, 1);
    const body = JSON.stringify({ records: large });
    assert.ok(Buffer.byteLength(body) > INLINE_JSON_BYTES, 'the body goes to the parse pool');
    assert.ok(body.includes('e-6') || body.includes('e-7'), 'exponent forms are in the body');
    const res = await postJson(`${fast.url}/v1/batch-upsert`, body);
    assert.deepEqual([res.status, res.body], [200, { inserted: 150, updated: 0, errors: [] }]);
    await assertStored(`${fast.url}/v1`, large);

    // Pretty-printed: the inline path.
    const small = records('small', 3, 2);
    const inline = JSON.stringify({ records: small }, null, 2);
    assert.ok(Buffer.byteLength(inline) < INLINE_JSON_BYTES);
    assert.deepEqual((await postJson(`${fast.url}/v1/batch-upsert`, inline)).body, { inserted: 3, updated: 0, errors: [] });
    await assertStored(`${fast.url}/v1`, small);
  });

  test('a named collection (dot metric) stores what it is sent through the same reader', async () => {
    assert.equal((await requestJson(`${fast.url}/v1/collections/dots`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dimension: DIM, metric: 'dot', index: 'flat' }) })).status, 201);
    const rows = records('dot', 40, 3);
    const res = await postJson(`${fast.url}/v1/collections/dots/batch-upsert`, JSON.stringify({ records: rows }));
    assert.deepEqual(res.body, { inserted: 40, updated: 0, errors: [] });
    await assertStored(`${fast.url}/v1/collections/dots`, rows);
  });

  test('bad bodies and bad records get exactly the answers of the JSON.parse reader, large and small', async () => {
    const big = JSON.stringify({ records: records('bad', 120, 4) });
    const cases = [
      big.slice(0, -3), // truncated, large
      `${big}x`,
      big.replace('"vector":[', '"vector":[01,'),
      big.replace('"vector":[', '"vector":["1",').replace('"metadata":{', '"metadata":{"__proto__":{"x":1},'),
      big.replace(/"text":"row 7"/, '"text":"row 7","payload":1'),
      big.replace('"vector":[', '"vector":[1e39,'),
      big.replace('{"records":', '{"extra":1,"records":'),
      '{"records":[{"id":"a","vector":[1,2,3]},{"id":"b","vector":[]},{"id":"c","vector":[null]},{"id":"d","vector":"x"},null]}',
      '{"records":[{"id":"a","vector":[1,2,3],}]}',
      '{"records":[{"id":"a","vector":[1.,2,3]}]}',
      '',
      '[]',
      '{"records":{}}',
      '{"__proto__":[],"records":[]}',
    ];
    for (const body of cases) {
      const [a, b] = await Promise.all([postJson(`${fast.url}/v1/batch-upsert`, body), postJson(`${builtin.url}/v1/batch-upsert`, body)]);
      assert.deepEqual(a, b, body.slice(0, 80));
      assert.ok(a.status === 400 || a.body.errors.length > 0, `${body.slice(0, 80)}: refused or has record errors`);
    }
  });

  test('query bodies: the same answers from both readers, hits and scores bit for bit, bad bodies included', async () => {
    const rows = records('q', 40, 9);
    for (const server of [fast, builtin]) {
      const created = await requestJson(`${server.url}/v1/collections/q`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dimension: DIM, metric: 'euclidean', index: 'flat' }) });
      assert.equal(created.status, 201);
      assert.deepEqual((await postJson(`${server.url}/v1/collections/q/batch-upsert`, JSON.stringify({ records: rows }))).body, { inserted: 40, updated: 0, errors: [] });
    }
    const vector = records('probe', 1, 10)[0].vector;
    const bodies = [
      JSON.stringify({ vector, limit: 5, include_vectors: true }),
      `{ "limit" : 3 ,\n "vector" : ${JSON.stringify(vector)} , "filter": "tag = 'odd'" }`,
      JSON.stringify({ vector, text_query: 'row 7', limit: 4 }),
      JSON.stringify({ vector: vector.slice(0, 5), limit: 5 }),
      JSON.stringify({ vector: [], limit: 5 }),
      JSON.stringify({ vector: [1, 'two', 3], limit: 5 }),
      JSON.stringify({ vector: null }),
      JSON.stringify({ vector, top_k: 5 }),
      JSON.stringify({ vector, limit: 'five' }),
      `{"vector": [${vector.join(',')}], "limit": 5, "__proto__": {}}`,
      `{"vector": [${vector.join(',')}, 1e400], "limit": 5}`,
      `{"vector": [${vector.join(',')}]`,
      `{"vector": [${vector.join(',')}]} trailing`,
      '[1, 2, 3]',
    ];
    for (const [n, body] of bodies.entries()) {
      const route = n === 2 ? 'hybrid-query' : 'query';
      // The answers' timings differ between any two servers; everything else must not.
      const withoutTimings = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (key, v) => (key === 'duration_ms' ? undefined : v)));
      const [a, b] = (await Promise.all([fast, builtin].map((server) => postJson(`${server.url}/v1/collections/q/${route}`, body)))).map((r) => ({ status: r.status, body: withoutTimings(r.body) as any }));
      assert.deepEqual([a.status, a.body], [b.status, b.body], `body ${n}: ${body.slice(0, 60)}`);
      if (n < 3) assert.equal(a.status, 200, `body ${n} is a good query`);
    }
  });
});
