// API keys over a real socket: full and read-only keys, both headers, open routes, WebSocket keys, the startup warning.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { requestJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const DIM = 4;
const KEY = 'full-key-1';
const KEY2 = 'full-key-2';
const RO = 'read-only-key';
const vec = (x: number): number[] => Array(DIM).fill(x);

let server: ServerProcess;
before(async () => {
  server = await startServerProcess({ args: ['--dimension', String(DIM), '--api-key', `${KEY}, ${KEY2}`, '--read-only-api-key', RO] });
  const seeded = await call('POST', '/v1/upsert', { id: 'seed', vector: vec(1) }, { authorization: `Bearer ${KEY}` });
  assert.equal(seeded.status, 200);
});
after(async () => {
  await server.stop();
});

function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, base = server.url) {
  return requestJson(`${base}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

/** Opens a WebSocket; resolves with the socket, or with the refusal's status and JSON body. */
function openWs(port: number, options: { path?: string; protocols?: string[]; headers?: Record<string, string> } = {}) {
  return new Promise<{ ws?: WebSocket; status?: number; body?: any; upgradeHeaders?: IncomingMessage['headers'] }>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${options.path ?? '/ws/query-stream'}`, options.protocols ?? [], { headers: options.headers });
    let upgradeHeaders: IncomingMessage['headers'] | undefined;
    ws.once('upgrade', (res) => { upgradeHeaders = res.headers; });
    ws.once('open', () => resolve({ ws, upgradeHeaders }));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
    });
    ws.once('error', reject);
  });
}

/** Sends one query over an open socket and resolves with its `complete` message. */
function wsQuery(ws: WebSocket): Promise<any> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData) => {
      const msg = JSON.parse(data.toString());
      if (msg.request_id !== 'auth' || !(msg.complete || msg.error)) return;
      ws.off('message', onMessage);
      resolve(msg);
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ request_id: 'auth', vector: vec(1), limit: 1 }));
  });
}

describe('HTTP', () => {
  test('a full key works as Authorization: Bearer and as api-key, for reads and writes; every listed key is accepted', async () => {
    for (const headers of [{ authorization: `Bearer ${KEY}` }, { authorization: `bearer   ${KEY2}` }, { 'api-key': KEY }, { 'api-key': KEY2 }] as Array<Record<string, string>>) {
      assert.equal((await call('POST', '/v1/upsert', { id: 'w', vector: vec(2) }, headers)).status, 200, JSON.stringify(headers));
      assert.equal((await call('POST', '/v1/query', { vector: vec(1), limit: 1 }, headers)).status, 200);
      assert.equal((await call('GET', '/v1/stats', undefined, headers)).status, 200);
    }
  });

  test('a read-only key may query and read but every write is 403 forbidden', async () => {
    for (const headers of [{ authorization: `Bearer ${RO}` }, { 'api-key': RO }] as Array<Record<string, string>>) {
      assert.equal((await call('POST', '/v1/query', { vector: vec(1), limit: 1 }, headers)).status, 200);
      assert.equal((await call('POST', '/v1/hybrid-query', { vector: vec(1), text_query: 'x', limit: 1 }, headers)).status, 200);
      assert.equal((await call('GET', '/v1/vectors/seed', undefined, headers)).status, 200);
      assert.equal((await call('GET', '/v1/stats', undefined, headers)).status, 200);
      assert.equal((await call('GET', '/v1/snapshots', undefined, headers)).status, 200);
      const writes: Array<[string, string, unknown]> = [
        ['POST', '/v1/upsert', { id: 'ro', vector: vec(1) }],
        ['POST', '/v1/batch-upsert', { records: [{ id: 'ro', vector: vec(1) }] }],
        ['DELETE', '/v1/delete/seed', undefined],
        ['POST', '/v1/soft-delete/seed', undefined],
        ['POST', '/v1/restore/seed', undefined],
        ['POST', '/v1/compact', undefined],
        ['POST', '/v1/snapshots', { name: 'ro' }],
        ['POST', '/v1/snapshots/ro/restore', undefined],
      ];
      for (const [method, path, body] of writes) {
        const res = await call(method, path, body, headers);
        assert.equal(res.status, 403, `${method} ${path}`);
        assert.equal(res.body.code, 'forbidden');
        assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      }
    }
    // Nothing was written or deleted.
    assert.equal((await call('GET', '/v1/vectors/seed', undefined, { 'api-key': KEY })).body.deleted, false);
    assert.equal((await call('GET', '/v1/vectors/ro', undefined, { 'api-key': KEY })).status, 404);
  });

  test('no key, a wrong key, an empty or malformed header: 401 JSON', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }, { 'api-key': 'nope' }, { authorization: KEY }, { authorization: 'Basic ' + Buffer.from(`x:${KEY}`).toString('base64') }, { authorization: 'Bearer ' }, { 'api-key': `${KEY} ` + 'x' }, { 'api-key': KEY.toUpperCase() }] as Array<Record<string, string>>) {
      for (const [method, path, body] of [['POST', '/v1/query', { vector: vec(1) }], ['POST', '/v1/upsert', { id: 'x', vector: vec(1) }], ['GET', '/v1/stats', undefined]] as const) {
        const res = await call(method, path, body, headers);
        assert.equal(res.status, 401, `${JSON.stringify(headers)} ${path}`);
        assert.equal(res.body.code, 'unauthorized');
        assert.equal(typeof res.body.error, 'string');
        assert.ok(!JSON.stringify(res.body).includes(KEY), 'the error never echoes a key');
      }
    }
  });

  test('a key in the URL query string is not accepted', async () => {
    for (const qs of [`api-key=${KEY}`, `api_key=${KEY}`, `apiKey=${KEY}`, `key=${KEY}`, `token=${KEY}`, `access_token=${KEY}`]) {
      assert.equal((await call('GET', `/v1/stats?${qs}`)).status, 401, qs);
      assert.equal((await call('POST', `/v1/query?${qs}`, { vector: vec(1) })).status, 401, qs);
    }
  });

  test('/health and /ready are open; /metrics is open without --metrics-auth', async () => {
    assert.equal((await call('GET', '/health')).status, 200);
    assert.equal((await call('GET', '/ready')).status, 200);
    const metrics = await call('GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(String(metrics.body), /vecstore_errors_total\{error_type="unauthorized"\}/);
  });
});

