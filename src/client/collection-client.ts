// The data routes of one collection as methods: `client.collection(name)`, and the client itself for `default`.
import type { CallOptions, HttpRequest, HttpTransport } from './http-transport.js';
import { binaryParams, float32Bytes, vectorArray, type WithVectorInput } from './vector-encoding.js';
import { QueryStream, type QueryStreamOptions } from './query-stream.js';
import { SnapshotsClient } from './snapshots-client.js';
// Types only (erased): the client loads no server code, yet is typed from the API's one description.
import type {
  BatchUpsertAnswer, CollectionStats, CompactAnswer, CountAnswer, DeleteAnswer, DeleteByFilterAnswer, GetManyAnswer,
  HybridQueryRequest, PatchAnswer, PatchRequest, QueryAnswer, QueryRequest, RestoreAnswer, ScrollAnswer, ScrolledRecord,
  ScrollRequest, SoftDeleteAnswer, StoredRecord, SuccessAnswer, UpsertRecord,
} from '../api/schemas.js';

export type UpsertInput = WithVectorInput<UpsertRecord>;
export type QueryInput = WithVectorInput<QueryRequest>;
export type HybridQueryInput = WithVectorInput<HybridQueryRequest>;
/** Scroll options without the cursor: the iterator follows `next_cursor` itself (pass `cursor` to resume). */
export type ScrollOptions = ScrollRequest;

/** The name the unprefixed `/v1/...` routes act on. */
export const DEFAULT_COLLECTION = 'default';
/** The media type batch-upsert reads as an Arrow IPC stream (the server's ARROW_STREAM_TYPE; the client loads no server code). */
const ARROW_STREAM_CONTENT_TYPE = 'application/vnd.apache.arrow.stream';

/**
 * One collection's records, queries, maintenance and snapshots. Retried on 429/503 (see README, "TypeScript client"):
 * reads, queries, counts, scroll pages, and the writes that leave the same state when repeated — upserts and batch
 * upserts (a record by id), patches (a JSON merge patch applied twice is applied once). Deletes, soft deletes,
 * restores, delete-by-filter, compaction and snapshot writes are never retried: a repeat after a lost answer could
 * answer 404/409 for work that was done, or act on records written in between.
 */
export class CollectionClient {
  /** Snapshots of this collection: create, list, restore, delete, download, upload. */
  readonly snapshots: SnapshotsClient;
  /** `/v1` for `default`, `/v1/collections/<name>` for the others. */
  protected readonly prefix: string;

  constructor(protected readonly transport: HttpTransport, readonly name: string = DEFAULT_COLLECTION, prefix?: string) {
    this.prefix = prefix ?? `/v1/collections/${encodeURIComponent(name)}`;
    this.snapshots = new SnapshotsClient(transport, this.prefix);
  }

  /** Inserts or replaces one record. A Float32Array vector goes as raw float32, the other fields in the query string. */
  upsert(record: UpsertInput, call?: CallOptions): Promise<SuccessAnswer> {
    const { vector, ...rest } = record;
    const params = vector instanceof Float32Array ? binaryParams(rest, ['metadata']) : undefined;
    if (params && vector instanceof Float32Array) {
      return this.transport.json({ method: 'POST', path: `${this.prefix}/upsert`, query: params, bytes: { body: float32Bytes(vector), contentType: 'application/octet-stream' }, idempotent: true, ...call });
    }
    return this.transport.json({ method: 'POST', path: `${this.prefix}/upsert`, json: { ...rest, vector: vectorArray(vector) }, idempotent: true, ...call });
  }

  /** Inserts or replaces many records in one logged batch; bad records are listed in `errors`, the rest are written. */
  batchUpsert(records: UpsertInput[], call?: CallOptions): Promise<BatchUpsertAnswer> {
    const wire = records.map((r) => (r.vector instanceof Float32Array ? { ...r, vector: vectorArray(r.vector) } : r));
    return this.transport.json({ method: 'POST', path: `${this.prefix}/batch-upsert`, json: { records: wire }, idempotent: true, ...call });
  }

  /**
   * Many records as one Arrow IPC stream (columns `id`, `vector`, optional `metadata` and `text`; see the README's bulk
   * loading section): the fast path for bulk loads. Same answer and per-record errors as `batchUpsert`.
   */
  batchUpsertArrow(stream: Uint8Array, call?: CallOptions): Promise<BatchUpsertAnswer> {
    return this.transport.json({ method: 'POST', path: `${this.prefix}/batch-upsert`, bytes: { body: stream, contentType: ARROW_STREAM_CONTENT_TYPE }, idempotent: true, ...call });
  }

  /** Nearest neighbours of a vector. A Float32Array goes as raw float32 with the other fields in the query string. */
  query(request: QueryInput, call?: CallOptions): Promise<QueryAnswer> {
    return this.search('/query', request, call);
  }

  /** Vector similarity fused with BM25 keyword relevance of `text_query`. */
  hybridQuery(request: HybridQueryInput, call?: CallOptions): Promise<QueryAnswer> {
    return this.search('/hybrid-query', request, call);
  }

