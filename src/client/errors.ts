// The one error type the client throws: the server's `{error, code}` answer, a timeout, or a network failure.
import type { ErrorBody, ErrorCode } from '../api/schemas.js';

/**
 * Codes the client adds to the server's catalogue (src/errors.ts): `timeout` (the call's `timeoutMs` passed),
 * `aborted` (the caller's signal fired), `network` (no answer: refused, reset, DNS), `invalid_response` (an answer
 * that is not the JSON the route promises), `closed` (a query stream that was closed or lost its socket).
 */
export type ClientErrorCode = 'timeout' | 'aborted' | 'network' | 'invalid_response' | 'closed';

/** A server code, a client code, or a code a newer server added (kept as sent, never guessed from the message). */
export type VecStoreErrorCode = ErrorCode | ClientErrorCode | (string & {});

export interface VecStoreErrorInit {
  /** HTTP status (0 when no HTTP answer was received). */
  status: number;
  code: VecStoreErrorCode;
  /** The server's message (`"limit: must be a positive integer"`), or the client's reason. */
  message: string;
  /** The whole error body (extra fields such as `field`, `hint`, `found`), when the server sent one. */
  body?: ErrorBody & Record<string, unknown>;
  /** The underlying error (a fetch TypeError, an AbortError). */
  cause?: unknown;
}

/** Thrown by every client call that fails; `status` and `code` are what to branch on, never `message`. */
export class VecStoreError extends Error {
  readonly status: number;
  readonly code: VecStoreErrorCode;
  readonly body: (ErrorBody & Record<string, unknown>) | undefined;

  constructor(init: VecStoreErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'VecStoreError';
    this.status = init.status;
    this.code = init.code;
    this.body = init.body;
  }
}

/** Builds the error for a non-2xx answer from its body text (JSON `{error, code}`, or anything else a proxy sent). */
export function errorFromAnswer(status: number, text: string): VecStoreError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed !== null && typeof parsed === 'object' && typeof (parsed as { error?: unknown }).error === 'string') {
    const body = parsed as ErrorBody & Record<string, unknown>;
    const code = typeof body.code === 'string' ? body.code : `http_${status}`;
    return new VecStoreError({ status, code, message: body.error as string, body });
  }
  // Not one of ours (a proxy's HTML page, an empty 502): keep the status, say what came back.
  const snippet = text.trim().slice(0, 200);
  return new VecStoreError({ status, code: `http_${status}`, message: `HTTP ${status}${snippet ? `: ${snippet}` : ''}` });
}
