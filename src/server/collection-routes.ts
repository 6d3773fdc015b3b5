// The data routes of one collection (upsert, query, deletes, snapshots, ...), written once against a Collection and
// mounted twice by the route table: under /v1/collections/:name/ and, for the `default` collection, under /v1/.
import { VecStoreError, errorType, type ErrorCode } from '../errors.js';
import type { Access } from '../catalog/api-keys.js';
import type { Collection } from '../catalog/collection.js';
import type { Limits } from '../engine/limits.js';
import { describe, isPlainObject, parseId, parseRecord, parseText } from '../engine/record-validation.js';
import type { RecordChanges } from '../engine/engine.js';
import type { RecordView } from '../store/vector-store.js';
import type { VecStoreMetrics } from '../metrics/metrics.js';
import { parseBinaryVector, parseJsonObject } from './http-io.js';
import { parseHybridQuery, parseVectorQuery } from './query-request.js';
import { parseScrollRequest, scrollAnswer } from './scroll-request.js';
import { ARROW_STREAM_TYPE } from '../ingest/arrow-records.js';
import { checkFields, type RequestBody } from '../api/request-fields.js';
import { validateBatchBody } from '../ingest/batch-body.js';
import type { ParsePool } from '../ingest/parse-pool.js';
import type { HttpMethod, RouteAnswer, RouteContext } from './routes.js';

/** A route acting on one collection; `suffix` follows the collection's prefix. */
export interface CollectionRoute {
  method: HttpMethod;
  suffix: string;
  access: Exclude<Access, 'admin'>;
  /** Under /v1/, creates the `default` collection if it does not exist yet (its first write). */
  createsDefault?: boolean;
  handler(collection: Collection, ctx: RouteContext): Promise<RouteAnswer> | RouteAnswer;
}

