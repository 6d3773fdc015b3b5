// The index over the wire: ef, exact and recall in query bodies, raw float32 query strings and WebSocket messages; their
// errors; which path answered; /v1/stats and the index metrics; a restart that keeps the graph.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { postJson, requestJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { syntheticDataset, rowOf } from '../../bench/datasets.js';

const DIM = 16;
const COUNT = 3000;
const base = syntheticDataset({ count: COUNT, dim: DIM, seed: 3, latentDim: 6, clusters: 10 });
let server: ServerProcess;
const ARGS = ['--index-threshold', '0', '--metric', 'euclidean', '--hnsw-m', '8', '--hnsw-ef-construction', '64', '--recall-sample-rate', '1', '--recall-audits-per-second', '1000'];

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

before(async () => {
  server = await startServerProcess({ args: ARGS });
  for (let i = 0; i < COUNT; i += 500) {
    const records = [];
    for (let j = i; j < i + 500; j++) records.push({ id: `r${j}`, vector: Array.from(rowOf(base, j)), metadata: { even: j % 2 === 0 } });
    assert.equal((await postJson(`${server.url}/v1/batch-upsert`, { records })).status, 200);
  }
  await waitFor(async () => {
    const stats = (await requestJson(`${server.url}/v1/stats`)).body;
    return stats.indexed_vectors === COUNT && stats.recall_table.length > 0 && stats.pending_vectors === 0;
  }, 'the graph and its recall table');
});
after(async () => {
  await server?.stop();
});

test('query bodies choose the path: graph by default, exact on request; stats say which and at what breadth', async () => {
  const vector = Array.from(rowOf(base, 7));
  const graph = await postJson(`${server.url}/v1/query`, { vector, limit: 5 });
  assert.equal(graph.status, 200);
  assert.equal(graph.body.stats.index, 'hnsw');
  assert.ok(graph.body.stats.ef >= 5);
  assert.ok(graph.body.stats.expected_recall >= 0.99);
  assert.ok(graph.body.stats.distance_computations > 0);
  assert.equal(graph.body.results[0].id, 'r7');
  const exact = await postJson(`${server.url}/v1/query`, { vector, limit: 5, exact: true });
  assert.equal(exact.body.stats.index, 'exact');
  assert.equal(exact.body.stats.expected_recall, 1);
  const wide = await postJson(`${server.url}/v1/query`, { vector, limit: 5, ef: 200 });
  assert.equal(wide.body.stats.ef, 200);
  const loose = await postJson(`${server.url}/v1/query`, { vector, limit: 5, recall: 0.5 });
  assert.ok(loose.body.stats.ef <= graph.body.stats.ef, 'a lower recall target searches no wider');
  assert.equal((await postJson(`${server.url}/v1/query`, { vector, limit: 5, recall: 1 })).body.stats.index, 'exact', 'recall 1 is exact');
  const hybrid = await postJson(`${server.url}/v1/hybrid-query`, { vector, text_query: 'none', limit: 5, ef: 100 });
  assert.equal(hybrid.body.stats.index, 'hnsw');
  // Raw float32 bodies take the same parameters from the query string.
  const raw = await fetch(`${server.url}/v1/query?limit=3&ef=50`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(Float32Array.from(vector).buffer) });
  const rawBody = (await raw.json()) as { stats: { ef: number; index: string } };
  assert.equal(rawBody.stats.ef, 50);
  const rawExact = await fetch(`${server.url}/v1/query?limit=3&exact=true`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(Float32Array.from(vector).buffer) });
  assert.equal(((await rawExact.json()) as { stats: { index: string } }).stats.index, 'exact');
});

test('bad ef, exact and recall get a 400 naming the field', async () => {
  const vector = Array.from(rowOf(base, 1));
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ ef: 0 }, 'validation', /^ef: /],
    [{ ef: 'wide' }, 'validation', /^ef: /],
    [{ ef: 2.5 }, 'validation', /^ef: /],
    [{ ef: 3, limit: 10 }, 'validation', /^ef: must be at least limit/],
    [{ ef: 10_000_000 }, 'ef_too_large', /^ef: /],
    [{ exact: 'yes' }, 'validation', /^exact: /],
    [{ recall: 0 }, 'validation', /^recall: /],
    [{ recall: 1.5 }, 'validation', /^recall: /],
    [{ recall: 0.9, ef: 50 }, 'validation', /^recall: give either ef or recall/],
  ];
  for (const [extra, code, message] of cases) {
    const res = await postJson(`${server.url}/v1/query`, { vector, limit: 5, ...extra });
    assert.equal(res.status, 400, JSON.stringify(extra));
    assert.equal(res.body.code, code, JSON.stringify(extra));
    assert.match(res.body.error, message);
  }
  const raw = await fetch(`${server.url}/v1/query?limit=3&ef=zero`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(Float32Array.from(vector).buffer) });
  assert.equal(raw.status, 400);
  assert.match(((await raw.json()) as { error: string }).error, /^ef: /);
  assert.equal((await requestJson(`${server.url}/health`)).status, 200, 'the server is still up');
});

