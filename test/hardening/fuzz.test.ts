// Hostile input over real sockets (fast-check): random bytes, random JSON and mutated valid requests to every route and the WebSocket.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import WebSocket from 'ws';
import { postJson, requestJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { parseExposition } from '../helpers/prom-text.js';

const DIM = 8;
const SEED = Number(process.env.FUZZ_SEED ?? 20_260_901);
const vec = (x: number): number[] => Array.from({ length: DIM }, (_, d) => x + d);

let server: ServerProcess;
before(async () => {
  // A small body limit keeps random payloads cheap; interval fsync keeps thousands of writes fast (durability is tested elsewhere).
  server = await startServerProcess({ args: ['--dimension', String(DIM), '--metric', 'euclidean', '--fsync', 'interval:50', '--max-body', '65536', '--max-ws-message', '65536'] });
  const records = Array.from({ length: 50 }, (_, i) => ({ id: `fz-${i}`, vector: vec(i), metadata: { i, tag: i % 2 === 0 ? 'even' : 'odd' }, text: `doc ${i}` }));
  assert.equal((await postJson(`${server.url}/v1/batch-upsert`, { records })).body.inserted, 50);
});
after(async () => {
  await server.stop();
});

/** Every route of src/server/routes.ts (path parameters as `:x`), plus the WebSocket path asked without an upgrade. */
const ROUTES: Array<[string, string]> = [
  ['GET', '/health'], ['GET', '/ready'], ['GET', '/metrics'], ['GET', '/v1/stats'], ['GET', '/v1/snapshots'],
  ['POST', '/v1/upsert'], ['POST', '/v1/batch-upsert'], ['POST', '/v1/query'], ['POST', '/v1/hybrid-query'],
  ['GET', '/v1/vectors/:id'], ['DELETE', '/v1/delete/:id'], ['POST', '/v1/soft-delete/:id'], ['POST', '/v1/restore/:id'],
  ['POST', '/v1/compact'], ['POST', '/v1/snapshots'], ['POST', '/v1/snapshots/:name/restore'], ['GET', '/ws/query-stream'],
  ['GET', '/'], ['GET', '/v1'], ['POST', '/v2/query'],
];

/** A valid body per route, the starting point of mutations. */
function validBody(path: string, i: number): Record<string, unknown> {
  switch (path) {
    case '/v1/upsert': return { id: `fz-new-${i % 20}`, vector: vec(i % 7), metadata: { i, tag: 'new' }, text: 'fresh words' };
    case '/v1/batch-upsert': return { records: [{ id: `fz-b-${i % 10}`, vector: vec(1), metadata: { n: [1, 2] } }, { id: `fz-b-${(i + 1) % 10}`, vector: vec(2) }] };
    case '/v1/query': return { vector: vec(3), limit: 5, filter: "tag = 'even' AND i > 2", include_vectors: true };
    case '/v1/hybrid-query': return { vector: vec(3), text_query: 'doc 4', limit: 5, alpha: 0.5, fusion: 'rrf', filter: 'i < 40' };
    case '/v1/snapshots': return { name: 'fuzz-snap' };
    default: return {};
  }
}

const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', '%', '%zz', '%00', '%2F', '..', '.', '\u0000', '\uFFFF', '\uD800', '__proto__', 'constructor', 'fz-1', 'x'.repeat(600), '😀', ' ', '?', '#', 'a/b', '%E2%82', '\\'),
);
const pathParam = hostileString.map((s) => (s.startsWith('%') ? s : encodeUnsafe(s)));

/** encodeURIComponent, except that a lone surrogate becomes its (invalid UTF-8) CESU bytes instead of throwing. */
function encodeUnsafe(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80' + encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, ''));
  }
}

