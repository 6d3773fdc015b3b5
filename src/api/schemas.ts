// The wire schemas of every request body and answer (JSON Schema via TypeBox) and their TypeScript types: the one
// description the route table, request validation, GET /openapi.json and the TypeScript client all come from.
// Imports nothing of the server's, so a client can `import type` from here without loading server code.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ERROR_CATALOGUE, type ErrorCode } from '../errors.js';

/** `T | null`, for fields where an explicit null means "absent". */
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
/** A closed object: a field outside `properties` is refused (400 `unknown_field`). */
const Closed = <P extends Parameters<typeof Type.Object>[0]>(properties: P, description: string) =>
  Type.Object(properties, { additionalProperties: false, description });
/** An answer object: clients must tolerate fields added later, so answers are open. */
const Answer = <P extends Parameters<typeof Type.Object>[0]>(properties: P, description: string) => Type.Object(properties, { description });

// ---- building blocks -------------------------------------------------------------------------------------------

export const RecordId = Type.String({ minLength: 1, description: 'A non-empty string, at most --max-id-length (512) characters.' });
export const Vector = Type.Array(Type.Number(), { minItems: 1, description: 'Finite numbers, stored as float32; the collection fixes the dimension.' });
export const Metadata = Type.Record(Type.String(), Type.Unknown(), { description: 'A JSON object, stored and returned as given.' });
export type Metadata = Static<typeof Metadata>;
export const Filter = Type.String({ description: 'A filter expression, e.g. `lang = \'en\' AND year >= 2020` (see the README).' });
export const MetricName = Type.Union([Type.Literal('cosine'), Type.Literal('dot'), Type.Literal('euclidean')]);
export type MetricName = Static<typeof MetricName>;
export const IndexKind = Type.Union([Type.Literal('hnsw'), Type.Literal('flat')]);
export type IndexKind = Static<typeof IndexKind>;
const Limit = Type.Integer({ minimum: 1, description: 'How many results (at most --max-k).' });

// ---- records ---------------------------------------------------------------------------------------------------

export const UpsertRecord = Closed(
  { id: RecordId, vector: Vector, metadata: Type.Optional(Nullable(Metadata)), text: Type.Optional(Nullable(Type.String({ description: 'Text for keyword (hybrid) search.' }))) },
  'One record to write: a new id is inserted, an existing one replaced.',
);
export type UpsertRecord = Static<typeof UpsertRecord>;

export const BatchUpsertRequest = Closed(
  { records: Type.Array(UpsertRecord, { description: 'Each record is validated alone: a bad one is listed in `errors`, the others are written.' }) },
  'A batch upsert as JSON (an Arrow IPC stream is the other form).',
);
export type BatchUpsertRequest = Static<typeof BatchUpsertRequest>;

export const BatchError = Answer(
  { index: Type.Integer({ minimum: 0 }), id: Type.Optional(Type.String()), error: Type.String(), code: Type.String() },
  'Why one record of a batch was refused.',
);
export type BatchError = Static<typeof BatchError>;
export const BatchUpsertAnswer = Answer({ inserted: Type.Integer({ minimum: 0 }), updated: Type.Integer({ minimum: 0 }), errors: Type.Array(BatchError) }, 'What a batch upsert wrote.');
export type BatchUpsertAnswer = Static<typeof BatchUpsertAnswer>;

export const SuccessAnswer = Answer({ success: Type.Literal(true) }, 'The write is acknowledged (durable per --fsync).');
export type SuccessAnswer = Static<typeof SuccessAnswer>;

/** A stored record as GET /vectors/:id and POST /vectors/get answer it. */
export const StoredRecord = Answer(
  { id: Type.String(), vector: Type.Array(Type.Number()), metadata: Metadata, text: Type.Optional(Type.String()), deleted: Type.Boolean({ description: 'Soft-deleted.' }) },
  'A stored record.',
);
export type StoredRecord = Static<typeof StoredRecord>;

