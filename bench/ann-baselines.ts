// The approximate baselines of `vecstore bench compare`: hnswlib-node (one thread) and usearch HNSW, each built once and
// searched at every breadth of the sweep, in this process.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { HierarchicalNSW } from 'hnswlib-node';
import { Index, MetricKind, type BatchMatches } from 'usearch';
import type { MetricName } from '../src/distance/metric.js';
import type { Dataset } from './datasets.js';
import { prepareForMetric } from './ground-truth.js';
import { startProgress } from './load-runner.js';

const require = createRequire(import.meta.url);

/** One point of a recall/QPS curve. */
export interface SweepPoint {
  ef: number;
  qps: number;
  recall: number;
  p50Ms?: number;
  p99Ms?: number;
}

/** A library's curve and how long its build took. */
export interface BaselineCurve {
  engine: string;
  threads: number;
  buildSeconds: number;
  params: Record<string, number>;
  points: SweepPoint[];
}

export interface BaselineOptions {
  base: Dataset;
  queries: Dataset;
  k: number;
  metric: MetricName;
  m: number;
  efConstruction: number;
  efSweep: number[];
  /** Timed passes over the queries per breadth (the best is kept: the machine is shared and noisy). */
  repeat: number;
  seed: number;
  progress: boolean;
  recallOf: (found: number[][]) => number;
}

/** hnswlib-node: built on this thread, searched one query at a time on this thread. */
export function hnswlibCurve(o: BaselineOptions): BaselineCurve {
  const hnswlib = require('hnswlib-node') as typeof import('hnswlib-node');
  const b = prepareForMetric(o.base, o.metric);
  const q = prepareForMetric(o.queries, o.metric);
  const dim = b.dim;
  const index: HierarchicalNSW = new hnswlib.HierarchicalNSW(o.metric === 'euclidean' ? 'l2' : 'ip', dim);
  index.initIndex(b.count, o.m, o.efConstruction, o.seed);
  const bar = startProgress(o.progress, 'hnswlib build', b.count, 'vectors');
  const t0 = performance.now();
  for (let i = 0; i < b.count; i++) {
    // The binding accepts only plain arrays.
    index.addPoint(Array.from(b.data.subarray(i * dim, (i + 1) * dim)), i);
    if ((i & 255) === 0) bar.update(i);
  }
  bar.update(b.count);
  bar.stop();
  const buildSeconds = (performance.now() - t0) / 1000;
  const qs: number[][] = [];
  for (let i = 0; i < q.count; i++) qs.push(Array.from(q.data.subarray(i * dim, (i + 1) * dim)));
  const points: SweepPoint[] = [];
  for (const ef of o.efSweep) {
    index.setEf(Math.max(ef, o.k));
    const found = qs.map((v) => index.searchKnn(v, o.k).neighbors);
    let best = Infinity;
    const latencies: number[] = [];
    for (let r = 0; r < o.repeat; r++) {
      const t1 = performance.now();
      for (const v of qs) {
        const s = performance.now();
        index.searchKnn(v, o.k);
        latencies.push(performance.now() - s);
      }
      best = Math.min(best, (performance.now() - t1) / 1000);
    }
    latencies.sort((x, y) => x - y);
    const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)];
    points.push({ ef, qps: q.count / best, recall: o.recallOf(found), p50Ms: pct(0.5), p99Ms: pct(0.99) });
  }
  return { engine: 'hnswlib-node HNSW', threads: 1, buildSeconds, params: { m: o.m, efConstruction: o.efConstruction }, points };
}

/**
 * usearch's HNSW: built with `threads` threads, saved once, then loaded into an index per breadth (its search breadth
 * is fixed when an index object is made), and searched as one batch on `threads` threads.
 */
export function usearchCurve(o: BaselineOptions, threads: number): BaselineCurve {
  const b = prepareForMetric(o.base, o.metric);
  const q = prepareForMetric(o.queries, o.metric);
  const metric = o.metric === 'euclidean' ? MetricKind.L2sq : MetricKind.IP;
  const config = (ef: number) => ({ dimensions: b.dim, metric, connectivity: o.m, expansion_add: o.efConstruction, expansion_search: ef, multi: false });
  const keys = new BigUint64Array(b.count);
  for (let i = 0; i < b.count; i++) keys[i] = BigInt(i);
  const built = new Index(config(o.efSweep[0]) as never);
  const t0 = performance.now();
  built.add(keys, b.data, threads);
  const buildSeconds = (performance.now() - t0) / 1000;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vecstore-usearch-'));
  const file = path.join(dir, 'index.usearch');
  built.save(file);
  const points: SweepPoint[] = [];
  try {
    for (const ef of o.efSweep) {
      const index = new Index(config(Math.max(ef, o.k)) as never);
      index.load(file);
      const search = (): BatchMatches => index.search(q.data, o.k, threads) as BatchMatches;
      const last = search();
      let best = Infinity;
      for (let r = 0; r < o.repeat; r++) {
        const t1 = performance.now();
        search();
        best = Math.min(best, (performance.now() - t1) / 1000);
      }
      const found: number[][] = [];
      for (let i = 0; i < q.count; i++) found.push(Array.from(last.keys.subarray(i * o.k, i * o.k + Number(last.counts[i])), Number));
      points.push({ ef, qps: q.count / best, recall: o.recallOf(found) });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { engine: 'usearch HNSW', threads, buildSeconds, params: { m: o.m, efConstruction: o.efConstruction }, points };
}

/** The highest QPS among the points at or above `recall`, or null if none gets there. */
export function bestQpsAt(points: SweepPoint[], recall: number): SweepPoint | null {
  let best: SweepPoint | null = null;
  for (const p of points) if (p.recall >= recall && (!best || p.qps > best.qps)) best = p;
  return best;
}
