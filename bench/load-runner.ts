// Load runner for `vecstore bench load`: ingests a dataset into a running server, then measures queries over HTTP or WebSocket.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { rankDistanceFn, type MetricName } from '../src/distance/metric.js';
import { compileFilter } from '../src/engine/filter.js';
import type { Dataset } from './datasets.js';
import { exactTopK, prepareForMetric, recallAtK, withDistances, type GroundTruth } from './ground-truth.js';
import { VecStoreError, type CollectionClient, type QueryInput, type QueryStream } from '../src/client/index.js';
import { encodeArrowBatch } from '../src/ingest/arrow-encode.js';
import { searchRequest } from '../src/client/collection-client.js';
import { RawConnection, encodeRequest } from './raw-http-load.js';
import { LoadError, checkCompatible, checkReachable, ensureCollection, failureText, targetClient, targetStats, type ServerTarget } from './load-target.js';

/** Transport for queries. */
export type Protocol = 'http' | 'ws';

/** What sends HTTP queries: the TypeScript client, or the lean load generator. */
export type HttpClientKind = 'sdk' | 'raw';

/** Everything a load run needs; datasets are already read and checked by the caller. */
export interface LoadOptions extends ServerTarget {
  base: Dataset;
  queries: Dataset;
  k: number;
  /** The metric the server was started with; used for client-side ground truth and tie checks. */
  metric: MetricName;
  protocol: Protocol;
  /** Clients; each has `pipeline` requests in flight (HTTP clients always one). */
  concurrency: number;
  /** Requests in flight per WebSocket (default 1). */
  pipeline?: number;
  /** Run the query phase for this many seconds... */
  durationSec?: number;
  /** ...or for this many queries (default: 10 seconds). */
  count?: number;
  /** Unmeasured queries sent before the measured phase. */
  warmup?: number;
  /** Filter expression sent with every query (metadata of loaded records is `{i, bucket: i % 10}`). */
  filter?: string;
  /** Send query vectors as Float32Arrays: raw float32 HTTP bodies, WebSocket binary frames where the query allows. */
  binary?: boolean;
  /**
   * What sends HTTP queries: the TypeScript client (default), or `raw`, a lean HTTP/1.1 load generator sending the same
   * requests (see raw-http-load.ts).
   */
  httpClient?: HttpClientKind;
  /** More fields sent with every query (e.g. `{ef: 64}`). */
  extraBody?: Record<string, unknown>;
  /** Ground truth from a file; when absent it is computed exactly on the client. */
  groundTruth?: GroundTruth | null;
  /** Skip ingest (the server already holds this dataset under ids "0".."N-1"). */
  skipIngest?: boolean;
  /** Records per batch-upsert request (default 1000). */
  batchSize?: number;
  /** Batch-upsert requests in flight (default 4). */
  ingestConcurrency?: number;
  /** Progress bars on stderr (default true). */
  progress?: boolean;
}

/** Latency percentiles in milliseconds. */
export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** The ingest phase. */
export interface IngestReport {
  vectors: number;
  seconds: number;
  vectorsPerSec: number;
  /** Records the server rejected (its `errors` list) plus failed requests' records. */
  errors: number;
}

/** The query phase of one protocol. */
export interface QueryReport {
  protocol: Protocol;
  /** How query vectors were sent: JSON arrays, or raw float32 (`binary`). */
  vectors: 'json' | 'float32';
  /** What sent HTTP queries (undefined over WebSocket). */
  httpClient?: HttpClientKind;
  concurrency: number;
  pipeline: number;
  /** Measured requests that succeeded. */
  queries: number;
  errors: number;
  /** Up to five distinct error messages, for the report. */
  errorSamples: string[];
  seconds: number;
  qps: number;
  latencyMs: LatencySummary;
  /** Mean of every numeric field of the server's per-query `stats` (e.g. total_candidates, duration_ms, pruning). */
  serverStats: Record<string, number>;
  /** Fraction of rows the server skipped without a full distance, when its stats report it; else null. */
  prunedFraction: number | null;
  recall: { k: number; value: number; queriesEvaluated: number; source: 'file' | 'client-exact' } | null;
}

