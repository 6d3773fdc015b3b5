// `vecstore serve`: builds the scan pool, catalog, metrics and server from a configuration and runs until a signal.
import os from 'node:os';
import type { IndexKind } from './engine/engine.js';
import type { HnswSettings } from './index/hnsw-index.js';
import type { Limits } from './engine/limits.js';
import type { MetricName } from './distance/metric.js';
import { VecStoreMetrics } from './metrics/metrics.js';
import { createLogger, type Logger } from './logger.js';
import { startServer, uwsIsNative } from './server/app.js';
import { bodyMemoryLimit } from './server/body-budget.js';
import { Authenticator } from './server/auth.js';
import { simsimdIsNative } from './distance/simsimd-native.js';
import { parseFsyncPolicy } from './engine/durability.js';
import { ScanPool } from './search/scan-pool.js';
import { Catalog } from './catalog/catalog.js';
import { hnswToWire } from './catalog/collection-settings.js';
import { readApiKeysFile, type ApiKeyEntry } from './catalog/api-keys.js';
import { ParsePool } from './ingest/parse-pool.js';
import type { JsonReader } from './ingest/json-batch-reader.js';
import { startTracing, tracingConfig } from './telemetry/tracing.js';

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
  /** `--api-keys-file`: keys with roles and collection scopes, re-read on SIGHUP. */
  apiKeysFile?: string;
  maxCollections: number;
  bm25: { k1: number; b: number };
  checkpointWalBytes: number;
  /** Threads parsing large JSON and Arrow batch bodies; 0 parses JSON on the front thread (Arrow keeps one thread). */
  parseThreads: number;
  /** `--json-reader`: the fast batch-body reader, or `builtin` (plain JSON.parse). */
  jsonReader: JsonReader;
  /** Compact in the background once garbage slots pass this share of used slots (0: off). */
  autoCompactRatio: number;
  /** Index of collections created without one (and of `default`), and its HNSW defaults. */
  index: IndexKind;
  hnsw: HnswSettings;
  indexThreshold: number;
  /** Recall planned for queries that ask for neither ef nor recall; audits: share of graph answers and rate cap. */
  targetRecall: number;
  recallSampleRate: number;
  recallAuditsPerSecond: number;
  limits: Limits;
  /** `--tracing`: export OpenTelemetry traces even without an OTEL_EXPORTER_OTLP_* endpoint variable. */
  tracing?: boolean;
  /** `--cors-origin`: origins browser applications may call from (empty: CORS off). */
  corsOrigins?: string[];
}

