// Request count and latency for every answered HTTP request, kept in plain arrays because they sit on the hot path.
import type { Registry } from 'prom-client';

interface Series {
  labels: { endpoint: string; method: string };
  count: number;
  sum: number;
  /** Observations per bucket, not cumulative (made cumulative when scraped). */
  perBucket: Float64Array;
  /** Per bucket, the latest sampled request's trace (OpenMetrics exemplars); made on the first traced request. */
  exemplars: Array<Exemplar | undefined> | undefined;
}

/** An OpenMetrics exemplar as prom-client's registry writes it: `# {trace_id="…"} <seconds> <epoch seconds>`. */
interface Exemplar {
  labelSet: { trace_id: string };
  value: number;
  timestamp: number;
}

/** One value line as prom-client's registries expect it from a metric's `get()`. */
interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
  exemplar?: Exemplar;
}

/**
 * `vecstore_requests_total` and `vecstore_request_duration_seconds`, recorded with one map lookup and a few array writes
 * per request (prom-client's own histogram hashes the label object on every observation, a large share of a `/health`
 * request's cost), and exposed to the registry as ordinary metrics so the exposition and the worker merge are unchanged.
 */
export class RequestMetrics {
  private readonly series = new Map<string, Series>();
  private readonly bounds: number[];

  constructor(registry: Registry, buckets: number[]) {
    this.bounds = buckets;
    // The registry only calls get() and reset() and reads these fields; it does not need prom-client's classes.
    const register = (name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue[]) => {
      const metric = { name, help, type, aggregator: 'sum', get: async () => ({ name, help, type, aggregator: 'sum', values: values() }), reset: () => this.series.clear() };
      registry.registerMetric(metric as never);
    };
    register('vecstore_requests_total', 'HTTP requests by route template and method', 'counter', () => this.counterValues());
    register('vecstore_request_duration_seconds', 'HTTP request latency by route template and method', 'histogram', () => this.histogramValues());
  }

  /**
   * Counts one request of `endpoint` (route template) and `method` that took `seconds`; `traceId` (a sampled request's)
   * becomes its bucket's exemplar.
   */
  observe(endpoint: string, method: string, seconds: number, traceId?: string): void {
    const key = `${method} ${endpoint}`;
    let series = this.series.get(key);
    if (!series) {
      series = { labels: { endpoint, method }, count: 0, sum: 0, perBucket: new Float64Array(this.bounds.length + 1), exemplars: undefined };
      this.series.set(key, series);
    }
    series.count++;
    series.sum += seconds;
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]) i++;
    series.perBucket[i]++;
    if (traceId !== undefined) {
      series.exemplars ??= new Array<Exemplar | undefined>(this.bounds.length + 1);
      series.exemplars[i] = { labelSet: { trace_id: traceId }, value: seconds, timestamp: Date.now() / 1000 };
    }
  }

  /**
   * Requests answered so far over every endpoint but `excluded` (route templates), with their latency bucket counts (per
   * bucket, not cumulative; the last one is +Inf) and the buckets' upper bounds in seconds. Read-only, for summaries.
   */
  totals(excluded: ReadonlySet<string>): { count: number; perBucket: Float64Array; bounds: readonly number[] } {
    const perBucket = new Float64Array(this.bounds.length + 1);
    let count = 0;
    for (const s of this.series.values()) {
      if (excluded.has(s.labels.endpoint)) continue;
      count += s.count;
      for (let i = 0; i < perBucket.length; i++) perBucket[i] += s.perBucket[i];
    }
    return { count, perBucket, bounds: this.bounds };
  }

  private counterValues(): MetricValue[] {
    return [...this.series.values()].map((s) => ({ labels: { ...s.labels }, value: s.count }));
  }

  private histogramValues(): MetricValue[] {
    const values: MetricValue[] = [];
    const name = 'vecstore_request_duration_seconds';
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += s.perBucket[i];
        values.push({ labels: { le, ...s.labels }, value: cumulative, metricName: `${name}_bucket`, exemplar: s.exemplars?.[i] });
      });
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${name}_bucket`, exemplar: s.exemplars?.[this.bounds.length] });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${name}_count` });
    }
    return values;
  }
}