/** A whole `bench load` run. */
export interface LoadReport {
  url: string;
  collection: string | null;
  dataset: { vectors: number; queries: number; dim: number; metric: MetricName };
  k: number;
  filter: string | null;
  ingest: IngestReport | null;
  query: QueryReport;
  /** Warnings worth showing (server holds extra vectors, recall not computable, ...). */
  notes: string[];
}

// cli-progress ships no types and @types/cli-progress is not a dependency; this is the part of its API used here.
interface Bar {
  start(total: number, value: number, payload?: Record<string, unknown>): void;
  update(value: number, payload?: Record<string, unknown>): void;
  setTotal(total: number): void;
  stop(): void;
}
const require = createRequire(import.meta.url);
const cliProgress = require('cli-progress') as {
  SingleBar: new (options: Record<string, unknown>, preset?: unknown) => Bar;
  Presets: Record<string, unknown>;
};

/** A progress bar on stderr, or a no-op when disabled (or when stderr is not a terminal: cli-progress skips it). */
export interface Progress {
  update(value: number, payload?: Record<string, unknown>): void;
  stop(): void;
}

/** Starts a progress bar on stderr labelled `label`, counting to `total` `unit`s. */
export function startProgress(enabled: boolean, label: string, total: number, unit: string, extra = ''): Progress {
  if (!enabled) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label.padEnd(12)} [{bar}] {percentage}% | {value}/{total} ${unit}${extra} | ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: false,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, {});
  return { update: (v, p) => bar.update(v, p), stop: () => bar.stop() };
}

/** Runs a full load benchmark: optional ground truth, ingest, warmup, measured queries, recall. */
export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const notes: string[] = [];
  const url = options.url.replace(/\/+$/, '');
  const target: ServerTarget = { url, collection: options.collection, apiKey: options.apiKey };
  await checkReachable(url);

  // Ground truth first: it is CPU-bound and must not compete with the server for the cores during the measurement.
  const truth = prepareGroundTruth(options, notes);

  let ingest: IngestReport | null = null;
  if (!options.skipIngest) {
    await ensureCollection(target, options.base.dim, options.metric);
    await checkCompatible(target, options.base.dim, options.metric);
    ingest = await ingestDataset(target, options.base, options);
  }
  await checkServerStats(target, options, notes);

  const query = await runQueries(target, options, truth);
  if (query.queries > options.queries.count) {
    notes.push(
      `each of the ${options.queries.count} queries was sent ${(query.queries / options.queries.count).toFixed(1)} times on average: ` +
        'unless the server runs with --cache-size 0, repeats may be answered from its query cache',
    );
  }
  if (ingest && ingest.errors > 0) notes.push(`${ingest.errors} records were rejected during ingest`);
  return {
    url,
    collection: options.collection ?? null,
    dataset: { vectors: options.base.count, queries: options.queries.count, dim: options.base.dim, metric: options.metric },
    k: options.k,
    filter: options.filter ?? null,
    ingest,
    query,
    notes,
  };
}

/** Truth for recall: from the file (with distances added for tie checks) or computed exactly here. */
export function prepareGroundTruth(
  options: Pick<LoadOptions, 'base' | 'queries' | 'k' | 'metric' | 'filter' | 'groundTruth' | 'progress'>,
  notes: string[],
): { truth: GroundTruth; source: 'file' | 'client-exact'; tieDistance: (q: number, row: number) => number } | null {
  const { base, queries, k, metric } = options;
  let accept: ((row: number) => boolean) | undefined;
  if (options.filter) {
    // The server's own filter compiler, so the client-side truth means exactly what the server's filter means.
    let predicate: ReturnType<typeof compileFilter>;
    try {
      predicate = compileFilter(options.filter);
    } catch (err) {
      notes.push(`recall not computed: the filter does not compile (${(err as Error).message})`);
      return null;
    }
    const meta: Record<string, unknown> = { i: 0, bucket: 0 };
    accept = (row) => {
      meta.i = row;
      meta.bucket = row % 10;
      return predicate(meta);
    };
  }
  const b = prepareForMetric(base, metric);
  const q = prepareForMetric(queries, metric);
  const dist = rankDistanceFn(metric);
  const dim = base.dim;
  const tieDistance = (qi: number, row: number): number =>
    row < b.count && (!accept || accept(row))
      ? dist(q.data.subarray(qi * dim, (qi + 1) * dim), b.data.subarray(row * dim, (row + 1) * dim))
      : Infinity;
  if (options.groundTruth && !accept) {
    if (options.groundTruth.count < queries.count) {
      notes.push(`ground truth covers ${options.groundTruth.count} of ${queries.count} queries; recall uses those`);
    }
    return { truth: withDistances(options.groundTruth, base, queries, metric), source: 'file', tieDistance };
  }
  if (options.groundTruth && accept) notes.push('--groundtruth ignored: it does not reflect --filter; computed exactly instead');
  const bar = startProgress(options.progress ?? true, 'ground truth', base.count, 'rows');
  try {
    const truth = exactTopK(base, queries, k, metric, { accept, onProgress: (n) => bar.update(n) });
    return { truth, source: 'client-exact', tieDistance };
  } finally {
    bar.stop();
  }
}

