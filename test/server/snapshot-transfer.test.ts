// Moving a collection between two real server processes as one snapshot file: download from one, upload to the other,
// restore, and the same queries give the same answers (also after a restart). Damaged, truncated, foreign, extended
// and ill-fitting files are refused with 400 invalid_snapshot and leave nothing on disk; the upload limit is its own
// (larger than --max-body, streamed to disk); delete removes a snapshot's files.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { requestJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { seededRandom } from '../helpers/random.js';

const DIM = 8;
const N = 300;
let source: ServerProcess;
let target: ServerProcess;
let file: Buffer;
const rand = seededRandom(15);
const queries = Array.from({ length: 4 }, () => Array.from({ length: DIM }, () => rand() - 0.5));

const put = (url: string, body: unknown) => requestJson(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const post = (url: string, body?: unknown) => requestJson(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
const upload = (url: string, bytes: Uint8Array) => requestJson(url, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes as unknown as BodyInit });

async function answers(server: ServerProcess, prefix = '/v1/collections/docs'): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const vector of queries) {
    for (const filter of [undefined, 'group = 1']) {
      const res = await post(`${server.url}${prefix}/query`, { vector, limit: 10, filter, include_text: true, exact: true });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      out.push(res.body.results);
    }
  }
  return out;
}

/** What a collection's snapshots directory holds (leftovers of a refused upload would show here). */
function snapshotDirEntries(server: ServerProcess, collection: string): string[] {
  const dir = path.join(server.dataDir, 'collections', collection, 'snapshots');
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

before(async () => {
  source = await startServerProcess();
  assert.equal((await put(`${source.url}/v1/collections/docs`, { dimension: DIM })).status, 201);
  const records = Array.from({ length: N }, (_, i) => ({
    id: `r${i}`, vector: Array.from({ length: DIM }, () => rand() - 0.5), metadata: { group: i % 3, i }, text: `record number ${i}`,
  }));
  assert.equal((await post(`${source.url}/v1/collections/docs/batch-upsert`, { records })).body.inserted, N);
  await post(`${source.url}/v1/collections/docs/soft-delete/r7`);
  assert.equal((await post(`${source.url}/v1/collections/docs/snapshots`, { name: 'move-me' })).status, 200);
  const res = await fetch(`${source.url}/v1/collections/docs/snapshots/move-me/download`);
  assert.equal(res.status, 200);
  file = Buffer.from(await res.arrayBuffer());
  assert.equal(Number(res.headers.get('content-length')), file.length, 'Content-Length is exact');
  assert.match(res.headers.get('content-disposition') ?? '', /filename="move-me\.vecsnap"/);
  assert.equal(file.subarray(0, 8).toString('latin1'), 'VECSNAP1');
  // --max-body far below the file: an upload is streamed to disk and bounded by its own limit.
  target = await startServerProcess({ args: ['--max-body', '4096', '--max-snapshot-upload', String(file.length + 16)] });
  assert.ok(file.length > 4096);
});
after(async () => {
  assert.equal(await source.stop(), 0);
  assert.equal(await target.stop(), 0);
});

test('damaged, truncated, foreign, extended and ill-fitting files are refused with 400 and leave nothing behind', async () => {
  assert.equal((await put(`${target.url}/v1/collections/docs`, { dimension: DIM })).status, 201);
  assert.equal((await put(`${target.url}/v1/collections/small`, { dimension: 4 })).status, 201);
  assert.equal((await put(`${target.url}/v1/collections/far`, { dimension: DIM, metric: 'euclidean' })).status, 201);
  const flipped = Buffer.from(file);
  flipped[Math.floor(file.length / 2)] ^= 0xff;
  const cases: Array<[string, string, Uint8Array, RegExp]> = [
    ['docs', 'a bit flipped mid-file', flipped, /checksum mismatch/],
    ['docs', 'truncated', file.subarray(0, Math.floor(file.length * 0.7)), /truncated/],
    ['docs', 'truncated in its checksum', file.subarray(0, file.length - 5), /truncated/],
    ['docs', 'not a snapshot file', Buffer.from('{"records":[]}'.padEnd(200, ' ')), /not a VecStore snapshot file/],
    ['docs', 'an empty body', Buffer.alloc(0), /too short/],
    ['docs', 'bytes after the checksum', Buffer.concat([file, Buffer.from('extra')]), /after the checksum/],
    ['small', 'another dimension', file, /dimension 8, the collection has 4/],
    ['far', 'another metric', file, /cosine vectors but the server is configured for euclidean/],
  ];
  for (const [collection, what, bytes, reason] of cases) {
    const res = await upload(`${target.url}/v1/collections/${collection}/snapshots/move-me/upload`, bytes);
    assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.code, 'invalid_snapshot', what);
    assert.match(res.body.error, reason, what);
    assert.deepEqual((await requestJson(`${target.url}/v1/collections/${collection}/snapshots`)).body.snapshots, [], what);
    assert.deepEqual(snapshotDirEntries(target, collection), [], `${what}: nothing left on disk`);
  }
  // Over --max-snapshot-upload: 413 before anything is written.
  const tooBig = await upload(`${target.url}/v1/collections/docs/snapshots/move-me/upload`, Buffer.concat([file, Buffer.alloc(64)]));
  assert.equal(tooBig.status, 413);
  assert.equal(tooBig.body.code, 'payload_too_large');
  assert.deepEqual(snapshotDirEntries(target, 'docs'), []);
  // The collection was never touched.
  assert.equal((await post(`${target.url}/v1/collections/docs/count`)).body.count, 0);
});

