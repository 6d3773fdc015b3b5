// The data routes of one collection (upsert, query, deletes; snapshots in snapshot-routes.ts), written once against a Collection and
// mounted twice by the route table: under /v1/collections/:name/ and, for the `default` collection, under /v1/.
// Each route carries its description (RouteDoc): the OpenAPI document and the request validation both read it.
import { Type } from '@sinclair/typebox';
import { VecStoreError, errorType, type ErrorCode } from '../errors.js';
import type { Collection } from '../catalog/collection.js';
import type { Limits } from '../engine/limits.js';
import { parseId, parseRecord } from '../engine/record-validation.js';
import type { VecStoreMetrics } from '../metrics/metrics.js';
import { parseJsonObject } from '../engine/json-body.js';
import { readJsonWithVector, type JsonReader } from '../ingest/json-batch-reader.js';
import { queryAnswer, runQuery, type QueryBody } from './query-dispatch.js';
import { parseScrollRequest, scrollAnswer } from './scroll-request.js';
import { ARROW_FILE_TYPE, ARROW_STREAM_TYPE } from '../ingest/arrow-records.js';
import { checkFields } from './request-fields.js';
import { optionalFilter, parseBinaryVector, parseChanges, parseIds, queryStringBody, recordAnswer, requiredFilter, upsertQueryRecord } from './record-requests.js';
import * as S from './schemas.js';
import { validateBatchBody } from '../ingest/batch-body.js';
import type { ParsePool } from '../ingest/parse-pool.js';
import type { CollectionRoute, RouteContext } from './route-types.js';
import { decodeParam, input } from './route-input.js';
import { validated } from './validate.js';
import { snapshotRoutes } from './snapshot-routes.js';

export type { CollectionRoute } from './route-types.js';


const RAW_VECTOR = { contentType: 'application/octet-stream', description: 'The vector as little-endian float32; the other fields go in the query string.' };
const RAW_QUERY_PARAMS = Object.entries(S.QueryRequest.properties)
  .filter(([name]) => name !== 'vector')
  .map(([name, schema]) => ({ name, description: `As the JSON field (raw float32 bodies only).`, schema }));
const ID_PARAM = { id: 'The record\'s id, percent-encoded.' };
const NOT_FOUND_ANSWER = (fields: Record<string, false>) => Type.Intersect([S.ErrorBody, Type.Object(Object.fromEntries(Object.keys(fields).map((k) => [k, Type.Literal(false)])))], { description: 'No such id.' });

