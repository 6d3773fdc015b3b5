// Faults: a scan worker that throws or exits mid-query, and SIGTERM under a write load; no acknowledged write is lost.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { postJson, requestJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { parseExposition } from '../helpers/prom-text.js';

const DIM = 8;
const COUNT = 2000;
const vec = (i: number): number[] => Array.from({ length: DIM }, (_, d) => (d === i % DIM ? i + 1 : 0.5));

let server: ServerProcess;
before(async () => {
  server = await startServerProcess({ args: ['--dimension', String(DIM), '--metric', 'euclidean', '--cache-size', '0'], env: { VECSTORE_TEST_FAULTS: '1' } });
  for (let i = 0; i < COUNT; i += 500) {
    const records = Array.from({ length: 500 }, (_, j) => ({ id: `f${i + j}`, vector: vec(i + j), metadata: { i: i + j } }));
    assert.equal((await postJson(`${server.url}/v1/batch-upsert`, { records })).body.inserted, 500);
  }
});
after(async () => {
  await server.stop();
});

async function counters(): Promise<Map<string, number>> {
  const samples = parseExposition(await (await fetch(`${server.url}/metrics`)).text());
  return new Map([...samples].filter(([name]) => /_total(\{|$)|_count(\{|$)|_sum(\{|$)/.test(name)));
}

async function knownQuery(): Promise<{ status: number; body: any }> {
  return postJson(`${server.url}/v1/query`, { vector: vec(1234), limit: 1 });
}

for (const fault of ['throw', 'exit'] as const) {
  test(`a worker that ${fault === 'throw' ? 'throws' : 'calls process.exit'}: that query gets 503 unavailable, the next ones succeed, nothing is lost`, async () => {
    assert.equal((await knownQuery()).body.results[0].id, 'f1234');
    const before = await counters();
    const armed = await postJson(`${server.url}/v1/_test/worker-fault`, { fault });
    assert.deepEqual(armed, { status: 200, body: { armed: fault } });

    const failed = await knownQuery();
    assert.equal(failed.status, 503, JSON.stringify(failed.body));
    assert.equal(failed.body.code, 'unavailable');
    assert.equal(typeof failed.body.error, 'string');

    // The pool replaces a dead worker; give it a moment to start, then every query must succeed.
    for (let i = 0; i < 20; i++) {
      const ok = await knownQuery();
      assert.equal(ok.status, 200, `query ${i} after the fault: ${JSON.stringify(ok.body)}`);
      assert.equal(ok.body.results[0].id, 'f1234');
    }
    const concurrent = await Promise.all(Array.from({ length: 16 }, (_, i) => postJson(`${server.url}/v1/query`, { vector: vec(i * 100), limit: 3 })));
    concurrent.forEach((r, i) => assert.equal(r.body.results[0].id, `f${i * 100}`));

    const stats = (await requestJson(`${server.url}/v1/stats`)).body;
    assert.equal(stats.active_vectors, COUNT);
    const known = await requestJson(`${server.url}/v1/vectors/f777`);
    assert.deepEqual(known.body.metadata, { i: 777 });
    assert.deepEqual(known.body.vector, vec(777));

    const after = await counters();
    for (const [name, value] of before) {
      assert.ok((after.get(name) ?? 0) >= value, `${name} went backward: ${value} → ${after.get(name)}`);
    }
    assert.equal((after.get('vecstore_errors_total{error_type="unavailable"}') ?? 0) - (before.get('vecstore_errors_total{error_type="unavailable"}') ?? 0), 1);
  });
}

test('the fault switch does not exist without VECSTORE_TEST_FAULTS=1', async () => {
  const plain = await startServerProcess({ args: ['--dimension', String(DIM)] });
  try {
    assert.equal((await postJson(`${plain.url}/v1/_test/worker-fault`, { fault: 'exit' })).status, 404);
  } finally {
    await plain.stop();
  }
});

test('SIGTERM under a write load: every acknowledged upsert is there after a restart on the same data directory', async () => {
  const s = await startServerProcess({ args: ['--dimension', String(DIM), '--metric', 'euclidean'] });
  const acked: string[] = [];
  let stopped = false;
  const writer = async (w: number): Promise<void> => {
    for (let i = 0; !stopped; i++) {
      const id = `w${w}-${i}`;
      try {
        if (i % 5 === 0) {
          const records = [0, 1, 2].map((j) => ({ id: `${id}-${j}`, vector: vec(i + j) }));
          const res = await postJson(`${s.url}/v1/batch-upsert`, { records });
          if (res.status === 200 && res.body.errors.length === 0) acked.push(...records.map((r) => r.id));
        } else {
          const res = await postJson(`${s.url}/v1/upsert`, { id, vector: vec(i), metadata: { w, i } });
          if (res.status === 200) acked.push(id);
        }
      } catch {
        // Refused or cut off by the shutdown: not acknowledged, so nothing is promised.
      }
    }
  };
  const writers = Array.from({ length: 8 }, (_, w) => writer(w));
  // Stop once writes are flowing (a loaded machine needs longer than an idle one), not after a fixed time.
  for (let waited = 0; acked.length < 100 && waited < 20_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
  const exit = s.stop();
  assert.equal(await exit, 0);
  stopped = true;
  await Promise.all(writers);
  assert.ok(acked.length > 50, `only ${acked.length} writes were acknowledged before SIGTERM`);
  assert.ok(s.logs.some((l) => l.includes('"msg":"stopped"')), 'the server logged a clean stop');

  const again = await startServerProcess({ args: ['--dimension', String(DIM), '--metric', 'euclidean'], dataDir: s.dataDir });
  try {
    const missing: string[] = [];
    for (let i = 0; i < acked.length; i += 64) {
      const results = await Promise.all(acked.slice(i, i + 64).map((id) => requestJson(`${again.url}/v1/vectors/${id}`)));
      results.forEach((r, j) => { if (r.status !== 200) missing.push(acked[i + j]); });
    }
    assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged writes are missing`);
    assert.ok((await requestJson(`${again.url}/v1/stats`)).body.active_vectors >= acked.length);
  } finally {
    await again.stop();
  }
});