/**
 * Loads `base` under ids "0".."N-1" with metadata `{i, bucket: i % 10}` by the client's batchUpsert, several batches
 * in flight. A rejected request (4xx/5xx) stops the run: it means the server cannot take this data at all.
 */
export async function ingestDataset(
  target: ServerTarget,
  base: Dataset,
  options: Pick<LoadOptions, 'batchSize' | 'ingestConcurrency' | 'progress'> & { arrow?: boolean },
): Promise<IngestReport> {
  const batchSize = options.batchSize ?? 1000;
  const inFlight = options.ingestConcurrency ?? 4;
  const bar = startProgress(options.progress ?? true, 'ingest', base.count, 'vectors');
  const { data } = targetClient(target);
  let next = 0;
  let done = 0;
  let errors = 0;
  let failure: LoadError | null = null;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (failure === null && next < base.count) {
      const start = next;
      const end = Math.min(base.count, start + batchSize);
      next = end;
      let body: { errors: { error: string; code: string }[] };
      try {
        body = options.arrow ? await data.batchUpsertArrow(arrowRows(base, start, end)) : await data.batchUpsert(jsonRows(base, start, end));
      } catch (err) {
        const verb = err instanceof VecStoreError && err.status > 0 ? 'rejected' : 'failed';
        failure = new LoadError(`ingest ${verb} at records ${start}..${end - 1}: ${failureText(err)}`);
        return;
      }
      const rejected = Array.isArray(body.errors) ? body.errors.length : 0;
      errors += rejected;
      if (rejected === end - start) {
        // A whole batch refused is a configuration problem (dimension, auth), not noise: say why and stop.
        const first = body.errors?.[0];
        failure = new LoadError(
          `ingest rejected every record of batch ${start}..${end - 1}: ${String(first?.code ?? '')}: ${String(first?.error ?? 'no reason given')}`,
        );
        return;
      }
      done += end - start;
      bar.update(done);
    }
  };
  try {
    await Promise.all(Array.from({ length: inFlight }, worker));
  } finally {
    bar.stop();
  }
  if (failure) throw failure;
  const seconds = (performance.now() - t0) / 1000;
  return { vectors: base.count, seconds, vectorsPerSec: base.count / seconds, errors };
}

/** The metadata ingested with row `i` (the filters of `bench load` select on it). */
function rowMetadata(i: number): Record<string, unknown> {
  return { i, bucket: i % 10 };
}

/** Rows [start, end) as batch-upsert records: id `i`, the row's vector, its metadata. */
function jsonRows(base: Dataset, start: number, end: number): Array<{ id: string; vector: number[]; metadata: Record<string, unknown> }> {
  const records = [];
  for (let i = start; i < end; i++) records.push({ id: String(i), vector: Array.from(base.data.subarray(i * base.dim, (i + 1) * base.dim)), metadata: rowMetadata(i) });
  return records;
}

/** The same rows as one Arrow IPC stream. */
function arrowRows(base: Dataset, start: number, end: number): Uint8Array {
  const ids: string[] = [];
  const metadata: Array<Record<string, unknown>> = [];
  for (let i = start; i < end; i++) {
    ids.push(String(i));
    metadata.push(rowMetadata(i));
  }
  return encodeArrowBatch({ ids, dimension: base.dim, vectors: base.data.subarray(start * base.dim, end * base.dim), metadata });
}

