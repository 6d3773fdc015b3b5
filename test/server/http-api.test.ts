// The HTTP API over real sockets: every route's success shape and every error status, hostile bodies, concurrency.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { postJson, requestJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { uwsIsNative } from '../../src/server/app.js';

let server: ServerProcess;
const DIM = 4;

before(async () => {
  server = await startServerProcess({ args: ['--dimension', String(DIM), '--metric', 'euclidean', '--max-body', '100000'] });
});
after(async () => {
  assert.equal(await server.stop(), 0);
});

/** Sends raw bytes over a fresh TCP connection and returns everything the server answered until it closed or went quiet. */
function rawRequest(port: number, chunks: Array<string | Buffer>, waitMs = 500): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => { answer += d.toString(); });
    socket.on('error', () => resolve(answer));
    socket.on('close', () => resolve(answer));
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) break;
        socket.write(chunk);
        await new Promise((r) => setTimeout(r, 5));
      }
      setTimeout(() => { socket.destroy(); resolve(answer); }, waitMs);
    });
  });
}

test('the native uWebSockets.js binary is loaded, not the ws fallback', () => {
  assert.equal(uwsIsNative(), true);
  assert.equal(process.env.UWS_USE_FALLBACK, undefined);
});

describe('routes', () => {
  test('health and ready', async () => {
    assert.deepEqual((await requestJson(`${server.url}/health`)).body, { status: 'healthy' });
    assert.deepEqual((await requestJson(`${server.url}/ready`)).body, { status: 'ready' });
  });

  test('upsert, get, query, update, soft delete, restore, delete, compact, stats', async () => {
    assert.deepEqual((await postJson(`${server.url}/v1/upsert`, { id: 'r1', vector: [0, 0, 0, 1], metadata: { tag: 'a', n: 1 }, text: 'red fox' })).body, { success: true });
    const batch = await postJson(`${server.url}/v1/batch-upsert`, { records: [
      { id: 'r2', vector: [0, 0, 1, 0], metadata: { tag: 'b', n: 2 } },
      { id: 'r3', vector: [0, 1, 0, 0], metadata: { tag: 'a', n: 3 } },
      { id: 'r1', vector: [0, 0, 0, 2], metadata: { tag: 'a', n: 10 }, text: 'red fox jumps' },
    ] });
    assert.deepEqual(batch.body, { inserted: 2, updated: 1, errors: [] });

    const got = await requestJson(`${server.url}/v1/vectors/r1`);
    assert.deepEqual(got.body, { id: 'r1', vector: [0, 0, 0, 2], metadata: { tag: 'a', n: 10 }, text: 'red fox jumps', deleted: false });

    const q = await postJson(`${server.url}/v1/query`, { vector: [0, 0, 0, 2], limit: 2 });
    assert.equal(q.status, 200);
    assert.deepEqual(q.body.results.map((r: any) => r.id), ['r1', 'r2']);
    assert.equal(q.body.results[0].score, 0);
    assert.deepEqual(q.body.results[0].metadata, { tag: 'a', n: 10 });
    assert.equal(q.body.stats.total_candidates, 3);
    assert.equal(typeof q.body.stats.duration_ms, 'number');

    const filtered = await postJson(`${server.url}/v1/query`, { vector: [0, 0, 0, 2], k: 5, filter: "tag = 'a' AND n > 2", include_vectors: true });
    assert.deepEqual(filtered.body.results.map((r: any) => [r.id, r.vector]), [['r1', [0, 0, 0, 2]], ['r3', [0, 1, 0, 0]]]);
    assert.equal(filtered.body.stats.filtered_count, 2);

    assert.deepEqual((await postJson(`${server.url}/v1/soft-delete/r1`, {})).body, { found: true, marked_deleted: true });
    assert.equal((await requestJson(`${server.url}/v1/vectors/r1`)).body.deleted, true);
    const afterSoft = await postJson(`${server.url}/v1/query`, { vector: [0, 0, 0, 2], limit: 5 });
    assert.ok(!afterSoft.body.results.some((r: any) => r.id === 'r1'), 'a soft-deleted record is not returned');
    assert.deepEqual((await postJson(`${server.url}/v1/restore/r1`, {})).body, { found: true, restored: true });
    assert.equal((await postJson(`${server.url}/v1/query`, { vector: [0, 0, 0, 2], limit: 1 })).body.results[0].id, 'r1');

    assert.deepEqual((await requestJson(`${server.url}/v1/delete/r2`, { method: 'DELETE' })).body, { found: true, deleted: true });
    assert.equal((await requestJson(`${server.url}/v1/vectors/r2`)).status, 404);
    const compacted = await postJson(`${server.url}/v1/compact`, {});
    assert.equal(compacted.status, 200);
    assert.equal(compacted.body.removed_count, 2, 'the deleted r2 and the replaced first r1 are reclaimed');
    assert.equal(typeof compacted.body.freed_bytes, 'number');

    const stats = (await requestJson(`${server.url}/v1/stats`)).body;
    assert.equal(stats.total_vectors, 2);
    assert.equal(stats.active_vectors, 2);
    assert.equal(stats.deleted_vectors, 0);
    assert.equal(stats.dimension, DIM);
    assert.equal(typeof stats.storage_bytes, 'number');
  });

  test('binary query and upsert bodies (raw little-endian float32)', async () => {
    const vec = Buffer.alloc(16);
    [1, 1, 1, 1].forEach((x, i) => vec.writeFloatLE(x, i * 4));
    const up = await requestJson(`${server.url}/v1/upsert?id=bin1&metadata=${encodeURIComponent('{"b":true}')}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: vec });
    assert.deepEqual(up.body, { success: true });
    const q = await requestJson(`${server.url}/v1/query?limit=1`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: vec });
    assert.equal(q.body.results[0].id, 'bin1');
    assert.deepEqual(q.body.results[0].metadata, { b: true });
    const odd = await requestJson(`${server.url}/v1/query?limit=1`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(7) });
    assert.equal(odd.status, 400);
  });

  test('200 concurrent HTTP queries all answer correctly', async () => {
    await postJson(`${server.url}/v1/batch-upsert`, { records: Array.from({ length: 50 }, (_, i) => ({ id: `c${i}`, vector: [i, i, i, 100] })) });
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => postJson(`${server.url}/v1/query`, { vector: [i % 50, i % 50, i % 50, 100], limit: 1 })));
    answers.forEach((a, i) => {
      assert.equal(a.status, 200);
      assert.equal(a.body.results[0].id, `c${i % 50}`);
    });
  });
});

describe('errors', () => {
  const expectError = (res: { status: number; body: any }, status: number, code: string, mentions?: string) => {
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.code, code);
    assert.equal(typeof res.body.error, 'string');
    if (mentions) assert.match(res.body.error, new RegExp(mentions));
  };

  test('400: malformed, truncated and empty bodies, wrong types, each naming the field', async () => {
    expectError(await postJson(`${server.url}/v1/upsert`, '{"id": "x", "vector": [1,2'), 400, 'invalid_json', 'JSON');
    expectError(await postJson(`${server.url}/v1/upsert`, ''), 400, 'invalid_json', 'empty');
    expectError(await postJson(`${server.url}/v1/upsert`, '[1,2,3]'), 400, 'validation', 'object');
    expectError(await postJson(`${server.url}/v1/upsert`, { id: 5, vector: [1, 2, 3, 4] }), 400, 'validation', '^id');
    expectError(await postJson(`${server.url}/v1/upsert`, { id: '', vector: [1, 2, 3, 4] }), 400, 'validation', '^id');
    expectError(await postJson(`${server.url}/v1/upsert`, { id: 'x', vector: 'no' }), 400, 'validation', '^vector');
    expectError(await postJson(`${server.url}/v1/upsert`, { id: 'x', vector: [1, 'a', 3, 4] }), 400, 'validation', 'vector\\[1\\]');
    expectError(await postJson(`${server.url}/v1/upsert`, { id: 'x', vector: [1, 2, 3, 4], metadata: [1] }), 400, 'validation', '^metadata');
    expectError(await postJson(`${server.url}/v1/upsert`, '{"id":"x","vector":[1,2,3,1e999]}'), 400, 'validation', 'finite');
    expectError(await postJson(`${server.url}/v1/query`, { vector: [1, 2, 3, 4], limit: 0 }), 400, 'validation', '^limit');
    expectError(await postJson(`${server.url}/v1/query`, { vector: [1, 2, 3, 4], limit: 2.5 }), 400, 'validation', '^limit');
    expectError(await postJson(`${server.url}/v1/query`, { vector: [1, 2, 3, 4], filter: 'tag = ' }), 400, 'invalid_filter', 'character');
    expectError(await postJson(`${server.url}/v1/batch-upsert`, { records: 'x' }), 400, 'validation', '^records');
    expectError(await postJson(`${server.url}/v1/hybrid-query`, { vector: [1, 2, 3, 4], text_query: 'x', alpha: 2 }), 400, 'validation', '^alpha');
  });

  test('a batch with bad records applies the good ones and reports the bad by index', async () => {
    const res = await postJson(`${server.url}/v1/batch-upsert`, { records: [{ id: 'g1', vector: [1, 2, 3, 4] }, { id: 'bad', vector: [1, 2] }, { vector: [1, 2, 3, 4] }, { id: 'g2', vector: [1, 2, 3, 5] }] });
    assert.equal(res.status, 200);
    assert.equal(res.body.inserted, 2);
    assert.deepEqual(res.body.errors.map((e: any) => [e.index, e.code]), [[1, 'dimension_mismatch'], [2, 'validation']]);
    assert.equal((await requestJson(`${server.url}/v1/vectors/g2`)).status, 200);
    assert.equal((await requestJson(`${server.url}/v1/vectors/bad`)).status, 404);
  });

  test('404 unknown id and route, 405 wrong method, 409 dimension mismatch', async () => {
    expectError(await requestJson(`${server.url}/v1/vectors/nope`), 404, 'not_found', 'nope');
    const hard = await requestJson(`${server.url}/v1/delete/nope`, { method: 'DELETE' });
    expectError(hard, 404, 'not_found');
    assert.deepEqual([hard.body.found, hard.body.deleted], [false, false]);
    const soft = await postJson(`${server.url}/v1/soft-delete/nope`, {});
    expectError(soft, 404, 'not_found');
    assert.deepEqual([soft.body.found, soft.body.marked_deleted], [false, false]);
    const restored = await postJson(`${server.url}/v1/restore/nope`, {});
    expectError(restored, 404, 'not_found');
    assert.deepEqual([restored.body.found, restored.body.restored], [false, false]);
    expectError(await requestJson(`${server.url}/v2/whatever`), 404, 'route_not_found');
    const wrong = await requestJson(`${server.url}/v1/query`, { method: 'GET' });
    expectError(wrong, 405, 'method_not_allowed');
    assert.equal(wrong.headers.get('allow'), 'POST');
    expectError(await postJson(`${server.url}/v1/upsert`, { id: 'x', vector: Array(10_000).fill(0.5) }), 409, 'dimension_mismatch', 'expected 4');
    expectError(await postJson(`${server.url}/v1/query`, { vector: [1, 2, 3] }), 409, 'dimension_mismatch');
  });

  test('413: Content-Length over the limit is refused before the body is read', async () => {
    const answer = await rawRequest(server.port, [`POST /v1/upsert HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n`]);
    assert.match(answer, /^HTTP\/1\.1 413/);
    assert.match(answer, /"code":"payload_too_large"/);
  });

  test('413: a chunked body is refused as soon as it passes the limit', async () => {
    const chunk = Buffer.alloc(30_000, 'a');
    const parts: Array<string | Buffer> = ['POST /v1/batch-upsert HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n'];
    for (let i = 0; i < 6; i++) parts.push(`${chunk.length.toString(16)}\r\n`, chunk, '\r\n');
    parts.push('0\r\n\r\n');
    const answer = await rawRequest(server.port, parts);
    assert.match(answer, /^HTTP\/1\.1 413/);
  });

  test('an aborted request does not crash the server', async () => {
    await rawRequest(server.port, ['POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{"vector":[1,'], 50);
    assert.equal((await requestJson(`${server.url}/health`)).status, 200);
  });
});
