// /metrics after a scripted workload: every metric equals the workload's own count; worker totals survive worker death.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { postJson, requestJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess;
const DIM = 4;

before(async () => {
  server = await startServerProcess({ args: ['--dimension', String(DIM)], env: { VECSTORE_TEST_FAULTS: '1' } });
});
after(async () => {
  await server.stop();
});

async function scrape(): Promise<string> {
  const res = await fetch(`${server.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  return res.text();
}

/** The value of one series, e.g. value(text, 'vecstore_upserts_total{batch="single"}'). */
function value(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** Scrapes until `series` reaches `expected` (workers report every 200 ms), returning the last exposition. */
async function scrapeUntil(series: string, expected: number): Promise<string> {
  let text = '';
  for (let i = 0; i < 40; i++) {
    text = await scrape();
    if (value(text, series) === expected) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
  return text;
}

function sumOf(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name + ' ') || line.startsWith(name + '{')) sum += Number(line.split(' ').pop());
  return sum;
}

test('every metric equals the scripted workload exactly', async () => {
  const vec = (x: number) => [x, 1, 2, 3];
  for (let i = 0; i < 7; i++) assert.equal((await postJson(`${server.url}/v1/upsert`, { id: `m${i}`, vector: vec(i), metadata: { i } })).status, 200);
  await postJson(`${server.url}/v1/batch-upsert`, { records: [{ id: 'b1', vector: vec(10) }, { id: 'b2', vector: vec(11) }] });
  await postJson(`${server.url}/v1/batch-upsert`, { records: [{ id: 'b3', vector: vec(12) }] });
  for (let i = 0; i < 5; i++) await postJson(`${server.url}/v1/query`, { vector: vec(i), limit: 3 });
  await postJson(`${server.url}/v1/query`, { vector: vec(0), limit: 3 }); // a cache hit: same as the first query
  for (let i = 0; i < 2; i++) await postJson(`${server.url}/v1/hybrid-query`, { vector: vec(i), text_query: 'x', limit: 2 });
  await requestJson(`${server.url}/v1/delete/m0`, { method: 'DELETE' });
  await postJson(`${server.url}/v1/soft-delete/m1`, {});
  await postJson(`${server.url}/v1/soft-delete/m2`, {});
  await requestJson(`${server.url}/v1/delete/unknown`, { method: 'DELETE' }); // 404: deletes nothing
  await requestJson(`${server.url}/v1/vectors/unknown`); // 404
  await postJson(`${server.url}/v1/upsert`, '{"id":'); // malformed body
  await postJson(`${server.url}/v1/upsert`, { id: 'x', vector: [1, 2] }); // dimension mismatch
  await requestJson(`${server.url}/no/such/path/${Math.random()}`); // unknown route
  await requestJson(`${server.url}/no/such/other/${Math.random()}`);

  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws/query-stream`);
  await new Promise((r) => ws.once('open', r));
  // Queries on one socket run concurrently and may complete in any order: wait for all three.
  let completed = 0;
  const wsDone = new Promise<void>((resolve) => ws.on('message', (d) => { if (JSON.parse(d.toString()).complete && ++completed === 3) resolve(); }));
  for (let r = 1; r <= 3; r++) ws.send(JSON.stringify({ vector: vec(100 + r), limit: 2, request_id: r }));
  await wsDone;

  const text = await scrape();
  assert.equal(value(text, 'vecstore_upserts_total{batch="single"}'), 7);
  assert.equal(value(text, 'vecstore_upserts_total{batch="batch"}'), 2);
  assert.equal(value(text, 'vecstore_queries_total{type="vector"}'), 6 + 3, 'HTTP and WebSocket vector queries');
  assert.equal(value(text, 'vecstore_queries_total{type="hybrid"}'), 2);
  assert.equal(value(text, 'vecstore_query_results_count{type="vector"}'), 9);
  assert.equal(value(text, 'vecstore_query_results_sum{type="vector"}'), 6 * 3 + 3 * 2, "six HTTP queries of 3 results, three WebSocket queries of 2");
  assert.equal(value(text, 'vecstore_cache_hits_total{type="vector"}'), 1);
  assert.equal(value(text, 'vecstore_cache_misses_total{type="vector"}'), 8);
  assert.equal(value(text, 'vecstore_deletes_total{type="hard"}'), 1);
  assert.equal(value(text, 'vecstore_deletes_total{type="soft"}'), 2);
  // The label is the catalogue code itself: unknown ids and unknown routes, malformed JSON and invalid fields stay apart.
  assert.equal(value(text, 'vecstore_errors_total{error_type="not_found"}'), 2, 'two unknown ids');
  assert.equal(value(text, 'vecstore_errors_total{error_type="route_not_found"}'), 2, 'two unknown routes');
  assert.equal(value(text, 'vecstore_errors_total{error_type="invalid_json"}'), 1, 'the malformed body');
  assert.equal(value(text, 'vecstore_errors_total{error_type="validation"}'), undefined);
  assert.equal(value(text, 'vecstore_errors_total{error_type="dimension_mismatch"}'), 1);
  assert.equal(value(text, 'vecstore_vectors_total{collection="default"}'), 9, '10 records, one hard-deleted');
  assert.equal(value(text, 'vecstore_vectors_active{collection="default"}'), 7);
  assert.equal(value(text, 'vecstore_vectors_deleted{collection="default"}'), 2);
  assert.equal(value(text, 'vecstore_dimension{collection="default"}'), DIM);
  assert.equal(value(text, 'vecstore_websocket_connections'), 1);
  assert.equal(value(text, 'vecstore_requests_total{endpoint="/v1/upsert",method="POST"}'), 9);
  assert.equal(value(text, 'vecstore_requests_total{endpoint="/v1/delete/:id",method="DELETE"}'), 2, 'the route template, never the raw path');
  assert.equal(value(text, 'vecstore_requests_total{endpoint="unknown",method="GET"}'), 2, 'unknown paths share one label value');
  assert.equal(value(text, 'vecstore_request_duration_seconds_count{endpoint="/v1/query",method="POST"}'), 6);
  assert.ok(!/endpoint="\/no\//.test(text), 'no raw path ever becomes a label');
  assert.ok(!/thread|worker_id/.test(text.split('\n').filter((l) => l.startsWith('vecstore_')).join('\n')), 'no label per thread');
  assert.ok(text.includes('process_resident_memory_bytes') && text.includes('nodejs_eventloop_lag_seconds'), 'standard process and Node.js metrics');
  ws.close();
});

