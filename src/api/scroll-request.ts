// The scroll route's wire format: `{filter?, limit?, cursor?, include_vectors?, include_text?}` in, a page and cursor out.
import { VecStoreError } from '../errors.js';
import type { ScrolledRecord, ScrollRequest } from '../engine/engine.js';
import type { Limits } from '../engine/limits.js';
import { describe, parseBoolean, parseK } from '../engine/record-validation.js';

/** Records per page when `limit` is absent. */
const DEFAULT_PAGE = 100;

/** Parses a scroll request; the cursor is opaque to clients (the last id of the previous page, base64url). */
export function parseScrollRequest(body: Record<string, unknown>, limits: Limits): ScrollRequest {
  const { filter, cursor } = body;
  if (filter !== undefined && filter !== null && typeof filter !== 'string') {
    throw new VecStoreError('validation', `filter: must be a string, got ${describe(filter)}`);
  }
  let after: string | undefined;
  if (cursor !== undefined && cursor !== null) {
    if (typeof cursor !== 'string' || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
      throw new VecStoreError('validation', `cursor: must be the next_cursor of a previous page, got ${describe(cursor)}`);
    }
    after = Buffer.from(cursor, 'base64url').toString('utf8');
  }
  return {
    filter: typeof filter === 'string' ? filter : undefined,
    limit: parseK(body, limits, DEFAULT_PAGE),
    after,
    includeVectors: parseBoolean(body.include_vectors, 'include_vectors'),
    includeText: parseBoolean(body.include_text, 'include_text'),
  };
}

/** The answer of one page. */
export function scrollAnswer(page: { records: ScrolledRecord[]; last: string | null }): { records: ScrolledRecord[]; next_cursor: string | null } {
  return { records: page.records, next_cursor: page.last === null ? null : Buffer.from(page.last, 'utf8').toString('base64url') };
}