/** A mutation of a valid JSON body: a field replaced, removed, retyped or added, or the whole body replaced. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key: fc.constantFrom('id', 'vector', 'metadata', 'text', 'limit', 'k', 'filter', 'records', 'text_query', 'alpha', 'fusion', 'include_vectors', 'name', 'request_id', 'extra'), value: fc.jsonValue({ maxDepth: 4 }) }),
  fc.record({ kind: fc.constant('delete' as const), key: fc.constantFrom('id', 'vector', 'records', 'text_query', 'name') }),
  fc.record({ kind: fc.constant('vector' as const), value: fc.array(fc.oneof(fc.double(), fc.integer(), fc.constant(1e39), fc.string({ maxLength: 3 })), { maxLength: 20 }) }),
  fc.record({ kind: fc.constant('filter' as const), value: fc.string({ maxLength: 80 }) }),
  fc.record({ kind: fc.constant('deep' as const), depth: fc.integer({ min: 10, max: 3000 }) }),
  fc.record({ kind: fc.constant('replace' as const), value: fc.jsonValue({ maxDepth: 3 }) }),
);

function mutate(body: Record<string, unknown>, m: typeof mutation extends fc.Arbitrary<infer T> ? T : never): unknown {
  const out: Record<string, unknown> = { ...body };
  switch (m.kind) {
    case 'set': out[m.key] = m.value; return out;
    case 'delete': delete out[m.key]; return out;
    case 'vector': out.vector = m.value; if (Array.isArray(out.records)) out.records = [{ id: 'v', vector: m.value }]; return out;
    case 'filter': out.filter = m.value; return out;
    case 'deep': {
      // Deep nesting as metadata (the upsert path) and as the whole value of another field.
      let nested: unknown = 1;
      for (let i = 0; i < m.depth; i++) nested = i % 2 === 0 ? [nested] : { a: nested };
      out.metadata = nested;
      out.vector = Array.isArray(out.vector) ? out.vector : nested;
      return out;
    }
    case 'replace': return m.value;
  }
}

const bodyBytes = (path: string) => fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.nat(1000), mutation).map(([i, m]) => Buffer.from(JSON.stringify(mutate(validBody(path, i), m)) ?? 'null')) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 1024 }).map((a) => Buffer.from(a)) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? '')) },
  // Valid JSON cut short or with trailing garbage.
  { weight: 1, arbitrary: fc.tuple(fc.nat(1000), fc.nat(200)).map(([i, cut]) => Buffer.from(JSON.stringify(validBody(path, i)).slice(0, cut))) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(1000), fc.string({ maxLength: 5 })).map(([i, tail]) => Buffer.from(JSON.stringify(validBody(path, i)) + tail)) },
  // Binary vectors of any length, including not a multiple of 4 and NaN/Infinity bit patterns.
  { weight: 1, arbitrary: fc.array(fc.float({ noDefaultInfinity: false, noNaN: false }), { maxLength: 20 }).map((xs) => Buffer.from(new Float32Array(xs).buffer)) },
);

const queryString = fc.array(fc.tuple(fc.constantFrom('id', 'metadata', 'text', 'limit', 'k', 'alpha', 'filter', 'text_query', 'include_vectors', 'fusion', '__proto__', 'api-key'), hostileString), { maxLength: 4 })
  .map((pairs) => (pairs.length === 0 ? '' : '?' + pairs.map(([k, v]) => `${k}=${encodeUnsafe(v)}`).join('&')));

const httpCase = fc.constantFrom(...ROUTES).chain(([method, template]) => fc.record({
  method: fc.oneof({ weight: 4, arbitrary: fc.constant(method) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD') }),
  path: fc.tuple(pathParam, pathParam).map(([a, b]) => template.replace(':id', a).replace(':name', b)),
  query: queryString,
  contentType: fc.constantFrom('application/json', 'application/json', 'application/octet-stream', 'text/plain', 'application/json; charset=utf-16', ''),
  body: bodyBytes(template),
}));

/** Sends one case and asserts the answer is a client error or success, never a 5xx, and errors are JSON with a code. */
async function sendCase(c: { method: string; path: string; query: string; contentType: string; body: Buffer }): Promise<void> {
  const withBody = c.method !== 'GET' && c.method !== 'HEAD';
  const res = await fetch(`${server.url}${c.path}${c.query}`, {
    method: c.method,
    headers: c.contentType ? { 'content-type': c.contentType } : {},
    ...(withBody ? { body: new Uint8Array(c.body) } : {}),
  });
  const text = await res.text();
  assert.ok(res.status < 500, `${c.method} ${c.path}${c.query} → ${res.status} ${text.slice(0, 300)}`);
  if (res.status >= 400 && c.method !== 'HEAD') {
    const parsed = JSON.parse(text);
    assert.equal(typeof parsed.code, 'string');
  }
}

