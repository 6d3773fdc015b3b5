// `vecstore/client`: the TypeScript client of the VecStore HTTP and WebSocket API. Loads no server code, simsimd or
// uWebSockets.js; runs on Node 20+ and in browsers (global fetch; WebSocket, or the `ws` package on Node 20).
export { VecStoreClient, type VecStoreClientOptions } from './vecstore-client.js';
export { VecStoreError, type VecStoreErrorCode, type ClientErrorCode } from './errors.js';
export { CollectionClient, DEFAULT_COLLECTION, type HybridQueryInput, type QueryInput, type ScrollOptions, type UpsertInput } from './collection-client.js';
export { CollectionsClient } from './collections-client.js';
export { SnapshotsClient } from './snapshots-client.js';
export { QueryStream, type QueryStreamOptions, type StreamQueryInput } from './query-stream.js';
export type { VectorInput } from './vector-encoding.js';
export type * from './wire-types.js';
