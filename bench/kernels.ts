// `vecstore bench kernels`: simsimd vs plain JavaScript, shard-scan GB/s, batched vs single queries, 1 vs 2 workers.
import os from 'node:os';
import { Bench } from 'tinybench';
import { simsimd } from '../src/distance/simsimd-native.js';
import { VecStoreEngine } from '../src/engine/engine.js';
import { syntheticDataset, rowOf } from './datasets.js';

/** Prints the kernel, scan and batching tables; `quick` shrinks data and run time. */
export async function runKernelBenchmarks(options: { quick: boolean }): Promise<void> {
  console.log(`# vecstore bench kernels — ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}\n`);
  await perPairCost(options.quick);
  await scanThroughput(options.quick);
  await batchingAndWorkers(options.quick);
}

/** Per-vector cost of one simsimd dot call against a plain JavaScript loop, for the dimensions users run. */
async function perPairCost(quick: boolean): Promise<void> {
  const bench = new Bench({ time: quick ? 100 : 500 });
  const rows = 1024;
  for (const dim of [128, 784, 1536]) {
    const data = syntheticDataset({ count: rows, dim, seed: dim });
    const views = Array.from({ length: rows }, (_, i) => rowOf(data, i));
    const query = rowOf(syntheticDataset({ count: 1, dim, seed: 1 }), 0);
    let sink = 0;
    bench.add(`simsimd dot ${dim}-d × ${rows}`, () => {
      for (let r = 0; r < rows; r++) sink += simsimd.dot(query, views[r]);
    });
    bench.add(`JavaScript dot ${dim}-d × ${rows}`, () => {
      for (let r = 0; r < rows; r++) {
        const row = views[r];
        let acc = 0;
        for (let i = 0; i < dim; i++) acc += query[i] * row[i];
        sink += acc;
      }
    });
    if (sink === 42) console.log('');
  }
  await bench.run();
  console.log('## Per-vector distance cost (one query against 1,024 rows in cache)\n');
  console.log('| kernel | dim | ns per vector |');
  console.log('|---|---|---|');
  for (const task of bench.tasks) {
    const [kernel, , dim] = task.name.split(' ');
    const meanMs = (task.result as { latency?: { mean: number } }).latency?.mean ?? NaN;
    console.log(`| ${kernel} | ${dim.replace('-d', '')} | ${((meanMs * 1e6) / rows).toFixed(1)} |`);
  }
  console.log('');
}

async function timeQueries(engine: VecStoreEngine, queries: Float32Array[], concurrency: number, seconds: number): Promise<number> {
  let done = 0;
  let next = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      await engine.query({ vector: queries[next++ % queries.length], k: 10 });
      done++;
    }
  }));
  return done / ((performance.now() - started) / 1000);
}

async function fill(engine: VecStoreEngine, count: number, dim: number): Promise<void> {
  const data = syntheticDataset({ count, dim, seed: 42 });
  for (let i = 0; i < count; i += 1000) {
    const records = [];
    for (let j = i; j < Math.min(count, i + 1000); j++) records.push({ id: String(j), vector: Array.from(rowOf(data, j)) });
    await engine.batchUpsert(records);
  }
}

/** GB/s of vector data one worker reads in a full scan for a single query, per dimension. */
async function scanThroughput(quick: boolean): Promise<void> {
  console.log('## Shard-scan throughput (1 worker, 1 query per scan, cosine)\n');
  console.log('| dim | rows | ms per scan | GB/s |');
  console.log('|---|---|---|---|');
  for (const dim of [128, 784, 1536]) {
    const rows = Math.floor((quick ? 64 : 256) * 1024 * 1024 / (dim * 4));
    const engine = new VecStoreEngine({ metric: 'cosine', threads: 1, cacheSize: 0, maxBatch: 1 });
    await fill(engine, rows, dim);
    const queries = Array.from({ length: 8 }, (_, i) => rowOf(syntheticDataset({ count: 1, dim, seed: 100 + i }), 0));
    await timeQueries(engine, queries, 1, 0.5);
    const qps = await timeQueries(engine, queries, 1, quick ? 1 : 3);
    const ms = 1000 / qps;
    console.log(`| ${dim} | ${rows} | ${ms.toFixed(2)} | ${((rows * dim * 4) / (ms / 1000) / 1e9).toFixed(2)} |`);
    await engine.close();
  }
  console.log('');
}

/** QPS of single queries vs batches of 8 and 32 concurrent queries at 60,000 × 784, and 1 vs 2 workers. */
async function batchingAndWorkers(quick: boolean): Promise<void> {
  const count = quick ? 20_000 : 60_000;
  const dim = 784;
  const seconds = quick ? 2 : 5;
  const queries = Array.from({ length: 64 }, (_, i) => rowOf(syntheticDataset({ count: 1, dim, seed: 1000 + i }), 0));
  const rows: Array<[string, number, number]> = [];
  for (const threads of [1, 2]) {
    for (const [label, concurrency, maxBatch] of [
      ['single queries (1 in flight)', 1, 64],
      ['32 concurrent, batching off', 32, 1],
      ['8 concurrent, batched', 8, 64],
      ['32 concurrent, batched', 32, 64],
    ] as Array<[string, number, number]>) {
      const engine = new VecStoreEngine({ metric: 'cosine', threads, cacheSize: 0, maxBatch });
      await fill(engine, count, dim);
      await timeQueries(engine, queries, concurrency, 0.5);
      rows.push([`${label}, ${threads} worker${threads > 1 ? 's' : ''}`, concurrency, await timeQueries(engine, queries, concurrency, seconds)]);
      await engine.close();
    }
  }
  console.log(`## Query throughput at ${count.toLocaleString('en-US')} × ${dim} (k = 10, cosine, engine level)\n`);
  console.log('| run | QPS |');
  console.log('|---|---|');
  for (const [label, , qps] of rows) console.log(`| ${label} | ${qps.toFixed(1)} |`);
  const qps = (label: string) => rows.find((r) => r[0] === label)![2];
  console.log('');
  console.log(`batched 32 ÷ unbatched 32 (2 workers): ${(qps('32 concurrent, batched, 2 workers') / qps('32 concurrent, batching off, 2 workers')).toFixed(2)}× (goal ≥ 2×)`);
  console.log(`2 workers ÷ 1 worker (32 batched): ${(qps('32 concurrent, batched, 2 workers') / qps('32 concurrent, batched, 1 worker')).toFixed(2)}× (goal ≥ 1.7×)`);
}
