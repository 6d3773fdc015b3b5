// SIGTERM while requests are in flight: they finish, WebSockets close with 1001 (going away), the process exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { postJson, requestJson, startServerProcess } from '../helpers/server-process.js';

test('SIGTERM finishes in-flight requests, closes WebSockets with going-away, exits 0', async () => {
  const dim = 256;
  const server = await startServerProcess({ args: ['--dimension', String(dim), '--cache-size', '0'] });
  for (let b = 0; b < 20; b++) {
    const records = Array.from({ length: 1000 }, (_, i) => ({ id: `s${b}-${i}`, vector: Array.from({ length: dim }, (_, j) => Math.sin(b * 1000 + i + j)) }));
    assert.equal((await postJson(`${server.url}/v1/batch-upsert`, { records })).status, 200);
  }
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws/query-stream`);
  await new Promise((resolve) => ws.once('open', resolve));
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

  const query = (i: number) => JSON.stringify({ vector: Array.from({ length: dim }, (_, j) => Math.cos(i + j)), limit: 5 });
  const inFlight = Array.from({ length: 60 }, (_, i) => requestJson(`${server.url}/v1/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: query(i) }));
  await new Promise((r) => setTimeout(r, 20));
  server.proc.kill('SIGTERM');
  // Every request gets a whole answer (none is cut off): the ones the server had received finish with their results;
  // any that reached it after the signal are refused cleanly with 503.
  const answers = await Promise.all(inFlight);
  for (const a of answers) {
    if (a.status === 200) assert.equal(a.body.results.length, 5);
    else assert.deepEqual([a.status, a.body.code, a.headers.get('retry-after')], [503, 'unavailable', '1']);
  }
  assert.ok(answers.some((a) => a.status === 200), 'requests in flight at the signal were answered');
  assert.equal(await closed, 1001);
  assert.equal(await server.exited, 0);
  assert.ok(server.logs.some((l) => l.includes('shutting down')));
  await assert.rejects(fetch(`${server.url}/health`), 'no longer accepting connections');
});
