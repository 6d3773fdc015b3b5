// The Piscina pool of workers, shared by every store of a process: announces vector and graph segments to its workers
// once, runs their tasks (scans, graph searches, graph inserts), reports worker metric deltas. Its channels carry names unique to the pool, so pools never cross-talk.
// Graph inserts run on builder threads of their own, at a lower priority, so that building never holds queries back.
import { randomUUID } from 'node:crypto';
import { BroadcastChannel } from 'node:worker_threads';
import { Piscina, queueOptionsSymbol } from 'piscina';
import { FairTaskQueue, type SourceTag } from './fair-task-queue.js';
import { collectDroppedSoon } from './dropped-memory.js';
import type { SegmentDescriptor } from '../store/segment-layout.js';
import type { GraphSegmentDescriptor } from '../index/graph-layout.js';
import type { ScanWorkerData, SegmentBroadcast, WorkerHello, WorkerMetricsDelta, WorkerMetricsReport, WorkerTask } from './messages.js';
import { BACKGROUND_THREAD_NICENESS, WORKER_EXEC_ARGV } from '../worker-threads.js';

const WORKER_FILE = new URL('../../workers/scan-worker.js', import.meta.url);

/** A graph builder idle this long is retired (its views of the segments go with it); the next build starts another. */
const BUILDER_IDLE_MS = 60_000;

export interface ScanPoolOptions {
  threads: number;
  /** Receives the workers' metric deltas; undefined turns worker metrics off. */
  onWorkerMetrics?: (delta: WorkerMetricsDelta) => void;
  /** Extra environment for the workers (test fault switch). */
  env?: Record<string, string>;
}

/**
 * A fixed-size pool of query workers, and up to as many graph builders. Segment ids are unique in the process (see
 * VectorStore), so one pool serves any number of stores: a task names its segments, and the pool remembers every
 * announced segment until it is dropped, to announce them again to a worker that starts later (a builder, or a
 * worker that replaces a dead one).
 */
export class ScanPool {
  /** The query workers: scans and graph searches. */
  private readonly pool: Piscina<WorkerTask, unknown>;
  /**
   * The graph builders: the same worker code on the same segments (they hear the same channels), started when a graph
   * needs building and retired when idle, running below the query workers' priority.
   */
  private readonly builders: Piscina<WorkerTask, unknown>;
  private readonly channel: BroadcastChannel;
  private readonly metricsChannel: BroadcastChannel | undefined;
  private readonly options: ScanPoolOptions;
  private readonly segments = new Map<number, SegmentDescriptor>();
  private readonly graphSegments = new Map<number, GraphSegmentDescriptor>();
  /** When each source last ran a search task (sources quiet for a while are forgotten; graph building is not counted). */
  private readonly lastRun = new Map<number, number>();
  private running = 0;

  constructor(options: ScanPoolOptions) {
    this.options = options;
    const prefix = `vecstore:${process.pid}:${randomUUID()}`;
    const workerData: ScanWorkerData = {
      segmentChannel: `${prefix}:segments`,
      ...(options.onWorkerMetrics ? { metricsChannel: `${prefix}:worker-metrics` } : {}),
    };
    this.channel = new BroadcastChannel(workerData.segmentChannel);
    const common = {
      filename: WORKER_FILE.href,
      name: 'run',
      maxThreads: options.threads,
      // 'async' lets an idle worker's event loop run, so segment broadcasts are mapped before the next task needs them.
      atomics: 'async' as const,
      // A task taken from the queue when no worker was free goes back to the front (unshift), keeping its turn; by
      // default Piscina appends it at the tail, which would send a small store's task behind the busy one's again.
      stricterFIFO: true,
      env: { ...process.env, ...(options.env ?? {}) } as Record<string, string>,
      execArgv: WORKER_EXEC_ARGV,
    };
    this.pool = new Piscina<WorkerTask, unknown>({
      ...common,
      minThreads: options.threads,
      // Workers keep their segment views for their whole life; never retire them for being idle.
      idleTimeout: Number.MAX_SAFE_INTEGER,
      // Waiting tasks are served round-robin by source, so one busy store cannot hold the others' queries behind it.
      taskQueue: new FairTaskQueue(),
      workerData,
    });
    // A builder that starts says hello and is sent every segment, like a query worker that replaces a dead one.
    this.builders = new Piscina<WorkerTask, unknown>({
      ...common,
      minThreads: 0,
      idleTimeout: BUILDER_IDLE_MS,
      // Stores building at once take turns.
      taskQueue: new FairTaskQueue(),
      workerData: { ...workerData, niceness: BACKGROUND_THREAD_NICENESS } satisfies ScanWorkerData,
    });
    this.channel.onmessage = (event: unknown) => {
      const message = (event as { data: SegmentBroadcast | WorkerHello }).data;
      if (message.type === 'hello') {
        this.broadcast([...this.segments.values()]);
        this.broadcastGraph([...this.graphSegments.values()]);
      }
    };
    (this.channel as unknown as { unref(): void }).unref();
    if (workerData.metricsChannel) {
      const metricsChannel = new BroadcastChannel(workerData.metricsChannel);
      metricsChannel.onmessage = (event: unknown) => {
        const message = (event as { data: WorkerMetricsReport }).data;
        if (message.type === 'metrics') this.options.onWorkerMetrics?.(message.delta);
      };
      (metricsChannel as unknown as { unref(): void }).unref();
      this.metricsChannel = metricsChannel;
    }
  }

