// GET /openapi.json against the router and a real server: every route of the table is described (a route added
// without a description fails here), and real answers, success and error, of every route validate against the
// document's schemas (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses), under both mounts (/v1/... and
// /v1/collections/{name}/...). Bodies are validated by the same schemas on HTTP and WebSocket alike.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { Validator } from '@seriousme/openapi-schema-validator';
import WebSocket from 'ws';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { buildRoutes, type Route } from '../../src/server/routes.js';
import { Router } from '../../src/server/router.js';
import { DEFAULT_LIMITS } from '../../src/engine/limits.js';

const KEY = 'openapi-test-key';
const AUTH = { 'api-key': KEY };
let server: ServerProcess;
let doc: any;
/** The route table exactly as the server builds it (handlers are not called here). */
const table: Route[] = buildRoutes({ catalog: {} as never, limits: DEFAULT_LIMITS, defaultMetric: 'cosine', metrics: undefined, isReady: () => true });
const router = new Router(table);
const ajv = new Ajv2020({ strict: false, allErrors: true });
const compiled = new Map<unknown, ValidateFunction>();
/** `METHOD template` → statuses whose real answers validated. */
const seen = new Map<string, Set<number>>();

before(async () => {
  server = await startServerProcess({ args: ['--dimension', '3', '--api-key', KEY, '--index', 'flat'] });
  const res = await fetch(`${server.url}/openapi.json`);
  assert.equal(res.status, 200, 'served without a key');
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  doc = await res.json();
});
after(async () => {
  assert.equal(await server.stop(), 0);
});

const openapiPath = (template: string) => template.replace(/:(\w+)/g, '{$1}');
/** Compiles a schema of the document, its `#/components/...` references resolved against the document. */
const compile = (schema: unknown) => ajv.compile({ allOf: [schema], components: doc.components });

test('the document is valid OpenAPI 3.1 (checked against the specification\'s own schema)', async () => {
  const validator = new Validator();
  const result = await validator.validate(doc);
  assert.equal(validator.version, '3.1');
  assert.ok(result.valid, JSON.stringify(result.errors));
  // Every wire schema is a named component, referenced rather than copied.
  for (const name of ['QueryRequest', 'QueryAnswer', 'UpsertRecord', 'ScrollAnswer', 'CollectionInfo', 'ErrorBody', 'UploadSnapshotAnswer']) assert.ok(doc.components.schemas[name], name);
  assert.deepEqual(doc.paths['/v1/query'].post.requestBody.content['application/json'].schema, { $ref: '#/components/schemas/QueryRequest' });
});

test('every route of the router is in the document, with a summary, its answers and its error codes', () => {
  assert.equal(doc.openapi, '3.1.0');
  assert.ok(table.length >= 50, `${table.length} routes`);
  for (const route of table) {
    const op = doc.paths[openapiPath(route.path)]?.[route.method.toLowerCase()];
    assert.ok(op, `${route.method} ${route.path} is missing from /openapi.json`);
    assert.ok(typeof op.summary === 'string' && op.summary.length > 10, `${route.method} ${route.path} has no summary`);
    const statuses = Object.keys(op.responses).map(Number);
    assert.ok(statuses.some((s) => s >= 200 && s < 300), `${route.method} ${route.path} documents no success answer`);
    assert.ok(statuses.includes(500), `${route.method} ${route.path} documents no error codes`);
    for (const param of route.path.split('/').filter((s) => s.startsWith(':'))) {
      assert.ok(op.parameters.some((p: any) => p.in === 'path' && p.name === param.slice(1)), `${route.path}: ${param} undocumented`);
    }
    if (route.doc.body) assert.ok(op.requestBody.content['application/json'].schema, `${route.path}: body schema`);
  }
  // Nothing in the document that the router would not route (the WebSocket endpoint aside).
  for (const [path, ops] of Object.entries<any>(doc.paths)) {
    if (path === '/ws/query-stream') continue;
    for (const method of Object.keys(ops)) {
      const match = router.match(method.toUpperCase(), path.replace(/\{(\w+)\}/g, 'x'));
      assert.equal(match.kind, 'found', `${method} ${path} is documented but not routed`);
    }
  }
  assert.ok(doc.paths['/ws/query-stream'].get['x-websocket'].client.query, 'the WebSocket messages are described');
  assert.deepEqual(doc.paths['/openapi.json'].get.security, [], 'served without auth');
});

