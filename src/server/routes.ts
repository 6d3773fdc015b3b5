// The VecStore HTTP API as a route table: templates, whether a route writes, and the handler that calls the engine.
import { VecStoreError, errorType, type ErrorCode } from '../errors.js';
import type { VecStoreEngine } from '../engine/engine.js';
import { isPlainObject, parseId, parseRecord } from '../engine/record-validation.js';
import type { VecStoreMetrics } from '../metrics/metrics.js';
import { parseBinaryVector, parseJsonObject } from './http-io.js';
import { parseHybridQuery, parseVectorQuery } from './query-request.js';
import { parseScrollRequest, scrollAnswer } from './scroll-request.js';
import { ARROW_STREAM_TYPE } from '../ingest/arrow-records.js';
import { validateBatchBody } from '../ingest/batch-body.js';
import type { ParsePool } from '../ingest/parse-pool.js';
import type { SnapshotService } from './snapshot-service.js';

export type HttpMethod = 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH' | 'HEAD' | 'OPTIONS';

/** What a handler sees: path parameters, the query string, the body (already read and size-checked). */
export interface RouteContext {
  params: string[];
  /** The raw query string (without `?`); parsed only by the routes that read it. */
  rawQuery: string;
  contentType: string;
  body: Buffer;
}

/** A handler's answer: JSON (object or pre-serialised string) or raw text. */
export interface RouteAnswer {
  status?: number;
  json?: unknown;
  text?: { body: string; contentType: string };
}

export interface Route {
  method: HttpMethod;
  /** The template, e.g. `/v1/delete/:id`; also the `endpoint` label of the request metrics. */
  path: string;
  /** Mutates data: read-only API keys may not call it. */
  writes: boolean;
  /** Answered without an API key (`/metrics` too, unless metrics auth is on). */
  open?: boolean;
  handler(ctx: RouteContext): Promise<RouteAnswer> | RouteAnswer;
}

export interface RouteDependencies {
  engine: VecStoreEngine;
  metrics: VecStoreMetrics | undefined;
  snapshots: SnapshotService | undefined;
  /** Parses large and Arrow batch bodies off the front thread (inline without it). */
  parser?: ParsePool;
  isReady(): boolean;
}

