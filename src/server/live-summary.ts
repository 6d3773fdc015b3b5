// The console's live view: samples the server's own metrics every few seconds and keeps the last minutes as rates,
// latency quantiles and memory, answered as one compact JSON document (columns, ready for charts).
import type { MetricsSnapshot, VecStoreMetrics } from '../metrics/metrics.js';

/** One sampled point: what happened between two snapshots, and memory at the second. */
interface Point {
  /** Unix seconds at the end of the interval. */
  t: number;
  requestsPerS: number;
  p50Ms: number | null;
  p99Ms: number | null;
  vectorQueriesPerS: number;
  hybridQueriesPerS: number;
  /** Share of query-cache lookups answered from the cache (null: no lookups, or the cache is off). */
  cacheHitRate: number | null;
  vectorsScannedPerS: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** ArrayBuffers and SharedArrayBuffers (the vectors and graphs live there). */
  arrayBuffersBytes: number;
}

export interface LiveSummaryOptions {
  /** Time between samples (2 s). */
  intervalMs?: number;
  /** Samples kept (150: five minutes at 2 s). */
  keep?: number;
  /** Route templates whose requests are not counted (the console's own polling). */
  excludedEndpoints?: readonly string[];
}

/** A ring of recent samples of the metrics, taken on an unref'd timer while the server runs. */
export class LiveSummary {
  private readonly intervalMs: number;
  private readonly keep: number;
  private readonly excluded: ReadonlySet<string>;
  private readonly points: Point[] = [];
  private previous: { at: number; snapshot: MetricsSnapshot } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;

  constructor(private readonly metrics: VecStoreMetrics, options: LiveSummaryOptions = {}) {
    this.intervalMs = options.intervalMs ?? 2000;
    this.keep = options.keep ?? 150;
    this.excluded = new Set(options.excludedEndpoints ?? []);
  }

  start(): void {
    if (this.timer) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    // Sampling alone never keeps the process alive (shutdown does not wait for it).
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** `GET /v1/console/summary`: the sampled series as columns (oldest first) and the interval they were taken at. */
  answer(): Record<string, unknown> {
    const column = <K extends keyof Point>(key: K) => this.points.map((p) => p[key]);
    return {
      interval_s: this.intervalMs / 1000,
      window_s: (this.intervalMs * this.keep) / 1000,
      series: {
        t: column('t'),
        requests_per_s: column('requestsPerS'),
        p50_ms: column('p50Ms'),
        p99_ms: column('p99Ms'),
        queries_per_s: { vector: column('vectorQueriesPerS'), hybrid: column('hybridQueriesPerS') },
        cache_hit_rate: column('cacheHitRate'),
        vectors_scanned_per_s: column('vectorsScannedPerS'),
        rss_bytes: column('rssBytes'),
        heap_used_bytes: column('heapUsedBytes'),
        array_buffers_bytes: column('arrayBuffersBytes'),
      },
    };
  }

  private async sample(): Promise<void> {
    // A slow snapshot (a large worker fold) must not let samples pile up behind it.
    if (this.sampling) return;
    this.sampling = true;
    try {
      const snapshot = await this.metrics.snapshot(this.excluded);
      const at = Date.now();
      if (this.previous) {
        this.points.push(toPoint(this.previous.snapshot, snapshot, (at - this.previous.at) / 1000, at));
        if (this.points.length > this.keep) this.points.shift();
      }
      this.previous = { at, snapshot };
    } finally {
      this.sampling = false;
    }
  }
}

function toPoint(before: MetricsSnapshot, after: MetricsSnapshot, seconds: number, at: number): Point {
  const rate = (a: number, b: number) => round(Math.max(0, b - a) / seconds);
  const buckets = after.requests.perBucket.map((n, i) => n - before.requests.perBucket[i]);
  const hits = (after.cacheHits ?? 0) - (before.cacheHits ?? 0);
  const lookups = hits + (after.cacheMisses ?? 0) - (before.cacheMisses ?? 0);
  const memory = process.memoryUsage();
  return {
    t: Math.round(at / 1000),
    requestsPerS: rate(before.requests.count, after.requests.count),
    p50Ms: quantileMs(0.5, buckets, after.requests.bounds),
    p99Ms: quantileMs(0.99, buckets, after.requests.bounds),
    vectorQueriesPerS: rate(before.queries.vector ?? 0, after.queries.vector ?? 0),
    hybridQueriesPerS: rate(before.queries.hybrid ?? 0, after.queries.hybrid ?? 0),
    cacheHitRate: after.cacheHits === undefined || lookups <= 0 ? null : round(hits / lookups),
    vectorsScannedPerS: rate(before.vectorsScanned, after.vectorsScanned),
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    arrayBuffersBytes: memory.arrayBuffers,
  };
}

/**
 * The q-quantile in milliseconds of observations counted per bucket (not cumulative; the last bucket is +Inf), with
 * linear interpolation inside the bucket as Prometheus' histogram_quantile does; null without observations.
 */
export function quantileMs(q: number, perBucket: ArrayLike<number>, bounds: readonly number[]): number | null {
  let total = 0;
  for (let i = 0; i < perBucket.length; i++) total += perBucket[i];
  if (total <= 0) return null;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < perBucket.length; i++) {
    const before = cumulative;
    cumulative += perBucket[i];
    if (cumulative < rank || perBucket[i] === 0) continue;
    // The +Inf bucket has no upper bound: answer its lower one, as histogram_quantile does.
    if (i >= bounds.length) return round(bounds[bounds.length - 1] * 1000);
    const lower = i === 0 ? 0 : bounds[i - 1];
    return round((lower + (bounds[i] - lower) * ((rank - before) / perBucket[i])) * 1000);
  }
  return round(bounds[bounds.length - 1] * 1000);
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
