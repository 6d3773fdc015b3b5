// Every input limit VecStore enforces, with its default; the server and the engine read them from one object.

/** Limits on what a client may send. Each has its own error code when exceeded (see src/errors.ts). */
export interface Limits {
  /** Largest request body, in bytes (413 payload_too_large). */
  maxBodyBytes: number;
  /**
   * Bytes of request bodies held at once, from their first byte until their answer (429 too_many_in_flight, with
   * Retry-After): many large uploads at a time wait their turn instead of taking the server's memory. At least
   * maxBodyBytes, so that one largest body always fits.
   */
  maxBodyMemoryBytes: number;
  /** Largest snapshot file upload, in bytes (413 payload_too_large); streamed to disk, never held in memory. */
  maxSnapshotUploadBytes: number;
  /** Most records in one batch-upsert (413 batch_too_large). */
  maxBatchRecords: number;
  /** Largest `limit`/`k` of a query (400 k_too_large). */
  maxK: number;
  /** Largest search breadth `ef` of a query (400 ef_too_large). */
  maxEf: number;
  /** Largest vector dimension a store may be created with (400 dimension_too_large). */
  maxDimension: number;
  /** Longest id, in characters (400 id_too_long). */
  maxIdLength: number;
  /** Largest metadata object, as JSON bytes (413 metadata_too_large). */
  maxMetadataBytes: number;
  /** Deepest nesting of metadata objects and arrays (400 metadata_too_deep). */
  maxMetadataDepth: number;
  /** Largest text, in bytes (413 text_too_large). */
  maxTextBytes: number;
  /** Longest filter expression, in characters (400 filter_too_long). */
  maxFilterLength: number;
  /** Deepest nesting of a filter's parentheses and NOTs (400 filter_too_deep). */
  maxFilterDepth: number;
  /**
   * Most front-thread time one query's filter may take, in milliseconds (400 filter_too_costly). Filters run in slices
   * of a few milliseconds with other requests served in between, so this bounds the query, not the server's latency.
   */
  maxFilterMs: number;
  /**
   * Largest WebSocket message, in bytes. uWS drops the socket without a close frame (the client sees 1006) and the drop
   * is counted as ws_message_too_large.
   */
  maxWsMessageBytes: number;
  /** Queries in flight on one WebSocket (429 too_many_in_flight, as request bodies over maxBodyMemoryBytes). */
  maxWsInFlight: number;
  /** Open WebSocket connections (the upgrade is refused with 429 too_many_connections). */
  maxWsConnections: number;
  /**
   * Bytes of answers one WebSocket may have waiting to be read (queued answers plus what uWS buffers for it). A client
   * that lets more pile up is closed with 1008, counted as ws_backpressure: memory per socket stays bounded.
   */
  maxWsQueuedBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxBodyBytes: 64 * 1024 * 1024,
  maxBodyMemoryBytes: 1024 * 1024 * 1024,
  maxSnapshotUploadBytes: 64 * 1024 * 1024 * 1024,
  maxBatchRecords: 10_000,
  maxK: 10_000,
  maxEf: 10_000,
  maxDimension: 65_536,
  maxIdLength: 512,
  maxMetadataBytes: 64 * 1024,
  maxMetadataDepth: 16,
  maxTextBytes: 1024 * 1024,
  maxFilterLength: 4096,
  maxFilterDepth: 32,
  maxFilterMs: 5000,
  maxWsMessageBytes: 16 * 1024 * 1024,
  maxWsInFlight: 256,
  maxWsConnections: 10_000,
  maxWsQueuedBytes: 64 * 1024 * 1024,
};