/** Sends a request, finds its route with the router, and validates the answer against the document. */
async function call(method: string, path: string, options: { json?: unknown; raw?: Uint8Array; contentType?: string; auth?: boolean } = {}): Promise<{ status: number; body: any; bytes: Buffer }> {
  const headers: Record<string, string> = options.auth === false ? {} : { ...AUTH };
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.raw) {
    headers['content-type'] = options.contentType ?? 'application/octet-stream';
    body = options.raw as unknown as BodyInit;
  }
  const res = await fetch(`${server.url}${path}`, { method, headers, body });
  const bytes = Buffer.from(await res.arrayBuffer());
  const match = router.match(method, path.split('?')[0]);
  assert.equal(match.kind, 'found', `${method} ${path}`);
  const template = (match as { route: Route }).route.path;
  const op = doc.paths[openapiPath(template)][method.toLowerCase()];
  const answer = op.responses[String(res.status)];
  assert.ok(answer, `${method} ${template} answered ${res.status}, which the document does not list: ${bytes.toString().slice(0, 300)}`);
  const contentType = (res.headers.get('content-type') ?? '').split(';')[0];
  const media = answer.content?.[contentType];
  assert.ok(media, `${method} ${template} ${res.status}: content type ${contentType} not documented`);
  let parsed: unknown = bytes;
  if (contentType === 'application/json') {
    parsed = JSON.parse(bytes.toString('utf8'));
    let validate = compiled.get(media.schema);
    if (!validate) compiled.set(media.schema, (validate = compile(media.schema)));
    assert.ok(validate(parsed), `${method} ${template} ${res.status} does not match the document: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(parsed).slice(0, 400)}`);
  }
  const key = `${method} ${template}`;
  if (!seen.has(key)) seen.set(key, new Set());
  seen.get(key)!.add(res.status);
  return { status: res.status, body: parsed, bytes };
}

