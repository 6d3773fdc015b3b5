// OpenTelemetry traces from a real server through the real OTLP exporter to a real receiver on loopback: the caller's
// trace is continued, the span tree (batch wait, worker scans, merge, log append, fsync) is complete, errors are
// marked, log lines carry the ids, and /metrics links slow buckets to traces with exemplars.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { postJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js';

const DIM = 8;
let receiver: OtlpReceiver;
let server: ServerProcess;

before(async () => {
  receiver = await startOtlpReceiver();
  server = await startServerProcess({
    args: ['--dimension', String(DIM)],
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'vecstore-under-test',
      OTEL_TRACES_SAMPLER: 'parentbased_always_on',
      // Export every 100 ms instead of every 5 s.
      OTEL_BSP_SCHEDULE_DELAY: '100',
    },
  });
});
after(async () => {
  await server.stop();
  await receiver.close();
});

function caller(): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

const vec = (i: number) => Array.from({ length: DIM }, (_, d) => Math.sin(i * 7 + d));

function childrenOf(spans: ReceivedSpan[], parent: ReceivedSpan): ReceivedSpan[] {
  return spans.filter((s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId);
}

test('a query continues the caller\'s trace: server span, batch wait, one scan per worker (timed in the worker), merge', async () => {
  const records = Array.from({ length: 5000 }, (_, i) => ({ id: `v${i}`, vector: vec(i), metadata: { i } }));
  assert.equal((await postJson(`${server.url}/v1/batch-upsert`, { records })).status, 200);
  const c = caller();
  const res = await fetch(`${server.url}/v1/query`, { method: 'POST', headers: { 'content-type': 'application/json', traceparent: c.traceparent }, body: JSON.stringify({ vector: vec(3), limit: 5 }) });
  assert.equal(res.status, 200);
  const traceresponse = res.headers.get('traceresponse') ?? '';
  assert.match(traceresponse, new RegExp(`^00-${c.traceId}-[0-9a-f]{16}-01$`));
  const serverSpanId = traceresponse.split('-')[2];

  const spans = await receiver.waitFor((all) => all.some((s) => s.spanId === serverSpanId) && all.filter((s) => s.parentSpanId === serverSpanId).length >= 4);
  const root = spans.find((s) => s.spanId === serverSpanId)!;
  assert.equal(root.traceId, c.traceId);
  assert.equal(root.parentSpanId, c.spanId);
  assert.equal(root.name, 'POST /v1/query');
  assert.equal(root.kind, 2, 'SERVER');
  assert.equal(root.serviceName, 'vecstore-under-test');
  assert.deepEqual(
    { method: root.attributes['http.request.method'], route: root.attributes['http.route'], status: root.attributes['http.response.status_code'], collection: root.attributes['vecstore.collection'] },
    { method: 'POST', route: '/v1/query', status: 200, collection: 'default' },
  );
  assert.notEqual(root.status.code, 2);

  const children = childrenOf(spans, root);
  const names = children.map((s) => s.name).sort();
  assert.deepEqual(names.filter((n) => n !== 'vecstore.scan'), ['vecstore.batch_wait', 'vecstore.merge']);
  const scans = children.filter((s) => s.name === 'vecstore.scan');
  // 5,000 rows over 2 workers at ≥ 2,048 rows per shard: two shards, each scanned by some worker.
  assert.equal(scans.length, 2);
  let visited = 0;
  for (const scan of scans) {
    assert.equal(typeof scan.attributes['vecstore.worker.id'], 'number');
    assert.ok((scan.attributes['vecstore.worker.id'] as number) > 0, 'a worker thread id, not the main thread');
    visited += scan.attributes['vecstore.rows.visited'] as number;
    assert.equal((scan.attributes['vecstore.distances.computed'] as number) + (scan.attributes['vecstore.rows.pruned'] as number), scan.attributes['vecstore.rows.visited']);
    // Measured in the worker, inside the server span.
    assert.ok(scan.startNs >= root.startNs && scan.endNs <= root.endNs, 'the scan lies within the request');
  }
  assert.equal(visited, 5000);
  const wait = children.find((s) => s.name === 'vecstore.batch_wait')!;
  const merge = children.find((s) => s.name === 'vecstore.merge')!;
  assert.ok(wait.endNs <= merge.startNs, 'the batch wait ends before the merge starts');
});

test('a query on a named collection names it in vecstore.collection, under the route template', async () => {
  const created = await fetch(`${server.url}/v1/collections/docs`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dimension: DIM }) });
  assert.equal(created.status, 201);
  assert.equal((await postJson(`${server.url}/v1/collections/docs/upsert`, { id: 'd1', vector: vec(1) })).status, 200);
  const c = caller();
  assert.equal((await postJson(`${server.url}/v1/collections/docs/query`, { vector: vec(1), limit: 1 }, { traceparent: c.traceparent })).status, 200);
  const spans = await receiver.waitFor((all) => all.some((s) => s.traceId === c.traceId && s.parentSpanId === c.spanId));
  const root = spans.find((s) => s.traceId === c.traceId && s.parentSpanId === c.spanId)!;
  assert.equal(root.name, 'POST /v1/collections/:name/query');
  assert.equal(root.attributes['http.route'], '/v1/collections/:name/query');
  assert.equal(root.attributes['vecstore.collection'], 'docs');
});

