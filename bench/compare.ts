// `vecstore bench compare`: the same data and queries through a VecStore server it starts, usearch's exact search and hnswlib-node.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { exactSearch, MetricKind, type BatchMatches, type Matches } from 'usearch';
import type { MetricName } from '../src/distance/metric.js';
import type { Dataset } from './datasets.js';
import { prepareForMetric, recallAtK, type GroundTruth } from './ground-truth.js';
import { bestQpsAt, hnswlibCurve, usearchCurve, type BaselineCurve, type SweepPoint } from './ann-baselines.js';
import { recallQpsSvg } from './recall-curve-svg.js';
import { writeFileSync } from 'node:fs';
import { LoadError, checkReachable } from './load-target.js';
import {
  ingestDataset,
  prepareGroundTruth,
  runQueries,
  startProgress,
  type HttpClientKind,
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
  /**
   * Send VecStore's query vectors as raw float32 (HTTP bodies, WebSocket binary frames), as the TypeScript client sends
   * a Float32Array, instead of JSON arrays: the libraries are handed Float32Arrays too.
   */
  binary?: boolean;
  /** What sends VecStore's HTTP queries (see LoadOptions.httpClient). */
  httpClient?: HttpClientKind;
  /** Use this running server instead of starting one (it must be empty or hold exactly this dataset). */
  url?: string;
  /** Timed runs of the library baselines (the median is reported), after one untimed warm run. */
  repeat: number;
  usearch: boolean;
  /** usearch's HNSW with `threads` threads (the moonshot baseline). */
  usearchHnsw: boolean;
  hnsw: HnswParams | null;
  /** Search breadths swept for every approximate engine. */
  efSweep: number[];
  /** Where to write the recall/QPS picture (SVG), if anywhere. */
  svg?: string;
  /** Measure a restart of the VecStore server (time to ready with its graph loaded, and recall after). */
  restart: boolean;
  /** Recall targets to query VecStore with (`"recall"` in the body), each compared with the recall measured. */
  recallTargets: number[];
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

/** VecStore's index build and restart, as the goals measure them. */
export interface IndexTimings {
  /** From the first batch sent to every row in the graph. */
  buildSeconds: number | null;
  /** From the restarted process's spawn to /ready with the graph loaded (null when not measured). */
  restartSeconds: number | null;
  restartRecall: number | null;
}

/** One recall target: what it asked for, what it got, and what the server's own audits said it got. */
export interface RecallTargetResult {
  target: number;
  measured: number | null;
  qps: number;
  /** Mean ef the server chose (from the answers' stats). */
  ef: number | null;
  expected: number | null;
  /** Mean of the server's recall audits during this target's phase (from its /metrics), and how many. */
  serverEstimate: number | null;
  audits: number;
}

/** The whole comparison. */
export interface CompareReport {
  recallTargets: RecallTargetResult[];
  curves: BaselineCurve[];
  index: IndexTimings;
  dataset: { vectors: number; queries: number; dim: number; metric: MetricName; k: number };
  threads: number;
  engines: EngineResult[];
  /** QPS ratios, e.g. "VecStore HTTP / usearch exact". */
  ratios: Record<string, number>;
  vecstore: { ingest: IngestReport | null; queries: QueryReport[] };
  notes: string[];
}

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
  const curves: BaselineCurve[] = [];
  const baseline = { base, queries, k, metric, efSweep: options.efSweep, repeat: options.repeat, seed: options.seed, progress: options.progress, recallOf };
  if (options.hnsw) curves.push(hnswlibCurve({ ...baseline, m: options.hnsw.m, efConstruction: options.hnsw.efConstruction }));
  if (options.usearchHnsw) curves.push(usearchCurve({ ...baseline, m: options.hnsw?.m ?? 16, efConstruction: options.hnsw?.efConstruction ?? 200 }, options.threads));

  const vecstore = await runVecStore(options, truth, notes);
  engines.push(...vecstore.engines);
  curves.unshift(vecstore.curve);

  const ratios: Record<string, number> = {};
  const us = engines.find((e) => e.engine === 'usearch exactSearch');
  const http = engines.find((e) => e.engine === 'VecStore HTTP');
  const ws = engines.find((e) => e.engine === 'VecStore WebSocket');
  if (us && http) ratios['VecStore HTTP (default search) / usearch exact'] = http.qps / us.qps;
  if (http && ws) ratios['VecStore WebSocket / VecStore HTTP'] = ws.qps / http.qps;
  const ours = bestQpsAt(vecstore.curve.points, 0.99);
  for (const curve of curves.slice(1)) {
    const theirs = bestQpsAt(curve.points, 0.99);
    if (ours && theirs) ratios[`VecStore HTTP / ${curve.engine} (best QPS at recall@${k} ≥ 0.99)`] = ours.qps / theirs.qps;
    if (curve.engine.startsWith('hnswlib') && vecstore.index.buildSeconds !== null) {
      ratios[`VecStore index build time / ${curve.engine} build time`] = vecstore.index.buildSeconds / curve.buildSeconds;
    }
  }
  if (vecstore.index.buildSeconds !== null && vecstore.index.restartSeconds !== null) {
    ratios['VecStore restart time / VecStore build time'] = vecstore.index.restartSeconds / vecstore.index.buildSeconds;
  }
  if (options.svg) {
    writeFileSync(options.svg, recallQpsSvg(`${base.count} × ${base.dim} ${metric}, k = ${k}, ${options.threads} threads`, curves.map((c) => ({ name: `${c.engine} (${c.threads} thr)`, points: c.points }))));
    notes.push(`recall/QPS picture written to ${options.svg}`);
  }

  return {
    dataset: { vectors: base.count, queries: queries.count, dim: base.dim, metric, k },
    threads: options.threads,
    engines,
    curves,
    index: vecstore.index,
    recallTargets: vecstore.recallTargets,
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
  /** Stops the server gracefully and starts it again on the same data; resolves with the seconds from spawn to ready. */
  restart(): Promise<number>;
  stop(): Promise<void>;
}

async function startServer(options: CompareOptions, notes: string[]): Promise<StartedServer> {
  const cli = path.join(repoRoot(), 'dist', 'src', 'cli.js');
  if (!existsSync(cli)) throw new LoadError(`the VecStore server is not built: ${cli} is missing (run npm run build)`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vecstore-compare-'));
  const logFile = path.join(tmp, 'server.log');
  const port = await freePort();
  const args = [
    cli, 'serve',
    '--host', '127.0.0.1',
    '--port', String(port),
    '--data-dir', path.join(tmp, 'data'),
    '--dimension', String(options.base.dim),
    '--metric', options.metric,
    '--workers', String(options.threads),
    // The runner cycles through a fixed query set; a query cache would turn the search benchmark into a cache benchmark.
    '--cache-size', '0',
    // Recall audits at the default pace (each is an exact search, taken from the same cores as the measured queries),
    // but never skipped for want of a sample, so each recall target's phase has its own estimate.
    ...(options.recallTargets.length > 0 ? ['--recall-sample-rate', '1'] : []),
  ];
  let child: ChildProcess;
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  let exitPromise: Promise<void> = Promise.resolve();
  const spawnChild = (): void => {
    const logFd = openSync(logFile, 'a');
    child = spawn(process.execPath, args, { stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    exited = null;
    exitPromise = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        exited = { code, signal };
        resolve();
      });
    });
  };
  // Ctrl-C during a long run must not leave a server behind holding the port and the temp dir.
  const onSignal = (): void => {
    child.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);

  const halt = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      // A graceful stop writes a checkpoint with the graph: give it time.
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      await exitPromise;
      clearTimeout(timer);
    }
  };
  const stop = async (): Promise<void> => {
    process.removeListener('SIGINT', onSignal);
    await halt();
    rmSync(tmp, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}`;
  const waitReady = async (): Promise<void> => {
    const deadline = performance.now() + 600_000;
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
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (performance.now() > deadline) {
        const tail = logTail(logFile);
        await stop();
        throw new LoadError(`the VecStore server was not ready within 600 s; its log ends:\n${tail}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  spawnChild();
  await waitReady();
  notes.push(`VecStore server: node ${path.relative(process.cwd(), cli) || cli} ${args.slice(1).join(' ')}`);
  const restart = async (): Promise<number> => {
    await halt();
    const t0 = performance.now();
    spawnChild();
    await waitReady();
    await waitIndexed(url);
    return (performance.now() - t0) / 1000;
  };
  return { url, restart, stop };
}