async function exerciseCollection(prefix: string): Promise<void> {
  const p = prefix;
  assert.equal((await call('POST', `${p}/upsert`, { json: { id: 'a', vector: [1, 0, 0], metadata: { k: 1 }, text: 'red fox' } })).status, 200);
  assert.equal((await call('POST', `${p}/upsert`, { json: { id: 'a', vector: [1, 0] } })).status, 409);
  assert.equal((await call('POST', `${p}/upsert?id=r`, { raw: new Uint8Array(new Float32Array([0, 0, 1]).buffer) })).status, 200);
  assert.equal((await call('POST', `${p}/batch-upsert`, { json: { records: [{ id: 'b', vector: [0, 1, 0], text: 'brown dog' }, { id: '', vector: [0, 1, 0] }] } })).body.errors.length, 1);
  assert.equal((await call('POST', `${p}/batch-upsert`, { json: { records: 5 } })).status, 400);
  assert.equal((await call('POST', `${p}/scroll`, { json: { limit: 1 } })).body.records.length, 1);
  assert.equal((await call('POST', `${p}/scroll`, { json: { cursor: '!!' } })).status, 400);
  assert.equal((await call('POST', `${p}/query`, { json: { vector: [1, 0, 0], limit: 2, include_text: true } })).body.results[0].id, 'a');
  assert.equal((await call('POST', `${p}/query?limit=2`, { raw: new Uint8Array(new Float32Array([1, 0, 0]).buffer) })).status, 200);
  assert.equal((await call('POST', `${p}/query`, { json: { vector: [1, 0, 0], top_k: 2 } })).body.code, 'unknown_field');
  assert.equal((await call('POST', `${p}/query`, { json: { vector: [1, 0, 0], limit: 100_000 } })).body.code, 'k_too_large');
  assert.equal((await call('POST', `${p}/hybrid-query`, { json: { vector: [1, 0, 0], text_query: 'fox' } })).status, 200);
  assert.equal((await call('POST', `${p}/hybrid-query`, { json: { vector: [1, 0, 0] } })).status, 400);
  assert.equal((await call('GET', `${p}/vectors/a`)).body.id, 'a');
  assert.equal((await call('GET', `${p}/vectors/nope`)).status, 404);
  assert.equal((await call('PATCH', `${p}/vectors/a`, { json: { metadata: { k: 2 } } })).status, 200);
  assert.equal((await call('PATCH', `${p}/vectors/nope`, { json: { text: 'x' } })).body.found, false);
  assert.deepEqual((await call('POST', `${p}/vectors/get`, { json: { ids: ['a', 'x'] } })).body.missing, ['x']);
  assert.equal((await call('POST', `${p}/vectors/get`, { json: { ids: [] } })).status, 400);
  assert.equal((await call('POST', `${p}/count`, { json: {} })).body.count, 3);
  assert.equal((await call('POST', `${p}/count`, { json: { filter: 'k = = 1' } })).body.code, 'invalid_filter');
  assert.equal((await call('POST', `${p}/delete-by-filter`, { json: { filter: 'k = 99' } })).body.deleted_count, 0);
  assert.equal((await call('POST', `${p}/delete-by-filter`, { json: {} })).status, 400);
  assert.equal((await call('POST', `${p}/soft-delete/b`)).status, 200);
  assert.equal((await call('POST', `${p}/soft-delete/nope`)).status, 404);
  assert.equal((await call('POST', `${p}/restore/b`)).status, 200);
  assert.equal((await call('POST', `${p}/restore/nope`)).status, 404);
  assert.equal((await call('DELETE', `${p}/delete/r`)).status, 200);
  assert.equal((await call('DELETE', `${p}/delete/r`)).status, 404);
  assert.equal((await call('POST', `${p}/compact`)).status, 200);
  assert.equal((await call('POST', `${p}/compact`, { auth: false })).status, 401);
  assert.equal((await call('GET', `${p}/stats`)).body.active_vectors, 2);
  assert.equal((await call('GET', `${p}/stats`, { auth: false })).status, 401);
  assert.equal((await call('POST', `${p}/snapshots`, { json: { name: 's1' } })).status, 200);
  assert.equal((await call('POST', `${p}/snapshots`, { json: { name: 's1' } })).body.code, 'conflict');
  assert.equal((await call('GET', `${p}/snapshots`)).body.snapshots.length, 1);
  assert.equal((await call('GET', `${p}/snapshots`, { auth: false })).status, 401);
  const file = await call('GET', `${p}/snapshots/s1/download`);
  assert.equal(file.status, 200);
  assert.equal((await call('GET', `${p}/snapshots/nope/download`)).status, 404);
  assert.equal((await call('PUT', `${p}/snapshots/s2/upload`, { raw: file.bytes })).body.vectors, 2);
  assert.equal((await call('PUT', `${p}/snapshots/s3/upload`, { raw: Buffer.from('not a snapshot at all') })).body.code, 'invalid_snapshot');
  assert.equal((await call('POST', `${p}/snapshots/s2/restore`)).body.vectors_restored, 2);
  assert.equal((await call('POST', `${p}/snapshots/nope/restore`)).status, 404);
  assert.equal((await call('DELETE', `${p}/snapshots/s2`)).status, 200);
  assert.equal((await call('DELETE', `${p}/snapshots/s2`)).status, 404);
}