/** Notes when the server's contents or configuration cannot give the recall this run expects. */
async function checkServerStats(target: ServerTarget, options: LoadOptions, notes: string[]): Promise<void> {
  // Stats are advisory: a server without them still gets benchmarked.
  const s = await targetStats(target);
  if (!s) return;
  const active = typeof s.active_vectors === 'number' ? s.active_vectors : s.total_vectors;
  if (typeof active === 'number' && active !== options.base.count) {
    notes.push(`the server holds ${active} vectors, the dataset ${options.base.count}: recall is measured against the dataset only`);
  }
  if (typeof s.dimension === 'number' && s.dimension !== options.base.dim) {
    notes.push(`the server's dimension is ${s.dimension}, the dataset's ${options.base.dim}`);
  }
  if (typeof s.metric === 'string' && s.metric !== options.metric) {
    notes.push(`the server's metric is ${s.metric} but --metric is ${options.metric}: recall will be wrong`);
  }
}

interface QueryAnswer {
  ids: number[];
  stats: Record<string, unknown> | undefined;
}

/** One query transport: sends query `index` and resolves with its answer, or rejects with a VecStoreError. */
interface QueryClient {
  query(index: number): Promise<QueryAnswer>;
  close(): Promise<void>;
}

function parseId(id: unknown): number {
  const n = typeof id === 'string' ? Number(id) : typeof id === 'number' ? id : Number.NaN;
  return Number.isInteger(n) ? n : -1;
}

function toAnswer(answer: { results: { id: unknown }[]; stats?: Record<string, unknown> }): QueryAnswer {
  return { ids: answer.results.map((r) => parseId(r.id)), stats: answer.stats };
}

/** HTTP through the client, one request in flight; fetch's keep-alive pool gives each such client its own connection. */
function httpClient(data: CollectionClient, requests: QueryInput[]): QueryClient {
  return {
    query: async (index) => toAnswer(await data.query(requests[index])),
    close: async () => {},
  };
}

/** HTTP through the lean load generator: one keep-alive connection, each query's request encoded once. */
function rawHttpClient(target: ServerTarget, requests: QueryInput[]): QueryClient {
  const base = new URL(target.url);
  if (base.protocol !== 'http:') throw new LoadError(`the raw HTTP load generator speaks http:// only, not ${base.protocol}`);
  // The same prefix as the client's collection handle (see targetClient).
  const prefix = base.pathname.replace(/\/+$/, '') + (target.collection === undefined ? '/v1' : `/v1/collections/${encodeURIComponent(target.collection)}`);
  const encoded = requests.map((r) => encodeRequest(searchRequest(`${prefix}/query`, r), base.host, target.apiKey));
  const connection = new RawConnection(Number(base.port || 80), base.hostname.replace(/^\[|\]$/g, ''));
  return {
    query: async (index) => toAnswer(JSON.parse((await connection.send(encoded[index])).toString('utf8'))),
    close: async () => connection.close(),
  };
}

/** The client's query stream: one WebSocket, answers paired with queries by request_id, several in flight. */
async function wsClient(data: CollectionClient, requests: QueryInput[], pipeline: number): Promise<QueryClient> {
  let stream: QueryStream;
  try {
    stream = await data.queryStream({ maxInFlight: pipeline });
  } catch (err) {
    throw new LoadError(`cannot open the query stream: ${failureText(err)}`);
  }
  return {
    query: async (index) => toAnswer(await stream.query(requests[index])),
    close: () => stream.close(),
  };
}

/** Percentiles by nearest rank over sorted latencies. */
function summarise(latencies: Float64Array): LatencySummary {
  if (latencies.length === 0) return { p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  const s = latencies.slice().sort();
  const at = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  let sum = 0;
  for (const v of s) sum += v;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s[s.length - 1], mean: sum / s.length };
}

/**
 * The query phase: `concurrency` clients (× `pipeline` on WebSocket) each keep one request in flight, round-robin
 * over the query set, for `durationSec` or `count` queries, after `warmup` unmeasured ones.
 */