test('worker metrics sum over all workers and never go backward when a worker dies and is replaced', async () => {
  await new Promise((r) => setTimeout(r, 500)); // let the workers report what the first test did
  const before = await scrape();
  const tasksBefore = value(before, 'vecstore_worker_tasks_total')!;
  const scannedBefore = value(before, 'vecstore_worker_vectors_scanned_total')!;
  assert.ok(tasksBefore > 0);
  // Every query scans all 9 stored slots once (two shards below the minimum shard size make one task).
  assert.equal((await postJson(`${server.url}/v1/query`, { vector: [9, 9, 9, 9], limit: 1 })).status, 200);
  const one = await scrapeUntil('vecstore_worker_tasks_total', tasksBefore + 1);
  assert.equal(value(one, 'vecstore_worker_tasks_total'), tasksBefore + 1);
  assert.equal(value(one, 'vecstore_worker_vectors_scanned_total'), scannedBefore + 7, 'live rows read once');
  assert.equal(value(one, 'vecstore_worker_scan_duration_seconds_count'), tasksBefore + 1);

  assert.equal((await postJson(`${server.url}/v1/_test/worker-fault`, { fault: 'exit' })).status, 200);
  const failed = await postJson(`${server.url}/v1/query`, { vector: [8, 1, 0, 5], limit: 1 });
  assert.equal(failed.status, 503);
  assert.equal(failed.body.code, 'unavailable');
  let recovered;
  for (let i = 0; i < 50; i++) {
    recovered = await postJson(`${server.url}/v1/query`, { vector: [7, 2, 0, 1], limit: 1 });
    if (recovered.status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(recovered!.status, 200, 'the pool replaced the worker');
  await new Promise((r) => setTimeout(r, 500));
  const afterDeath = await scrape();
  assert.ok(value(afterDeath, 'vecstore_worker_tasks_total')! >= tasksBefore + 2, 'counters did not go backward');
  assert.ok(value(afterDeath, 'vecstore_worker_vectors_scanned_total')! >= scannedBefore + 14);
  assert.equal(value(afterDeath, 'vecstore_errors_total{error_type="unavailable"}'), 1);
  assert.equal(sumOf(afterDeath, 'vecstore_vectors_active'), 7, 'no data lost');
});

test('promtool check metrics reports nothing but the _total-suffix note on the vecstore_vectors_total gauge', async (t) => {
  const found = spawnSync('promtool', ['--version']);
  if (found.error) {
    if (process.env.CI) assert.fail('promtool is missing in CI (install Debian package prometheus)');
    t.skip('promtool not installed');
    return;
  }
  const text = await scrape();
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'metrics-')), 'metrics.txt');
  writeFileSync(file, text);
  const result = spawnSync('sh', ['-c', `promtool check metrics < ${file}`], { encoding: 'utf8' });
  const problems = (result.stdout + result.stderr).split('\n').filter((l) => l.trim() !== '');
  const unexpected = problems.filter((l) => !/^vecstore_vectors_total non-counter metrics should not have "_total" suffix$/.test(l.trim()));
  assert.deepEqual(unexpected, []);
});
