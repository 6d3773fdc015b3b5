// Every limit of src/engine/limits.ts set small by its flag, exceeded over a real socket, answered with its own code and counted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { requestJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { parseExposition } from '../helpers/prom-text.js';

const DIM = 4;
const vec = (x: number, d = DIM): number[] => Array(d).fill(x);

let server: ServerProcess;
before(async () => {
  server = await startServerProcess({
    args: [
      '--dimension', String(DIM),
      '--max-body', '4096',
      '--max-batch', '3',
      '--max-k', '5',
      '--max-dimension', '16',
      '--max-id-length', '8',
      '--max-metadata-bytes', '64',
      '--max-metadata-depth', '2',
      '--max-text-bytes', '32',
      '--max-filter-length', '40',
      '--max-filter-depth', '2',
      '--max-ws-message', '512',
      '--max-ws-in-flight', '1',
      '--max-ws-connections', '2',
    ],
  });
  const seeded = await post('/v1/batch-upsert', { records: [1, 2, 3].map((i) => ({ id: `r${i}`, vector: vec(i), metadata: { a: i }, text: 'alpha beta' })) });
  assert.equal(seeded.body.inserted, 3);
});
after(async () => {
  await server.stop();
});

function post(path: string, body: unknown) {
  return requestJson(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

async function errorCount(type: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return parseExposition(text).get(`vecstore_errors_total{error_type="${type}"}`) ?? 0;
}

/** Runs `exceed`, which must answer `status` with `code`, and checks the code's counter went up by `times`. */
async function expectLimit(code: string, status: number, exceed: () => Promise<{ status: number; body: any }>, times = 1): Promise<void> {
  const before = await errorCount(code);
  for (let i = 0; i < times; i++) {
    const res = await exceed();
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.code, code);
    assert.equal(typeof res.body.error, 'string');
  }
  assert.equal(await errorCount(code), before + times, `vecstore_errors_total{error_type="${code}"}`);
}

describe('HTTP limits', () => {
  test('body size: 413 payload_too_large by Content-Length and by a streamed (chunked) body', async () => {
    await expectLimit('payload_too_large', 413, () => post('/v1/upsert', { id: 'big', vector: vec(1), text: 'x'.repeat(5000) }));
    // 64 KiB streamed: the server drains past the limit before answering, else closing with unread bytes resets the
    // connection and the client never sees the 413 (undici: EPIPE).
    await expectLimit('payload_too_large', 413, async () => {
      const chunk = new TextEncoder().encode(' '.repeat(4000));
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 16) controller.enqueue(chunk);
          else controller.close();
        },
      });
      return requestJson(`${server.url}/v1/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);
    }, 5);
    // Just under the limit is parsed normally.
    assert.equal((await post('/v1/query', JSON.stringify({ vector: vec(1), limit: 1 }).padEnd(4096, ' '))).status, 200);
  });

  test('records per batch: 413 batch_too_large; the limit itself is accepted', async () => {
    assert.equal((await post('/v1/batch-upsert', { records: [1, 2, 3].map((i) => ({ id: `b${i}`, vector: vec(i) })) })).status, 200);
    await expectLimit('batch_too_large', 413, () => post('/v1/batch-upsert', { records: [1, 2, 3, 4].map((i) => ({ id: `b${i}`, vector: vec(i) })) }));
  });

  test('limit/k: 400 k_too_large on vector and hybrid queries, as limit or k', async () => {
    assert.equal((await post('/v1/query', { vector: vec(1), limit: 5 })).status, 200);
    await expectLimit('k_too_large', 400, () => post('/v1/query', { vector: vec(1), limit: 6 }));
    await expectLimit('k_too_large', 400, () => post('/v1/query', { vector: vec(1), k: 1000 }));
    await expectLimit('k_too_large', 400, () => post('/v1/hybrid-query', { vector: vec(1), text_query: 'alpha', limit: 6 }));
  });

  test('dimension: 400 dimension_too_large for records and queries', async () => {
    await expectLimit('dimension_too_large', 400, () => post('/v1/upsert', { id: 'd', vector: vec(1, 17) }));
    await expectLimit('dimension_too_large', 400, () => post('/v1/query', { vector: vec(1, 17) }));
    const batch = await post('/v1/batch-upsert', { records: [{ id: 'd', vector: vec(1, 17) }] });
    assert.equal(batch.body.errors[0].code, 'dimension_too_large');
  });

  test('id length: 400 id_too_long in bodies and path parameters; batch records report it per record and count it', async () => {
    assert.equal((await post('/v1/upsert', { id: '12345678', vector: vec(1) })).status, 200);
    await expectLimit('id_too_long', 400, () => post('/v1/upsert', { id: '123456789', vector: vec(1) }));
    await expectLimit('id_too_long', 400, () => requestJson(`${server.url}/v1/vectors/123456789`));
    await expectLimit('id_too_long', 400, () => requestJson(`${server.url}/v1/delete/123456789`, { method: 'DELETE' }));
    const before = await errorCount('id_too_long');
    const batch = await post('/v1/batch-upsert', { records: [{ id: '123456789', vector: vec(1) }, { id: 'ok', vector: vec(1) }] });
    assert.equal(batch.status, 200);
    assert.equal(batch.body.inserted + batch.body.updated, 1);
    assert.deepEqual(batch.body.errors.map((e: any) => [e.index, e.code]), [[0, 'id_too_long']]);
    assert.equal(await errorCount('id_too_long'), before + 1);
  });

  test('metadata size: 413 metadata_too_large; nesting: 400 metadata_too_deep', async () => {
    await expectLimit('metadata_too_large', 413, () => post('/v1/upsert', { id: 'm', vector: vec(1), metadata: { s: 'x'.repeat(100) } }));
    assert.equal((await post('/v1/upsert', { id: 'm', vector: vec(1), metadata: { a: { b: 1 }, c: [1] } })).status, 200);
    await expectLimit('metadata_too_deep', 400, () => post('/v1/upsert', { id: 'm', vector: vec(1), metadata: { a: { b: { c: 1 } } } }));
    await expectLimit('metadata_too_deep', 400, () => post('/v1/upsert', { id: 'm', vector: vec(1), metadata: { a: [[1]] } }));
  });

  test('text size: 413 text_too_large for record text and for a hybrid text_query', async () => {
    await expectLimit('text_too_large', 413, () => post('/v1/upsert', { id: 't', vector: vec(1), text: 'x'.repeat(33) }));
    // Bytes, not characters: 11 three-byte characters are 33 bytes.
    await expectLimit('text_too_large', 413, () => post('/v1/upsert', { id: 't', vector: vec(1), text: '€'.repeat(11) }));
    await expectLimit('text_too_large', 413, () => post('/v1/hybrid-query', { vector: vec(1), text_query: 'y'.repeat(33) }));
  });

  test('filter length: 400 filter_too_long', async () => {
    const atLimit = `a = 1 OR a = 2 OR a = 3 OR a = 4 OR a= 5`;
    assert.equal(atLimit.length, 40);
    assert.equal((await post('/v1/query', { vector: vec(1), limit: 5, filter: atLimit })).status, 200);
    await expectLimit('filter_too_long', 400, () => post('/v1/query', { vector: vec(1), filter: `${atLimit} ` }));
    await expectLimit('filter_too_long', 400, () => post('/v1/hybrid-query', { vector: vec(1), text_query: 'alpha', filter: `${atLimit} ` }));
  });

  // The parser itself says invalid_filter (its own tests pin that); the engine gives the limit its own code.
  test('filter nesting: 400 filter_too_deep', async () => {
    assert.equal((await post('/v1/query', { vector: vec(1), filter: '((a = 1))' })).status, 200);
    await expectLimit('filter_too_deep', 400, () => post('/v1/query', { vector: vec(1), filter: '(((a = 1)))' }));
    await expectLimit('filter_too_deep', 400, () => post('/v1/query', { vector: vec(1), filter: 'NOT NOT NOT a = 1' }));
  });

  test('filter nesting in hybrid queries: filter_too_deep too', async () => {
    await expectLimit('filter_too_deep', 400, () => post('/v1/hybrid-query', { vector: vec(1), text_query: 'alpha', filter: '(((a = 1)))' }));
  });
});

describe('WebSocket limits', () => {
  function connect(): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws/query-stream`, { perMessageDeflate: false });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  }
  const closed = (ws: WebSocket) => new Promise<number>((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve(-1);
    ws.once('close', (code) => resolve(code));
  });

  test('message size: an oversized message drops the socket (1006, no close frame) and is counted; the server goes on', async () => {
    const before = await errorCount('ws_message_too_large');
    const ws = await connect();
    const code = closed(ws);
    ws.send(JSON.stringify({ vector: vec(1), limit: 1, pad: 'x'.repeat(600) }));
    // uWS v20.30 closes without a close frame, so the client sees 1006 (not 1009); its close handler gets the reason.
    assert.equal(await code, 1006);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await errorCount('ws_message_too_large'), before + 1);
    // A message within the limit on a new socket is answered.
    const ok = await connect();
    const answer = new Promise<any>((resolve) => ok.on('message', (d) => { const m = JSON.parse(d.toString()); if (m.complete) resolve(m); }));
    // Padded with JSON whitespace (an unknown padding field would be refused as unknown_field).
    ok.send(JSON.stringify({ vector: vec(1), limit: 1, request_id: 1 }) + ' '.repeat(400));
    assert.equal((await answer).request_id, 1);
    ok.close();
    await closed(ok);
  });

  test('queries in flight per socket: 429 too_many_in_flight as an error message with the request_id, counted', async () => {
    const before = await errorCount('too_many_in_flight');
    const ws = await connect();
    try {
      const burst = 20;
      const outcomes = new Map<number, string>();
      const done = new Promise<void>((resolve) => ws.on('message', (d) => {
        const m = JSON.parse(d.toString());
        if (m.complete) outcomes.set(m.request_id, 'complete');
        else if (m.error) outcomes.set(m.request_id, m.code);
        if (outcomes.size === burst) resolve();
      }));
      // Sent in one burst: corked, the client writes the frames in one TCP write (uncorked, a busy machine can spread
      // them over reads far enough apart for each query to finish first), and the server handles a read's frames
      // synchronously, so whichever query is in flight when a read arrives makes the rest of it wait their turn.
      const socket = (ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
      socket.cork();
      for (let i = 0; i < burst; i++) ws.send(JSON.stringify({ vector: vec(i + 1), limit: 2, request_id: i }));
      socket.uncork();
      await done;
      const values = [...outcomes.values()];
      const refused = values.filter((o) => o === 'too_many_in_flight').length;
      assert.equal(outcomes.get(0), 'complete');
      assert.ok(refused >= 1, JSON.stringify([...outcomes]));
      assert.equal(refused + values.filter((o) => o === 'complete').length, burst);
      assert.equal(await errorCount('too_many_in_flight'), before + refused);
    } finally {
      ws.close();
      await closed(ws);
    }
  });

  test('open sockets: the upgrade past the limit is refused with 429 too_many_connections JSON, counted', async () => {
    const before = await errorCount('too_many_connections');
    const a = await connect();
    const b = await connect();
    const refused = await new Promise<{ status?: number; body: any; retryAfter?: string }>((resolve, reject) => {
      const c = new WebSocket(`ws://127.0.0.1:${server.port}/ws/query-stream`);
      c.once('open', () => reject(new Error('a third socket opened past the limit of 2')));
      c.once('unexpected-response', (_req, res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => { text += chunk.toString(); });
        res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text), retryAfter: res.headers['retry-after'] }));
      });
    });
    assert.equal(refused.status, 429);
    assert.equal(refused.retryAfter, '1', 'a refusal that passes says when to retry');
    assert.equal(refused.body.code, 'too_many_connections');
    assert.equal(await errorCount('too_many_connections'), before + 1);
    a.close();
    await closed(a);
    // A freed place can be taken again.
    const c = await connect();
    b.close();
    c.close();
    await Promise.all([closed(b), closed(c)]);
  });
});