/** Builds every route of the API. */
export function buildRoutes(deps: RouteDependencies): Route[] {
  const { engine, metrics } = deps;
  const limits = engine.limits;
  const jsonOrBinaryQuery = (ctx: RouteContext): Record<string, unknown> => {
    if (!isBinary(ctx)) return parseJsonObject(ctx.body);
    // Binary bodies carry only the vector; the other parameters come from the query string.
    const fromQuery: Record<string, unknown> = {};
    for (const [key, value] of new URLSearchParams(ctx.rawQuery)) fromQuery[key] = key === 'limit' || key === 'k' || key === 'alpha' ? Number(value) : key === 'include_vectors' ? value === 'true' : value;
    return fromQuery;
  };
  const snapshots = (): SnapshotService => {
    if (!deps.snapshots) throw new VecStoreError('not_implemented', 'snapshots: this server runs without a data directory');
    return deps.snapshots;
  };

  const routes: Route[] = [
    { method: 'GET', path: '/health', writes: false, open: true, handler: () => ({ json: HEALTHY }) },
    {
      method: 'GET', path: '/ready', writes: false, open: true,
      handler: () => (deps.isReady() ? { json: { status: 'ready' } } : { status: 503, json: { status: 'not_ready' } }),
    },
    {
      method: 'GET', path: '/metrics', writes: false,
      handler: async () => {
        if (!metrics) throw new VecStoreError('not_found', 'metrics: disabled by --no-metrics');
        const { body, contentType } = await metrics.exposition();
        return { text: { body, contentType } };
      },
    },
    {
      method: 'POST', path: '/v1/upsert', writes: true,
      handler: async (ctx) => {
        let record;
        if (isBinary(ctx)) {
          const query = new URLSearchParams(ctx.rawQuery);
          const metadata = query.get('metadata');
          record = parseRecord({ id: query.get('id') ?? undefined, vector: parseBinaryVector(ctx.body), metadata: metadata ? parseJsonQueryParam(metadata, 'metadata') : undefined, text: query.get('text') ?? undefined }, '', limits);
        } else {
          record = parseRecord(parseJsonObject(ctx.body), '', limits);
        }
        await engine.upsert(record);
        metrics?.upserts.inc({ batch: 'single' });
        return { json: '{"success":true}' };
      },
    },
    {
      method: 'POST', path: '/v1/batch-upsert', writes: true,
      handler: async (ctx) => {
        // JSON `{records: [...]}` or an Arrow IPC stream of columns id, vector, metadata?, text?: the same answer either way.
        const format = ctx.contentType.startsWith(ARROW_STREAM_TYPE) ? 'arrow' : 'json';
        const batch = deps.parser
          ? await deps.parser.parse(format, ctx.body, limits, engine.dimension)
          : validateBatchBody(format, ctx.body, limits, engine.dimension);
        const outcome = await engine.batchUpsertValidated(batch);
        metrics?.upserts.inc({ batch: 'batch' });
        for (const e of outcome.errors) metrics?.errors.inc({ error_type: errorType(e.code as ErrorCode) });
        return { json: outcome };
      },
    },
    {
      method: 'POST', path: '/v1/scroll', writes: false,
      handler: (ctx) => {
        const body = ctx.body.length === 0 ? {} : parseJsonObject(ctx.body);
        return { json: scrollAnswer(engine.scroll(parseScrollRequest(body, limits))) };
      },
    },
    {
      method: 'POST', path: '/v1/query', writes: false,
      handler: async (ctx) => {
        const body = jsonOrBinaryQuery(ctx);
        const q = parseVectorQuery(body, limits, isBinary(ctx) ? parseBinaryVector(ctx.body) : undefined);
        const answer = await engine.query(q);
        metrics?.observeQuery('vector', answer.results.length, answer.cached);
        return { json: { results: answer.results, stats: answer.stats } };
      },
    },
    {
      method: 'POST', path: '/v1/hybrid-query', writes: false,
      handler: async (ctx) => {
        const body = jsonOrBinaryQuery(ctx);
        const q = parseHybridQuery(body, limits, isBinary(ctx) ? parseBinaryVector(ctx.body) : undefined);
        const answer = await engine.hybridQuery(q);
        metrics?.observeQuery('hybrid', answer.results.length, answer.cached);
        return { json: { results: answer.results, stats: answer.stats } };
      },
    },
    {
      method: 'GET', path: '/v1/vectors/:id', writes: false,
      handler: (ctx) => {
        const id = pathId(ctx, limits.maxIdLength);
        const record = engine.get(id);
        if (!record) throw new VecStoreError('not_found', `id: no vector with id ${JSON.stringify(id)}`);
        const answer: Record<string, unknown> = { id, vector: Array.from(record.vector), metadata: record.metadata ?? {} };
        if (record.text !== undefined) answer.text = record.text;
        answer.deleted = record.deleted;
        return { json: answer };
      },
    },
    {
      method: 'DELETE', path: '/v1/delete/:id', writes: true,
      handler: async (ctx) => {
        await withNotFound(engine.delete(pathId(ctx, limits.maxIdLength)), { found: false, deleted: false });
        metrics?.deletes.inc({ type: 'hard' });
        return { json: { found: true, deleted: true } };
      },
    },
    {
      method: 'POST', path: '/v1/soft-delete/:id', writes: true,
      handler: async (ctx) => {
        await withNotFound(engine.softDelete(pathId(ctx, limits.maxIdLength)), { found: false, marked_deleted: false });
        metrics?.deletes.inc({ type: 'soft' });
        return { json: { found: true, marked_deleted: true } };
      },
    },
    {
      method: 'POST', path: '/v1/restore/:id', writes: true,
      handler: async (ctx) => {
        await withNotFound(engine.restore(pathId(ctx, limits.maxIdLength)), { found: false, restored: false });
        return { json: { found: true, restored: true } };
      },
    },
    {
      method: 'POST', path: '/v1/compact', writes: true,
      handler: async () => {
        const { removedCount, freedBytes } = await engine.compact();
        return { json: { removed_count: removedCount, freed_bytes: freedBytes } };
      },
    },
    { method: 'GET', path: '/v1/stats', writes: false, handler: () => ({ json: engine.stats() }) },
    {
      method: 'POST', path: '/v1/snapshots', writes: true,
      handler: async (ctx) => {
        const body = parseJsonObject(ctx.body);
        if (typeof body.name !== 'string') throw new VecStoreError('validation', 'name: must be a string');
        const created = await snapshots().createSnapshot(body.name);
        return { json: { success: true, name: created.name, path: created.path } };
      },
    },
    { method: 'GET', path: '/v1/snapshots', writes: false, handler: async () => ({ json: { snapshots: await snapshots().listSnapshots() } }) },
    {
      method: 'POST', path: '/v1/snapshots/:name/restore', writes: true,
      handler: async (ctx) => {
        const restored = await snapshots().restoreSnapshot(decodeParam(ctx.params[0], 'name'));
        return { json: { success: true, vectors_restored: restored.vectors_restored } };
      },
    },
  ];
  if (process.env.VECSTORE_TEST_FAULTS === '1') {
    // Test-only switch (never on in production): the next scan task dies inside its worker thread.
    routes.push({
      method: 'POST', path: '/v1/_test/worker-fault', writes: true,
      handler: (ctx) => {
        const { fault } = parseJsonObject(ctx.body);
        if (fault !== 'throw' && fault !== 'exit') throw new VecStoreError('validation', 'fault: must be "throw" or "exit"');
        engine.injectWorkerFault(fault);
        return { json: { armed: fault } };
      },
    });
  }
  return routes;
}

/** Serialised once: `/health` is probed constantly and is the cheapest answer the server gives. */
const HEALTHY = '{"status":"healthy"}';

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

function decodeParam(raw: string, field: string): string {
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