export const GetManyRequest = Closed({ ids: Type.Array(RecordId, { minItems: 1, description: 'At most --max-batch ids.' }) }, 'Ids to fetch.');
export type GetManyRequest = Static<typeof GetManyRequest>;
export const GetManyAnswer = Answer({ records: Type.Array(StoredRecord), missing: Type.Array(Type.String()) }, 'Records found, in request order, and the ids not found.');
export type GetManyAnswer = Static<typeof GetManyAnswer>;

export const PatchRequest = Closed(
  {
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'A JSON merge patch (RFC 7396) of the stored metadata.' })),
    text: Type.Optional(Nullable(Type.String({ description: 'New text; null removes it.' }))),
  },
  'Changes to a record without resending its vector (at least one field).',
);
export type PatchRequest = Static<typeof PatchRequest>;
export const PatchAnswer = Answer({ found: Type.Literal(true), updated: Type.Literal(true) }, 'The record was changed.');
export type PatchAnswer = Static<typeof PatchAnswer>;

export const DeleteAnswer = Answer({ found: Type.Literal(true), deleted: Type.Literal(true) }, 'The record is deleted for good.');
export type DeleteAnswer = Static<typeof DeleteAnswer>;
export const SoftDeleteAnswer = Answer({ found: Type.Literal(true), marked_deleted: Type.Literal(true) }, 'The record is hidden from searches until restored.');
export type SoftDeleteAnswer = Static<typeof SoftDeleteAnswer>;
export const RestoreAnswer = Answer({ found: Type.Literal(true), restored: Type.Literal(true) }, 'The soft-deleted record is visible again.');
export type RestoreAnswer = Static<typeof RestoreAnswer>;

export const CountRequest = Closed({ filter: Type.Optional(Nullable(Filter)) }, 'Which records to count (all active ones without a filter).');
export type CountRequest = Static<typeof CountRequest>;
export const CountAnswer = Answer({ count: Type.Integer({ minimum: 0 }) }, 'Active (not soft-deleted) records matching.');
export type CountAnswer = Static<typeof CountAnswer>;

export const DeleteByFilterRequest = Closed({ filter: Type.String({ minLength: 1, description: 'Required: deleting everything must be asked for with a filter that matches all.' }) }, 'Which records to delete.');
export type DeleteByFilterRequest = Static<typeof DeleteByFilterRequest>;
export const DeleteByFilterAnswer = Answer({ deleted_count: Type.Integer({ minimum: 0 }) }, 'How many records were deleted (one logged mutation).');
export type DeleteByFilterAnswer = Static<typeof DeleteByFilterAnswer>;

export const CompactAnswer = Answer({ removed_count: Type.Integer({ minimum: 0 }), freed_bytes: Type.Integer({ minimum: 0 }) }, 'What compaction reclaimed.');
export type CompactAnswer = Static<typeof CompactAnswer>;

// ---- scroll ----------------------------------------------------------------------------------------------------

export const ScrollRequest = Closed(
  {
    filter: Type.Optional(Nullable(Filter)),
    limit: Type.Optional(Nullable(Type.Integer({ minimum: 1, description: 'Records per page (default 100).' }))),
    cursor: Type.Optional(Nullable(Type.String({ pattern: '^[A-Za-z0-9_-]+$', description: 'The next_cursor of the previous page.' }))),
    include_vectors: Type.Optional(Nullable(Type.Boolean())),
    include_text: Type.Optional(Nullable(Type.Boolean())),
  },
  'One page of a scroll through the active records in id order.',
);
export type ScrollRequest = Static<typeof ScrollRequest>;
export const ScrolledRecord = Answer({ id: Type.String(), metadata: Metadata, vector: Type.Optional(Type.Array(Type.Number())), text: Type.Optional(Type.String()) }, 'A record of a scroll page.');
export type ScrolledRecord = Static<typeof ScrolledRecord>;
export const ScrollAnswer = Answer(
  { records: Type.Array(ScrolledRecord), next_cursor: Nullable(Type.String({ description: 'Pass it as `cursor` for the next page; null on the last page.' })) },
  'One page.',
);
export type ScrollAnswer = Static<typeof ScrollAnswer>;