/** Every per-collection route. `ctx.params` holds only the route's own parameters (the collection name is taken off). */
export function collectionRoutes(limits: Limits, metrics: VecStoreMetrics | undefined, parser: ParsePool | undefined): CollectionRoute[] {
  const jsonOrBinaryQuery = (ctx: RouteContext, kind: RequestBody): Record<string, unknown> => {
    if (!isBinary(ctx)) return body(ctx, kind);
    // Binary bodies carry only the vector; the other parameters come from the query string, checked like body fields.
    // No prototype: a parameter named __proto__ is a field like any other (and refused as unknown).
    const fromQuery: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const [key, value] of new URLSearchParams(ctx.rawQuery)) fromQuery[key] = queryStringValue(key, value);
    checkFields(fromQuery, kind);
    return fromQuery;
  };

  const routes: CollectionRoute[] = [
    {
      method: 'POST', suffix: '/upsert', access: 'write', createsDefault: true,
      handler: async (c, ctx) => {
        let record;
        if (isBinary(ctx)) {
          const query = new URLSearchParams(ctx.rawQuery);
          checkFields(Object.fromEntries([...query.keys()].map((k) => [k, true])), 'upsert');
          const metadata = query.get('metadata');
          record = parseRecord({ id: query.get('id') ?? undefined, vector: parseBinaryVector(ctx.body), metadata: metadata ? parseJsonQueryParam(metadata, 'metadata') : undefined, text: query.get('text') ?? undefined }, '', limits);
        } else {
          record = parseRecord(body(ctx, 'upsert'), '', limits);
        }
        await c.engine.upsert(record);
        metrics?.upserts.inc({ batch: 'single' });
        return { json: '{"success":true}' };
      },
    },
    {
      method: 'POST', suffix: '/batch-upsert', access: 'write', createsDefault: true,
      handler: async (c, ctx) => {
        // JSON `{records: [...]}` or an Arrow IPC stream of columns id, vector, metadata?, text?: the same answer either way.
        const format = ctx.contentType.startsWith(ARROW_STREAM_TYPE) ? 'arrow' : 'json';
        const batch = parser
          ? await parser.parse(format, ctx.body, limits, c.engine.dimension)
          : validateBatchBody(format, ctx.body, limits, c.engine.dimension);
        const outcome = await c.engine.batchUpsertValidated(batch);
        metrics?.upserts.inc({ batch: 'batch' });
        for (const e of outcome.errors) metrics?.errors.inc({ error_type: errorType(e.code as ErrorCode) });
        return { json: outcome };
      },
    },
    {
      method: 'POST', suffix: '/scroll', access: 'read',
      handler: async (c, ctx) => {
        return { json: scrollAnswer(await c.engine.scroll(parseScrollRequest(optionalBody(ctx, 'scroll'), limits))) };
      },
    },
    {
      method: 'POST', suffix: '/query', access: 'read',
      handler: async (c, ctx) => {
        const q = parseVectorQuery(jsonOrBinaryQuery(ctx, 'query'), limits, isBinary(ctx) ? parseBinaryVector(ctx.body) : undefined);
        const answer = await c.engine.query(q);
        metrics?.observeQuery('vector', answer.results.length, answer.cached, answer.stats.index);
        return { json: { results: answer.results, stats: answer.stats } };
      },
    },
    {
      method: 'POST', suffix: '/hybrid-query', access: 'read',
      handler: async (c, ctx) => {
        const q = parseHybridQuery(jsonOrBinaryQuery(ctx, 'hybridQuery'), limits, isBinary(ctx) ? parseBinaryVector(ctx.body) : undefined);
        const answer = await c.engine.hybridQuery(q);
        metrics?.observeQuery('hybrid', answer.results.length, answer.cached, answer.stats.index);
        return { json: { results: answer.results, stats: answer.stats } };
      },
    },
    {
      method: 'GET', suffix: '/vectors/:id', access: 'read',
      handler: (c, ctx) => {
        const id = pathId(ctx, limits.maxIdLength);
        const record = c.engine.get(id);
        if (!record) throw new VecStoreError('not_found', `id: no vector with id ${JSON.stringify(id)}`);
        return { json: recordAnswer(record) };
      },
    },
    {
      method: 'PATCH', suffix: '/vectors/:id', access: 'write',
      handler: async (c, ctx) => {
        const id = pathId(ctx, limits.maxIdLength);
        await withNotFound(c.engine.patch(id, parseChanges(body(ctx, 'patch'), limits)), { found: false, updated: false });
        return { json: { found: true, updated: true } };
      },
    },
    {
      method: 'POST', suffix: '/vectors/get', access: 'read',
      handler: (c, ctx) => {
        const { records, missing } = c.engine.getMany(parseIds(body(ctx, 'getMany').ids, limits));
        return { json: { records: records.map(recordAnswer), missing } };
      },
    },
    {
      method: 'POST', suffix: '/count', access: 'read',
      handler: async (c, ctx) => {
        return { json: { count: await c.engine.count(optionalFilter(optionalBody(ctx, 'count').filter)) } };
      },
    },
    {
      method: 'POST', suffix: '/delete-by-filter', access: 'write',
      handler: async (c, ctx) => {
        const { filter } = body(ctx, 'deleteByFilter');
        // Required: deleting everything must be asked for explicitly (a filter that matches all), never by omission.
        if (typeof filter !== 'string' || filter.trim() === '') throw new VecStoreError('validation', `filter: required, a non-empty filter string, got ${describe(filter)}`);
        const deleted = await c.engine.deleteByFilter(filter);
        if (deleted > 0) metrics?.deletes.inc({ type: 'hard' }, deleted);
        return { json: { deleted_count: deleted } };
      },
    },
    {
      method: 'DELETE', suffix: '/delete/:id', access: 'write',
      handler: async (c, ctx) => {
        await withNotFound(c.engine.delete(pathId(ctx, limits.maxIdLength)), { found: false, deleted: false });
        metrics?.deletes.inc({ type: 'hard' });
        return { json: { found: true, deleted: true } };
      },
    },
    {
      method: 'POST', suffix: '/soft-delete/:id', access: 'write',
      handler: async (c, ctx) => {
        await withNotFound(c.engine.softDelete(pathId(ctx, limits.maxIdLength)), { found: false, marked_deleted: false });
        metrics?.deletes.inc({ type: 'soft' });
        return { json: { found: true, marked_deleted: true } };
      },
    },
    {
      method: 'POST', suffix: '/restore/:id', access: 'write',
      handler: async (c, ctx) => {
        await withNotFound(c.engine.restore(pathId(ctx, limits.maxIdLength)), { found: false, restored: false });
        return { json: { found: true, restored: true } };
      },
    },
    {
      method: 'POST', suffix: '/compact', access: 'write',
      handler: async (c) => {
        const { removedCount, freedBytes } = await c.engine.compact();
        return { json: { removed_count: removedCount, freed_bytes: freedBytes } };
      },
    },
    { method: 'GET', suffix: '/stats', access: 'read', handler: (c) => ({ json: c.engine.stats() }) },
    {
      method: 'POST', suffix: '/snapshots', access: 'write', createsDefault: true,
      handler: async (c, ctx) => {
        const { name } = body(ctx, 'createSnapshot');
        if (typeof name !== 'string') throw new VecStoreError('validation', 'name: must be a string');
        const created = await c.createSnapshot(name);
        return { json: { success: true, name: created.name, path: created.path } };
      },
    },
    { method: 'GET', suffix: '/snapshots', access: 'read', handler: async (c) => ({ json: { snapshots: await c.listSnapshots() } }) },
    {
      method: 'POST', suffix: '/snapshots/:snapshot/restore', access: 'write', createsDefault: true,
      handler: async (c, ctx) => {
        const restored = await c.restoreSnapshot(decodeParam(ctx.params[0], 'name'));
        return { json: { success: true, vectors_restored: restored.vectors_restored } };
      },
    },
  ];
  if (process.env.VECSTORE_TEST_FAULTS === '1') {
    // Test-only switch (never on in production): the next scan task of this collection dies inside its worker thread.
    routes.push({
      method: 'POST', suffix: '/_test/worker-fault', access: 'write', createsDefault: true,
      handler: (c, ctx) => {
        const { fault } = body(ctx, 'testFault');
        if (fault !== 'throw' && fault !== 'exit') throw new VecStoreError('validation', 'fault: must be "throw" or "exit"');
        c.engine.injectWorkerFault(fault);
        return { json: { armed: fault } };
      },
    });
  }
  return routes;
}

