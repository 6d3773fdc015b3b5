// WebSocket streaming queries over a real socket: pairing by request_id, errors keep the socket open, slow readers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { postJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess;
const DIM = 8;

before(async () => {
  server = await startServerProcess({ args: ['--dimension', String(DIM), '--metric', 'euclidean', '--max-ws-in-flight', '150'] });
  const records = Array.from({ length: 500 }, (_, i) => ({ id: `w${i}`, vector: Array(DIM).fill(i), metadata: { i, pad: 'x'.repeat(200) } }));
  assert.equal((await postJson(`${server.url}/v1/batch-upsert`, { records })).body.inserted, 500);
});
after(async () => {
  await server.stop();
});

function connect(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws/query-stream`);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

test('100 queries in flight on one socket stream back, each paired by request_id, best first', async () => {
  const ws = await connect();
  const byRequest = new Map<number, { results: any[]; complete?: any }>();
  const done = new Promise<void>((resolve) => {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      const entry = byRequest.get(msg.request_id) ?? { results: [] };
      byRequest.set(msg.request_id, entry);
      if (msg.complete) entry.complete = msg;
      else entry.results.push(msg);
      if ([...byRequest.values()].filter((e) => e.complete).length === 100) resolve();
    });
  });
  for (let r = 0; r < 100; r++) ws.send(JSON.stringify({ vector: Array(DIM).fill(r * 3), limit: 3, request_id: r }));
  await done;
  for (let r = 0; r < 100; r++) {
    const entry = byRequest.get(r)!;
    assert.equal(entry.complete.stats.total_results, 3);
    assert.equal(typeof entry.complete.stats.duration_ms, 'number');
    assert.equal(entry.results[0].id, `w${r * 3}`);
    assert.deepEqual(entry.results.map((m) => m.score), [...entry.results.map((m) => m.score)].sort((a, b) => a - b));
    assert.equal(entry.results[0].metadata.i, r * 3);
  }
  ws.close();
});

test('a bad message gets an error naming the problem and the socket stays open', async () => {
  const ws = await connect();
  const messages: any[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
  ws.send('{not json');
  ws.send(JSON.stringify({ vector: [1, 2], limit: 1, request_id: 'short' }));
  ws.send(JSON.stringify({ vector: Array(DIM).fill(0), limit: 1, request_id: 'ok' }));
  await new Promise<void>((resolve) => {
    const check = setInterval(() => { if (messages.some((m) => m.complete)) { clearInterval(check); resolve(); } }, 10);
  });
  assert.equal(messages[0].code, 'invalid_json');
  assert.deepEqual([messages[1].code, messages[1].request_id], ['dimension_mismatch', 'short']);
  assert.equal(messages.find((m) => m.request_id === 'ok' && !m.complete).id, 'w0');
  assert.equal(ws.readyState, WebSocket.OPEN);
  ws.close();
});

test('binary query frames (u32 request_id, u32 limit, float32 vector)', async () => {
  const ws = await connect();
  const frame = Buffer.alloc(8 + DIM * 4);
  frame.writeUInt32LE(77, 0);
  frame.writeUInt32LE(2, 4);
  for (let i = 0; i < DIM; i++) frame.writeFloatLE(10, 8 + i * 4);
  const messages: any[] = [];
  const complete = new Promise<void>((resolve) => ws.on('message', (d) => { const m = JSON.parse(d.toString()); messages.push(m); if (m.complete) resolve(); }));
  ws.send(frame);
  await complete;
  assert.deepEqual(messages.map((m) => [m.request_id, m.id ?? 'complete']), [[77, 'w10'], [77, 'w9'], [77, 'complete']]);
  ws.close();
});

test('a slow reader is held back by backpressure, then receives everything, and the server stays responsive', async () => {
  const ws = await connect();
  const socket = (ws as unknown as { _socket: import('node:net').Socket })._socket;
  let received = 0;
  let completes = 0;
  ws.on('message', (d) => { received++; if (JSON.parse(d.toString()).complete) completes++; });
  socket.pause();
  // 140 queries × 500 results × ~300 bytes ≈ 20 MB of answers for a client that reads nothing.
  for (let r = 0; r < 140; r++) ws.send(JSON.stringify({ vector: Array(DIM).fill(r), limit: 500, request_id: r }));
  await new Promise((r) => setTimeout(r, 1500));
  const health = await fetch(`${server.url}/health`);
  assert.equal(health.status, 200, 'other clients are served while one reader stalls');
  const metricsText = await (await fetch(`${server.url}/metrics`)).text();
  const rss = Number(/process_resident_memory_bytes (\d+)/.exec(metricsText)![1]);
  assert.ok(rss < 1024 * 1024 * 1024, `server RSS stays bounded (${rss})`);
  socket.resume();
  await new Promise<void>((resolve) => {
    const check = setInterval(() => { if (completes === 140) { clearInterval(check); resolve(); } }, 20);
  });
  assert.equal(received, 140 * 501);
  ws.close();
});

test('more queries in flight than the limit are refused with too_many_in_flight, the rest are answered', async () => {
  const ws = await connect();
  const socket = (ws as unknown as { _socket: import('node:net').Socket })._socket;
  const messages: any[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
  socket.pause();
  for (let r = 0; r < 200; r++) ws.send(JSON.stringify({ vector: Array(DIM).fill(r), limit: 500, request_id: r }));
  await new Promise((r) => setTimeout(r, 1000));
  socket.resume();
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (messages.filter((m) => m.complete || m.code).length === 200) { clearInterval(check); resolve(); }
    }, 20);
  });
  const refused = messages.filter((m) => m.code === 'too_many_in_flight');
  assert.ok(refused.length >= 1, 'some queries were refused');
  assert.equal(messages.filter((m) => m.complete).length + refused.length, 200);
  ws.close();
});
