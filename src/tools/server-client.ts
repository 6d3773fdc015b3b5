// The HTTP calls `vecstore import` and `export` make: batch-upsert (Arrow or JSON), scroll pages, stats; errors as text.
import { ARROW_STREAM_TYPE } from '../ingest/arrow-records.js';
import { requestWhole, type AnswerLike } from '../client/node-http.js';

/** Where to send requests: the server, the collection (default when absent) and the API key. */
export interface ServerTarget {
  url: string;
  collection?: string;
  apiKey?: string;
}

/** A request the server refused or could not answer: one line for the user. */
export class ServerError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'ServerError';
  }
}

/** One per-record error of a batch-upsert answer. */
export interface RecordError {
  index: number;
  id?: string;
  error: string;
  code: string;
}

export interface BatchAnswer {
  inserted: number;
  updated: number;
  errors: RecordError[];
}

export interface ScrollPage {
  records: Array<{ id: string; metadata: Record<string, unknown>; vector?: number[]; text?: string }>;
  next_cursor: string | null;
}

/** The URL of a data route: `/v1/<route>` for the default collection, `/v1/collections/<name>/<route>` otherwise. */
export function routeUrl(target: ServerTarget, route: string): string {
  const base = target.url.replace(/\/+$/, '');
  return target.collection === undefined ? `${base}/v1/${route}` : `${base}/v1/collections/${encodeURIComponent(target.collection)}/${route}`;
}

/**
 * How long a request is tried again while the server answers 429 (it holds too many request bodies) or 503 (it is
 * starting or stopping): every call these tools make is idempotent, and a bulk load should wait, not fail.
 */
const BUSY_RETRY_SECONDS = 120;

async function call<T>(target: ServerTarget, route: string, body: Uint8Array | string | undefined, contentType: string, method = 'POST'): Promise<T> {
  const headers: Record<string, string> = { 'content-type': contentType };
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
  const url = routeUrl(target, route);
  let res: AnswerLike;
  let text: string;
  const giveUp = performance.now() + BUSY_RETRY_SECONDS * 1000;
  for (;;) {
    try {
      // node:http, not fetch, and the body handed over: a large body goes to the socket as it is (see node-http.ts).
      res = await requestWhole(url, { method, headers, body, transferBody: true });
      text = await res.text();
    } catch (err) {
      const cause = (err as Error & { cause?: Error }).cause;
      throw new ServerError(`${url}: cannot connect (${cause?.message ?? (err as Error).message})`, 0, undefined);
    }
    if ((res.status !== 429 && res.status !== 503) || performance.now() > giveUp) break;
    const wait = Math.min(10, Math.max(0.1, Number(res.headers.get('retry-after')) || 1));
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const e = parsed as { error?: string; code?: string } | undefined;
    const hint = res.status === 404 && e?.code === 'route_not_found' && target.collection !== undefined ? ' (does this server have collections?)' : '';
    throw new ServerError(`${method} ${url}: ${res.status} ${e?.error ?? text.slice(0, 200)}${hint}`, res.status, e?.code);
  }
  return parsed as T;
}

/** Sends an Arrow IPC stream to batch-upsert. */
export function postArrowBatch(target: ServerTarget, stream: Uint8Array): Promise<BatchAnswer> {
  return call(target, 'batch-upsert', stream, ARROW_STREAM_TYPE);
}

/** Sends JSON records to batch-upsert. */
export function postJsonBatch(target: ServerTarget, records: unknown[]): Promise<BatchAnswer> {
  return call(target, 'batch-upsert', JSON.stringify({ records }), 'application/json');
}

/** One scroll page. */
export function scrollPage(target: ServerTarget, request: { limit: number; cursor?: string | null; include_vectors?: boolean; include_text?: boolean; filter?: string }): Promise<ScrollPage> {
  const { cursor, ...rest } = request;
  return call(target, 'scroll', JSON.stringify(cursor ? { ...rest, cursor } : rest), 'application/json');
}

/** Active records (those `filter` matches, if given), for the progress bar's total; a bad filter fails here. */
export async function activeCount(target: ServerTarget, filter?: string): Promise<number> {
  const answer = await call<{ count?: number }>(target, 'count', JSON.stringify(filter !== undefined ? { filter } : {}), 'application/json');
  return answer.count ?? 0;
}

/** Every id the collection holds (scrolled without vectors), for `import --resume`. */
export async function existingIds(target: ServerTarget): Promise<Set<string>> {
  const ids = new Set<string>();
  let cursor: string | null = null;
  do {
    const page: ScrollPage = await scrollPage(target, { limit: 10_000, cursor });
    for (const r of page.records) ids.add(r.id);
    cursor = page.next_cursor;
  } while (cursor !== null);
  return ids;
}