/** Every per-collection route. `ctx.params` holds only the route's own parameters (the collection name is taken off). */
export function collectionRoutes(limits: Limits, metrics: VecStoreMetrics | undefined, parser: ParsePool | undefined): CollectionRoute[] {
  const routes: CollectionRoute[] = [
    {
      method: 'POST', suffix: '/upsert', access: 'write', createsDefault: true,
      doc: {
        summary: 'Insert or replace one record.', tag: 'records', body: { kind: 'upsert' }, binary: [RAW_VECTOR],
        query: [
          { name: 'id', description: 'The id (raw float32 bodies only).', schema: S.RecordId },
          { name: 'metadata', description: 'Metadata as JSON (raw float32 bodies only).', schema: Type.String() },
          { name: 'text', description: 'Text (raw float32 bodies only).', schema: Type.String() },
        ],
        answers: { 200: S.SuccessAnswer },
        errors: ['dimension_mismatch', 'dimension_too_large', 'id_too_long', 'metadata_too_large', 'metadata_too_deep', 'text_too_large', 'storage'],
      },
      handler: async (c, ctx) => {
        let record;
        if (isBinary(ctx)) {
          const { fields, record: raw } = upsertQueryRecord(ctx.rawQuery, parseBinaryVector(ctx.body));
          checkFields(fields, 'upsert');
          record = validated('upsert', raw, (body) => parseRecord(body, '', limits), { rawVector: true });
        } else {
          record = input(ctx, (body) => parseRecord(body, '', limits));
        }
        await c.engine.upsert(record);
        metrics?.upserts.inc({ batch: 'single' });
        return { json: '{"success":true}' };
      },
    },
    {
      method: 'POST', suffix: '/batch-upsert', access: 'write', createsDefault: true,
      doc: {
        summary: 'Insert or replace many records; each is validated alone (bad ones are listed in errors, the others written as one logged batch).',
        tag: 'records', body: { kind: 'batchUpsert' },
        binary: [
          { contentType: ARROW_STREAM_TYPE, description: 'An Arrow IPC stream (or file) with columns id, vector, metadata?, text?; record batches uncompressed, LZ4_FRAME or ZSTD.' },
          { contentType: ARROW_FILE_TYPE, description: 'An Arrow IPC file (a feather v2 file), read as the stream form.' },
        ],
        answers: { 200: S.BatchUpsertAnswer },
        errors: ['batch_too_large', 'invalid_arrow', 'dimension_mismatch', 'storage'],
      },
      handler: async (c, ctx) => {
        // JSON `{records: [...]}` or an Arrow IPC stream of columns id, vector, metadata?, text?: the same answer either way.
        // Validated per record against the same schema's field table (in the parse workers for large bodies).
        const format = ctx.contentType === ARROW_STREAM_TYPE || ctx.contentType === ARROW_FILE_TYPE ? 'arrow' : 'json';
        const batch = parser
          ? await parser.parse(format, ctx.body, limits, { dimension: c.engine.dimension, metric: c.engine.metric, sketchBasis: c.engine.sketchBasis })
          : validateBatchBody(format, ctx.body, limits, c.engine.dimension);
        const outcome = await c.engine.batchUpsertValidated(batch);
        metrics?.upserts.inc({ batch: 'batch' });
        for (const e of outcome.errors) metrics?.errors.inc({ error_type: errorType(e.code as ErrorCode) });
        return { json: outcome };
      },
    },
    {
      method: 'POST', suffix: '/scroll', access: 'read',
      doc: { summary: 'One page of every active record matching a filter, in id order.', tag: 'records', body: { kind: 'scroll', required: false }, answers: { 200: S.ScrollAnswer }, errors: ['k_too_large', 'invalid_filter', 'filter_too_long', 'filter_too_deep', 'filter_too_costly'] },
      handler: async (c, ctx) => {
        return { json: scrollAnswer(await c.engine.scroll(input(ctx, (body) => parseScrollRequest(body, limits)))) };
      },
    },
    {
      method: 'POST', suffix: '/query', access: 'read',
      doc: { summary: 'Nearest neighbours of a vector.', tag: 'queries', body: { kind: 'query' }, binary: [RAW_VECTOR], query: RAW_QUERY_PARAMS, answers: { 200: S.QueryAnswer }, errors: QUERY_ERRORS },
      handler: async (c, ctx) => ({ json: queryAnswer(await queryRoute(c, ctx, limits, metrics, parser?.jsonReader ?? 'fast')) }),
    },
    {
      method: 'POST', suffix: '/hybrid-query', access: 'read',
      doc: { summary: 'A vector query fused with a keyword query.', tag: 'queries', body: { kind: 'hybridQuery' }, binary: [RAW_VECTOR], query: RAW_QUERY_PARAMS, answers: { 200: S.QueryAnswer }, errors: [...QUERY_ERRORS, 'text_too_large'] },
      handler: async (c, ctx) => ({ json: queryAnswer(await queryRoute(c, ctx, limits, metrics, parser?.jsonReader ?? 'fast')) }),
    },
    {
      method: 'GET', suffix: '/vectors/:id', access: 'read',
      doc: { summary: 'One record (soft-deleted ones too, with deleted: true).', tag: 'records', params: ID_PARAM, answers: { 200: S.StoredRecord }, errors: ['not_found', 'id_too_long'] },
      handler: (c, ctx) => {
        const id = pathId(ctx, limits.maxIdLength);
        const record = c.engine.get(id);
        if (!record) throw new VecStoreError('not_found', `id: no vector with id ${JSON.stringify(id)}`);
        return { json: recordAnswer(record) };
      },
    },
    {
      method: 'PATCH', suffix: '/vectors/:id', access: 'write',
      doc: { summary: 'Change metadata (a JSON merge patch) and/or text without resending the vector.', tag: 'records', params: ID_PARAM, body: { kind: 'patch' }, answers: { 200: S.PatchAnswer, 404: NOT_FOUND_ANSWER({ found: false, updated: false }) }, errors: ['not_found', 'id_too_long', 'metadata_too_large', 'metadata_too_deep', 'text_too_large', 'storage'] },
      handler: async (c, ctx) => {
        const id = pathId(ctx, limits.maxIdLength);
        await withNotFound(c.engine.patch(id, input(ctx, (body) => parseChanges(body, limits))), { found: false, updated: false });
        return { json: { found: true, updated: true } };
      },
    },
    {
      method: 'POST', suffix: '/vectors/get', access: 'read',
      doc: { summary: 'Many records by id, in request order, and the ids not found.', tag: 'records', body: { kind: 'getMany' }, answers: { 200: S.GetManyAnswer }, errors: ['batch_too_large', 'id_too_long'] },
      handler: (c, ctx) => {
        const { records, missing } = c.engine.getMany(input(ctx, (body) => parseIds(body.ids, limits)));
        return { json: { records: records.map(recordAnswer), missing } };
      },
    },
    {
      method: 'POST', suffix: '/count', access: 'read',
      doc: { summary: 'How many active records match a filter.', tag: 'records', body: { kind: 'count', required: false }, answers: { 200: S.CountAnswer }, errors: FILTER_ERRORS },
      handler: async (c, ctx) => {
        return { json: { count: await c.engine.count(input(ctx, (body) => optionalFilter(body.filter))) } };
      },
    },
    {
      method: 'POST', suffix: '/delete-by-filter', access: 'write',
      doc: { summary: 'Delete every record matching a filter, as one logged mutation.', tag: 'records', body: { kind: 'deleteByFilter' }, answers: { 200: S.DeleteByFilterAnswer }, errors: [...FILTER_ERRORS, 'storage'] },
      handler: async (c, ctx) => {
        const deleted = await c.engine.deleteByFilter(input(ctx, (body) => requiredFilter(body.filter)));
        if (deleted > 0) metrics?.deletes.inc({ type: 'hard' }, deleted);
        return { json: { deleted_count: deleted } };
      },
    },
    {
      method: 'DELETE', suffix: '/delete/:id', access: 'write',
      doc: { summary: 'Delete one record for good.', tag: 'records', params: ID_PARAM, answers: { 200: S.DeleteAnswer, 404: NOT_FOUND_ANSWER({ found: false, deleted: false }) }, errors: ['not_found', 'id_too_long', 'storage'] },
      handler: async (c, ctx) => {
        await withNotFound(c.engine.delete(pathId(ctx, limits.maxIdLength)), { found: false, deleted: false });
        metrics?.deletes.inc({ type: 'hard' });
        return { json: { found: true, deleted: true } };
      },
    },
    {
      method: 'POST', suffix: '/soft-delete/:id', access: 'write',
      doc: { summary: 'Hide one record from searches until restored.', tag: 'records', params: ID_PARAM, answers: { 200: S.SoftDeleteAnswer, 404: NOT_FOUND_ANSWER({ found: false, marked_deleted: false }) }, errors: ['not_found', 'id_too_long', 'storage'] },
      handler: async (c, ctx) => {
        await withNotFound(c.engine.softDelete(pathId(ctx, limits.maxIdLength)), { found: false, marked_deleted: false });
        metrics?.deletes.inc({ type: 'soft' });
        return { json: { found: true, marked_deleted: true } };
      },
    },
    {
      method: 'POST', suffix: '/restore/:id', access: 'write',
      doc: { summary: 'Make a soft-deleted record visible again.', tag: 'records', params: ID_PARAM, answers: { 200: S.RestoreAnswer, 404: NOT_FOUND_ANSWER({ found: false, restored: false }) }, errors: ['not_found', 'id_too_long', 'storage'] },
      handler: async (c, ctx) => {
        await withNotFound(c.engine.restore(pathId(ctx, limits.maxIdLength)), { found: false, restored: false });
        return { json: { found: true, restored: true } };
      },
    },
    {
      method: 'POST', suffix: '/compact', access: 'write',
      doc: { summary: 'Reclaim the slots of deleted, replaced and soft-deleted records.', tag: 'records', answers: { 200: S.CompactAnswer }, errors: ['storage'] },
      handler: async (c) => {
        const { removedCount, freedBytes } = await c.engine.compact();
        return { json: { removed_count: removedCount, freed_bytes: freedBytes } };
      },
    },
    {
      method: 'GET', suffix: '/stats', access: 'read',
      doc: { summary: 'Counts and sizes.', tag: 'collections', answers: { 200: S.CollectionStats }, errors: [] },
      handler: (c) => ({ json: c.engine.stats() }),
    },
    ...snapshotRoutes(limits),
  ];
  if (process.env.VECSTORE_TEST_FAULTS === '1') {
    // Test-only switch (never on in production): the next scan task of this collection dies inside its worker thread.
    routes.push({
      method: 'POST', suffix: '/_test/worker-fault', access: 'write', createsDefault: true,
      doc: { summary: 'Test only (VECSTORE_TEST_FAULTS=1): the next scan task dies in its worker.', tag: 'server', body: { kind: 'testFault' }, answers: { 200: Type.Object({ armed: Type.String() }) }, errors: [] },
      handler: (c, ctx) => {
        const fault = input(ctx, (body) => {
          if (body.fault !== 'throw' && body.fault !== 'exit') throw new VecStoreError('validation', 'fault: must be "throw" or "exit"');
          return body.fault;
        });
        c.engine.injectWorkerFault(fault);
        return { json: { armed: fault } };
      },
    });
  }
  return routes;
}