test('a write gets log-append and group-commit fsync spans', async () => {
  const c = caller();
  const res = await fetch(`${server.url}/v1/upsert`, { method: 'POST', headers: { 'content-type': 'application/json', traceparent: c.traceparent }, body: JSON.stringify({ id: 'w1', vector: vec(1) }) });
  assert.equal(res.status, 200);
  const spans = await receiver.waitFor((all) => all.some((s) => s.traceId === c.traceId && s.name === 'vecstore.wal.fsync') && all.some((s) => s.traceId === c.traceId && s.name === 'POST /v1/upsert'));
  const root = spans.find((s) => s.traceId === c.traceId && s.name === 'POST /v1/upsert')!;
  assert.ok(root);
  const children = childrenOf(spans, root);
  assert.deepEqual(children.map((s) => s.name).sort(), ['vecstore.wal.append', 'vecstore.wal.fsync']);
  assert.equal(children.find((s) => s.name === 'vecstore.wal.append')!.attributes['vecstore.mutation'], 'upsert');
});

test('errors: a 4xx names its error type, a route outside the table is traced under "unknown"', async () => {
  const bad = caller();
  assert.equal((await postJson(`${server.url}/v1/query`, { vector: 'nope', limit: 3 }, { traceparent: bad.traceparent })).status, 400);
  const missing = caller();
  const res = await fetch(`${server.url}/v1/no-such-route/secret-id`, { headers: { traceparent: missing.traceparent } });
  assert.equal(res.status, 404);
  assert.match(res.headers.get('traceresponse') ?? '', new RegExp(`^00-${missing.traceId}-`));
  const spans = await receiver.waitFor((all) => all.some((s) => s.traceId === bad.traceId) && all.some((s) => s.traceId === missing.traceId));
  const badSpan = spans.find((s) => s.traceId === bad.traceId)!;
  assert.equal(badSpan.attributes['http.response.status_code'], 400);
  assert.equal(badSpan.attributes['error.type'], 'validation');
  const missingSpan = spans.find((s) => s.traceId === missing.traceId)!;
  assert.equal(missingSpan.name, 'GET unknown');
  assert.equal(missingSpan.attributes['http.route'], 'unknown');
  assert.ok(!`${missingSpan.name} ${JSON.stringify(missingSpan.attributes)}`.includes('secret-id'), 'the raw path never reaches the span');
});

test('a server error sets the span status to ERROR', async () => {
  // A scan worker that dies under a query is answered 503 (the test-only fault switch provokes it).
  const c = caller();
  const other = await startServerProcess({
    args: ['--dimension', String(DIM)],
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '100', VECSTORE_TEST_FAULTS: '1' },
  });
  try {
    assert.equal((await postJson(`${other.url}/v1/upsert`, { id: 'a', vector: vec(1) })).status, 200);
    assert.equal((await postJson(`${other.url}/v1/_test/worker-fault`, { fault: 'throw' })).status, 200);
    const res = await postJson(`${other.url}/v1/query`, { vector: vec(1), limit: 1 }, { traceparent: c.traceparent });
    assert.equal(res.status, 503);
    const spans = await receiver.waitFor((all) => all.some((s) => s.traceId === c.traceId && s.parentSpanId === c.spanId));
    const root = spans.find((s) => s.traceId === c.traceId && s.parentSpanId === c.spanId)!;
    assert.equal(root.status.code, 2, 'STATUS_CODE_ERROR');
    assert.equal(root.attributes['error.type'], 'unavailable');
  } finally {
    await other.stop();
  }
});

