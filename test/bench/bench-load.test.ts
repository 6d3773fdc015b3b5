// `vecstore bench load` end to end on the public client: ingest and queries over HTTP and the WebSocket query stream
// (JSON and raw float32), with an API key, against a real server; exact answers give recall 1; a wrong key fails in one line.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { RawConnection, encodeRequest } from '../../bench/raw-http-load.js';
import { VecStoreError } from '../../src/client/index.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli.js');
const KEY = 'bench-key';
let server: ServerProcess;

before(async () => {
  server = await startServerProcess({ args: ['--index', 'flat', '--api-key', KEY] });
});
after(async () => {
  assert.equal(await server.stop(), 0);
});

async function benchLoad(args: string[], key = KEY): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = ['bench', 'load', '--url', server.url, '--synthetic', '--vectors', '400', '--dim', '16', '--query-count', '20', '--count', '60', '--json', '--no-progress'];
  return promisify(execFile)(process.execPath, [CLI, ...base, ...args], { env: { ...process.env, VECSTORE_API_KEY: key }, timeout: 60_000 })
    .then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }))
    .catch((e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }));
}

interface Report {
  collection: string | null;
  ingest: { vectors: number; errors: number } | null;
  query: { protocol: string; vectors: string; httpClient?: string; pipeline: number; queries: number; errors: number; errorSamples: string[]; recall: { value: number } | null };
}

test('HTTP: ingest into a collection of its own, then measured queries with recall 1 on an exact index', async () => {
  const run = await benchLoad(['--collection', 'bench-http', '--concurrency', '2']);
  assert.equal(run.code, 0, run.stderr);
  const r = JSON.parse(run.stdout) as Report;
  assert.deepEqual([r.collection, r.ingest, r.query.protocol, r.query.vectors, r.query.queries, r.query.errors], ['bench-http', { ...r.ingest, vectors: 400, errors: 0 }, 'http', 'json', 60, 0]);
  assert.equal(r.query.recall?.value, 1);
});

test('WebSocket: several queries in flight per stream, JSON and raw float32 binary frames on default', async () => {
  const json = await benchLoad(['--collection', 'bench-ws', '--protocol', 'ws', '--concurrency', '2', '--pipeline', '4']);
  assert.equal(json.code, 0, json.stderr);
  const j = JSON.parse(json.stdout) as Report;
  assert.deepEqual([j.query.protocol, j.query.pipeline, j.query.queries, j.query.errors, j.query.recall?.value], ['ws', 4, 60, 0, 1]);
  const binary = await benchLoad(['--collection', 'default', '--protocol', 'ws', '--pipeline', '4', '--binary']);
  assert.equal(binary.code, 0, binary.stderr);
  const b = JSON.parse(binary.stdout) as Report;
  assert.deepEqual([b.query.vectors, b.query.queries, b.query.errors, b.query.recall?.value], ['float32', 60, 0, 1]);
  const http = await benchLoad(['--collection', 'default', '--skip-ingest', '--binary']);
  const h = JSON.parse(http.stdout) as Report;
  assert.deepEqual([h.ingest, h.query.vectors, h.query.errors, h.query.recall?.value], [null, 'float32', 0, 1]);
});

test('the raw HTTP/1.1 load generator sends the client\'s requests (key, JSON or raw float32) and reads answers and errors', async () => {
  for (const extra of [[], ['--binary']]) {
    const run = await benchLoad(['--collection', 'bench-raw', '--http-client', 'raw', '--concurrency', '3', ...extra]);
    assert.equal(run.code, 0, run.stderr);
    const r = JSON.parse(run.stdout) as Report;
    assert.deepEqual([r.query.httpClient, r.query.vectors, r.query.queries, r.query.errors, r.query.recall?.value], ['raw', extra.length ? 'float32' : 'json', 60, 0, 1]);
  }
  // Refused queries are counted as errors with the server's status and code, and the run goes on.
  const bad = await benchLoad(['--collection', 'bench-raw', '--skip-ingest', '--http-client', 'raw', '--filter', 'bucket =']);
  assert.equal(bad.code, 0, bad.stderr);
  const b = JSON.parse(bad.stdout) as Report;
  assert.deepEqual([b.query.queries, b.query.errors], [0, 60]);
  assert.match(b.query.errorSamples[0], /^HTTP 400 invalid_filter: /);
});

test('a raw connection reads answers split across packets and opens a new connection when the server closes one', async () => {
  let connections = 0;
  const tiny = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ path: req.url, auth: req.headers.authorization ?? null });
      // Every answer closes its connection; the body goes in two writes.
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
      res.write(body.slice(0, 5));
      setTimeout(() => res.end(body.slice(5)), 20);
    });
  });
  tiny.on('connection', () => connections++);
  await new Promise<void>((resolve) => tiny.listen(0, '127.0.0.1', resolve));
  const port = (tiny.address() as AddressInfo).port;
  try {
    const connection = new RawConnection(port, '127.0.0.1');
    const request = (path: string) => encodeRequest({ method: 'POST', path, json: { a: 1 }, idempotent: true }, `127.0.0.1:${port}`, 'k');
    for (const path of ['/one', '/two']) assert.deepEqual(JSON.parse((await connection.send(request(path))).toString()), { path, auth: 'Bearer k' });
    await assert.rejects(connection.send(request('/missing')), (e: VecStoreError) => e instanceof VecStoreError && e.status === 404);
    assert.equal(connections, 3);
    connection.close();
  } finally {
    await new Promise((resolve) => tiny.close(resolve));
  }
});

test('a wrong API key stops the run with one line naming the status and code', async () => {
  const run = await benchLoad(['--collection', 'bench-denied'], 'wrong');
  assert.equal(run.code, 1);
  assert.match(run.stderr, /cannot create collection bench-denied .*HTTP 401 unauthorized/);
});