// ---- queries ---------------------------------------------------------------------------------------------------

const queryFields = {
  vector: Vector,
  limit: Type.Optional(Nullable(Limit)),
  k: Type.Optional(Nullable(Type.Integer({ minimum: 1, description: 'Alias of limit.' }))),
  filter: Type.Optional(Nullable(Filter)),
  include_vectors: Type.Optional(Nullable(Type.Boolean())),
  include_text: Type.Optional(Nullable(Type.Boolean({ description: 'Hits carry the record\'s text.' }))),
  include_metadata: Type.Optional(Nullable(Type.Boolean({ description: 'Default true.' }))),
  score_threshold: Type.Optional(Nullable(Type.Number({ description: 'Drop worse hits: score >= it under cosine/dot and for hybrid, distance <= it under euclidean.' }))),
  ef: Type.Optional(Type.Integer({ minimum: 1, description: 'Graph search breadth, from limit to --max-ef.' })),
  recall: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'Recall target instead of ef; 1 means exact.' })),
  exact: Type.Optional(Nullable(Type.Boolean({ description: 'Scan every row instead of the graph.' }))),
};
const hybridFields = {
  text_query: Type.String({ description: 'Keywords for the text side.' }),
  alpha: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Weight of the vector side under linear fusion (default 0.7).' })),
  fusion: Type.Optional(Type.Union([Type.Literal('linear'), Type.Literal('rrf')], { description: 'Default linear.' })),
};

export const QueryRequest = Closed(queryFields, 'A nearest-neighbour query.');
export type QueryRequest = Static<typeof QueryRequest>;
export const HybridQueryRequest = Closed({ ...queryFields, ...hybridFields }, 'A vector query fused with a keyword query.');
export type HybridQueryRequest = Static<typeof HybridQueryRequest>;

export const QueryHit = Answer(
  {
    id: Type.String(),
    score: Type.Number({ description: 'Higher is better under cosine and dot; a distance (lower is better) under euclidean.' }),
    metadata: Type.Optional(Metadata),
    vector: Type.Optional(Type.Array(Type.Number())),
    text: Type.Optional(Type.String()),
  },
  'One hit.',
);
export type QueryHit = Static<typeof QueryHit>;
const queryStatsFields = {
  total_candidates: Type.Integer({ minimum: 0 }),
  filtered_count: Type.Integer({ minimum: 0 }),
  pruned_fraction: Type.Number(),
  duration_ms: Type.Number(),
  index: Type.Union([Type.Literal('exact'), Type.Literal('hnsw')], { description: 'Which path answered.' }),
  ef: Type.Optional(Type.Integer()),
  expected_recall: Nullable(Type.Number()),
  distance_computations: Type.Integer({ minimum: 0 }),
};
export const QueryStats = Answer(queryStatsFields, 'How the query ran.');
export type QueryStats = Static<typeof QueryStats>;
export const QueryAnswer = Answer({ results: Type.Array(QueryHit), stats: QueryStats }, 'Hits, best first, and how the query ran.');
export type QueryAnswer = Static<typeof QueryAnswer>;

// ---- WebSocket /ws/query-stream ----------------------------------------------------------------------------------

export const WsQueryMessage = Closed(
  {
    ...queryFields,
    ...hybridFields,
    text_query: Type.Optional(hybridFields.text_query),
    request_id: Type.Optional(Type.Unknown({ description: 'Any JSON value (at most 256 characters of JSON), copied into every message of the answer.' })),
    collection: Type.Optional(Type.String({ description: 'Default: `default`.' })),
    traceparent: Type.Optional(Type.String({ description: 'W3C trace context of the caller.' })),
  },
  'A query message on /ws/query-stream; with text_query it is hybrid.',
);
export type WsQueryMessage = Static<typeof WsQueryMessage>;
export const WsHitMessage = Type.Intersect([QueryHit, Answer({ request_id: Type.Optional(Type.Unknown()) }, '')], { description: 'One hit of an answer.' });
export type WsHitMessage = Static<typeof WsHitMessage>;
export const WsCompleteMessage = Answer(
  {
    complete: Type.Literal(true),
    request_id: Type.Optional(Type.Unknown()),
    traceresponse: Type.Optional(Type.String()),
    stats: Answer({ ...queryStatsFields, total_results: Type.Integer({ minimum: 0 }) }, 'How the query ran.'),
  },
  'The last message of an answer.',
);
export type WsCompleteMessage = Static<typeof WsCompleteMessage>;

