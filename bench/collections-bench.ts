// `vecstore bench collections`: what empty collections cost (time to create, resident memory), and noisy neighbours —
// a small collection's query latency while many clients query a large flat collection on the same server.
import fs from 'node:fs';
import os from 'node:os';
import { mulberry32 } from './datasets.js';
import path from 'node:path';
import { CLI, percentile, startChild, startVecStore, type ChildServer } from './bench-support.js';

export interface CollectionsBenchOptions {
  /** Empty collections to create. */
  collections: number;
  /** Rows of the large collection (0 skips the noisy-neighbour part). */
  bigVectors: number;
  smallVectors: number;
  dim: number;
  /** Clients querying the large collection. */
  clients: number;
  /** Seconds of the contended run. */
  seconds: number;
}

/** Resident memory of a process, from /proc (Linux). */
function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

async function request(url: string, init: RequestInit = {}): Promise<unknown> {
  const res = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...(init.headers ?? {}) } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

const mb = (bytes: number) => (bytes / (1 << 20)).toFixed(1);
const ms = (v: number) => v.toFixed(1);

/** Creates `count` empty collections, 8 requests in flight, and reports time and resident memory, then a restart. */
async function emptyCollections(count: number): Promise<string[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vecstore-bench-'));
  const args = [CLI, 'serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--workers', String(os.cpus().length), '--max-collections', String(count)];
  let server = await startChild(args);
  const lines: string[] = [];
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const before = rssBytes(server.proc.pid!);
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < count) {
          const i = next++;
          await request(`${server.url}/v1/collections/c${i}`, { method: 'PUT', body: JSON.stringify({ dimension: 128, metric: 'cosine', index: 'flat' }) });
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const listStarted = performance.now();
    const listed = (await request(`${server.url}/v1/collections`)) as { collections: unknown[] };
    const listMs = performance.now() - listStarted;
    await new Promise((r) => setTimeout(r, 1000));
    const after = rssBytes(server.proc.pid!);
    lines.push(
      `| ${count} empty collections created (8 requests in flight, fsync always) | ${seconds.toFixed(2)} s (${((seconds / count) * 1000).toFixed(2)} ms each) | < 10 s |`,
      `| resident memory: server before → after | ${mb(before)} → ${mb(after)} MB (+${mb(after - before)} MB, ${((after - before) / count / 1024).toFixed(1)} KiB each) | < 100 MB |`,
      `| \`GET /v1/collections\` with ${listed.collections.length} | ${ms(listMs)} ms | |`,
    );
    await server.stop();
    const restart = performance.now();
    server = await startChild(args);
    const relisted = (await request(`${server.url}/v1/collections`)) as { collections: unknown[] };
    lines.push(`| restart with ${relisted.collections.length} collections: start to ready | ${((performance.now() - restart) / 1000).toFixed(2)} s | |`);
    return lines;
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Loads `count` uniform random rows into a collection, batches of 2,000 with 4 in flight. */
async function load(server: ChildServer, name: string, count: number, dim: number, seed: number): Promise<number> {
  const random = mulberry32(seed);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < count) {
        const start = next;
        const end = Math.min(count, start + 2000);
        next = end;
        const records = [];
        for (let i = start; i < end; i++) {
          // Four decimals keep the JSON (and so the load) small; the vectors are stored as float32 anyway.
          records.push({ id: String(i), vector: Array.from({ length: dim }, () => Math.round((random() * 2 - 1) * 1e4) / 1e4) });
        }
        await request(`${server.url}/v1/collections/${name}/batch-upsert`, { method: 'POST', body: JSON.stringify({ records }) });
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

function queryBody(random: () => number, dim: number): string {
  return JSON.stringify({ vector: Array.from({ length: dim }, () => random() * 2 - 1), limit: 10 });
}

/** Sequential queries; their latencies in ms. */
async function sequential(url: string, count: number, dim: number, seed: number, until = Number.POSITIVE_INFINITY): Promise<number[]> {
  const random = mulberry32(seed);
  const out: number[] = [];
  for (let i = 0; i < count && performance.now() < until; i++) {
    const body = queryBody(random, dim);
    const t = performance.now();
    await request(url, { method: 'POST', body });
    out.push(performance.now() - t);
  }
  return out;
}

async function noisyNeighbours(o: CollectionsBenchOptions): Promise<string[]> {
  // No query cache: every query is a scan. The log is not fsynced per write: this part measures queries, not ingest.
  const server = await startVecStore(['--workers', String(os.cpus().length), '--cache-size', '0', '--fsync', 'interval:1000']);
  try {
    for (const name of ['big', 'small']) {
      await request(`${server.url}/v1/collections/${name}`, { method: 'PUT', body: JSON.stringify({ dimension: o.dim, metric: 'euclidean', index: 'flat' }) });
    }
    const bigLoad = await load(server, 'big', o.bigVectors, o.dim, 1);
    const smallLoad = await load(server, 'small', o.smallVectors, o.dim, 2);
    const big = `${server.url}/v1/collections/big/query`;
    const small = `${server.url}/v1/collections/small/query`;

    await sequential(big, 3, o.dim, 3);
    const scans = await sequential(big, 15, o.dim, 4);
    const oneScan = percentile(scans, 50);
    await sequential(small, 20, o.dim, 5);
    const smallAlone = await sequential(small, 300, o.dim, 6);

    // Contended: `clients` loop on the big collection while one client loops on the small one.
    let stop = false;
    let bigDone = 0;
    const bigLatencies: number[] = [];
    const loops = Array.from({ length: o.clients }, async (_, c) => {
      const random = mulberry32(100 + c);
      while (!stop) {
        const body = queryBody(random, o.dim);
        const t = performance.now();
        await request(big, { method: 'POST', body });
        bigLatencies.push(performance.now() - t);
        bigDone++;
      }
    });
    // Let the big clients fill the pool's queue first.
    await new Promise((r) => setTimeout(r, 2000));
    const started = performance.now();
    const bigBefore = bigDone;
    const smallContended = await sequential(small, Number.POSITIVE_INFINITY, o.dim, 7, started + o.seconds * 1000);
    const elapsed = (performance.now() - started) / 1000;
    const bigQps = (bigDone - bigBefore) / elapsed;
    stop = true;
    await Promise.all(loops);

    const p99 = percentile(smallContended, 99);
    return [
      `| load: ${o.bigVectors.toLocaleString('en')} × ${o.dim} (big, flat) / ${o.smallVectors.toLocaleString('en')} × ${o.dim} (small, flat) | ${bigLoad.toFixed(1)} s / ${smallLoad.toFixed(1)} s | |`,
      `| one exact scan of big (1 client, idle server), p50 of 15 | ${ms(oneScan)} ms | |`,
      `| small alone (1 client): p50 / p99 | ${ms(percentile(smallAlone, 50))} / ${ms(percentile(smallAlone, 99))} ms | |`,
      `| small while ${o.clients} clients query big: p50 / p99 / max (${smallContended.length} queries, ${o.seconds} s) | ${ms(percentile(smallContended, 50))} / ${ms(p99)} / ${ms(Math.max(...smallContended))} ms | p99 < one scan of big: ${p99 < oneScan ? 'yes' : 'NO'} |`,
      `| big meanwhile: QPS / p50 / p99 | ${bigQps.toFixed(1)} / ${ms(percentile(bigLatencies, 50))} / ${ms(percentile(bigLatencies, 99))} ms | |`,
    ];
  } finally {
    await server.stop();
  }
}

export async function runCollectionsBenchmark(o: CollectionsBenchOptions): Promise<void> {
  console.log(`# vecstore bench collections — ${os.cpus().length} cores, ${os.cpus().length} workers, Node ${process.version}\n`);
  console.log('| measurement | result | goal |');
  console.log('|---|---|---|');
  for (const line of await emptyCollections(o.collections)) console.log(line);
  if (o.bigVectors > 0) for (const line of await noisyNeighbours(o)) console.log(line);
}