  /** One record (soft-deleted ones too, with `deleted: true`); an unknown id throws VecStoreError 404 `not_found`. */
  get(id: string, call?: CallOptions): Promise<StoredRecord> {
    return this.transport.json({ method: 'GET', path: this.idPath('/vectors/', id), idempotent: true, ...call });
  }

  /** Several records in request order, and the ids that were not found. */
  getMany(ids: string[], call?: CallOptions): Promise<GetManyAnswer> {
    return this.transport.json({ method: 'POST', path: `${this.prefix}/vectors/get`, json: { ids }, idempotent: true, ...call });
  }

  /** Changes metadata (a JSON merge patch: `null` removes a key) and/or text (`null` removes it), keeping the vector. */
  patch(id: string, changes: PatchRequest, call?: CallOptions): Promise<PatchAnswer> {
    return this.transport.json({ method: 'PATCH', path: this.idPath('/vectors/', id), json: changes, idempotent: true, ...call });
  }

  /** Deletes a record for good; an unknown id throws 404 `not_found`. */
  delete(id: string, call?: CallOptions): Promise<DeleteAnswer> {
    return this.transport.json({ method: 'DELETE', path: this.idPath('/delete/', id), idempotent: false, ...call });
  }

  /** Hides a record from searches until `restore`. */
  softDelete(id: string, call?: CallOptions): Promise<SoftDeleteAnswer> {
    return this.transport.json({ method: 'POST', path: this.idPath('/soft-delete/', id), idempotent: false, ...call });
  }

  /** Undoes a soft delete. */
  restore(id: string, call?: CallOptions): Promise<RestoreAnswer> {
    return this.transport.json({ method: 'POST', path: this.idPath('/restore/', id), idempotent: false, ...call });
  }

  /** Deletes every record matching the filter (soft-deleted ones too) as one logged mutation; returns how many. */
  async deleteByFilter(filter: string, call?: CallOptions): Promise<number> {
    const answer = await this.transport.json<DeleteByFilterAnswer>({ method: 'POST', path: `${this.prefix}/delete-by-filter`, json: { filter }, idempotent: false, ...call });
    return answer.deleted_count;
  }

  /** Active records matching the filter (all active records without one). */
  async count(filter?: string, call?: CallOptions): Promise<number> {
    const answer = await this.transport.json<CountAnswer>({ method: 'POST', path: `${this.prefix}/count`, json: filter === undefined ? {} : { filter }, idempotent: true, ...call });
    return answer.count;
  }

  /**
   * Every active record matching the filter, in id order, fetched a page (`limit`, default 100) at a time by following
   * `next_cursor`. A record that exists for the whole iteration is yielded exactly once, whatever is written meanwhile.
   */
  async *scroll(options: ScrollOptions = {}, call?: CallOptions): AsyncGenerator<ScrolledRecord, void, undefined> {
    let cursor = options.cursor;
    for (;;) {
      const page = await this.scrollPage({ ...options, cursor }, call);
      yield* page.records;
      if (page.next_cursor === null) return;
      cursor = page.next_cursor;
    }
  }

  /** One page of a scroll (for paging user interfaces); pass its `next_cursor` as `cursor` for the next. */
  scrollPage(request: ScrollRequest = {}, call?: CallOptions): Promise<ScrollAnswer> {
    return this.transport.json({ method: 'POST', path: `${this.prefix}/scroll`, json: request, idempotent: true, ...call });
  }

  /** Reclaims the slots of deleted, replaced and soft-deleted records while queries keep running. */
  compact(call?: CallOptions): Promise<CompactAnswer> {
    return this.transport.json({ method: 'POST', path: `${this.prefix}/compact`, idempotent: false, ...call });
  }

  stats(call?: CallOptions): Promise<CollectionStats> {
    return this.transport.json({ method: 'GET', path: `${this.prefix}/stats`, idempotent: true, ...call });
  }

  /**
   * Opens one WebSocket for many queries in flight; its queries go to this collection unless one names another.
   * Close it when done.
   */
  queryStream(options: Omit<QueryStreamOptions, 'collection'> = {}): Promise<QueryStream> {
    return QueryStream.open(this.transport, { ...options, collection: this.name === DEFAULT_COLLECTION ? undefined : this.name });
  }

  private search(route: '/query' | '/hybrid-query', request: QueryInput | HybridQueryInput, call: CallOptions | undefined): Promise<QueryAnswer> {
    return this.transport.json({ ...searchRequest(this.prefix + route, request), ...call });
  }

  private idPath(route: string, id: string): string {
    return `${this.prefix}${route}${encodeURIComponent(id)}`;
  }
}

/**
 * A query as it goes on the wire to `path`: a Float32Array vector as raw float32 with the other fields in the query
 * string (when they fit), anything else as JSON. The benchmarks' load generator sends the same requests.
 */
export function searchRequest(path: string, request: QueryInput | HybridQueryInput): HttpRequest {
  const { vector, ...rest } = request;
  const params = vector instanceof Float32Array ? binaryParams(rest) : undefined;
  if (params && vector instanceof Float32Array) {
    return { method: 'POST', path, query: params, bytes: { body: float32Bytes(vector), contentType: 'application/octet-stream' }, idempotent: true };
  }
  return { method: 'POST', path, json: { ...rest, vector: vectorArray(vector) }, idempotent: true };
}