test('real answers of every route, success and error, validate against the document', async () => {
  assert.equal((await call('GET', '/', { auth: false })).status, 200);
  assert.equal((await call('GET', '/openapi.json', { auth: false })).status, 200);
  assert.equal((await call('GET', '/health', { auth: false })).status, 200);
  assert.equal((await call('GET', '/ready', { auth: false })).status, 200);
  assert.equal((await call('GET', '/metrics', { auth: false })).status, 200);
  assert.equal((await call('PUT', '/v1/collections/docs', { json: { dimension: 3, index: 'flat' } })).status, 201);
  assert.equal((await call('PUT', '/v1/collections/docs', { json: { dimension: 3 } })).status, 200);
  assert.equal((await call('PUT', '/v1/collections/docs', { json: { dimension: 4 } })).body.code, 'conflict');
  assert.equal((await call('PUT', '/v1/collections/docs', { json: { dimension: 3, distance: 'Cosine' } })).body.code, 'unknown_field');
  assert.equal((await call('PUT', '/v1/collections/tmp')).status, 201);
  assert.ok((await call('GET', '/v1/collections')).body.collections.some((c: { name: string }) => c.name === 'tmp'));
  assert.equal((await call('GET', '/v1/collections', { auth: false })).status, 401);
  assert.equal((await call('GET', '/v1/collections/docs')).body.name, 'docs');
  assert.equal((await call('GET', '/v1/collections/nope')).body.code, 'collection_not_found');
  assert.equal((await call('DELETE', '/v1/collections/tmp')).status, 200);
  assert.equal((await call('DELETE', '/v1/collections/tmp')).status, 404);
  await exerciseCollection('/v1');
  await exerciseCollection('/v1/collections/docs');
  // The console's calls: who a key is (no key: role null), and the live summary.
  assert.equal((await call('GET', '/v1/auth/whoami')).body.role, 'admin');
  assert.equal((await call('GET', '/v1/auth/whoami', { auth: false })).body.role, null);
  assert.equal((await call('GET', '/v1/console/summary')).status, 200);
  assert.equal((await call('GET', '/v1/console/summary', { auth: false })).status, 401);

  const untested: string[] = [];
  for (const route of table) {
    const statuses = seen.get(`${route.method} ${route.path}`) ?? new Set<number>();
    if (![...statuses].some((s) => s < 300)) untested.push(`${route.method} ${route.path}: no success answer checked`);
    const mayFail = route.access !== 'open' && route.path !== '/metrics';
    if (mayFail && ![...statuses].some((s) => s >= 400)) untested.push(`${route.method} ${route.path}: no error answer checked`);
  }
  assert.deepEqual(untested, []);
});

/** Sends one WebSocket query and returns its error message. */
async function wsError(message: Record<string, unknown>): Promise<any> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws/query-stream`, { headers: AUTH });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const answer = new Promise<any>((resolve) => ws.once('message', (data) => resolve(JSON.parse(data.toString()))));
  ws.send(JSON.stringify({ request_id: 'q', ...message }));
  const got = await answer;
  ws.close();
  return got;
}

test('HTTP and WebSocket refuse the same bodies with the same error, and the error messages match the document', async () => {
  const errorSchema = compile(doc.paths['/ws/query-stream'].get['x-websocket'].server.error);
  const cases: Array<Record<string, unknown>> = [
    { vector: [1, 0, 0], n_results: 3 },
    { vector: [1, 0, 0], limit: 0 },
    { vector: [1, 0, 0], include_metadata: 'no' },
    { vector: [1, 'x', 0] },
    { vector: [1, 0, 0], text_query: 'fox', fusion: 'max' },
  ];
  for (const body of cases) {
    const route = body.text_query === undefined ? '/v1/query' : '/v1/hybrid-query';
    const http = await call('POST', route, { json: body });
    const ws = await wsError(body);
    assert.equal(http.status, 400);
    assert.equal(ws.code, http.body.code, JSON.stringify(body));
    assert.equal(ws.error, http.body.error, JSON.stringify(body));
    assert.equal(ws.request_id, 'q');
    assert.ok(errorSchema(ws), ajv.errorsText(errorSchema.errors));
  }
  // A field only the schema checks (the parsers ignore it) is refused by the schema, naming it.
  const traced = await wsError({ vector: [1, 0, 0], traceparent: 5 });
  assert.equal(traced.code, 'validation');
  assert.match(traced.error, /^traceparent: must be a string, got 5$/);
});
