// The fields each request body may carry, taken from the wire schemas (schemas.ts), shared by HTTP routes and
// WebSocket messages: a field outside its schema is refused (400 unknown_field) rather than silently ignored.
import type { TObject } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import { VecStoreError } from '../errors.js';
import * as S from './schemas.js';

/** The test-only fault switch (mounted only with VECSTORE_TEST_FAULTS=1; never part of the public API). */
export const TestFaultRequest = Type.Object({ fault: Type.Union([Type.Literal('throw'), Type.Literal('exit')]) }, { additionalProperties: false, description: 'Test only.' });

/** The schema of each request body. */
export const REQUEST_SCHEMAS = {
  upsert: S.UpsertRecord,
  /** One record of a batch upsert (an unknown field is that record's error, not the batch's). */
  batchRecord: S.UpsertRecord,
  batchUpsert: S.BatchUpsertRequest,
  query: S.QueryRequest,
  hybridQuery: S.HybridQueryRequest,
  /** A WebSocket query message: a vector or hybrid query plus the message's own fields. */
  wsQuery: S.WsQueryMessage,
  scroll: S.ScrollRequest,
  count: S.CountRequest,
  getMany: S.GetManyRequest,
  deleteByFilter: S.DeleteByFilterRequest,
  patch: S.PatchRequest,
  createSnapshot: S.CreateSnapshotRequest,
  createCollection: S.CreateCollectionRequest,
  testFault: TestFaultRequest,
} as const satisfies Record<string, TObject>;

export type RequestBody = keyof typeof REQUEST_SCHEMAS;

/** The usual names other engines (Qdrant, Chroma, Pinecone, Weaviate) use for our fields. */
const HINTS: Record<string, string> = {
  top_k: 'limit',
  topK: 'limit',
  n_results: 'limit',
  payload: 'metadata',
  with_payload: 'include_metadata',
  with_vectors: 'include_vectors',
  with_vector: 'include_vectors',
  includeMetadata: 'include_metadata',
  includeValues: 'include_vectors',
};

/** Allowed fields per request body (wire names): the properties of its schema. */
const ALLOWED = new Map<RequestBody, ReadonlySet<string>>(Object.entries(REQUEST_SCHEMAS).map(([k, schema]) => [k as RequestBody, new Set<string>(Object.keys(schema.properties))]));

/**
 * Throws 400 `unknown_field` for the first field of `body` not in its table, naming it (with `prefix`, e.g.
 * `records[3].`) and, for another engine's habit, the field meant.
 */
export function checkFields(body: Record<string, unknown>, kind: RequestBody, prefix = ''): void {
  const allowed = ALLOWED.get(kind)!;
  for (const key of Object.keys(body)) {
    if (allowed.has(key)) continue;
    const meant = HINTS[key];
    const hint = meant !== undefined && allowed.has(meant) ? `; did you mean "${meant}"?` : ` (allowed: ${[...allowed].join(', ')})`;
    throw new VecStoreError('unknown_field', `${prefix}${key}: unknown field${hint}`, { field: `${prefix}${key}`, ...(meant !== undefined && allowed.has(meant) ? { hint: meant } : {}) });
  }
}
