// The client's backoff: full jitter under a doubling cap, Retry-After in seconds or as an HTTP date, which statuses retry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_DELAY_MS, MAX_DELAY_MS, isRetryableStatus, parseRetryAfter, retryDelayMs } from '../../src/client/retry-policy.js';

test('waits are drawn up to a cap that doubles per attempt and stops at MAX_DELAY_MS', () => {
  for (let attempt = 0; attempt < 12; attempt++) {
    const cap = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
    assert.equal(retryDelayMs(attempt, null, 0, () => 0), 0);
    assert.equal(retryDelayMs(attempt, null, 0, () => 0.999999), Math.round(0.999999 * cap));
    const drawn = retryDelayMs(attempt, null);
    assert.ok(drawn >= 0 && drawn <= cap, `${drawn} within [0, ${cap}]`);
  }
});

test('Retry-After overrides the backoff: delta-seconds, an HTTP date, nonsense ignored', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(retryDelayMs(0, '2', now), 2000);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0, 'a date in the past: at once');
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter('-1', now), undefined);
  assert.equal(parseRetryAfter(null, now), undefined);
});

test('only 429 and 503 are retryable statuses', () => {
  assert.deepEqual([400, 404, 409, 429, 500, 502, 503, 504, 507].filter(isRetryableStatus), [429, 503]);
});
