// `vecstore bench hybrid`: hybrid (BM25 + vector) query throughput against vector-only, and query-cache hit against miss latency.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { VecStoreEngine, type HybridQuery, type VectorQuery } from '../src/engine/engine.js';
import { tokenize } from '../src/engine/tokenizer.js';
import { percentile } from './bench-support.js';
import { mulberry32, rowOf, syntheticDataset, type Dataset } from './datasets.js';

/** Options of {@link runHybridBenchmark}. */
export interface HybridBenchOptions {
  /** Documents in the store (default in the CLI: 100,000). */
  documents: number;
  /** Seconds of load per query kind (split over two rounds); the cache part takes about as long again. */
  seconds: number;
}

const DIM = 128;
const VOCABULARY = 50_000;
const ZIPF_S = 1.1;
const MIN_WORDS = 20;
const MAX_WORDS = 80;
const CONCURRENCY = 16;
const K = 10;
const THREADS = 2;
const DISTINCT_QUERIES = 4000;
const INGEST_BATCH = 5000;

type Kind = 'vector' | 'linear' | 'rrf';

interface LoadResult {
  queries: number;
  seconds: number;
  latencies: number[];
  /** Cores busy with other processes meanwhile (this process's threads excluded). */
  otherCores: number;
}

/** A query's vector and words, drawn once so every run sees the same sequence. */
interface QuerySpec {
  vector: Float32Array;
  text: string;
}

/**
 * Builds a store of `documents` records (128-d synthetic vectors, texts drawn from a Zipf vocabulary of 50,000 words
 * with s = 1.1, 20–80 words each, all seeded), then measures in one run:
 * - queries/s and latency at 16 concurrent queries of vector-only k-NN, hybrid with linear fusion (alpha 0.7) and
 *   hybrid with reciprocal rank fusion, on an engine with the cache off, interleaved in two rounds;
 * - on a cache-enabled engine over the same data, one query at a time: latency of a miss (distinct queries) against
 *   a hit (one query repeated), for vector and hybrid queries.
 * Prints markdown tables.
 */