  /** Sends new segments to every worker, once; workers map them and keep the views. */
  announce(segments: SegmentDescriptor[]): void {
    for (const segment of segments) this.segments.set(segment.id, segment);
    this.broadcast(segments);
  }

  /** Tells every worker to forget segments no scan will read again. */
  drop(ids: number[]): void {
    for (const id of ids) this.segments.delete(id);
    if (ids.length > 0) this.channel.postMessage({ type: 'drop', ids } satisfies SegmentBroadcast);
    // The workers collect on this message; this thread's views go in its own collection (see dropped-memory.ts).
    collectDroppedSoon();
  }

  private broadcast(segments: SegmentDescriptor[]): void {
    if (segments.length > 0) this.channel.postMessage({ type: 'segments', segments } satisfies SegmentBroadcast);
  }

  /** Sends new graph segments to every worker, once. */
  announceGraph(segments: GraphSegmentDescriptor[]): void {
    for (const segment of segments) this.graphSegments.set(segment.id, segment);
    this.broadcastGraph(segments);
  }

  /** Tells every worker to forget graph segments no search will read again. */
  dropGraph(ids: number[]): void {
    for (const id of ids) this.graphSegments.delete(id);
    if (ids.length > 0) this.channel.postMessage({ type: 'drop-graph', ids } satisfies SegmentBroadcast);
    collectDroppedSoon();
  }

  private broadcastGraph(segments: GraphSegmentDescriptor[]): void {
    if (segments.length > 0) this.channel.postMessage({ type: 'graph-segments', segments } satisfies SegmentBroadcast);
  }

  /**
   * Runs one task on some worker (the caller knows the answer's type from the task's kind): graph inserts on a
   * builder, everything else on a query worker. `source` names who asks (a store's queries, or its graph building):
   * while workers are busy, waiting tasks of different sources take turns.
   */
  async run(task: WorkerTask, source = 0): Promise<unknown> {
    const tagged: WorkerTask & { [queueOptionsSymbol]: SourceTag } = { ...task, [queueOptionsSymbol]: { source } };
    if (task.kind === 'graph-insert') return this.builders.run(tagged);
    this.running++;
    this.lastRun.set(source, performance.now());
    try {
      return await this.pool.run(tagged);
    } finally {
      this.running--;
    }
  }

  get threads(): number {
    return this.options.threads;
  }

  /**
   * Whether a source other than `source` ran search tasks in the last `withinMs`: only then is it worth cutting a large
   * scan into short tasks (which costs a little, and costs pruning its warm-up per task), so that the other can get a turn.
   */
  sharedWith(source: number, withinMs = 10_000): boolean {
    const since = performance.now() - withinMs;
    let shared = false;
    for (const [other, at] of this.lastRun) {
      if (at < since) this.lastRun.delete(other);
      else if (other !== source) shared = true;
    }
    return shared;
  }

  /** Segments currently announced (every store's), for tests and diagnostics. */
  get segmentCount(): number {
    return this.segments.size;
  }

  /** Tasks waiting for a free query worker. */
  get queueDepth(): number {
    return this.pool.queueSize;
  }

  /** Fraction of the query workers busy right now, in [0, 1]. */
  get utilization(): number {
    return Math.min(1, (this.running - this.pool.queueSize) / this.options.threads);
  }

  /** True once every worker thread has started. */
  get ready(): boolean {
    return this.pool.threads.length >= this.options.threads;
  }

  async close(): Promise<void> {
    this.channel.close();
    this.metricsChannel?.close();
    await Promise.all([this.pool.destroy(), this.builders.destroy()]);
  }
}