/** Runs the server until SIGINT/SIGTERM, then stops gracefully and exits 0. */
export async function serve(config: ServeConfig, logger: Logger = createLogger()): Promise<void> {
  if (!uwsIsNative()) logger.warn({}, 'uWebSockets.js is running its slow JavaScript fallback');
  if (!simsimdIsNative) logger.warn({}, 'simsimd is running its slow JavaScript fallback');
  const fsync = parseFsyncPolicy(config.fsync);
  let fileKeys: ApiKeyEntry[] = [];
  if (config.apiKeysFile !== undefined) {
    try {
      fileKeys = readApiKeysFile(config.apiKeysFile);
    } catch (err) {
      logger.error({ api_keys_file: config.apiKeysFile }, `cannot load the API keys file: ${(err as Error).message}`);
      logger.flush?.();
      process.exit(1);
    }
  }
  const auth = new Authenticator({ apiKeys: config.apiKeys, readOnlyApiKeys: config.readOnlyApiKeys, fileKeys });
  const tracingSetup = tracingConfig(config.tracing === true);
  // Loaded only when on: without tracing the OpenTelemetry SDK is never imported.
  const tracing = tracingSetup ? await startTracing(tracingSetup) : undefined;
  if (tracingSetup) logger.info({ endpoint: tracingSetup.endpoint, protocol: tracingSetup.protocol, service_name: tracingSetup.serviceName }, 'tracing on');
  let metrics: VecStoreMetrics | undefined;
  // One pool for every collection: segment ids are unique in the process, so its workers need not know collections.
  const pool = new ScanPool({
    threads: config.workers,
    onWorkerMetrics: config.metrics ? (delta) => metrics?.addWorkerDelta(delta) : undefined,
    env: process.env.VECSTORE_TEST_FAULTS === '1' ? { VECSTORE_TEST_FAULTS: '1' } : undefined,
  });
  const fatal = async (message: string): Promise<never> => {
    logger.error({ dataDir: config.dataDir }, message);
    logger.flush?.();
    await pool.close();
    process.exit(1);
  };
  let catalog: Catalog;
  try {
    catalog = Catalog.lock({
      dataDir: config.dataDir,
      pool,
      metric: config.metric,
      dimension: config.dimension,
      limits: config.limits,
      cacheSize: config.cacheSize,
      bm25: config.bm25,
      fsync,
      checkpointWalBytes: config.checkpointWalBytes,
      maxCollections: config.maxCollections,
      autoCompactRatio: config.autoCompactRatio,
      onAutoCompact: (collection, outcome) => {
        if ('error' in outcome) logger.error({ collection, err: outcome.error.message }, 'automatic compaction failed');
        else {
          metrics?.autoCompactions.inc();
          logger.info({ collection, removed: outcome.removedCount, freed_bytes: outcome.freedBytes }, 'automatic compaction');
        }
      },
      index: config.index,
      hnsw: hnswToWire(config.hnsw),
      indexThreshold: config.indexThreshold,
      recall: {
        target: config.targetRecall,
        sampleRate: config.recallSampleRate,
        auditsPerSecond: config.recallAuditsPerSecond,
        onAudit: (type, recall) => metrics?.observeRecall(type, recall),
      },
      indexEvents: {
        inserted: (rows, ms) => metrics?.observeIndexInsert(rows, ms),
        failed: (err) => logger.warn({ err: err.message }, 'a graph insert task failed; its rows will be inserted again'),
      },
      logger,
    });
  } catch (err) {
    return fatal(`cannot open the data directory: ${(err as Error).message}`);
  }
  if (config.metrics) {
    metrics = new VecStoreMetrics(
      {
        counts: () => catalog.list().map((c) => ({ collection: c.name, ...c.engine.store.counts, dimension: c.dimension ?? 0 })),
        poolQueueDepth: () => pool.queueDepth + catalog.list().reduce((sum, c) => sum + c.engine.queriesWaiting, 0),
        poolUtilization: () => pool.utilization,
        index: () => catalog.list().map((c) => ({ collection: c.name, indexed: c.engine.hnsw?.indexedRows ?? 0, pending: c.engine.hnsw?.pendingRows ?? 0, bytes: c.engine.hnsw?.bytes ?? 0 })),
      },
      { wsConnectionLimit: config.limits.maxWsConnections, bodyMemoryLimit: bodyMemoryLimit(config.limits), cacheEnabled: config.cacheSize > 0, targetRecall: config.targetRecall },
    );
  }
  let recovered = false;
  const parser = new ParsePool({ threads: config.parseThreads, inlineJson: config.parseThreads === 0, maxBodyBytes: config.limits.maxBodyBytes, jsonReader: config.jsonReader });
  const server = await startServer({
    host: config.host,
    port: config.port,
    auth,
    metricsAuth: config.metricsAuth,
    catalog,
    limits: config.limits,
    defaultMetric: config.metric,
    metrics,
    parser,
    logger,
    tracing,
    corsOrigins: config.corsOrigins,
    isReady: () => recovered && pool.ready,
  }).catch(async (err: Error) => {
    // A taken port ends start-up, with the data directory closed and its lock released.
    logger.error({ host: config.host, port: config.port }, `cannot start: ${err.message}`);
    logger.flush?.();
    await catalog.close().catch(() => {});
    await pool.close();
    process.exit(1);
  });
  // Listening first lets /health answer and /ready say 503 while a large data directory is recovered.
  try {
    await catalog.recover();
  } catch (err) {
    await server.stop(0);
    await parser.close();
    return fatal(`cannot open the data directory: ${(err as Error).message}`);
  }
  recovered = true;
  // Before the `listening` line, which tells watchers (and tests) that start-up has finished saying what it has to say.
  if (!auth.enabled && !isLoopback(config.host)) {
    logger.warn({ host: config.host }, 'no API key configured and listening on a non-loopback address: anyone who can reach this port can read and write');
  }
  const { apiKeys, readOnlyApiKeys, ...shown } = config;
  logger.info(
    { host: config.host, port: server.port, config: { ...shown, apiKeys: apiKeys.length, readOnlyApiKeys: readOnlyApiKeys.length, fileKeys: fileKeys.length }, collections: catalog.size, cores: os.cpus().length },
    'listening',
  );
  if (config.apiKeysFile !== undefined) {
    const file = config.apiKeysFile;
    // Key rotation without a restart; a broken file keeps the keys in use and says why.
    process.on('SIGHUP', () => {
      try {
        const entries = readApiKeysFile(file);
        auth.replaceFileKeys(entries);
        logger.info({ api_keys_file: file, keys: entries.length }, 'API keys reloaded');
      } catch (err) {
        logger.error({ api_keys_file: file }, `API keys not reloaded, the previous keys stay in use: ${(err as Error).message}`);
      }
    });
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    // Every step runs even if one before it fails: the log's final fsync and the lock release matter most.
    const step = async (name: string, run: () => Promise<void> | undefined) => {
      try {
        await run();
      } catch (err) {
        logger.error({ err: (err as Error).message, step: name }, 'shutdown step failed');
      }
    };
    await step('server', () => server.stop());
    // Acknowledged writes are already durable under the fsync policy; close() fsyncs the rest and releases the lock.
    await step('catalog', () => catalog.close());
    await step('parser', () => parser.close());
    await step('pool', () => pool.close());
    // Exports the spans still buffered.
    await step('tracing', () => tracing?.shutdown());
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