test('download from one server, upload to another, restore: the same answers, also after a restart', async () => {
  const expected = await answers(source);
  const up = await upload(`${target.url}/v1/collections/docs/snapshots/move-me/upload`, file);
  assert.equal(up.status, 200, JSON.stringify(up.body));
  assert.deepEqual(up.body, { success: true, name: 'move-me', size_bytes: file.length, vectors: N, dimension: DIM });
  // A second upload under the same name is a conflict, not an overwrite.
  assert.equal((await upload(`${target.url}/v1/collections/docs/snapshots/move-me/upload`, file)).status, 409);
  const restored = await post(`${target.url}/v1/collections/docs/snapshots/move-me/restore`);
  assert.equal(restored.status, 200, JSON.stringify(restored.body));
  assert.equal(restored.body.vectors_restored, N - 1);
  assert.deepEqual(await answers(target), expected);
  assert.equal((await requestJson(`${target.url}/v1/collections/docs/vectors/r7`)).body.deleted, true, 'soft deletes travel too');

  // The file downloaded again from the target is the same snapshot (same bytes but for nothing: same contents).
  const again = Buffer.from(await (await fetch(`${target.url}/v1/collections/docs/snapshots/move-me/download`)).arrayBuffer());
  assert.ok(again.equals(file), 'a snapshot downloads as the bytes it was uploaded as');

  // Into a collection no vector has sized yet (the `default` of a server without --dimension, HNSW index): the
  // snapshot fixes its dimension, and its saved graph is adopted.
  assert.equal((await upload(`${target.url}/v1/snapshots/move-me/upload`, file)).status, 200);
  const intoDefault = await post(`${target.url}/v1/snapshots/move-me/restore`);
  assert.equal(intoDefault.status, 200, JSON.stringify(intoDefault.body));
  assert.equal(intoDefault.body.vectors_restored, N - 1);
  assert.deepEqual(await answers(target, '/v1'), expected);

  await target.kill();
  target = await startServerProcess({ dataDir: target.dataDir });
  assert.deepEqual(await answers(target), expected, 'the restore is durable');
  assert.deepEqual(await answers(target, '/v1'), expected);
});

test('delete removes a snapshot\'s files; a second delete is 404', async () => {
  const dir = path.join(source.dataDir, 'collections', 'docs', 'snapshots', 'move-me');
  assert.ok(fs.existsSync(dir));
  const res = await requestJson(`${source.url}/v1/collections/docs/snapshots/move-me`, { method: 'DELETE' });
  assert.deepEqual(res.body, { deleted: true, name: 'move-me' });
  assert.ok(!fs.existsSync(dir));
  assert.deepEqual(snapshotDirEntries(source, 'docs'), []);
  const missing = await requestJson(`${source.url}/v1/collections/docs/snapshots/move-me`, { method: 'DELETE' });
  assert.equal(missing.status, 404);
  assert.equal(missing.body.code, 'not_found');
  assert.equal((await requestJson(`${source.url}/v1/collections/docs/snapshots/move-me/download`)).status, 404);
});

test('a download or an upload cut short by the client leaves the server serving and nothing on disk', async () => {
  // Download: read one chunk, then go away.
  assert.equal((await post(`${target.url}/v1/collections/docs/snapshots`, { name: 'cut' })).status, 200);
  const controller = new AbortController();
  const res = await fetch(`${target.url}/v1/collections/docs/snapshots/cut/download`, { signal: controller.signal });
  const reader = res.body!.getReader();
  await reader.read();
  controller.abort();
  // Upload: send part of the file on a raw socket, then close it.
  const net = await import('node:net');
  const socket = net.connect(target.port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(`PUT /v1/collections/docs/snapshots/half/upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${file.length}\r\n\r\n`);
  socket.write(file.subarray(0, Math.floor(file.length / 2)));
  await new Promise((resolve) => setTimeout(resolve, 200));
  socket.destroy();
  assert.equal((await requestJson(`${target.url}/health`)).status, 200);
  // The partial upload's hidden directory goes as soon as the server sees the socket close.
  for (let i = 0; i < 50 && snapshotDirEntries(target, 'docs').length > 2; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(snapshotDirEntries(target, 'docs'), ['cut', 'move-me'], 'no partial upload left');
  const whole = Buffer.from(await (await fetch(`${target.url}/v1/collections/docs/snapshots/cut/download`)).arrayBuffer());
  assert.equal(whole.subarray(0, 8).toString('latin1'), 'VECSNAP1');
  assert.equal((await upload(`${target.url}/v1/collections/docs/snapshots/half/upload`, whole)).status, 200, 'the name is free again');
});
