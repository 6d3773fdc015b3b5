// The console's one door to the server: the package's own TypeScript client (vecstore/client, compiled with the
// server and served under /console/client/) with the tab's API key as a header (never in a URL), plus the two
// console-only routes (whoami, live summary) through the same error type.
import { VecStoreClient, VecStoreError, type CollectionClient } from './client/index.js';

export { VecStoreError };
export type { CollectionStats, CollectionSummary, QueryAnswer, ScrolledRecord, SnapshotInfo, StoredRecord } from './client/index.js';

const KEY_STORAGE = 'vecstore.apiKey';

export type Role = 'admin' | 'write' | 'read';
export type Metric = 'cosine' | 'dot' | 'euclidean';

export interface WhoAmI {
  auth: boolean;
  /** null: the server needs a key and none was sent. */
  role: Role | null;
  collections: string[];
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

/** What "Find similar" sends: a stored record's vector, hybrid when `text_query` is given. */
export interface SimilarQuery {
  vector: number[];
  limit: number;
  filter?: string;
  text_query?: string;
}

/** The API key of this tab (sessionStorage: gone when the tab closes, never shared with other tabs). */
export const apiKey = {
  get: (): string => sessionStorage.getItem(KEY_STORAGE) ?? '',
  set: (key: string): void => sessionStorage.setItem(KEY_STORAGE, key),
  clear: (): void => sessionStorage.removeItem(KEY_STORAGE),
};

let cached: { key: string; client: VecStoreClient } | undefined;

/** The client for the current key (a new one when the key changes). */
function client(): VecStoreClient {
  const key = apiKey.get();
  if (cached?.key !== key) cached = { key, client: new VecStoreClient({ url: location.origin, apiKey: key === '' ? undefined : key }) };
  return cached.client;
}

const collection = (name: string): CollectionClient => client().collection(name);

/** The console-only routes, which the client does not know: same header, same error type. */
async function consoleCall<T>(path: string): Promise<T> {
  const key = apiKey.get();
  const res = await fetch(path, { headers: key === '' ? {} : { authorization: `Bearer ${key}` }, cache: 'no-store' });
  const body = (await res.json().catch(() => undefined)) as (T & { error?: string; code?: string }) | undefined;
  if (!res.ok || body === undefined) {
    throw new VecStoreError({ status: res.status, code: body?.code ?? 'invalid_response', message: body?.error ?? `${path}: HTTP ${res.status}` });
  }
  return body;
}

/** Every API call the console makes. */
export const api = {
  whoami: () => consoleCall<WhoAmI>('/v1/auth/whoami'),
  summary: () => consoleCall<LiveSummary>('/v1/console/summary'),
  listCollections: () => client().collections.list(),
  stats: (name: string) => collection(name).stats(),
  createCollection: (name: string, settings: { dimension?: number; metric: Metric }) => client().collections.create(name, settings),
  dropCollection: (name: string) => client().collections.drop(name),
  scroll: (name: string, page: { filter?: string; limit: number; cursor?: string }) => collection(name).scrollPage({ ...page, include_text: true }),
  count: (name: string, filter?: string) => collection(name).count(filter),
  getRecord: (name: string, id: string) => collection(name).get(id),
  query: (name: string, q: SimilarQuery) => {
    const { text_query, ...rest } = q;
    return text_query === undefined ? collection(name).query(rest) : collection(name).hybridQuery({ ...rest, text_query });
  },
  listSnapshots: (name: string) => collection(name).snapshots.list(),
  createSnapshot: (name: string, snapshot: string) => collection(name).snapshots.create(snapshot),
  restoreSnapshot: (name: string, snapshot: string) => collection(name).snapshots.restore(snapshot),
  deleteSnapshot: (name: string, snapshot: string) => collection(name).snapshots.delete(snapshot),
  /** Stores a downloaded snapshot file (checked whole by the server) as snapshot `snapshot`; restore it next. */
  uploadSnapshot: (name: string, snapshot: string, file: Blob) => collection(name).snapshots.upload(snapshot, file),
  /** The snapshot file, named as the server names it (`<snapshot>.vecsnap`). */
  downloadSnapshot: async (name: string, snapshot: string) => ({
    blob: new Blob([(await collection(name).snapshots.download(snapshot)) as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }),
    filename: `${snapshot}.vecsnap`,
  }),
};
