// `vecstore serve`: builds the engine, durability, metrics and server from a configuration and runs until a signal.
import os from 'node:os';
import { VecStoreEngine } from './engine/engine.js';
import type { Limits } from './engine/limits.js';
import type { MetricName } from './distance/metric.js';
import { VecStoreMetrics } from './metrics/metrics.js';
import { createLogger, type Logger } from './logger.js';
import { startServer, uwsIsNative } from './server/app.js';
import { simsimdIsNative } from './distance/simsimd-native.js';
import { Durability, parseFsyncPolicy } from './engine/durability.js';
import { ParsePool } from './ingest/parse-pool.js';

/** Everything `vecstore serve` can be told. */
export interface ServeConfig {
  host: string;
  port: number;
  dataDir: string;
  dimension?: number;
  metric: MetricName;
  workers: number;
  fsync: string;
  cacheSize: number;
  metrics: boolean;
  metricsAuth: boolean;
  apiKeys: string[];
  readOnlyApiKeys: string[];
  bm25: { k1: number; b: number };
  checkpointWalBytes: number;
  /** Threads parsing large and Arrow batch bodies; 0 parses them on the front thread. */
  parseThreads: number;
  limits: Limits;
}

/** Runs the server until SIGINT/SIGTERM, then stops gracefully and exits 0. */
export async function serve(config: ServeConfig, logger: Logger = createLogger()): Promise<void> {
  if (!uwsIsNative()) logger.warn({}, 'uWebSockets.js is running its slow JavaScript fallback');
  if (!simsimdIsNative) logger.warn({}, 'simsimd is running its slow JavaScript fallback');
  const fsync = parseFsyncPolicy(config.fsync);
  let metrics: VecStoreMetrics | undefined;
  const engine = new VecStoreEngine({
    metric: config.metric,
    dimension: config.dimension,
    threads: config.workers,
    limits: config.limits,
    cacheSize: config.cacheSize,
    bm25: config.bm25,
    onWorkerMetrics: config.metrics ? (delta) => metrics?.addWorkerDelta(delta) : undefined,
    workerEnv: process.env.VECSTORE_TEST_FAULTS === '1' ? { VECSTORE_TEST_FAULTS: '1' } : undefined,
  });
  if (config.metrics) {
    metrics = new VecStoreMetrics(
      {
        counts: () => ({ ...engine.store.counts, dimension: engine.dimension ?? 0 }),
        poolQueueDepth: () => engine.poolQueueDepth,
        poolUtilization: () => engine.poolUtilization,
      },
      { wsConnectionLimit: config.limits.maxWsConnections, cacheEnabled: engine.cacheEnabled },
    );
  }
  let durability: Durability | undefined;
  let loaded = false;
  const parser = config.parseThreads > 0 ? new ParsePool({ threads: config.parseThreads }) : undefined;
  const server = await startServer({
    host: config.host,
    port: config.port,
    apiKeys: config.apiKeys,
    readOnlyApiKeys: config.readOnlyApiKeys,
    metricsAuth: config.metricsAuth,
    engine,
    metrics,
    snapshots: {
      createSnapshot: (name) => durability!.createSnapshot(name),
      listSnapshots: () => durability!.listSnapshots(),
      restoreSnapshot: (name) => durability!.restoreSnapshot(name),
    },
    parser,
    logger,
    isReady: () => loaded && engine.workersReady,
  });
  // Listening first lets /health answer and /ready say 503 while a large data directory is recovered.
  try {
    durability = await Durability.open(engine, { dataDir: config.dataDir, fsync, checkpointWalBytes: config.checkpointWalBytes, logger });
  } catch (err) {
    logger.error({ dataDir: config.dataDir }, `cannot open the data directory: ${(err as Error).message}`);
    logger.flush?.();
    await server.stop(0);
    await parser?.close();
    await engine.close();
    process.exit(1);
  }
  loaded = true;
  const { apiKeys, readOnlyApiKeys, ...shown } = config;
  logger.info({ host: config.host, port: server.port, config: { ...shown, apiKeys: apiKeys.length, readOnlyApiKeys: readOnlyApiKeys.length }, cores: os.cpus().length }, 'listening');
  if (apiKeys.length + readOnlyApiKeys.length === 0 && !isLoopback(config.host)) {
    logger.warn({ host: config.host }, 'no API key configured and listening on a non-loopback address: anyone who can reach this port can read and write');
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    await server.stop();
    // Acknowledged writes are already durable under the fsync policy; close() fsyncs the rest and releases the lock.
    await durability?.close();
    await parser?.close();
    await engine.close();
    logger.info({}, 'stopped');
    logger.flush?.();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
