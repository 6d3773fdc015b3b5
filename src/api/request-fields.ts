// The fields each request body may carry, one table per route body, shared by HTTP routes and WebSocket messages: a
// field outside its table is refused (400 unknown_field) rather than silently ignored. The start of the route table
// with schemas that the OpenAPI document will be produced from.
import { VecStoreError } from '../errors.js';

const RECORD = ['id', 'vector', 'metadata', 'text'] as const;
const QUERY = ['vector', 'limit', 'k', 'filter', 'include_vectors', 'include_text', 'include_metadata', 'score_threshold', 'ef', 'recall', 'exact'] as const;
const HYBRID = [...QUERY, 'text_query', 'alpha', 'fusion'] as const;

/** Allowed fields per request body (wire names). */
export const REQUEST_FIELDS = {
  upsert: RECORD,
  /** One record of a batch upsert (an unknown field is that record's error, not the batch's). */
  batchRecord: RECORD,
  batchUpsert: ['records'],
  query: QUERY,
  hybridQuery: HYBRID,
  /** A WebSocket query message: a vector or hybrid query plus the message's own fields. */
  wsQuery: [...HYBRID, 'request_id', 'collection', 'traceparent'],
  scroll: ['filter', 'limit', 'cursor', 'include_vectors', 'include_text'],
  count: ['filter'],
  getMany: ['ids'],
  deleteByFilter: ['filter'],
  patch: ['metadata', 'text'],
  createSnapshot: ['name'],
  createCollection: ['dimension', 'metric', 'index', 'hnsw'],
  testFault: ['fault'],
} as const satisfies Record<string, readonly string[]>;

export type RequestBody = keyof typeof REQUEST_FIELDS;

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

const ALLOWED = new Map<RequestBody, ReadonlySet<string>>(Object.entries(REQUEST_FIELDS).map(([k, v]) => [k as RequestBody, new Set<string>(v)]));

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
