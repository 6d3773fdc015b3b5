// When a failed attempt is tried again and how long to wait first: exponential backoff with full jitter, Retry-After.

/** Statuses that mean "not now" rather than "not this request": the server is starting, overloaded or shutting down. */
const RETRYABLE_STATUSES = new Set([429, 503]);

/** The first wait before jitter; each retry doubles it. */
export const BASE_DELAY_MS = 100;
/** No computed wait is longer (a Retry-After is honoured up to MAX_RETRY_AFTER_MS). */
export const MAX_DELAY_MS = 5_000;
/** A server asking for a longer pause than this is not waited for: the call fails with its answer instead. */
export const MAX_RETRY_AFTER_MS = 60_000;

/** Whether an answer with this status may be retried (for idempotent calls only; the transport checks that). */
export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

/**
 * The wait before retry number `attempt` (0 for the first retry). A `Retry-After` header (seconds or an HTTP date) is
 * honoured as given; otherwise "full jitter" (a uniform draw up to the exponential cap), so that many clients refused
 * at once do not come back at once. `random` is injectable for tests of the bounds.
 */
export function retryDelayMs(attempt: number, retryAfter: string | null, now = Date.now(), random = Math.random): number {
  const asked = parseRetryAfter(retryAfter, now);
  if (asked !== undefined) return asked;
  const cap = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
  return Math.round(random() * cap);
}

/** `Retry-After` in milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP date names its weekday and month; Date.parse alone would take "-1" as a year.
  if (!/[A-Za-z]/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