// ---- snapshots -------------------------------------------------------------------------------------------------

export const SnapshotName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$', description: 'Letters, digits, `.`, `_`, `-`, without `..`.' });
export const CreateSnapshotRequest = Closed({ name: SnapshotName }, 'The new snapshot\'s name.');
export type CreateSnapshotRequest = Static<typeof CreateSnapshotRequest>;
export const CreateSnapshotAnswer = Answer({ success: Type.Literal(true), name: Type.String(), path: Type.String({ description: 'Relative to the data directory.' }) }, 'The snapshot is on disk.');
export type CreateSnapshotAnswer = Static<typeof CreateSnapshotAnswer>;
export const SnapshotInfo = Answer({ name: Type.String(), created_at: Type.Integer({ description: 'Unix seconds.' }), size_bytes: Type.Integer({ minimum: 0 }) }, 'One snapshot.');
export type SnapshotInfo = Static<typeof SnapshotInfo>;
export const SnapshotListAnswer = Answer({ snapshots: Type.Array(SnapshotInfo) }, 'Every complete snapshot, oldest first.');
export type SnapshotListAnswer = Static<typeof SnapshotListAnswer>;
export const RestoreSnapshotAnswer = Answer({ success: Type.Literal(true), vectors_restored: Type.Integer({ minimum: 0 }) }, 'Active vectors after the restore.');
export type RestoreSnapshotAnswer = Static<typeof RestoreSnapshotAnswer>;
export const DeleteSnapshotAnswer = Answer({ deleted: Type.Literal(true), name: Type.String() }, 'The snapshot\'s files are removed.');
export type DeleteSnapshotAnswer = Static<typeof DeleteSnapshotAnswer>;
export const UploadSnapshotAnswer = Answer(
  { success: Type.Literal(true), name: Type.String(), size_bytes: Type.Integer({ minimum: 0 }), vectors: Type.Integer({ minimum: 0, description: 'Records in it (soft-deleted ones included).' }), dimension: Nullable(Type.Integer()) },
  'The uploaded file was verified and stored as a snapshot; restore it next.',
);
export type UploadSnapshotAnswer = Static<typeof UploadSnapshotAnswer>;

// ---- collections -------------------------------------------------------------------------------------------------

export const HnswSettings = Answer({ m: Type.Integer(), ef_construction: Type.Integer(), ef: Type.Integer() }, 'Graph degree, build-time and query-time candidate list sizes.');
export type HnswSettings = Static<typeof HnswSettings>;
export const CreateCollectionRequest = Closed(
  {
    dimension: Type.Optional(Type.Integer({ minimum: 1, description: 'Omitted: the first vector fixes it.' })),
    metric: Type.Optional(MetricName),
    index: Type.Optional(IndexKind),
    hnsw: Type.Optional(
      Closed(
        { m: Type.Optional(Type.Integer({ minimum: 2, maximum: 256 })), ef_construction: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })), ef: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })) },
        'HNSW parameters (defaults m 16, ef_construction 200, ef 64).',
      ),
    ),
  },
  'A collection\'s settings (an empty body takes every default).',
);
export type CreateCollectionRequest = Static<typeof CreateCollectionRequest>;

