// `vecstore bench compare`: the same data and queries through a VecStore server it starts, usearch's exact search and hnswlib-node.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { HierarchicalNSW } from 'hnswlib-node';
import { exactSearch, MetricKind, type BatchMatches, type Matches } from 'usearch';
import type { MetricName } from '../src/distance/metric.js';
import type { Dataset } from './datasets.js';
import { prepareForMetric, recallAtK, type GroundTruth } from './ground-truth.js';
import {
  LoadError,
  checkReachable,
  ingestDataset,
  prepareGroundTruth,
  runQueries,
  startProgress,
  type IngestReport,
  type LoadOptions,
  type Protocol,
  type QueryReport,
} from './load-runner.js';

/** HNSW build and search parameters for the hnswlib-node baseline. */
export interface HnswParams {
  m: number;
  efConstruction: number;
  ef: number;
}

/** Everything a comparison needs; datasets are already read and checked by the caller. */
export interface CompareOptions {
  base: Dataset;
  queries: Dataset;
  groundTruth?: GroundTruth | null;
  k: number;
  metric: MetricName;
  /** Concurrent VecStore clients (default 32). */
  concurrency: number;
  /** VecStore query phase length per protocol: seconds, or a query count. */
  durationSec?: number;
  count?: number;
  /** Unmeasured VecStore queries before each protocol's phase. */
  warmup: number;
  /** Server workers and usearch threads: the same number, so the comparison is per core. */
  threads: number;
  /** Protocols to measure VecStore with, in order. */
  protocols: Protocol[];
  /** Use this running server instead of starting one (it must be empty or hold exactly this dataset). */
  url?: string;
  /** Timed runs of the library baselines (the median is reported), after one untimed warm run. */
  repeat: number;
  usearch: boolean;
  hnsw: HnswParams | null;
  seed: number;
  progress: boolean;
}

/** One engine's line in the comparison. */
export interface EngineResult {
  engine: string;
  search: 'exact' | 'approximate';
  threads: number;
  clients: string;
  qps: number;
  recall: number | null;
  latencyMs: { p50: number; p99: number } | null;
  /** Extra facts: build time, parameters, errors, pruning. */
  details: Record<string, unknown>;
}

/** The whole comparison. */
export interface CompareReport {
  dataset: { vectors: number; queries: number; dim: number; metric: MetricName; k: number };
  threads: number;
  engines: EngineResult[];
  /** QPS ratios, e.g. "VecStore HTTP / usearch exact". */
  ratios: Record<string, number>;
  vecstore: { ingest: IngestReport | null; queries: QueryReport[] };
  notes: string[];
}

const require = createRequire(import.meta.url);

/** Median of a non-empty list. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs every engine on the same data and returns the side-by-side report. */
export async function runCompare(options: CompareOptions): Promise<CompareReport> {
  const { base, queries, k, metric } = options;
  const notes: string[] = [];
  const engines: EngineResult[] = [];

  // Ground truth first, alone on the machine, like every CPU-bound baseline below: the server starts only afterwards.
  const truth = prepareGroundTruth({ base, queries, k, metric, groundTruth: options.groundTruth, progress: options.progress }, notes);
  if (!truth) throw new LoadError('cannot compute the ground truth');
  const recallOf = (found: number[][]): number => recallAtK(found, truth.truth, k, truth.tieDistance).recall;

  if (options.usearch) engines.push(runUsearch(options, recallOf));
  if (options.hnsw) engines.push(runHnsw(options, options.hnsw, recallOf));

  const vecstore = await runVecStore(options, truth, notes);
  engines.push(...vecstore.engines);

  const ratios: Record<string, number> = {};
  const us = engines.find((e) => e.engine === 'usearch exactSearch');
  const http = engines.find((e) => e.engine === 'VecStore HTTP');
  const ws = engines.find((e) => e.engine === 'VecStore WebSocket');
  const hn = engines.find((e) => e.engine.startsWith('hnswlib'));
  if (us && http) ratios['VecStore HTTP / usearch exact'] = http.qps / us.qps;
  if (us && ws) ratios['VecStore WebSocket / usearch exact'] = ws.qps / us.qps;
  if (http && ws) ratios['VecStore WebSocket / VecStore HTTP'] = ws.qps / http.qps;
  if (hn && http) ratios['VecStore HTTP / hnswlib HNSW'] = http.qps / hn.qps;

  return {
    dataset: { vectors: base.count, queries: queries.count, dim: base.dim, metric, k },
    threads: options.threads,
    engines,
    ratios,
    vecstore: { ingest: vecstore.ingest, queries: vecstore.queries },
    notes,
  };
}