const FILTER_ERRORS: ErrorCode[] = ['invalid_filter', 'filter_too_long', 'filter_too_deep', 'filter_too_costly'];
const QUERY_ERRORS: ErrorCode[] = [...FILTER_ERRORS, 'k_too_large', 'ef_too_large', 'dimension_mismatch', 'dimension_too_large'];

/** Runs a query route's body: JSON, or a raw float32 body with its other fields in the query string. */
function queryRoute(c: Collection, ctx: RouteContext, limits: Limits, metrics: VecStoreMetrics | undefined, reader: JsonReader) {
  const kind = ctx.bodySpec!.kind as QueryBody;
  if (!isBinary(ctx)) {
    // The query vector is read straight to float32 (bit for bit what JSON.parse and fround give): JSON.parse of 768
    // full-precision numbers costs the front thread ~80 µs a query, the fast reader a third of that.
    const body = (reader === 'fast' ? readJsonWithVector(ctx.body) : undefined) ?? parseJsonObject(ctx.body);
    return runQuery(kind, body, () => c, limits, metrics);
  }
  return runQuery(kind, queryStringBody(ctx.rawQuery), () => c, limits, metrics, parseBinaryVector(ctx.body));
}

function isBinary(ctx: RouteContext): boolean {
  return ctx.contentType === 'application/octet-stream';
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


function pathId(ctx: RouteContext, maxIdLength: number): string {
  return parseId(decodeParam(ctx.params[0], 'id'), 'id', { maxIdLength } as never);
}