export const CollectionStats = Answer(
  {
    total_vectors: Type.Integer({ minimum: 0 }),
    active_vectors: Type.Integer({ minimum: 0 }),
    deleted_vectors: Type.Integer({ minimum: 0 }),
    dimension: Nullable(Type.Integer()),
    metric: MetricName,
    storage_bytes: Type.Integer({ minimum: 0 }),
    slots_used: Type.Integer({ minimum: 0 }),
    text_documents: Type.Integer({ minimum: 0 }),
    workers: Type.Integer({ minimum: 0 }),
    index: IndexKind,
    indexed_vectors: Type.Integer({ minimum: 0 }),
    pending_vectors: Type.Integer({ minimum: 0 }),
    index_bytes: Type.Integer({ minimum: 0 }),
    index_threshold: Type.Integer({ minimum: 0 }),
    hnsw: Type.Optional(HnswSettings),
    target_recall: Type.Number(),
    recall_estimate: Answer({ value: Nullable(Type.Number()), audits: Type.Integer({ minimum: 0 }) }, 'Measured recall of recent graph answers.'),
    recall_table: Type.Array(Answer({ ef: Type.Integer(), recall: Type.Number() }, 'Recall measured at one breadth.')),
    recall_table_source: Nullable(Type.Union([Type.Literal('rows'), Type.Literal('queries')], { description: 'What the recall table was measured with: stored rows, or recent real queries (once 100 were seen); null before the first calibration.' })),
  },
  'Counts and sizes of one collection.',
);
export type CollectionStats = Static<typeof CollectionStats>;
export const CollectionInfo = Type.Intersect([CollectionStats, Answer({ name: Type.String(), index: IndexKind, hnsw: HnswSettings }, '')], { description: 'A collection\'s settings and stats.' });
export type CollectionInfo = Static<typeof CollectionInfo>;
export const CollectionSummary = Answer(
  { name: Type.String(), dimension: Nullable(Type.Integer()), metric: MetricName, index: IndexKind, active_vectors: Type.Integer({ minimum: 0 }), deleted_vectors: Type.Integer({ minimum: 0 }) },
  'A collection in the list.',
);
export type CollectionSummary = Static<typeof CollectionSummary>;
export const CollectionListAnswer = Answer({ collections: Type.Array(CollectionSummary) }, 'The collections the caller\'s key may see.');
export type CollectionListAnswer = Static<typeof CollectionListAnswer>;
export const DropCollectionAnswer = Answer({ deleted: Type.Literal(true) }, 'The collection\'s memory is freed and its files removed.');
export type DropCollectionAnswer = Static<typeof DropCollectionAnswer>;

// ---- server ------------------------------------------------------------------------------------------------------

export const RootAnswer = Answer(
  { name: Type.String(), version: Type.String(), links: Answer({ openapi: Type.String(), metrics: Type.String(), docs: Type.String() }, 'Where the API is described.') },
  'Which server this is.',
);
export type RootAnswer = Static<typeof RootAnswer>;
export const HealthAnswer = Answer({ status: Type.Literal('healthy') }, 'The process is up.');
export type HealthAnswer = Static<typeof HealthAnswer>;
export const ReadyAnswer = Answer({ status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]) }, 'Whether the data is recovered and the workers are up.');
export type ReadyAnswer = Static<typeof ReadyAnswer>;

// ---- errors ------------------------------------------------------------------------------------------------------

export const ErrorCodeSchema = Type.Unsafe<ErrorCode>({ type: 'string', enum: Object.keys(ERROR_CATALOGUE), description: 'A stable code from the catalogue.' });
export const ErrorBody = Answer(
  {
    error: Type.String({ description: '`<field>: <reason>`' }),
    code: ErrorCodeSchema,
    field: Type.Optional(Type.String({ description: 'The field an unknown_field error names.' })),
    hint: Type.Optional(Type.String({ description: 'The field probably meant (another engine\'s habit).' })),
    request_id: Type.Optional(Type.Unknown({ description: 'WebSocket only: the query\'s request_id.' })),
    traceresponse: Type.Optional(Type.String()),
  },
  'Every error answer; some routes add their usual fields (e.g. `found: false`).',
);
export type ErrorBody = Static<typeof ErrorBody>;
export type { ErrorCode };