/** usearch's exact (brute-force) search: every query in one batch, `threads` threads. */
function runUsearch(options: CompareOptions, recallOf: (found: number[][]) => number): EngineResult {
  const { k, metric } = options;
  // VecStore stores unit vectors for cosine and scans with dot; give usearch the same work (IP on unit vectors).
  const b = prepareForMetric(options.base, metric);
  const q = prepareForMetric(options.queries, metric);
  const kind = metric === 'euclidean' ? MetricKind.L2sq : MetricKind.IP;
  const search = (): BatchMatches | Matches => exactSearch(b.data, q.data, b.dim, k, kind, options.threads);
  const bar = startProgress(options.progress, 'usearch', options.repeat + 1, 'runs');
  search();
  bar.update(1);
  const times: number[] = [];
  let last: BatchMatches | Matches = search();
  for (let r = 0; r < options.repeat; r++) {
    const t0 = performance.now();
    last = search();
    times.push((performance.now() - t0) / 1000);
    bar.update(r + 2);
  }
  bar.stop();
  const found: number[][] = [];
  if (q.count === 1) {
    found.push(Array.from(last.keys, Number));
  } else {
    const batch = last as BatchMatches;
    for (let i = 0; i < q.count; i++) {
      const n = Number(batch.counts[i]);
      found.push(Array.from(batch.keys.subarray(i * k, i * k + n), Number));
    }
  }
  const seconds = median(times);
  return {
    engine: 'usearch exactSearch',
    search: 'exact',
    threads: options.threads,
    clients: `1 batch of ${q.count}`,
    qps: q.count / seconds,
    recall: recallOf(found),
    latencyMs: null,
    details: { metricKind: kind, batchSeconds: seconds, runs: times.length },
  };
}

/** hnswlib-node's HNSW index: built once, then searched one query at a time on this thread. */
function runHnsw(options: CompareOptions, params: HnswParams, recallOf: (found: number[][]) => number): EngineResult {
  const { k, metric } = options;
  const hnswlib = require('hnswlib-node') as typeof import('hnswlib-node');
  const b = prepareForMetric(options.base, metric);
  const q = prepareForMetric(options.queries, metric);
  const dim = b.dim;
  const index: HierarchicalNSW = new hnswlib.HierarchicalNSW(metric === 'euclidean' ? 'l2' : 'ip', dim);
  index.initIndex(b.count, params.m, params.efConstruction, options.seed);
  const bar = startProgress(options.progress, 'hnsw build', b.count, 'vectors');
  const t0 = performance.now();
  for (let i = 0; i < b.count; i++) {
    // The binding accepts only plain arrays.
    index.addPoint(Array.from(b.data.subarray(i * dim, (i + 1) * dim)), i);
    if ((i & 255) === 0) bar.update(i);
  }
  bar.update(b.count);
  bar.stop();
  const buildSeconds = (performance.now() - t0) / 1000;
  index.setEf(Math.max(params.ef, k));
  const qs: number[][] = [];
  for (let i = 0; i < q.count; i++) qs.push(Array.from(q.data.subarray(i * dim, (i + 1) * dim)));
  const found: number[][] = qs.map((v) => index.searchKnn(v, k).neighbors);
  const times: number[] = [];
  const latencies: number[] = [];
  for (let r = 0; r < options.repeat; r++) {
    const t1 = performance.now();
    for (const v of qs) {
      const s = performance.now();
      index.searchKnn(v, k);
      latencies.push(performance.now() - s);
    }
    times.push((performance.now() - t1) / 1000);
  }
  latencies.sort((x, y) => x - y);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)];
  const seconds = median(times);
  return {
    engine: 'hnswlib-node HNSW',
    search: 'approximate',
    threads: 1,
    clients: '1, sequential',
    qps: q.count / seconds,
    recall: recallOf(found),
    latencyMs: { p50: pct(0.5), p99: pct(0.99) },
    details: { m: params.m, efConstruction: params.efConstruction, ef: Math.max(params.ef, k), buildSeconds },
  };
}

/** A free TCP port on the loopback interface (released just before the server binds it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The repository root, from this compiled file's place (dist/bench/compare.js). */
function repoRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}

function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no server log)';
  }
}

/** A VecStore server started as a child process for the run, with its own temporary data directory. */
interface StartedServer {
  url: string;
  stop(): Promise<void>;
}