export async function runQueries(
  target: ServerTarget,
  options: LoadOptions,
  truth: ReturnType<typeof prepareGroundTruth>,
): Promise<QueryReport> {
  const { queries, k, protocol } = options;
  const concurrency = options.concurrency;
  const pipeline = protocol === 'ws' ? Math.max(1, options.pipeline ?? 1) : 1;
  const progress = options.progress ?? true;
  const nq = queries.count;
  const dim = queries.dim;
  // Build each request once: the client shares the machine with the server, so its per-request work must be small.
  // JSON arrays by default (the wire bytes of earlier runs), Float32Arrays with `binary` (raw float32 / binary frames).
  const requests: QueryInput[] = [];
  for (let i = 0; i < nq; i++) {
    const row = queries.data.subarray(i * dim, (i + 1) * dim);
    const request: Record<string, unknown> = { vector: options.binary ? Float32Array.from(row) : Array.from(row), limit: k };
    if (options.filter) request.filter = options.filter;
    Object.assign(request, options.extraBody ?? {});
    requests.push(request as unknown as QueryInput);
  }

  // Queries are measured without retries: a refused query counts as an error (see targetClient).
  const { data } = targetClient(target, { measured: true });
  const clients: QueryClient[] = [];
  try {
    for (let c = 0; c < concurrency; c++) {
      if (protocol === 'ws') clients.push(await wsClient(data, requests, pipeline));
      else clients.push(options.httpClient === 'raw' ? rawHttpClient(target, requests) : httpClient(data, requests));
    }

    const firstAnswer: (number[] | null)[] = new Array<number[] | null>(nq).fill(null);
    const statSums = new Map<string, number>();
    let statCount = 0;
    let latencies = new Float64Array(1 << 16);
    let measured = 0;
    let errors = 0;
    const errorSamples = new Set<string>();
    let issued = 0;

    const warmup = options.warmup ?? 0;
    const useCount = options.count !== undefined;
    const durationMs = (options.durationSec ?? 10) * 1000;
    const total = useCount ? (options.count as number) : Number.POSITIVE_INFINITY;
    let phaseStart = 0;
    let deadline = Number.POSITIVE_INFINITY;

    // Warmup: the same loop shape, results discarded.
    if (warmup > 0) {
      let w = 0;
      const warm = async (client: QueryClient): Promise<void> => {
        while (w < warmup) {
          const i = w++ % nq;
          await client.query(i).catch(() => undefined);
        }
      };
      await Promise.all(clients.flatMap((c) => Array.from({ length: pipeline }, () => warm(c))));
    }

    const bar = useCount
      ? startProgress(progress, `${protocol} query`, total, 'queries')
      : startProgress(progress, `${protocol} query`, Math.round(durationMs / 1000), 's');
    const tick = setInterval(() => {
      bar.update(useCount ? measured + errors : Math.min(Math.round(durationMs / 1000), Math.floor((performance.now() - phaseStart) / 1000)));
    }, 250);

    const loop = async (client: QueryClient): Promise<void> => {
      for (;;) {
        if (issued >= total || performance.now() >= deadline) return;
        const i = issued++ % nq;
        const t0 = performance.now();
        let answer: QueryAnswer;
        try {
          answer = await client.query(i);
        } catch (err) {
          errors++;
          if (errorSamples.size < 5) errorSamples.add(failureText(err));
          // A dead socket fails instantly; stop this loop rather than spin through the remaining budget.
          if (err instanceof VecStoreError && err.code === 'closed') return;
          continue;
        }
        const ms = performance.now() - t0;
        if (measured === latencies.length) {
          const grown = new Float64Array(latencies.length * 2);
          grown.set(latencies);
          latencies = grown;
        }
        latencies[measured++] = ms;
        if (firstAnswer[i] === null) firstAnswer[i] = answer.ids;
        if (answer.stats) {
          statCount++;
          for (const [key, v] of Object.entries(answer.stats)) {
            if (typeof v === 'number' && Number.isFinite(v)) statSums.set(key, (statSums.get(key) ?? 0) + v);
          }
        }
      }
    };
    phaseStart = performance.now();
    deadline = useCount ? Number.POSITIVE_INFINITY : phaseStart + durationMs;
    try {
      await Promise.all(clients.flatMap((c) => Array.from({ length: pipeline }, () => loop(c))));
    } finally {
      clearInterval(tick);
      bar.update(useCount ? measured + errors : Math.round(durationMs / 1000));
      bar.stop();
    }
    const seconds = (performance.now() - phaseStart) / 1000;

    const serverStats: Record<string, number> = {};
    for (const [key, sum] of statSums) serverStats[key] = sum / statCount;
    let recall: QueryReport['recall'] = null;
    if (truth) {
      const r = recallAtK(firstAnswer, truth.truth, k, truth.tieDistance);
      if (r.evaluated > 0) recall = { k, value: r.recall, queriesEvaluated: r.evaluated, source: truth.source };
    }
    return {
      protocol,
      vectors: options.binary ? 'float32' : 'json',
      ...(protocol === 'http' ? { httpClient: options.httpClient ?? 'sdk' } : {}),
      concurrency,
      pipeline,
      queries: measured,
      errors,
      errorSamples: [...errorSamples],
      seconds,
      qps: measured / seconds,
      latencyMs: summarise(latencies.subarray(0, measured)),
      serverStats,
      prunedFraction: prunedFraction(serverStats),
      recall,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

/**
 * The pruning the server reports in its query stats, as a fraction of rows: a `*pruned*fraction*` field as is, or a
 * `*pruned*` count over `total_candidates` / `*scanned*`.
 */
function prunedFraction(stats: Record<string, number>): number | null {
  const keys = Object.keys(stats);
  const frac = keys.find((k) => /prun/i.test(k) && /(fraction|ratio)/i.test(k));
  if (frac) return stats[frac];
  const count = keys.find((k) => /prun/i.test(k));
  const denom = stats.total_candidates ?? stats[keys.find((k) => /scann|rows/i.test(k) && !/prun/i.test(k)) ?? ''];
  if (count && denom) return stats[count] / denom;
  return null;
}

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** The human report: a small table per phase. */
export function formatLoadReport(r: LoadReport): string {
  const lines: string[] = [];
  const q = r.query;
  lines.push(
    `VecStore load: ${r.dataset.vectors} × ${r.dataset.dim} (${r.dataset.metric}), ${r.dataset.queries} queries, k = ${r.k}` +
      (r.filter ? `, filter ${JSON.stringify(r.filter)}` : '') +
      ` → ${r.url}${r.collection !== null ? ` collection ${r.collection}` : ''}`,
  );
  lines.push('');
  if (r.ingest) {
    lines.push(`${'ingest'.padEnd(13)}${r.ingest.vectors} vectors in ${fmt(r.ingest.seconds, 2)} s = ${fmt(r.ingest.vectorsPerSec, 0)} vectors/s, ${r.ingest.errors} rejected`);
  }
  const rows: [string, string][] = [
    ['protocol', `${q.protocol} (${q.concurrency} clients${q.pipeline > 1 ? ` × ${q.pipeline} in flight` : ''}${q.httpClient === 'raw' ? ', raw HTTP/1.1 load generator' : ''}), vectors as ${q.vectors === 'json' ? 'JSON' : 'raw float32'}`],
    ['queries', `${q.queries} in ${fmt(q.seconds, 2)} s`],
    ['QPS', fmt(q.qps, 1)],
    ['latency ms', `p50 ${fmt(q.latencyMs.p50, 2)}  p95 ${fmt(q.latencyMs.p95, 2)}  p99 ${fmt(q.latencyMs.p99, 2)}  max ${fmt(q.latencyMs.max, 2)}`],
    ['errors', String(q.errors) + (q.errorSamples.length ? `  (${q.errorSamples.join('; ')})` : '')],
    [
      `recall@${r.k}`,
      q.recall ? `${q.recall.value.toFixed(4)} over ${q.recall.queriesEvaluated} queries (${q.recall.source === 'file' ? 'ground-truth file' : 'exact, computed on the client'})` : 'n/a',
    ],
  ];
  if (q.prunedFraction !== null) rows.push(['pruned', `${(q.prunedFraction * 100).toFixed(1)}% of rows`]);
  const statText = Object.entries(q.serverStats).map(([k, v]) => `${k} ${fmt(v, 2)}`).join(', ');
  if (statText) rows.push(['server stats', `mean per query: ${statText}`]);
  for (const [k, v] of rows) lines.push(`${k.padEnd(13)}${v}`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}
