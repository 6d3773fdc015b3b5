// `vecstore bench server`: /health against a bare uWebSockets.js hello-world, and /v1/query over HTTP and WebSocket.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { syntheticDataset, rowOf } from './datasets.js';
import { haveWrk, percentile, runWrk, startChild, startVecStore } from './bench-support.js';

const BARE_UWS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'bare-uws.js');

export interface ServerBenchOptions {
  seconds: number;
  vectors: number;
  dim: number;
  connections: number;
}

/** Runs the whole comparison and prints one markdown table. */
export async function runServerBenchmark(options: ServerBenchOptions): Promise<void> {
  if (!haveWrk()) throw new Error('wrk is not installed (Debian: apt-get install wrk)');
  const { seconds, vectors, dim, connections } = options;
  console.log(`# vecstore bench server — ${os.cpus().length} cores, wrk -t1 -c${connections}, ${seconds} s per run\n`);

  const bare = await startChild([BARE_UWS, '0']);
  runWrk(`${bare.url}/health`, { seconds: 1, connections });
  const bareHealth = runWrk(`${bare.url}/health`, { seconds, connections });
  await bare.stop();

  const server = await startVecStore(['--dimension', String(dim), '--metric', 'cosine', '--cache-size', '0', '--fsync', 'off']);
  runWrk(`${server.url}/health`, { seconds: 1, connections });
  const health = runWrk(`${server.url}/health`, { seconds, connections });

  const data = syntheticDataset({ count: vectors, dim, seed: 7 });
  for (let i = 0; i < vectors; i += 1000) {
    const records = [];
    for (let j = i; j < Math.min(vectors, i + 1000); j++) records.push({ id: String(j), vector: Array.from(rowOf(data, j)) });
    const res = await postOnce(`${server.url}/v1/batch-upsert`, JSON.stringify({ records }));
    if (res.status !== 200) throw new Error(`ingest failed: ${res.status} ${await res.text()}`);
  }
  const query = Array.from(rowOf(syntheticDataset({ count: 1, dim, seed: 99 }), 0));
  const body = JSON.stringify({ vector: query, limit: 10 });
  runWrk(`${server.url}/v1/query`, { seconds: 1, connections, body });
  const httpQuery = runWrk(`${server.url}/v1/query`, { seconds, connections, body });
  const wsQuery = await webSocketQueries(server.port, query, connections, seconds);
  await server.stop();

  console.log('| run | requests/s | p50 ms | p99 ms | errors |');
  console.log('|---|---|---|---|---|');
  console.log(`| bare uWebSockets.js GET /health | ${bareHealth.requestsPerSec.toFixed(0)} | ${bareHealth.p50Ms.toFixed(3)} | ${bareHealth.p99Ms.toFixed(3)} | ${bareHealth.errors} |`);
  console.log(`| VecStore GET /health | ${health.requestsPerSec.toFixed(0)} | ${health.p50Ms.toFixed(3)} | ${health.p99Ms.toFixed(3)} | ${health.errors} |`);
  console.log(`| VecStore POST /v1/query, ${vectors.toLocaleString('en-US')} × ${dim}, HTTP | ${httpQuery.requestsPerSec.toFixed(1)} | ${httpQuery.p50Ms.toFixed(2)} | ${httpQuery.p99Ms.toFixed(2)} | ${httpQuery.errors} |`);
  console.log(`| VecStore query, ${vectors.toLocaleString('en-US')} × ${dim}, WebSocket | ${wsQuery.qps.toFixed(1)} | ${wsQuery.p50.toFixed(2)} | ${wsQuery.p99.toFixed(2)} | ${wsQuery.errors} |`);
  console.log(`\n/health: VecStore at ${((health.requestsPerSec / bareHealth.requestsPerSec) * 100).toFixed(1)}% of bare uWebSockets.js (goal ≥ 70%)`);
}

/**
 * POST, retried once on a connection error: the server closes idle keep-alive connections, and one left idle during a
 * wrk run can be closed just as fetch reuses it.
 */
async function postOnce(url: string, body: string): Promise<Response> {
  const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body };
  return fetch(url, init).catch(() => fetch(url, init));
}

/** `inFlight` queries kept in flight over 4 sockets for `seconds`; latency per query from send to its `complete`. */
async function webSocketQueries(port: number, vector: number[], inFlight: number, seconds: number): Promise<{ qps: number; p50: number; p99: number; errors: number }> {
  const sockets = await Promise.all(Array.from({ length: 4 }, () => new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/query-stream`);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  })));
  const latencies: number[] = [];
  let errors = 0;
  let nextId = 0;
  const sentAt = new Map<number, number>();
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let finished!: () => void;
  const done = new Promise<void>((resolve) => { finished = resolve; });
  const send = (ws: WebSocket) => {
    if (performance.now() >= deadline) {
      if (sentAt.size === 0) finished();
      return;
    }
    const id = nextId++;
    sentAt.set(id, performance.now());
    ws.send(JSON.stringify({ vector, limit: 10, request_id: id }));
  };
  for (const ws of sockets) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { complete?: boolean; code?: string; request_id: number };
      if (!msg.complete && !msg.code) return;
      if (msg.code) errors++;
      latencies.push(performance.now() - sentAt.get(msg.request_id)!);
      sentAt.delete(msg.request_id);
      send(ws);
    });
  }
  for (let i = 0; i < inFlight; i++) send(sockets[i % sockets.length]);
  await done;
  const elapsed = (performance.now() - started) / 1000;
  for (const ws of sockets) ws.close();
  return { qps: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors };
}