/** A JSON object body whose fields are all in the route's table. */
function body(ctx: RouteContext, kind: RequestBody): Record<string, unknown> {
  const parsed = parseJsonObject(ctx.body);
  checkFields(parsed, kind);
  return parsed;
}

/** The same, where an empty body means `{}`. */
function optionalBody(ctx: RouteContext, kind: RequestBody): Record<string, unknown> {
  return ctx.body.length === 0 ? {} : body(ctx, kind);
}

/** A stored record as GET /vectors/:id and POST /vectors/get answer it. */
function recordAnswer(record: RecordView): Record<string, unknown> {
  const answer: Record<string, unknown> = { id: record.id, vector: Array.from(record.vector), metadata: record.metadata ?? {} };
  if (record.text !== undefined) answer.text = record.text;
  answer.deleted = record.deleted;
  return answer;
}

/** `ids` of POST /vectors/get: a non-empty array of ids, at most the batch limit. */
function parseIds(value: unknown, limits: Limits): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new VecStoreError('validation', `ids: must be a non-empty array of ids, got ${describe(value)}`);
  if (value.length > limits.maxBatchRecords) throw new VecStoreError('batch_too_large', `ids: ${value.length} ids is over the limit of ${limits.maxBatchRecords}`);
  return value.map((id, i) => parseId(id, `ids[${i}]`, limits));
}

/** `filter?`: a filter string, or absent/null. */
function optionalFilter(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new VecStoreError('validation', `filter: must be a string, got ${describe(value)}`);
  return value;
}

/** The body of PATCH /vectors/:id: `metadata` a merge patch object, `text` a string or null (removes it). */
function parseChanges(body: Record<string, unknown>, limits: Limits): RecordChanges {
  const changes: RecordChanges = {};
  if (body.metadata !== undefined) {
    if (!isPlainObject(body.metadata)) throw new VecStoreError('validation', `metadata: must be an object (a JSON merge patch), got ${describe(body.metadata)}`);
    changes.metadata = body.metadata;
  }
  if (body.text !== undefined) changes.text = body.text === null ? null : parseText(body.text, 'text', limits)!;
  if (changes.metadata === undefined && changes.text === undefined) throw new VecStoreError('validation', 'metadata: give metadata and/or text to change');
  return changes;
}

function isBinary(ctx: RouteContext): boolean {
  return ctx.contentType.startsWith('application/octet-stream');
}

/** Adds the route's usual answer fields (`found: false`, ...) to a not_found error, so clients can read either shape. */
async function withNotFound(work: Promise<void>, fields: Record<string, unknown>): Promise<void> {
  try {
    await work;
  } catch (err) {
    if (err instanceof VecStoreError && err.code === 'not_found') throw new VecStoreError('not_found', err.message, fields);
    throw err;
  }
}

/** A percent-decoded path parameter; `validation` naming the field when the encoding is malformed. */
export function decodeParam(raw: string, field: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new VecStoreError('validation', `${field}: malformed percent-encoding in the path`);
  }
}

function pathId(ctx: RouteContext, maxIdLength: number): string {
  return parseId(decodeParam(ctx.params[0], 'id'), 'id', { maxIdLength } as never);
}

function parseJsonQueryParam(value: string, field: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new VecStoreError('validation', `${field}: the query parameter must be JSON`);
  }
}

/** A query-string parameter of a raw float32 query as its JSON counterpart would be typed (bad values stay strings, so validation names them). */
function queryStringValue(key: string, value: string): unknown {
  if (key === 'limit' || key === 'k' || key === 'alpha' || key === 'ef' || key === 'recall' || key === 'score_threshold') return value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
  if (key === 'include_vectors' || key === 'include_text' || key === 'include_metadata' || key === 'exact') return value === 'true' ? true : value === 'false' ? false : value;
  return value;
}