test('a WebSocket query continues the traceparent of its message and answers with traceresponse', async () => {
  const c = caller();
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws/query-stream`);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const complete = new Promise<Record<string, unknown>>((resolve) => {
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as Record<string, unknown>;
      if (m.complete) resolve(m);
    });
  });
  ws.send(JSON.stringify({ request_id: 7, vector: vec(2), limit: 3, traceparent: c.traceparent }));
  const done = await complete;
  ws.close();
  assert.match(String(done.traceresponse), new RegExp(`^00-${c.traceId}-[0-9a-f]{16}-01$`));
  const spans = await receiver.waitFor((all) => all.some((s) => s.traceId === c.traceId && s.name === 'vecstore.merge') && all.some((s) => s.traceId === c.traceId && s.parentSpanId === c.spanId));
  const root = spans.find((s) => s.traceId === c.traceId && s.parentSpanId === c.spanId)!;
  assert.equal(root.name, 'WS /ws/query-stream');
  assert.equal(root.attributes['http.route'], '/ws/query-stream');
  assert.equal(root.attributes['vecstore.collection'], 'default');
  assert.ok(childrenOf(spans, root).some((s) => s.name === 'vecstore.scan'));
});

test('log lines written while serving a traced request carry its trace_id and span_id', async () => {
  assert.equal((await postJson(`${server.url}/v1/snapshots`, { name: 'traced' })).status, 200);
  const c = caller();
  const res = await fetch(`${server.url}/v1/snapshots/traced/restore`, { method: 'POST', headers: { traceparent: c.traceparent } });
  assert.equal(res.status, 200);
  const serverSpanId = (res.headers.get('traceresponse') ?? '').split('-')[2];
  // The line reaches this process through a pipe, possibly just after the answer.
  for (let i = 0; i < 100 && !server.logs.some((l) => l.includes('"snapshot restored"')); i++) await new Promise((r) => setTimeout(r, 50));
  const line = server.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.msg === 'snapshot restored');
  assert.ok(line, 'the restore logs a line');
  assert.equal(line.trace_id, c.traceId);
  assert.equal(line.span_id, serverSpanId);
  const startup = JSON.parse(server.logs[0]) as Record<string, unknown>;
  assert.equal(startup.trace_id, undefined, 'lines outside a request carry no trace id');
});

test('scraped as OpenMetrics, the request-duration histogram carries trace_id exemplars of sampled requests', async () => {
  const c = caller();
  assert.equal((await postJson(`${server.url}/v1/query`, { vector: vec(9), limit: 2 }, { traceparent: c.traceparent })).status, 200);
  const om = await fetch(`${server.url}/metrics`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
  assert.match(om.headers.get('content-type') ?? '', /application\/openmetrics-text/);
  const text = await om.text();
  assert.match(text, /# EOF\n$/);
  // OpenMetrics names a counter family without `_total` and its samples with it, exactly once.
  assert.match(text, /^# TYPE vecstore_queries counter$/m);
  assert.match(text, /^vecstore_queries_total\{type="vector"\} \d+$/m);
  assert.doesNotMatch(text, /_total_total/);
  const exemplar = text.split('\n').find((l) => l.startsWith('vecstore_request_duration_seconds_bucket{') && l.includes('endpoint="/v1/query"') && l.includes(`trace_id="${c.traceId}"`));
  assert.ok(exemplar, 'the last sampled /v1/query request is an exemplar');
  assert.match(exemplar, /^vecstore_request_duration_seconds_bucket\{[^}]*\} \d+ # \{trace_id="[0-9a-f]{32}"\} [0-9.e-]+ \d+(\.\d+)?$/);
  // Counters keep their names in the Prometheus format after an OpenMetrics scrape (prom-client renames them in place).
  const plain = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(plain, /^vecstore_queries_total\{type="vector"\} \d+$/m);
  assert.ok(!plain.includes('trace_id='), 'the Prometheus text format has no exemplars');
});