/** Sends raw bytes on a fresh TCP connection and reads for a moment: any HTTP answer must not be a 5xx. */
function sendRaw(bytes: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(server.port, '127.0.0.1');
    let got = '';
    const finish = () => { socket.destroy(); resolve(got); };
    socket.on('data', (d) => { got += d.toString('latin1'); });
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('connect', () => socket.write(bytes));
    setTimeout(finish, 30);
  });
}

async function memory(): Promise<{ rss: number; heap: number; internal: number }> {
  const samples = parseExposition(await (await fetch(`${server.url}/metrics`)).text());
  return {
    rss: samples.get('process_resident_memory_bytes') ?? NaN,
    heap: samples.get('nodejs_heap_size_used_bytes') ?? NaN,
    internal: samples.get('vecstore_errors_total{error_type="internal"}') ?? 0,
  };
}

async function validQueryIsCorrect(): Promise<void> {
  // Its own record, so whatever the fuzz upserted, deleted or restored, the answer is known.
  assert.equal((await postJson(`${server.url}/v1/upsert`, { id: 'fuzz-final', vector: vec(1000), metadata: { final: true } })).status, 200);
  const res = await postJson(`${server.url}/v1/query`, { vector: vec(1000), limit: 1, filter: 'final = true' });
  assert.equal(res.status, 200);
  assert.equal(res.body.results[0].id, 'fuzz-final');
  assert.deepEqual(res.body.results[0].metadata, { final: true });
}

let baseline: { rss: number; heap: number; internal: number };

test('warm-up: a first round of HTTP garbage', async () => {
  await fc.assert(fc.asyncProperty(httpCase, sendCase), { numRuns: 300, seed: SEED });
  baseline = await memory();
});

test('HTTP: mutated, random-JSON and random-byte requests to every route never get a 5xx', async () => {
  await fc.assert(fc.asyncProperty(httpCase, sendCase), { numRuns: 1500, seed: SEED + 1 });
  await validQueryIsCorrect();
});

