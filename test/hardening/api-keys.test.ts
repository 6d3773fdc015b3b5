// Keys with roles and collection scopes from --api-keys-file, over real sockets; rotation by SIGHUP.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { requestJson, startServerProcess, tempDataDir, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess;
let keysFile: string;
const KEYS = [
  { key: 'admin-key', role: 'admin', collections: ['*'] },
  { key: 'writer-a', role: 'write', collections: ['a'] },
  { key: 'reader-b', role: 'read', collections: ['b'] },
  { key: 'admin-c', role: 'admin', collections: ['c'] },
];

before(async () => {
  keysFile = path.join(tempDataDir('vecstore-keys-'), 'keys.json');
  fs.writeFileSync(keysFile, JSON.stringify(KEYS));
  server = await startServerProcess({ args: ['--api-keys-file', keysFile, '--api-key', 'flag-key', '--read-only-api-key', 'flag-reader'] });
  for (const name of ['a', 'b']) assert.equal((await call('admin-key', 'PUT', `/v1/collections/${name}`, { dimension: 2 })).status, 201);
});
after(async () => {
  await server.stop();
});

function call(key: string | undefined, method: string, path: string, body?: unknown) {
  return requestJson(`${server.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(key ? { 'api-key': key } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const upsert = (key: string, collection: string) => call(key, 'POST', `/v1/collections/${collection}/upsert`, { id: 'x', vector: [1, 2] });
const query = (key: string, collection: string) => call(key, 'POST', `/v1/collections/${collection}/query`, { vector: [1, 2], limit: 1 });

test('roles and scopes: writes and reads inside a key\'s collections, 403 forbidden outside them', async () => {
  assert.equal((await upsert('writer-a', 'a')).status, 200);
  assert.equal((await query('writer-a', 'a')).status, 200, 'write includes read');
  for (const [key, answer] of [['writer-a', await upsert('writer-a', 'b')], ['writer-a', await query('writer-a', 'b')], ['reader-b', await upsert('reader-b', 'b')], ['reader-b', await query('reader-b', 'a')]] as const) {
    assert.deepEqual([answer.status, answer.body.code], [403, 'forbidden'], key);
  }
  assert.match((await upsert('writer-a', 'b')).body.error, /^collection: /);
  assert.equal((await query('reader-b', 'b')).status, 200);
  // Only admins create and drop, and a scoped admin only its own collections.
  assert.deepEqual([(await call('writer-a', 'PUT', '/v1/collections/a', { dimension: 2 })).status, (await call('writer-a', 'DELETE', '/v1/collections/a')).status], [403, 403]);
  assert.equal((await call('admin-c', 'PUT', '/v1/collections/c', { dimension: 2 })).status, 201);
  assert.equal((await call('admin-c', 'PUT', '/v1/collections/d', { dimension: 2 })).status, 403);
  assert.equal((await call('admin-c', 'DELETE', '/v1/collections/c')).status, 200);
  // The unprefixed routes are the `default` collection's.
  assert.equal((await call('writer-a', 'POST', '/v1/upsert', { id: 'x', vector: [1, 2] })).status, 403);
  // Lists show only what a key may see.
  assert.deepEqual((await call('reader-b', 'GET', '/v1/collections')).body.collections.map((c: { name: string }) => c.name), ['b']);
  assert.deepEqual((await call('admin-key', 'GET', '/v1/collections')).body.collections.map((c: { name: string }) => c.name), ['a', 'b']);
  // No key or an unknown key: 401.
  assert.equal((await query('', 'a')).status, 401);
  assert.equal((await query('nobody', 'a')).status, 401);
});

test('--api-key and --read-only-api-key keep working as keys for every collection', async () => {
  assert.equal((await upsert('flag-key', 'b')).status, 200);
  assert.equal((await call('flag-key', 'PUT', '/v1/collections/flagged', {})).status, 201);
  assert.equal((await call('flag-key', 'DELETE', '/v1/collections/flagged')).status, 200);
  assert.equal((await query('flag-reader', 'a')).status, 200);
  const refused = await upsert('flag-reader', 'a');
  assert.deepEqual([refused.status, refused.body.error], [403, 'authorization: this API key is read-only and may not write']);
});

test('WebSocket queries are checked against the key\'s collections', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws/query-stream`, { headers: { 'api-key': 'reader-b' } });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const messages: Array<{ request_id: string; code?: string; complete?: boolean }> = [];
  const done = new Promise<void>((resolve) => ws.on('message', (d) => { messages.push(JSON.parse(d.toString())); if (messages.some((m) => m.request_id === 'ok' && m.complete) && messages.some((m) => m.request_id === 'no')) resolve(); }));
  ws.send(JSON.stringify({ collection: 'a', vector: [1, 2], limit: 1, request_id: 'no' }));
  ws.send(JSON.stringify({ collection: 'b', vector: [1, 2], limit: 1, request_id: 'ok' }));
  await done;
  ws.close();
  assert.equal(messages.find((m) => m.request_id === 'no')!.code, 'forbidden');
});

async function reload(expect: string): Promise<void> {
  const seen = server.logs.length;
  server.proc.kill('SIGHUP');
  for (let i = 0; i < 100 && !server.logs.slice(seen).some((l) => l.includes(expect)); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(server.logs.slice(seen).some((l) => l.includes(expect)), `no "${expect}" log line`);
}

test('SIGHUP re-reads the keys file; a broken file keeps the old keys and logs why', async () => {
  fs.writeFileSync(keysFile, JSON.stringify([{ key: 'admin-key', role: 'admin', collections: ['*'] }, { key: 'rotated', role: 'read', collections: ['a'] }]));
  await reload('API keys reloaded');
  assert.equal((await query('writer-a', 'a')).status, 401, 'removed key');
  assert.equal((await query('rotated', 'a')).status, 200, 'added key');
  assert.equal((await query('flag-key', 'a')).status, 200, 'command-line keys stay');

  fs.writeFileSync(keysFile, '[{"key": "x", "role": "owner", "collections": ["*"]}]');
  await reload('API keys not reloaded');
  assert.ok(server.logs.some((l) => l.includes('[0].role')), 'the log says what is wrong');
  assert.equal((await query('rotated', 'a')).status, 200, 'old keys still in use');
  assert.equal((await query('x', 'a')).status, 401);
});

test('a keys file that cannot be read stops the server at start with the reason', async () => {
  const broken = path.join(path.dirname(keysFile), 'broken.json');
  fs.writeFileSync(broken, '{"not": "a list"}');
  await assert.rejects(startServerProcess({ args: ['--api-keys-file', broken] }), /must be a JSON list/);
});
