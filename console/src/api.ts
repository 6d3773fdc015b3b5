// The console's one door to the server: typed calls to the HTTP API with the tab's API key as a header (never in a URL).

const KEY_STORAGE = 'vecstore.apiKey';

/** An error answer of the API: its status, stable code and message (`<field>: <reason>`). */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export type Role = 'admin' | 'write' | 'read';
export type Metric = 'cosine' | 'dot' | 'euclidean';

export interface WhoAmI {
  auth: boolean;
  /** null: the server needs a key and none was sent. */
  role: Role | null;
  collections: string[];
}

export interface CollectionSummary {
  name: string;
  dimension: number | null;
  metric: Metric;
  index: 'hnsw' | 'flat';
  active_vectors: number;
  deleted_vectors: number;
}

export interface CollectionStats {
  total_vectors: number;
  active_vectors: number;
  deleted_vectors: number;
  dimension: number | null;
  metric: Metric;
  storage_bytes: number;
  index: 'hnsw' | 'flat';
  indexed_vectors: number;
  pending_vectors: number;
  index_threshold: number;
  target_recall: number;
  recall_estimate: { value: number | null; audits: number };
}

export interface StoredRecord {
  id: string;
  vector?: number[];
  metadata: Record<string, unknown>;
  text?: string;
  deleted?: boolean;
}

export interface ScrollPage {
  records: StoredRecord[];
  next_cursor: string | null;
}

export interface QueryStats {
  total_candidates: number;
  filtered_count: number;
  duration_ms: number;
  index: 'hnsw' | 'exact';
  ef?: number;
  expected_recall: number | null;
  distance_computations: number;
}

export interface QueryAnswer {
  results: Array<{ id: string; score: number; metadata?: Record<string, unknown> }>;
  stats: QueryStats;
}

export interface QueryRequest {
  vector: number[];
  limit: number;
  filter?: string;
  /** Hybrid search when given. */
  text_query?: string;
}

export interface SnapshotInfo {
  name: string;
  created_at: number;
  size_bytes: number;
}

/** `GET /v1/console/summary`: sampled series, oldest first. */
export interface LiveSummary {
  interval_s: number;
  window_s: number;
  series: {
    t: number[];
    requests_per_s: number[];
    p50_ms: Array<number | null>;
    p99_ms: Array<number | null>;
    queries_per_s: { vector: number[]; hybrid: number[] };
    cache_hit_rate: Array<number | null>;
    vectors_scanned_per_s: number[];
    rss_bytes: number[];
    heap_used_bytes: number[];
    array_buffers_bytes: number[];
  };
}

/** The API key of this tab (sessionStorage: gone when the tab closes, never shared with other tabs). */
export const apiKey = {
  get: (): string => sessionStorage.getItem(KEY_STORAGE) ?? '',
  set: (key: string): void => sessionStorage.setItem(KEY_STORAGE, key),
  clear: (): void => sessionStorage.removeItem(KEY_STORAGE),
};

const enc = encodeURIComponent;
const col = (name: string) => `/v1/collections/${enc(name)}`;

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  const key = apiKey.get();
  if (key !== '') headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new ApiError(res.status, 'invalid_answer', `answer: not JSON (HTTP ${res.status})`);
  }
  if (!res.ok) {
    const err = parsed as { error?: string; code?: string };
    throw new ApiError(res.status, err.code ?? 'unknown', err.error ?? `HTTP ${res.status}`);
  }
  return parsed as T;
}

/** A binary answer (with the key in a header), named by its Content-Disposition when it has one. */
async function download(path: string, fallbackName: string): Promise<{ blob: Blob; filename: string }> {
  const key = apiKey.get();
  const res = await fetch(path, { headers: key === '' ? {} : { authorization: `Bearer ${key}` }, cache: 'no-store' });
  if (!res.ok) {
    const err = (await res.json().catch(() => ({}))) as { error?: string; code?: string };
    throw new ApiError(res.status, err.code ?? 'unknown', err.error ?? `HTTP ${res.status}`);
  }
  const disposition = /filename="?([^";]+)"?/.exec(res.headers.get('content-disposition') ?? '');
  return { blob: await res.blob(), filename: disposition ? disposition[1] : fallbackName };
}

/** Every API call the console makes. */
export const api = {
  whoami: () => call<WhoAmI>('GET', '/v1/auth/whoami'),
  listCollections: async () => (await call<{ collections: CollectionSummary[] }>('GET', '/v1/collections')).collections,
  stats: (name: string) => call<CollectionStats>('GET', `${col(name)}/stats`),
  createCollection: (name: string, settings: { dimension?: number; metric: Metric }) => call<unknown>('PUT', col(name), settings),
  dropCollection: (name: string) => call<{ deleted: boolean }>('DELETE', col(name)),
  scroll: (name: string, page: { filter?: string; limit: number; cursor?: string }) =>
    call<ScrollPage>('POST', `${col(name)}/scroll`, { ...page, include_text: true }),
  count: async (name: string, filter?: string) => (await call<{ count: number }>('POST', `${col(name)}/count`, filter ? { filter } : {})).count,
  getRecord: (name: string, id: string) => call<StoredRecord>('GET', `${col(name)}/vectors/${enc(id)}`),
  query: (name: string, q: QueryRequest) =>
    call<QueryAnswer>('POST', `${col(name)}/${q.text_query !== undefined ? 'hybrid-query' : 'query'}`, q),
  listSnapshots: async (name: string) => (await call<{ snapshots: SnapshotInfo[] }>('GET', `${col(name)}/snapshots`)).snapshots,
  createSnapshot: (name: string, snapshot: string) => call<unknown>('POST', `${col(name)}/snapshots`, { name: snapshot }),
  restoreSnapshot: (name: string, snapshot: string) =>
    call<{ vectors_restored: number }>('POST', `${col(name)}/snapshots/${enc(snapshot)}/restore`),
  downloadSnapshot: (name: string, snapshot: string) => download(`${col(name)}/snapshots/${enc(snapshot)}/download`, `${snapshot}.vecsnap`),
  summary: () => call<LiveSummary>('GET', '/v1/console/summary'),
};
