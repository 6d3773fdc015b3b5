// The catalogue of VecStore's stable error codes and their HTTP statuses; the engine throws, only the server maps.

/** Every stable error code VecStore can answer with, and the HTTP status it maps to. */
export const ERROR_CATALOGUE = {
  validation: 400,
  invalid_json: 400,
  /** A batch body sent as an Arrow IPC stream that cannot be read (truncated, malformed, missing columns). */
  invalid_arrow: 400,
  invalid_filter: 400,
  /** A request body field no route takes (with a hint when it is another engine's name for one of ours). */
  unknown_field: 400,
  /** An uploaded snapshot file that is damaged, truncated, foreign, or does not fit the collection (metric, dimension). */
  invalid_snapshot: 400,
  unauthorized: 401,
  forbidden: 403,
  invalid_collection_name: 400,
  not_found: 404,
  route_not_found: 404,
  collection_not_found: 404,
  method_not_allowed: 405,
  dimension_mismatch: 409,
  conflict: 409,
  too_many_collections: 409,
  payload_too_large: 413,
  batch_too_large: 413,
  /** A request body in a Content-Encoding the server does not decode (it would otherwise be read as if it were plain). */
  unsupported_media_type: 415,
  k_too_large: 400,
  ef_too_large: 400,
  dimension_too_large: 400,
  id_too_long: 400,
  metadata_too_large: 413,
  metadata_too_deep: 400,
  text_too_large: 413,
  filter_too_long: 400,
  filter_too_deep: 400,
  /** A filter whose evaluation took more front-thread time than `--max-filter-ms`. */
  filter_too_costly: 400,
  /** Never sent as HTTP: uWS drops the socket; the code only labels the error counter. */
  ws_message_too_large: 413,
  /** A WebSocket `request_id` longer than 256 characters of JSON (it is copied into every message of its answer). */
  request_id_too_long: 400,
  /** Never sent: the socket is closed with 1008 when its unread answers pass `--max-ws-queued-bytes`. */
  ws_backpressure: 429,
  too_many_in_flight: 429,
  too_many_connections: 429,
  internal: 500,
  not_implemented: 501,
  storage: 507,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** The error type every VecStore layer throws; `code` is stable and documented, `message` names the field and reason. */
export class VecStoreError extends Error {
  readonly code: ErrorCode;
  /** Extra fields for the JSON error body (e.g. `found: false` on a delete of an unknown id). */
  readonly details: Record<string, unknown> | undefined;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.code = code;
    this.details = details;
    this.name = 'VecStoreError';
  }
  get status(): number {
    return ERROR_CATALOGUE[this.code];
  }
}

/**
 * The `error_type` label of `vecstore_errors_total` for a code: the catalogue code itself, a bounded set, so that
 * `invalid_json`, `invalid_filter` and `route_not_found` stay distinguishable from `validation` and `not_found`.
 */
export function errorType(code: ErrorCode): string {
  return code;
}