test('WebSocket query messages take ef, exact and recall', async () => {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws/query-stream`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const completes: Array<{ request_id: string; stats: { index: string; ef?: number } }> = [];
  const errors: Array<{ request_id: string; code: string }> = [];
  const done = new Promise<void>((resolve) => {
    ws.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.complete) completes.push(message);
      if (message.code) errors.push(message);
      if (completes.length + errors.length === 3) resolve();
    });
  });
  const vector = Array.from(rowOf(base, 2));
  ws.send(JSON.stringify({ request_id: 'a', vector, limit: 4, ef: 40 }));
  ws.send(JSON.stringify({ request_id: 'b', vector, limit: 4, exact: true }));
  ws.send(JSON.stringify({ request_id: 'c', vector, limit: 4, ef: -1 }));
  await done;
  ws.close();
  assert.equal(completes.find((c) => c.request_id === 'a')?.stats.ef, 40);
  assert.equal(completes.find((c) => c.request_id === 'b')?.stats.index, 'exact');
  assert.equal(errors.find((e) => e.request_id === 'c')?.code, 'validation');
});

test('stats, metrics and the recall audit report the index', async () => {
  for (let q = 0; q < 40; q++) await postJson(`${server.url}/v1/query`, { vector: Array.from(rowOf(base, q * 11)), limit: 10, filter: q % 2 ? 'even = true' : undefined });
  let stats: any;
  await waitFor(async () => {
    stats = (await requestJson(`${server.url}/v1/stats`)).body;
    return stats.recall_estimate.audits >= 20;
  }, 'recall audits');
  assert.equal(stats.index, 'hnsw');
  assert.equal(stats.indexed_vectors, COUNT);
  assert.equal(stats.pending_vectors, 0);
  assert.ok(stats.index_bytes > 0);
  assert.equal(stats.index_threshold, 0);
  assert.deepEqual(stats.hnsw, { m: 8, ef_construction: 64, ef: 64 });
  assert.equal(stats.target_recall, 0.99);
  assert.ok(stats.recall_estimate.value >= 0.9 && stats.recall_estimate.value <= 1, `estimate ${stats.recall_estimate.value}`);
  const metrics = (await requestJson(`${server.url}/metrics`)).body as string;
  assert.match(metrics, /vecstore_index_vectors\{collection="default"\} 3000/);
  assert.match(metrics, /vecstore_index_pending_vectors\{collection="default"\} 0/);
  assert.match(metrics, /vecstore_query_paths_total\{path="hnsw"\} [1-9]/);
  assert.match(metrics, /vecstore_index_inserts_total 3000/);
  assert.match(metrics, /vecstore_index_recall_count\{type="vector"\} [1-9]/);
  assert.match(metrics, /vecstore_index_recall_audits_total [1-9]/);
  assert.match(metrics, /vecstore_index_recall_target 0.99/);
});

test('a restart loads the graph saved at shutdown: indexed when ready, no rebuild', async () => {
  const before = (await postJson(`${server.url}/v1/query`, { vector: Array.from(rowOf(base, 5)), limit: 10 })).body.results.map((r: { id: string }) => r.id);
  await server.stop();
  server = await startServerProcess({ args: ARGS, dataDir: server.dataDir });
  const stats = (await requestJson(`${server.url}/v1/stats`)).body;
  assert.equal(stats.indexed_vectors, COUNT, 'the graph is there as soon as the server is ready');
  const metrics = (await requestJson(`${server.url}/metrics`)).body as string;
  assert.match(metrics, /vecstore_index_inserts_total 0/, 'nothing was inserted again');
  const afterRestart = (await postJson(`${server.url}/v1/query`, { vector: Array.from(rowOf(base, 5)), limit: 10, ef: 64 })).body.results.map((r: { id: string }) => r.id);
  assert.equal(afterRestart.filter((id: string) => before.includes(id)).length >= 9, true);
});
