// `vecstore bench ingest`: Arrow and JSON batch-upsert rates against the disk bound, query p99 during ingest against
// idle, and `vecstore import` of a Parquet file against Arrow over HTTP, all against real `vecstore serve` processes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
import { encodeArrowBatch } from '../src/ingest/arrow-encode.js';
import { ARROW_STREAM_TYPE } from '../src/ingest/arrow-records.js';
import { encodeRecord } from '../src/persistence/wal.js';
import { requestWhole } from '../src/client/node-http.js';
import { CLI, percentile, startChild, type ChildServer } from './bench-support.js';
import { mulberry32 } from './datasets.js';

export interface IngestBenchOptions {
  rows: number;
  dim: number;
  /** Rows of the JSON runs (JSON at 768-d is slow; its rate needs fewer rows). */
  jsonRows: number;
  batch: number;
  /** Rows per JSON request (a 768-d JSON record is ~14 KB: 5,000 of them would pass the 64 MiB body limit). */
  jsonBatch: number;
  concurrency: number;
  /** Seconds of each idle query measurement. */
  idleSeconds: number;
  /** The servers' vector index (`hnsw` builds its graph in the pool while the ingest runs). */
  index: 'hnsw' | 'flat';
  /**
   * The CLI of another VecStore build (for example the first release's `dist/src/cli.js`): its JSON rate is measured
   * on the same bodies, in the same run, as the reference of the JSON goal.
   */
  baselineCli?: string;
}

const QUERY_CLIENTS = 2;

interface Data {
  dim: number;
  vectors: Float32Array;
}

const metadataOf = (i: number) => ({ i, bucket: i % 10, lang: i % 3 === 0 ? 'fr' : 'en', year: 1990 + (i % 35) });

/** Full-precision random floats in [-1, 1): the case where JSON is slowest and the issue's measurements were made. */
function makeData(rows: number, dim: number): Data {
  const rand = mulberry32(42);
  const vectors = new Float32Array(rows * dim);
  for (let i = 0; i < vectors.length; i++) vectors[i] = rand() * 2 - 1;
  return { dim, vectors };
}

function arrowBatch(data: Data, from: number, to: number): Buffer {
  const ids: string[] = [];
  const metadata: Array<Record<string, unknown>> = [];
  for (let i = from; i < to; i++) {
    ids.push(`v${i}`);
    metadata.push(metadataOf(i));
  }
  const bytes = encodeArrowBatch({ ids, dimension: data.dim, vectors: data.vectors.subarray(from * data.dim, to * data.dim), metadata });
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function jsonBatch(data: Data, from: number, to: number): Buffer {
  const records = [];
  for (let i = from; i < to; i++) records.push({ id: `v${i}`, vector: Array.from(data.vectors.subarray(i * data.dim, (i + 1) * data.dim)), metadata: metadataOf(i) });
  return Buffer.from(JSON.stringify({ records }));
}

/** Request bodies of rows [from, to), encoded before any is timed (a real client encodes on its own machine). */
interface Bodies {
  format: 'arrow' | 'json';
  rows: number;
  list: Buffer[];
}

function encodeBodies(data: Data, from: number, to: number, format: 'arrow' | 'json', batch: number): Bodies {
  const list: Buffer[] = [];
  for (let start = from; start < to; start += batch) {
    const end = Math.min(to, start + batch);
    list.push(format === 'arrow' ? arrowBatch(data, start, end) : jsonBatch(data, start, end));
  }
  return { format, rows: to - from, list };
}

/** Sends the bodies with `concurrency` requests in flight; returns vectors/s. */
async function ingest(url: string, bodies: Bodies, concurrency: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.list.length) {
        const body = bodies.list[next++];
        // node:http, as `vecstore import` sends: fetch would spend more of the shared cores in the client than the server
        // spends on some of the rows.
        const res = await requestWhole(`${url}/v1/batch-upsert`, { method: 'POST', headers: { 'content-type': bodies.format === 'arrow' ? ARROW_STREAM_TYPE : 'application/json' }, body });
        const text = await res.text();
        const answer = JSON.parse(text) as { inserted?: number; updated?: number; errors?: unknown[]; error?: string };
        if (!res.ok || answer.errors?.length) throw new Error(`batch-upsert ${res.status}: ${text.slice(0, 300)}`);
      }
    }),
  );
  return bodies.rows / ((performance.now() - started) / 1000);
}