export async function runHybridBenchmark(options: HybridBenchOptions): Promise<void> {
  const { documents } = options;
  const seconds = Math.max(2, options.seconds);
  const cores = os.cpus().length;
  console.log(`# vecstore bench hybrid — ${cores} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), load average before: ${loadAverage()}\n`);

  let t = performance.now();
  const vocabulary = makeVocabulary(VOCABULARY);
  const zipf = zipfSampler(VOCABULARY, ZIPF_S, mulberry32(11));
  const lengthRand = mulberry32(12);
  const texts: string[] = [];
  let words = 0;
  for (let i = 0; i < documents; i++) {
    const n = MIN_WORDS + Math.floor(lengthRand() * (MAX_WORDS - MIN_WORDS + 1));
    const doc: string[] = [];
    for (let j = 0; j < n; j++) doc.push(vocabulary[zipf()]!);
    texts.push(doc.join(' '));
    words += n;
  }
  const vectors = syntheticDataset({ count: documents, dim: DIM, seed: 7, clusters: 64 });
  const queryVectors = syntheticDataset({ count: DISTINCT_QUERIES, dim: DIM, seed: 7, clusters: 64, stream: 1 });
  const queryWords = zipfSampler(VOCABULARY, ZIPF_S, mulberry32(13));
  const queryLength = mulberry32(14);
  const specs: QuerySpec[] = [];
  for (let i = 0; i < DISTINCT_QUERIES; i++) {
    const n = 2 + Math.floor(queryLength() * 3);
    specs.push({ vector: rowOf(queryVectors, i), text: Array.from({ length: n }, () => vocabulary[queryWords()]).join(' ') });
  }
  const generateMs = performance.now() - t;

  const plain = new VecStoreEngine({ metric: 'cosine', threads: THREADS, cacheSize: 0 });
  let qps: Record<Kind, LoadResult[]>;
  let ingestMs: number;
  let postingsPerQuery: number;
  const textSide: number[] = [];
  try {
    t = performance.now();
    await ingest(plain, vectors, texts);
    ingestMs = performance.now() - t;
    await waitForWorkers(plain);
    // Posting entries a query's terms touch: the work BM25 does beside the vector scan.
    postingsPerQuery = specs.reduce((sum, s) => sum + [...new Set(tokenize(s.text))].reduce((a, w) => a + plain.textIndex.documentFrequency(w), 0), 0) / specs.length;

    for (const kind of ['vector', 'linear', 'rrf'] as const) await closedLoop(plain, kind, specs, 1);
    qps = { vector: [], linear: [], rrf: [] };
    const half = seconds / 2;
    for (const order of [['vector', 'linear', 'rrf'], ['rrf', 'linear', 'vector']] as Kind[][]) {
      for (const kind of order) qps[kind].push(await closedLoop(plain, kind, specs, half));
    }
    // The keyword side alone, as hybridQuery runs it on the front thread (50 candidates for k = 10): what it adds.
    const deadline = performance.now() + 1000;
    for (let i = 0; performance.now() < deadline; i++) {
      const t0 = performance.now();
      plain.textIndex.search(specs[i % specs.length]!.text, Math.max(K * 4, 50), (id) => plain.store.getRecord(id) !== undefined);
      textSide.push(performance.now() - t0);
    }
  } finally {
    await plain.close();
  }

  const cached = new VecStoreEngine({ metric: 'cosine', threads: THREADS, cacheSize: 10_000 });
  const cache: Array<{ label: string; latencies: number[]; hits: number }> = [];
  try {
    await ingest(cached, vectors, texts);
    await waitForWorkers(cached);
    const missSeconds = seconds / 4;
    let next = 0;
    for (const type of ['vector', 'hybrid'] as const) {
      // Misses: queries never asked before (a fresh vector each time). Hits: one query asked again and again.
      const misses = await sequential(cached, type, () => specs[next++ % specs.length]!, missSeconds);
      const same = specs[next++ % specs.length]!;
      await ask(cached, type, same);
      const hits = await sequential(cached, type, () => same, Math.min(1, missSeconds));
      cache.push({ label: `${type === 'vector' ? 'vector' : 'hybrid (linear, α 0.7)'} miss — distinct queries`, ...misses });
      cache.push({ label: `${type === 'vector' ? 'vector' : 'hybrid (linear, α 0.7)'} hit — the same query repeated`, ...hits });
    }
  } finally {
    await cached.close();
  }

  const merged = (runs: LoadResult[]) => ({
    qps: runs.reduce((a, r) => a + r.queries, 0) / runs.reduce((a, r) => a + r.seconds, 0),
    latencies: runs.flatMap((r) => r.latencies),
    spread: runs.length === 2 ? Math.abs(runs[0].queries / runs[0].seconds - runs[1].queries / runs[1].seconds) / (runs[0].queries / runs[0].seconds) : 0,
    other: runs.reduce((a, r) => a + r.otherCores, 0) / runs.length,
  });
  const base = merged(qps.vector);
  console.log(`${documents.toLocaleString('en-US')} documents × ${DIM}-d (cosine), texts of ${MIN_WORDS}–${MAX_WORDS} words (mean ${(words / documents).toFixed(1)}) from a Zipf(s = ${ZIPF_S}) vocabulary of ${VOCABULARY.toLocaleString('en-US')} words; queries of 2–4 Zipf words touch ${postingsPerQuery.toFixed(0)} posting entries on average. Generated in ${(generateMs / 1000).toFixed(1)} s, ingested (batchUpsert of ${INGEST_BATCH}) in ${(ingestMs / 1000).toFixed(1)} s.\n`);
  console.log(`Engine level: VecStoreEngine { metric: 'cosine', threads: ${THREADS}, cacheSize: 0 }, ${CONCURRENCY} queries in flight, k = ${K}, ${seconds} s per kind over two rounds, ${DISTINCT_QUERIES} distinct queries in turn.\n`);
  console.log('| query | queries/s | vs vector-only | p50 ms | p99 ms | round-to-round spread | other cores busy |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [kind, label] of [['vector', 'vector-only k-NN'], ['linear', 'hybrid, linear fusion, α 0.7'], ['rrf', 'hybrid, RRF, α 0.7']] as Array<[Kind, string]>) {
    const m = merged(qps[kind]);
    console.log(`| ${label} | ${m.qps.toFixed(1)} | ${((m.qps / base.qps) * 100).toFixed(0)}% | ${percentile(m.latencies, 50).toFixed(2)} | ${percentile(m.latencies, 99).toFixed(2)} | ±${(m.spread * 100).toFixed(0)}% | ${m.other.toFixed(2)} |`);
  }
  console.log(`\nThe BM25 side alone (TextIndex.search for 50 candidates, synchronous on the front thread, one query at a time): p50 ${fmt(percentile(textSide, 50))} ms, p99 ${fmt(percentile(textSide, 99))} ms over ${textSide.length} queries.`);
  console.log(`\nQuery cache (cache-enabled engine, cacheSize 10,000, same data), one query at a time:\n`);
  console.log('| query | p50 ms | p99 ms | samples | answered from cache |');
  console.log('|---|---|---|---|---|');
  for (const c of cache) {
    console.log(`| ${c.label} | ${fmt(percentile(c.latencies, 50))} | ${fmt(percentile(c.latencies, 99))} | ${c.latencies.length} | ${c.hits} |`);
  }
  console.log(`\n${cores} cores; load average after: ${loadAverage()}.`);
}

