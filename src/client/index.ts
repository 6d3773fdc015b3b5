// `vecstore/client`: the TypeScript client of the VecStore HTTP and WebSocket API. Loads no server code, simsimd or
// uWebSockets.js; runs on Node 20+ and in browsers (global fetch; WebSocket, or the `ws` package on Node 20).
export { VecStoreClient, type VecStoreClientOptions } from './vecstore-client.js';
export type { CallOptions } from './http-transport.js';
export { VecStoreError, type VecStoreErrorCode, type ClientErrorCode } from './errors.js';
export { CollectionClient, DEFAULT_COLLECTION, type HybridQueryInput, type QueryInput, type ScrollOptions, type UpsertInput } from './collection-client.js';
export { CollectionsClient } from './collections-client.js';
export { SnapshotsClient, type SnapshotFile } from './snapshots-client.js';
export { QueryStream, type QueryStreamOptions, type StreamQueryAnswer, type StreamQueryInput } from './query-stream.js';
export type { VectorInput, WithVectorInput } from './vector-encoding.js';
// The wire types, from the API's schemas (the one description the server validates with and /openapi.json serves).
export type {
  BatchError, BatchUpsertAnswer, CollectionInfo, CollectionListAnswer, CollectionStats, CollectionSummary, CompactAnswer,
  CountAnswer, CreateCollectionRequest, CreateSnapshotAnswer, DeleteAnswer, DeleteByFilterAnswer, DropCollectionAnswer,
  ErrorBody, ErrorCode, GetManyAnswer, HealthAnswer, HnswSettings, HybridQueryRequest, IndexKind, Metadata, MetricName,
  PatchAnswer, PatchRequest, QueryAnswer, QueryHit, QueryRequest, QueryStats, RestoreAnswer, RestoreSnapshotAnswer,
  DeleteSnapshotAnswer, ScrollAnswer, ScrolledRecord, ScrollRequest, SnapshotInfo, SnapshotListAnswer, SoftDeleteAnswer, StoredRecord,
  SuccessAnswer, UploadSnapshotAnswer, UpsertRecord, WsCompleteMessage, WsQueryMessage,
} from '../api/schemas.js';