/** Runs queries with random vectors in a loop until `done` resolves; returns their latencies in ms. */
async function queryLoop(url: string, dim: number, done: Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  let stop = false;
  void done.finally(() => {
    stop = true;
  });
  const rand = mulberry32(7);
  await Promise.all(
    Array.from({ length: QUERY_CLIENTS }, async () => {
      while (!stop) {
        const vector = Array.from({ length: dim }, () => rand() * 2 - 1);
        const started = performance.now();
        const res = await fetch(`${url}/v1/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ vector, limit: 10 }) });
        await res.arrayBuffer();
        if (res.ok) latencies.push(performance.now() - started);
      }
    }),
  );
  return latencies;
}

async function idleP99(url: string, dim: number, seconds: number): Promise<number> {
  return percentile(await queryLoop(url, dim, new Promise((r) => setTimeout(r, seconds * 1000))), 99);
}

async function server(dataDir: string, o: IngestBenchOptions, extra: string[] = []): Promise<ChildServer> {
  return serverOf(CLI, dataDir, ['--index', o.index, ...extra]);
}

/** A `serve` process of the CLI at `cli` on an empty data directory, with the settings every measurement shares. */
function serverOf(cli: string, dataDir: string, extra: string[]): Promise<ChildServer> {
  fs.rmSync(dataDir, { recursive: true, force: true });
  return startChild([cli, 'serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--metric', 'cosine', '--fsync', 'always', ...extra]);
}

/**
 * The disk bound: the log bytes of the same batches (encoded by the log's own encoder) appended to a file with one
 * fdatasync per batch, as `--fsync always` does for a batch that has the disk to itself. Returns vectors/s and MB/s.
 */
function diskBound(data: Data, rows: number, batch: number, dir: string): { vectorsPerSec: number; mbPerSec: number } {
  const records = [];
  for (let i = 0; i < batch; i++) records.push({ id: `v${i}`, vector: data.vectors.subarray(i * data.dim, (i + 1) * data.dim), metadata: metadataOf(i) });
  const frame = encodeRecord({ type: 'upsert', records });
  const file = path.join(dir, 'disk-bound.log');
  const fd = fs.openSync(file, 'w');
  const batches = Math.ceil(rows / batch);
  const started = performance.now();
  for (let b = 0; b < batches; b++) {
    fs.writeSync(fd, frame);
    fs.fdatasyncSync(fd);
  }
  const seconds = (performance.now() - started) / 1000;
  fs.closeSync(fd);
  fs.rmSync(file);
  return { vectorsPerSec: (batches * batch) / seconds, mbPerSec: (batches * frame.length) / 1e6 / seconds };
}

/** A Parquet file of the rows in the layout pyarrow writes for list<float> embeddings (what `vecstore export` writes). */
function writeParquet(file: string, data: Data, rows: number): void {
  const schema = [
    { name: 'root', num_children: 3 },
    { name: 'id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
    { name: 'vector', repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', type: 'FLOAT', repetition_type: 'REQUIRED' },
    { name: 'metadata', type: 'BYTE_ARRAY', converted_type: 'JSON', repetition_type: 'OPTIONAL' },
  ];
  const writer = new ParquetWriter({ writer: fileWriter(file), schema: schema as never, statistics: false });
  const group = 10_000;
  for (let from = 0; from < rows; from += group) {
    const to = Math.min(rows, from + group);
    const ids = [];
    const vectors = [];
    const metadata = [];
    for (let i = from; i < to; i++) {
      ids.push(`v${i}`);
      vectors.push(Array.from(data.vectors.subarray(i * data.dim, (i + 1) * data.dim)));
      metadata.push(metadataOf(i));
    }
    writer.write({ columnData: [{ name: 'id', data: ids }, { name: 'vector', data: vectors }, { name: 'metadata', data: metadata }], rowGroupSize: to - from });
  }
  writer.finish();
}

/** `vecstore import` as a user runs it; returns rows/s measured around the whole command. */
async function importFile(file: string, url: string, o: IngestBenchOptions): Promise<number> {
  const started = performance.now();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [CLI, 'import', file, '--url', url, '--batch-size', String(o.batch), '--concurrency', String(o.concurrency)], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`vecstore import exited with ${code}`);
  return o.rows / ((performance.now() - started) / 1000);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export async function runIngestBenchmark(o: IngestBenchOptions): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vecstore-ingest-bench-'));
  const dataDir = path.join(work, 'data');
  console.log(`ingest bench: ${fmt(o.rows)} × ${o.dim} float32 (full precision) with metadata, --fsync always, batches of ${o.batch} (JSON: ${o.jsonBatch}) encoded before timing, ${o.concurrency} requests in flight, ${QUERY_CLIENTS} query clients; ${os.cpus().length} cores`);
  const data = makeData(o.rows, o.dim);
  const rows: Array<Record<string, string>> = [];
  const row = (measure: string, value: string, note = '') => {
    rows.push({ measure, value, note });
    console.log(`  ${measure}: ${value}${note ? ` (${note})` : ''}`);
  };
  try {
    const disk = diskBound(data, o.rows, o.batch, work);
    row('disk bound (same log bytes, fdatasync per batch)', `${fmt(disk.vectorsPerSec)} vectors/s`, `${fmt(disk.mbPerSec)} MB/s`);

    // The first rows are sent untimed: they pay for worker start-up, JIT and the store's one-off sketch basis (computed
    // once 1,024 rows exist). Bodies are cut by whole batches.
    const bodies = encodeBodies(data, 0, o.rows, 'arrow', o.batch);
    const batches = bodies.list.length;
    const slice = (from: number, to: number): Bodies => ({ format: 'arrow', rows: Math.min(o.rows, to * o.batch) - from * o.batch, list: bodies.list.slice(from, to) });
    const warm = Math.min(Math.ceil(2048 / o.batch), Math.floor(batches / 4));
    const half = Math.floor(batches / 2);
    // Arrow: every row, no queries: the rate of a load, checkpoints of a growing log included, and the reference of
    // `vecstore import`, which loads the same rows.
    let s = await server(dataDir, o);
    let arrowRate: number;
    try {
      await ingest(s.url, slice(0, warm), o.concurrency);
      arrowRate = await ingest(s.url, slice(warm, batches), o.concurrency);
      row('Arrow over HTTP', `${fmt(arrowRate)} vectors/s`, `${Math.round((arrowRate / disk.vectorsPerSec) * 100)} % of the disk bound (rows ${fmt(warm * o.batch)}–${fmt(o.rows)}, no queries)`);
    } finally {
      await s.stop();
    }
    // Queries during ingest: the first half loaded, queries on an idle server, the second half loaded while queries
    // run, queries on an idle server again.
    s = await server(dataDir, o);
    try {
      await ingest(s.url, slice(0, half), o.concurrency);
      const idleHalf = await idleP99(s.url, o.dim, o.idleSeconds);
      const loading = ingest(s.url, slice(half, batches), o.concurrency);
      const [withQueries, latencies] = await Promise.all([loading, queryLoop(s.url, o.dim, loading)]);
      const duringP99 = percentile(latencies, 99);
      const idleFull = await idleP99(s.url, o.dim, o.idleSeconds);
      const halfRows = half * o.batch;
      row('Arrow over HTTP while queries run', `${fmt(withQueries)} vectors/s`, `rows ${fmt(halfRows)}–${fmt(o.rows)}`);
      row('query p99 idle', `${idleHalf.toFixed(1)} ms / ${idleFull.toFixed(1)} ms`, `at ${fmt(halfRows)} / ${fmt(o.rows)} vectors`);
      row('query p99 during Arrow ingest', `${duringP99.toFixed(1)} ms`, `${(duringP99 / idleHalf).toFixed(2)}× idle at ${fmt(halfRows)}, ${(duringP99 / idleFull).toFixed(2)}× at ${fmt(o.rows)} (${fmt(latencies.length)} queries)`);
    } finally {
      await s.stop();
    }

    const jsonRows = Math.min(o.jsonRows, o.rows);
    const jsonBodies = encodeBodies(data, 0, jsonRows, 'json', o.jsonBatch);
    s = await server(dataDir, o, ['--parse-threads', '0', '--json-reader', 'builtin']);
    let jsonInline: number;
    try {
      jsonInline = await ingest(s.url, jsonBodies, o.concurrency);
    } finally {
      await s.stop();
    }
    s = await server(dataDir, o);
    try {
      const jsonPool = await ingest(s.url, jsonBodies, o.concurrency);
      row('JSON, JSON.parse on the front thread (--parse-threads 0 --json-reader builtin, before)', `${fmt(jsonInline)} vectors/s`, `${fmt(jsonRows)} rows`);
      row('JSON, fast reader in the parse pool (now)', `${fmt(jsonPool)} vectors/s`, `${(jsonPool / jsonInline).toFixed(2)}× the rate before`);
      if (o.baselineCli) {
        await s.stop();
        // The other build knows none of this build's flags (it may predate --index): its own defaults, same bodies.
        s = await serverOf(path.resolve(o.baselineCli), dataDir, []);
        const baseline = await ingest(s.url, jsonBodies, o.concurrency);
        row('JSON on the baseline build', `${fmt(baseline)} vectors/s`, `now ${(jsonPool / baseline).toFixed(2)}× faster (${o.baselineCli})`);
      }
    } finally {
      await s.stop();
    }

    const parquet = path.join(work, 'rows.parquet');
    writeParquet(parquet, data, o.rows);
    s = await server(dataDir, o);
    try {
      const importRate = await importFile(parquet, s.url, o);
      row('vecstore import of a Parquet file', `${fmt(importRate)} vectors/s`, `Arrow over HTTP is ${(arrowRate / importRate).toFixed(2)}× faster (${fmt(fs.statSync(parquet).size / 1e6)} MB file)`);
    } finally {
      await s.stop();
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.table(rows);
}
