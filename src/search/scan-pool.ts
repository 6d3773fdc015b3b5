// The Piscina pool of scan workers: announces segments to them once, runs scan tasks, reports worker metric deltas.
import { BroadcastChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { SegmentDescriptor } from '../store/segment-layout.js';
import {
  METRICS_CHANNEL,
  SEGMENT_CHANNEL,
  type ScanResult,
  type ScanTask,
  type SegmentBroadcast,
  type WorkerHello,
  type WorkerMetricsDelta,
  type WorkerMetricsReport,
} from './messages.js';

const WORKER_FILE = new URL('../../workers/scan-worker.js', import.meta.url);

export interface ScanPoolOptions {
  threads: number;
  /** Current segments, re-announced whenever a (new or replacement) worker says hello. */
  segments: () => SegmentDescriptor[];
  /** Receives the workers' metric deltas; undefined turns worker metrics off. */
  onWorkerMetrics?: (delta: WorkerMetricsDelta) => void;
  /** Extra environment for the workers (test fault switch). */
  env?: Record<string, string>;
}

/** A fixed-size pool of scan workers sharing the store's segments. */
export class ScanPool {
  private readonly pool: Piscina<ScanTask, ScanResult>;
  private readonly channel = new BroadcastChannel(SEGMENT_CHANNEL);
  private readonly metricsChannel = new BroadcastChannel(METRICS_CHANNEL);
  private readonly options: ScanPoolOptions;
  private running = 0;

  constructor(options: ScanPoolOptions) {
    this.options = options;
    this.pool = new Piscina<ScanTask, ScanResult>({
      filename: WORKER_FILE.href,
      name: 'scan',
      minThreads: options.threads,
      maxThreads: options.threads,
      // Workers keep their segment views for their whole life; never retire them for being idle.
      idleTimeout: Number.MAX_SAFE_INTEGER,
      // 'async' lets an idle worker's event loop run, so segment broadcasts are mapped before the next task needs them.
      atomics: 'async',
      env: { ...process.env, ...(options.env ?? {}), VECSTORE_WORKER_METRICS: options.onWorkerMetrics ? '1' : '0' } as Record<string, string>,
    });
    this.channel.onmessage = (event: unknown) => {
      const message = (event as { data: SegmentBroadcast | WorkerHello }).data;
      if (message.type === 'hello') this.announce(this.options.segments());
    };
    (this.channel as unknown as { unref(): void }).unref();
    this.metricsChannel.onmessage = (event: unknown) => {
      const message = (event as { data: WorkerMetricsReport }).data;
      if (message.type === 'metrics') this.options.onWorkerMetrics?.(message.delta);
    };
    (this.metricsChannel as unknown as { unref(): void }).unref();
  }

  /** Sends new segments to every worker, once; workers map them and keep the views. */
  announce(segments: SegmentDescriptor[]): void {
    if (segments.length > 0) this.channel.postMessage({ type: 'segments', segments } satisfies SegmentBroadcast);
  }

  /** Tells every worker to forget segments no scan will read again. */
  drop(ids: number[]): void {
    if (ids.length > 0) this.channel.postMessage({ type: 'drop', ids } satisfies SegmentBroadcast);
  }

  /** Runs one scan task on some worker. */
  async run(task: ScanTask): Promise<ScanResult> {
    this.running++;
    try {
      return await this.pool.run(task);
    } finally {
      this.running--;
    }
  }

  get threads(): number {
    return this.options.threads;
  }

  /** Tasks waiting for a free worker. */
  get queueDepth(): number {
    return this.pool.queueSize;
  }

  /** Fraction of the workers busy right now, in [0, 1]. */
  get utilization(): number {
    return Math.min(1, (this.running - this.pool.queueSize) / this.options.threads);
  }

  /** True once every worker thread has started. */
  get ready(): boolean {
    return this.pool.threads.length >= this.options.threads;
  }

  async close(): Promise<void> {
    this.channel.close();
    this.metricsChannel.close();
    await this.pool.destroy();
  }
}