/** Latency in ms with enough digits for microsecond cache hits. */
function fmt(ms: number): string {
  return ms < 1 ? ms.toFixed(4) : ms.toFixed(2);
}

/** Words of 2+ lower-case letters, distinct, shorter for more frequent ranks (like real vocabularies). */
function makeVocabulary(size: number): string[] {
  const words: string[] = [];
  for (let rank = 0; rank < size; rank++) {
    // Bijective base 26 of rank + 27: "ab", "ac", ... — letters only, so the tokenizer keeps each word whole.
    let n = rank + 27;
    let word = '';
    while (n > 0) {
      n--;
      word = String.fromCharCode(97 + (n % 26)) + word;
      n = Math.floor(n / 26);
    }
    words.push(word);
  }
  return words;
}

/** Draws ranks 0..n-1 with probability ∝ 1 / (rank + 1)^s, by binary search in the cumulative distribution. */
function zipfSampler(n: number, s: number, rand: () => number): () => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) cdf[k] = total += 1 / Math.pow(k + 1, s);
  for (let k = 0; k < n; k++) cdf[k] /= total;
  return () => {
    const u = rand();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

async function ingest(engine: VecStoreEngine, vectors: Dataset, texts: string[]): Promise<void> {
  for (let i = 0; i < vectors.count; i += INGEST_BATCH) {
    const records = [];
    for (let j = i; j < Math.min(vectors.count, i + INGEST_BATCH); j++) records.push({ id: `doc-${j}`, vector: rowOf(vectors, j), text: texts[j] });
    const outcome = await engine.batchUpsert(records);
    if (outcome.errors.length > 0) throw new Error(`ingest failed: ${outcome.errors[0]!.error}`);
  }
}

async function waitForWorkers(engine: VecStoreEngine): Promise<void> {
  for (let i = 0; i < 300 && !engine.workersReady; i++) await new Promise((r) => setTimeout(r, 20));
}

function ask(engine: VecStoreEngine, kind: Kind | 'hybrid', spec: QuerySpec): Promise<{ cached: boolean }> {
  const base: VectorQuery = { vector: spec.vector, k: K };
  if (kind === 'vector') return engine.query(base);
  const hybrid: HybridQuery = { ...base, textQuery: spec.text, alpha: 0.7, fusion: kind === 'rrf' ? 'rrf' : 'linear' };
  return engine.hybridQuery(hybrid);
}

/** Keeps CONCURRENCY queries in flight for `seconds`, each loop taking the next query of the list. */
async function closedLoop(engine: VecStoreEngine, kind: Kind, specs: QuerySpec[], seconds: number): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  const before = { self: selfTicks(), machine: machineBusyTicks() };
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < deadline) {
      const spec = specs[next++ % specs.length]!;
      const t0 = performance.now();
      await ask(engine, kind, spec);
      latencies.push(performance.now() - t0);
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  const other = machineBusyTicks() - before.machine - (selfTicks() - before.self);
  return { queries: latencies.length, seconds: elapsed, latencies, otherCores: Math.max(0, other / 100 / elapsed) };
}

/** One query at a time for `seconds`; counts how many answers came from the cache. */
async function sequential(engine: VecStoreEngine, type: 'vector' | 'hybrid', pick: () => QuerySpec, seconds: number): Promise<{ latencies: number[]; hits: number }> {
  const latencies: number[] = [];
  let hits = 0;
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    const spec = pick();
    const t0 = performance.now();
    const answer = await ask(engine, type === 'vector' ? 'vector' : 'linear', spec);
    latencies.push(performance.now() - t0);
    if (answer.cached) hits++;
  }
  return { latencies, hits };
}

function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** This process's CPU (every thread, workers included) in clock ticks (USER_HZ, 100 on Linux). */
function selfTicks(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Busy clock ticks of the whole machine, all cores. */
function machineBusyTicks(): number {
  const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  return user! + nice! + system! + irq! + softirq! + steal!;
}
