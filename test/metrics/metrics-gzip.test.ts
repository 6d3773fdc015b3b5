// /metrics on the wire: gzip when the scraper accepts it (as Prometheus always does), identity otherwise, and the
// compressed scrape stays within the documented 10 KB after a workload that touches every route.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { postJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess;
before(async () => {
  server = await startServerProcess({ args: ['--dimension', '4'] });
});
after(async () => {
  await server.stop();
});

/** A raw GET (fetch would decompress silently): status, headers and the bytes as sent. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

test('gzip when accepted, identity otherwise; the same exposition either way', async () => {
  const plain = await rawGet(`${server.url}/metrics`, {});
  assert.equal(plain.headers['content-encoding'], undefined);
  const zipped = await rawGet(`${server.url}/metrics`, { 'accept-encoding': 'gzip' });
  assert.equal(zipped.headers['content-encoding'], 'gzip');
  assert.equal(zipped.headers.vary, 'Accept-Encoding');
  const text = gunzipSync(zipped.body).toString('utf8');
  const names = (t: string) => t.split('\n').filter((l) => l.startsWith('# TYPE ')).sort();
  assert.deepEqual(names(text), names(plain.body.toString('utf8')));
  const refused = await rawGet(`${server.url}/metrics`, { 'accept-encoding': 'gzip;q=0, identity' });
  assert.equal(refused.headers['content-encoding'], undefined);
});

test('after a workload on every route, a Prometheus scrape is at most 10 KB on the wire', async () => {
  const u = server.url;
  for (let i = 0; i < 20; i++) await postJson(`${u}/v1/upsert`, { id: `r${i}`, vector: [i, 1, 2, 3], text: `doc ${i}` });
  await postJson(`${u}/v1/batch-upsert`, { records: [{ id: 'b', vector: [1, 1, 1, 1] }] });
  await postJson(`${u}/v1/query`, { vector: [1, 2, 3, 4], limit: 3 });
  await postJson(`${u}/v1/hybrid-query`, { vector: [1, 2, 3, 4], text_query: 'doc', limit: 3 });
  await fetch(`${u}/v1/vectors/r1`);
  await fetch(`${u}/v1/soft-delete/r2`, { method: 'POST' });
  await fetch(`${u}/v1/restore/r2`, { method: 'POST' });
  await fetch(`${u}/v1/delete/r3`, { method: 'DELETE' });
  await fetch(`${u}/v1/compact`, { method: 'POST' });
  await fetch(`${u}/v1/stats`);
  await postJson(`${u}/v1/snapshots`, { name: 's' });
  await fetch(`${u}/v1/snapshots`);
  await fetch(`${u}/v1/snapshots/s/restore`, { method: 'POST' });
  await fetch(`${u}/health`);
  await fetch(`${u}/ready`);
  await fetch(`${u}/nope`);
  await fetch(`${u}/health`, { method: 'DELETE' });
  // The same data routes under a named collection, and the collection routes themselves.
  await fetch(`${u}/v1/collections/named`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dimension: 4 }) });
  await fetch(`${u}/v1/collections`);
  await fetch(`${u}/v1/collections/named`);
  await postJson(`${u}/v1/collections/named/upsert`, { id: 'n', vector: [1, 2, 3, 4] });
  await postJson(`${u}/v1/collections/named/query`, { vector: [1, 2, 3, 4], limit: 1 });
  await fetch(`${u}/v1/collections/named`, { method: 'DELETE' });
  // What Prometheus sends by default.
  const scrape = await rawGet(`${u}/metrics`, { 'accept-encoding': 'gzip', accept: 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1' });
  const text = gunzipSync(scrape.body).toString('utf8');
  assert.match(text, /vecstore_request_duration_seconds_bucket\{[^}]*endpoint="\/v1\/snapshots\/:snapshot\/restore"/);
  assert.match(text, /vecstore_request_duration_seconds_bucket\{[^}]*endpoint="\/v1\/collections\/:name\/query"/);
  assert.ok(scrape.body.length <= 10 * 1024, `${scrape.body.length} bytes on the wire (${text.length} uncompressed)`);
});