/** The server's recall audits so far: sum and count of `vecstore_index_recall` over every type. */
async function auditTotals(url: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    const m = /^vecstore_index_recall_(sum|count)\{[^}]*\} ([0-9.eE+-]+)$/.exec(line);
    if (m) {
      if (m[1] === 'sum') sum += Number(m[2]);
      else count += Number(m[2]);
    }
  }
  return { sum, count };
}

/** Polls /v1/stats until every row is in the graph (or the server runs flat). */
async function waitIndexed(url: string): Promise<void> {
  for (;;) {
    const stats = (await (await fetch(`${url}/v1/stats`)).json()) as { index?: string; pending_vectors?: number; active_vectors?: number; indexed_vectors?: number };
    if (stats.index !== 'hnsw' || (stats.pending_vectors === 0 && (stats.indexed_vectors ?? 0) >= (stats.active_vectors ?? 0))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls /v1/stats until the recall table was measured on real queries (at most 60 s; flat servers have none). */
async function waitCalibratedOnQueries(url: string): Promise<void> {
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    const stats = (await (await fetch(`${url}/v1/stats`)).json()) as { index?: string; recall_table_source?: string | null };
    if (stats.index !== 'hnsw' || stats.recall_table_source === 'queries') return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function runVecStore(
  options: CompareOptions,
  truth: NonNullable<ReturnType<typeof prepareGroundTruth>>,
  notes: string[],
): Promise<{ engines: EngineResult[]; ingest: IngestReport | null; queries: QueryReport[]; curve: BaselineCurve; index: IndexTimings; recallTargets: RecallTargetResult[] }> {
  let server: StartedServer | null = null;
  let url = options.url?.replace(/\/+$/, '');
  if (!url) {
    server = await startServer(options, notes);
    url = server.url;
  } else {
    await checkReachable(url);
  }
  notes.push(
    `VecStore queries sent by ${options.httpClient === 'raw' ? 'a lean HTTP/1.1 load generator (bench/raw-http-load.ts)' : 'the TypeScript client'}, ` +
      `vectors as ${options.binary ? 'raw float32 (as the TypeScript client sends a Float32Array)' : 'JSON arrays'}`,
  );
  try {
    const t0 = performance.now();
    // Arrow batches, the bulk format: the build time then measures indexing rather than JSON parsing. One request in
    // flight, so the rows enter the graph in the order the libraries insert them: an HNSW graph's quality depends on
    // the insertion order (docs/hnsw.md), and batches racing each other would give VecStore a different order each run.
    const ingest = await ingestDataset({ url }, options.base, { progress: options.progress, arrow: true, ingestConcurrency: 1 });
    await waitIndexed(url);
    const index: IndexTimings = { buildSeconds: (performance.now() - t0) / 1000, restartSeconds: null, restartRecall: null };
    const engines: EngineResult[] = [];
    const reports: QueryReport[] = [];
    const baseLoad = (protocol: Protocol, extraBody: Record<string, unknown>): LoadOptions => ({
      url: url!,
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
      extraBody,
      binary: options.binary,
      httpClient: options.httpClient,
    });
    const measure = (protocol: Protocol, extraBody: Record<string, unknown>): Promise<QueryReport> => runQueries({ url: url! }, baseLoad(protocol, extraBody), truth);
    // The server measures its recall table again once it has seen 100 real queries (a few seconds of pool work):
    // send them first and let that finish, so that no measured phase shares the pool with it.
    await runQueries({ url }, { ...baseLoad('http', {}), durationSec: undefined, count: 128, warmup: 0, progress: false }, truth);
    await waitCalibratedOnQueries(url);
    for (const protocol of options.protocols) {
      const r = await measure(protocol, {});
      reports.push(r);
      engines.push(engineLine(protocol === 'http' ? 'VecStore HTTP' : 'VecStore WebSocket', options, r));
    }
    const points: SweepPoint[] = [];
    for (const ef of options.efSweep) {
      const r = await measure('http', { ef: Math.max(ef, options.k) });
      points.push({ ef, qps: r.qps, recall: r.recall?.value ?? 0, p50Ms: r.latencyMs.p50, p99Ms: r.latencyMs.p99 });
    }
    const recallTargets: RecallTargetResult[] = [];
    for (const target of options.recallTargets) {
      const before = await auditTotals(url);
      const r = await measure('http', { recall: target });
      const after = await auditTotals(url);
      const audits = after.count - before.count;
      recallTargets.push({
        target,
        measured: r.recall?.value ?? null,
        qps: r.qps,
        ef: r.serverStats.ef ?? null,
        expected: r.serverStats.expected_recall ?? null,
        serverEstimate: audits > 0 ? (after.sum - before.sum) / audits : null,
        audits,
      });
    }
    if (server && options.restart) {
      index.restartSeconds = await server.restart();
      const r = await measure('http', {});
      index.restartRecall = r.recall?.value ?? null;
    }
    const curve: BaselineCurve = { engine: 'VecStore HTTP', threads: options.threads, buildSeconds: index.buildSeconds ?? 0, params: {}, points };
    return { engines, ingest, queries: reports, curve, index, recallTargets };
  } finally {
    await server?.stop();
  }
}

function engineLine(name: string, options: CompareOptions, r: QueryReport): EngineResult {
  return {
    engine: name,
    search: r.serverStats.distance_computations !== undefined && r.serverStats.distance_computations < options.base.count / 2 ? 'approximate' : 'exact',
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
  };
}

const f = (n: number | null | undefined, d: number): string => (n === null || n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(d));

/** The human report: one line per engine, then the ratios. */
export function formatCompareReport(r: CompareReport): string {
  const d = r.dataset;
  const out: string[] = [];
  out.push(`bench compare: ${d.vectors} × ${d.dim} (${d.metric}), ${d.queries} queries, k = ${d.k}, ${r.threads} threads, ${os.cpus().length} cores`);
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
  for (const curve of r.curves) {
    out.push('');
    out.push(`${curve.engine} (${curve.threads} thread${curve.threads === 1 ? '' : 's'}), build ${f(curve.buildSeconds, 1)} s`);
    out.push('      ef  recall    QPS');
    for (const p of curve.points) out.push(`${String(p.ef).padStart(8)}  ${f(p.recall, 4)}  ${f(p.qps, 0).padStart(6)}`);
    const best = bestQpsAt(curve.points, 0.99);
    out.push(best ? `  best QPS at recall ≥ 0.99: ${f(best.qps, 0)} (ef ${best.ef})` : '  never reaches recall 0.99 in this sweep');
  }
  if (r.recallTargets.length > 0) {
    out.push('', 'VecStore recall targets (HTTP, "recall" in the query body)');
    out.push('  target  measured recall    QPS   mean ef  expected  server estimate (audits)');
    for (const t of r.recallTargets) {
      out.push(`  ${f(t.target, 3).padStart(6)}  ${f(t.measured, 4).padStart(15)}  ${f(t.qps, 0).padStart(5)}  ${f(t.ef, 0).padStart(8)}  ${f(t.expected, 4).padStart(8)}  ${f(t.serverEstimate, 4)} (${t.audits})`);
    }
  }
  if (r.index.buildSeconds !== null) out.push('', `VecStore: index built ${f(r.index.buildSeconds, 1)} s after the first batch` + (r.index.restartSeconds !== null ? `; restart to ready with the graph ${f(r.index.restartSeconds, 1)} s, recall after ${f(r.index.restartRecall, 4)}` : ''));
  if (Object.keys(r.ratios).length) out.push('');
  for (const [name, v] of Object.entries(r.ratios)) out.push(`${name}: ${v.toFixed(2)}×`);
  for (const e of r.engines) {
    for (const s of (e.details.errorSamples as string[] | undefined) ?? []) out.push(`${e.engine} error: ${s}`);
  }
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join('\n');
}