test('raw TCP: random bytes and broken request heads never get a 5xx', async () => {
  const head = fc.tuple(fc.constantFrom('GET', 'POST', 'PUT', 'XYZ', '', 'G\u0000T'), fc.string({ unit: 'binary-ascii', maxLength: 60 }), fc.array(fc.string({ unit: 'binary-ascii', maxLength: 40 }), { maxLength: 5 }), fc.uint8Array({ maxLength: 200 }))
    .map(([m, p, headers, body]) => Buffer.concat([Buffer.from(`${m} /${p} HTTP/1.1\r\nHost: x\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1'), Buffer.from(body)]));
  const bytes = fc.oneof(fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)), head,
    fc.nat(1_000_000_000).map((n) => Buffer.from(`POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: ${n}\r\nContent-Type: application/json\r\n\r\n{"vector":`)),
    fc.constant(Buffer.from('POST /v1/query HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')));
  await fc.assert(fc.asyncProperty(bytes, async (b) => {
    const answer = await sendRaw(b);
    assert.ok(!/^HTTP\/1\.[01] 5/.test(answer), answer.slice(0, 200));
  }), { numRuns: 250, seed: SEED + 2 });
  await validQueryIsCorrect();
});

test('WebSocket: random text and binary frames and mutated queries; the socket stays open and answers a valid query', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws/query-stream`, { perMessageDeflate: false });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  let closed: number | undefined;
  ws.on('close', (code) => { closed = code; });
  const codes = new Map<string, number>();
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m.code) codes.set(m.code, (codes.get(m.code) ?? 0) + 1);
  });
  const validQuery = { vector: vec(3), limit: 3, request_id: 7, filter: 'i > 1' };
  const frame = fc.oneof(
    { weight: 3, arbitrary: mutation.map((m) => ({ text: JSON.stringify(mutate(validQuery, m)) ?? 'null' })) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((text) => ({ text })) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => ({ text: JSON.stringify(v) ?? '' })) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => ({ binary: Buffer.from(a) })) },
    // Well-framed binary queries with hostile header fields and lengths.
    { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.nat(), fc.array(fc.float({ noNaN: false }), { maxLength: 12 })).map(([rid, limit, xs]) => {
      const b = Buffer.alloc(8 + xs.length * 4);
      b.writeUInt32LE(rid >>> 0, 0);
      b.writeUInt32LE(limit >>> 0, 4);
      xs.forEach((x, i) => b.writeFloatLE(x, 8 + i * 4));
      return { binary: b };
    }) },
  );
  await fc.assert(fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 10 }), async (frames) => {
    for (const f of frames) ws.send('binary' in f ? f.binary! : f.text!, { binary: 'binary' in f });
    // Let the server work through the burst so in-flight limits are not what is being tested.
    await new Promise((r) => setTimeout(r, 2));
    assert.equal(closed, undefined, `socket closed with ${closed}`);
  }), { numRuns: 300, seed: SEED + 3 });
  assert.equal(codes.get('internal'), undefined, `internal errors: ${JSON.stringify([...codes])}`);
  const answer = await new Promise<any[]>((resolve) => {
    const got: any[] = [];
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.request_id !== 'final') return;
      got.push(m);
      if (m.complete || m.error) resolve(got);
    });
    // fuzz-final was written by the HTTP rounds' last check; WebSocket frames cannot write, so it is still the answer.
    ws.send(JSON.stringify({ vector: vec(1000), limit: 1, request_id: 'final', filter: 'final = true' }));
  });
  assert.deepEqual(answer.map((m) => m.id ?? 'complete'), ['fuzz-final', 'complete'], JSON.stringify(answer));
  assert.deepEqual(answer[0].metadata, { final: true });
  ws.close();
});

test('afterwards: the process is alive, nothing was an internal error, memory did not grow without bound', async (t) => {
  assert.equal(server.proc.exitCode, null);
  // The fuzz must have reached past the JSON parser into validation, routing and the engine, not only bounced off.
  const samples = parseExposition(await (await fetch(`${server.url}/metrics`)).text());
  const seen = [...samples].filter(([name, v]) => name.startsWith('vecstore_errors_total{') && v > 0).map(([name, v]) => `${/error_type="([^"]*)"/.exec(name)?.[1]}=${v}`);
  t.diagnostic(`errors seen: ${seen.join(' ')}`);
  for (const type of ['validation', 'not_found', 'method_not_allowed', 'dimension_mismatch']) assert.ok(seen.some((s) => s.startsWith(`${type}=`)), `no ${type} errors: ${seen.join(' ')}`);
  assert.equal((await requestJson(`${server.url}/health`)).status, 200);
  await validQueryIsCorrect();
  const now = await memory();
  assert.equal(now.internal, baseline.internal, 'vecstore_errors_total{error_type="internal"} grew');
  // Generous: the run adds a few hundred small records; a leak per request would be far above this.
  assert.ok(now.heap < baseline.heap * 2 + 64 * 1024 * 1024, `heap ${baseline.heap} → ${now.heap}`);
  // Resident memory first grows with things that are made once (parse and scan worker threads, allocator arenas,
  // segments), by an amount that depends on the machine; a leak keeps growing. So: one more round of the same
  // garbage must leave it about where it was.
  t.diagnostic(`rss ${baseline.rss} after the warm-up, ${now.rss} after the fuzz rounds`);
  await fc.assert(fc.asyncProperty(httpCase, sendCase), { numRuns: 1500, seed: SEED + 1 });
  const later = await memory();
  t.diagnostic(`rss ${later.rss} after the same HTTP round again`);
  assert.ok(later.rss < now.rss * 1.1 + 48 * 1024 * 1024, `rss ${now.rss} → ${later.rss} over a repeated round`);
});