async function startServer(options: CompareOptions, notes: string[]): Promise<StartedServer> {
  const cli = path.join(repoRoot(), 'dist', 'src', 'cli.js');
  if (!existsSync(cli)) throw new LoadError(`the VecStore server is not built: ${cli} is missing (run npm run build)`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vecstore-compare-'));
  const logFile = path.join(tmp, 'server.log');
  const logFd = openSync(logFile, 'a');
  const port = await freePort();
  const args = [
    cli, 'serve',
    '--host', '127.0.0.1',
    '--port', String(port),
    '--data-dir', path.join(tmp, 'data'),
    '--dimension', String(options.base.dim),
    '--metric', options.metric,
    '--workers', String(options.threads),
    // The runner cycles through a fixed query set; a query cache would turn the scan benchmark into a cache benchmark.
    '--cache-size', '0',
  ];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });
  // Ctrl-C during a long run must not leave a server behind holding the port and the temp dir.
  const onSignal = (): void => {
    child.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);

  const stop = async (): Promise<void> => {
    process.removeListener('SIGINT', onSignal);
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exitPromise;
      clearTimeout(timer);
    }
    rmSync(tmp, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + 60_000;
  for (;;) {
    if (exited) {
      const e = exited as { code: number | null; signal: NodeJS.Signals | null };
      const tail = logTail(logFile);
      await stop();
      throw new LoadError(`the VecStore server exited during startup (code ${e.code ?? e.signal}); its log ends:\n${tail}`);
    }
    try {
      const res = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) {
      const tail = logTail(logFile);
      await stop();
      throw new LoadError(`the VecStore server was not ready within 60 s; its log ends:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  notes.push(`VecStore server: node ${path.relative(process.cwd(), cli) || cli} ${args.slice(1).join(' ')}`);
  return { url, stop };
}

async function runVecStore(
  options: CompareOptions,
  truth: NonNullable<ReturnType<typeof prepareGroundTruth>>,
  notes: string[],
): Promise<{ engines: EngineResult[]; ingest: IngestReport | null; queries: QueryReport[] }> {
  let server: StartedServer | null = null;
  let url = options.url?.replace(/\/+$/, '');
  if (!url) {
    server = await startServer(options, notes);
    url = server.url;
  } else {
    await checkReachable(url);
  }
  try {
    const ingest = await ingestDataset({ url }, options.base, { progress: options.progress });
    const engines: EngineResult[] = [];
    const reports: QueryReport[] = [];
    for (const protocol of options.protocols) {
      const lo: LoadOptions = {
        url,
        base: options.base,
        queries: options.queries,
        k: options.k,
        metric: options.metric,
        protocol,
        concurrency: options.concurrency,
        durationSec: options.durationSec,
        count: options.count,
        warmup: options.warmup,
        progress: options.progress,
      };
      const r = await runQueries({ url }, lo, truth);
      reports.push(r);
      engines.push({
        engine: protocol === 'http' ? 'VecStore HTTP' : 'VecStore WebSocket',
        search: 'exact',
        threads: options.threads,
        clients: `${r.concurrency} concurrent`,
        qps: r.qps,
        recall: r.recall ? r.recall.value : null,
        latencyMs: { p50: r.latencyMs.p50, p99: r.latencyMs.p99 },
        details: {
          queries: r.queries,
          errors: r.errors,
          ...(r.errorSamples.length ? { errorSamples: r.errorSamples } : {}),
          ...(r.prunedFraction !== null ? { prunedFraction: r.prunedFraction } : {}),
          serverStats: r.serverStats,
        },
      });
    }
    return { engines, ingest, queries: reports };
  } finally {
    await server?.stop();
  }
}

const f = (n: number | null | undefined, d: number): string => (n === null || n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(d));

/** The human report: one line per engine, then the ratios. */
export function formatCompareReport(r: CompareReport): string {
  const d = r.dataset;
  const out: string[] = [];
  out.push(`bench compare: ${d.vectors} × ${d.dim} (${d.metric}), ${d.queries} queries, k = ${d.k}, ${r.threads} threads`);
  if (r.vecstore.ingest) {
    const i = r.vecstore.ingest;
    out.push(`VecStore ingest: ${f(i.vectorsPerSec, 0)} vectors/s (${f(i.seconds, 1)} s, ${i.errors} rejected)`);
  }
  out.push('');
  const head = ['engine', 'search', 'threads', 'clients', 'QPS', `recall@${d.k}`, 'p50 ms', 'p99 ms', 'notes'];
  const rows = r.engines.map((e) => {
    const extra: string[] = [];
    if (typeof e.details.prunedFraction === 'number') extra.push(`pruned ${(e.details.prunedFraction * 100).toFixed(1)}%`);
    if (typeof e.details.errors === 'number' && e.details.errors > 0) extra.push(`${e.details.errors} errors`);
    if (typeof e.details.buildSeconds === 'number') {
      extra.push(`M=${e.details.m} efC=${e.details.efConstruction} ef=${e.details.ef}, build ${f(e.details.buildSeconds, 1)} s`);
    }
    return [e.engine, e.search, String(e.threads), e.clients, f(e.qps, 1), f(e.recall, 4), f(e.latencyMs?.p50, 2), f(e.latencyMs?.p99, 2), extra.join(', ')];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]): string =>
    cells.map((cell, c) => (c === 2 || (c >= 4 && c <= 7) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  out.push(line(head));
  out.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) out.push(line(row));
  if (Object.keys(r.ratios).length) out.push('');
  for (const [name, v] of Object.entries(r.ratios)) out.push(`${name}: ${v.toFixed(2)}×`);
  for (const e of r.engines) {
    for (const s of (e.details.errorSamples as string[] | undefined) ?? []) out.push(`${e.engine} error: ${s}`);
  }
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join('\n');
}