describe('WebSocket', () => {
  test('the key in an api-key or Authorization header opens the stream (read-only keys too)', async () => {
    for (const headers of [{ 'api-key': KEY }, { authorization: `Bearer ${KEY2}` }, { 'api-key': RO }] as Array<Record<string, string>>) {
      const { ws, status } = await openWs(server.port, { headers });
      assert.ok(ws, `refused with ${status} for ${JSON.stringify(headers)}`);
      const done = await wsQuery(ws);
      assert.equal(done.complete, true);
      ws.close();
    }
  });

  test('the key in the Sec-WebSocket-Protocol offer: the server answers "vecstore" and never echoes the key', async () => {
    const { ws, upgradeHeaders } = await openWs(server.port, { protocols: ['vecstore', `api-key.${KEY}`] });
    assert.ok(ws);
    assert.equal(ws.protocol, 'vecstore');
    assert.equal(upgradeHeaders?.['sec-websocket-protocol'], 'vecstore');
    assert.ok(!JSON.stringify(upgradeHeaders).includes(KEY));
    assert.equal((await wsQuery(ws)).complete, true);
    ws.close();
    // A read-only key offered this way may stream queries too.
    const ro = await openWs(server.port, { protocols: [`api-key.${RO}`, 'vecstore'] });
    assert.equal(ro.ws?.protocol, 'vecstore');
    ro.ws!.close();
  });

  test('no key, a wrong key (header or offer), or a key in the URL: the upgrade is refused with 401 JSON', async () => {
    const attempts = [
      {},
      { headers: { 'api-key': 'nope' } },
      { protocols: ['vecstore', 'api-key.nope'] },
      { protocols: ['vecstore'] },
      { path: `/ws/query-stream?api-key=${KEY}` },
      { path: `/ws/query-stream?api_key=${KEY}&token=${KEY}` },
    ];
    for (const attempt of attempts) {
      const res = await openWs(server.port, attempt);
      assert.equal(res.ws, undefined, `opened: ${JSON.stringify(attempt)}`);
      assert.equal(res.status, 401);
      assert.equal(res.body.code, 'unauthorized');
    }
  });
});

test('keys from VECSTORE_API_KEY (a comma list) and --metrics-auth: /metrics needs a key, /health and /ready do not', async () => {
  const s = await startServerProcess({ args: ['--dimension', String(DIM), '--metrics-auth'], env: { VECSTORE_API_KEY: 'env-a,env-b' } });
  try {
    for (const key of ['env-a', 'env-b']) {
      assert.equal((await call('POST', '/v1/upsert', { id: key, vector: vec(1) }, { 'api-key': key }, s.url)).status, 200);
      assert.equal((await call('GET', '/metrics', undefined, { authorization: `Bearer ${key}` }, s.url)).status, 200);
    }
    assert.equal((await call('POST', '/v1/upsert', { id: 'x', vector: vec(1) }, {}, s.url)).status, 401);
    const metrics = await call('GET', '/metrics', undefined, {}, s.url);
    assert.equal(metrics.status, 401);
    assert.equal(metrics.body.code, 'unauthorized');
    assert.equal((await call('GET', '/health', undefined, {}, s.url)).status, 200);
    assert.equal((await call('GET', '/ready', undefined, {}, s.url)).status, 200);
    const ws = await openWs(s.port, { protocols: ['vecstore', 'api-key.env-b'] });
    assert.equal(ws.ws?.protocol, 'vecstore');
    ws.ws!.close();
  } finally {
    await s.stop();
  }
});

test('no key on a non-loopback address logs a JSON warning at start; keys or loopback do not', async () => {
  const open = await startServerProcess({ args: ['--host', '0.0.0.0'] });
  try {
    const warnings = open.logs.map((l) => JSON.parse(l)).filter((e) => e.level === 40);
    const warning = warnings.find((e) => /no API key/i.test(e.msg));
    assert.ok(warning, `no warning among: ${open.logs.join('\n')}`);
    assert.equal(warning.host, '0.0.0.0');
    // Only ever talk to it over loopback.
    assert.equal((await call('GET', '/health', undefined, {}, open.url)).status, 200);
  } finally {
    await open.stop();
  }
  const keyed = await startServerProcess({ args: ['--host', '0.0.0.0', '--read-only-api-key', RO] });
  try {
    assert.ok(!keyed.logs.some((l) => /no API key/i.test(l)));
  } finally {
    await keyed.stop();
  }
  // The shared server (keys, loopback) logged no warning either, and never logs a key.
  assert.ok(!server.logs.some((l) => /no API key/i.test(l)));
  assert.ok(!server.logs.some((l) => l.includes(KEY) || l.includes(RO)));
});
