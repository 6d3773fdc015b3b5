#!/usr/bin/env node
// The `vecstore` command: `serve` runs the server, `import`/`export` move data in and out, `bench` runs the benchmarks.
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { METRIC_NAMES, type MetricName } from './distance/metric.js';
import { DEFAULT_LIMITS, type Limits } from './engine/limits.js';
import { serve } from './serve.js';
import { VERSION } from './version.js';
import { DEFAULT_HNSW } from './index/hnsw-index.js';
import { DEFAULT_INDEX_THRESHOLD, DEFAULT_TARGET_RECALL, type IndexKind } from './engine/engine.js';
import { JSON_READERS, type JsonReader } from './ingest/json-batch-reader.js';

function integer(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be an integer ≥ ${min}.`);
    return n;
  };
}

function number(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('must be a number.');
  return n;
}

function ratio(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError('must be a number from 0 (off) to below 1.');
  return n;
}

function fraction(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError('must be a number in (0, 1].');
  return n;
}

function share(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('must be a number from 0 to 1.');
  return n;
}

function keyList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((k) => k.trim()).filter((k) => k !== '')];
}

const program = new Command()
  .name('vecstore')
  .version(VERSION, '-V, --version', 'print the version')
  .description('VecStore: a single-node vector database server (exact k-NN, hybrid search, WAL durability, Prometheus metrics)')
  .showHelpAfterError();

const limitOptions: Array<[keyof Limits, string, string]> = [
  ['maxBodyBytes', '--max-body <bytes>', 'largest request body'],
  ['maxBodyMemoryBytes', '--max-body-memory <bytes>', 'request bodies held at once (more waits: 429 with Retry-After); at least --max-body'],
  ['maxSnapshotUploadBytes', '--max-snapshot-upload <bytes>', 'largest snapshot file upload (streamed to disk)'],
  ['maxBatchRecords', '--max-batch <records>', 'most records in one batch-upsert'],
  ['maxK', '--max-k <k>', 'largest limit/k of a query'],
  ['maxEf', '--max-ef <ef>', 'largest search breadth ef of a query'],
  ['maxDimension', '--max-dimension <d>', 'largest vector dimension'],
  ['maxIdLength', '--max-id-length <chars>', 'longest id'],
  ['maxMetadataBytes', '--max-metadata-bytes <bytes>', 'largest metadata object (JSON bytes)'],
  ['maxMetadataDepth', '--max-metadata-depth <levels>', 'deepest metadata nesting'],
  ['maxTextBytes', '--max-text-bytes <bytes>', 'largest text field'],
  ['maxFilterLength', '--max-filter-length <chars>', 'longest filter expression'],
  ['maxFilterDepth', '--max-filter-depth <levels>', 'deepest filter nesting'],
  ['maxFilterMs', '--max-filter-ms <ms>', 'most front-thread time one query\'s filter may take'],
  ['maxWsMessageBytes', '--max-ws-message <bytes>', 'largest WebSocket message'],
  ['maxWsInFlight', '--max-ws-in-flight <queries>', 'queries in flight per WebSocket'],
  ['maxWsConnections', '--max-ws-connections <sockets>', 'open WebSocket connections'],
  ['maxWsQueuedBytes', '--max-ws-queued-bytes <bytes>', 'answers waiting to be read on one WebSocket before it is closed (1008)'],
];

const serveCommand = program
  .command('serve')
  .description('run the server (every option can also be set by the environment variable shown)')
  .addOption(new Option('--host <host>', 'address to listen on').env('VECSTORE_HOST').default('0.0.0.0'))
  .addOption(new Option('--port <port>', 'port to listen on (0 picks a free one)').env('VECSTORE_PORT').default(8080).argParser(integer(0)))
  .addOption(new Option('--data-dir <dir>', 'directory holding the collections (each with its log, checkpoints and snapshots)').env('VECSTORE_DATA_DIR').default('./data'))
  .addOption(new Option('--dimension <d>', 'vector dimension of the default collection (default: fixed by its first vector)').env('VECSTORE_DIMENSION').argParser(integer(1)))
  .addOption(new Option('--metric <metric>', 'distance metric of the default collection and of collections created without one').env('VECSTORE_METRIC').choices(METRIC_NAMES as string[]).default('cosine'))
  .addOption(new Option('--workers <n>', 'scan worker threads').env('VECSTORE_WORKERS').default(os.cpus().length, 'the number of cores').argParser(integer(1)))
  .addOption(new Option('--parse-threads <n>', 'threads parsing large JSON and Arrow batch bodies (0: JSON on the front thread, Arrow in one thread)').env('VECSTORE_PARSE_THREADS').default(Math.max(1, Math.floor(os.cpus().length / 2)), 'half the cores').argParser(integer(0)))
  .addOption(new Option('--json-reader <reader>', 'reader of JSON batch-upsert bodies: fast (vectors read straight to float32, bit-identical) or builtin (JSON.parse)').env('VECSTORE_JSON_READER').choices(JSON_READERS as string[]).default('fast'))
  .addOption(new Option('--fsync <policy>', 'when the log is fsynced: always (group commit), interval:<ms>, or off').env('VECSTORE_FSYNC').default('always'))
  .addOption(new Option('--cache-size <entries>', 'query cache entries (0 turns it off)').env('VECSTORE_CACHE_SIZE').default(10_000).argParser(integer(0)))
  .addOption(new Option('--checkpoint-wal-bytes <bytes>', 'fold the log into a checkpoint once it grows past this (or past the newest checkpoint\'s size, if larger)').env('VECSTORE_CHECKPOINT_WAL_BYTES').default(256 * 1024 * 1024).argParser(integer(1)))
  .addOption(new Option('--auto-compact-ratio <ratio>', 'compact in the background once garbage slots (left by updates and hard deletes) pass this share of used slots; 0 turns it off').env('VECSTORE_AUTO_COMPACT_RATIO').default(0.5).argParser(ratio))
  .addOption(new Option('--api-key <keys>', 'API key(s) with full access; repeat or separate with commas').env('VECSTORE_API_KEY').argParser(keyList).default([], 'none'))
  .addOption(new Option('--cors-origin <origins>', 'origin(s) browser applications may call from, or * for any; repeat or separate with commas (default: CORS off)').env('VECSTORE_CORS_ORIGIN').argParser(keyList).default([], 'none'))
  .addOption(new Option('--read-only-api-key <keys>', 'API key(s) that may only read').env('VECSTORE_READ_ONLY_API_KEY').argParser(keyList).default([], 'none'))
  .addOption(new Option('--api-keys-file <file>', 'JSON list of {"key", "role": "admin"|"write"|"read", "collections": ["*"] or names}; re-read on SIGHUP').env('VECSTORE_API_KEYS_FILE'))
  .addOption(new Option('--max-collections <n>', 'most collections this server holds').env('VECSTORE_MAX_COLLECTIONS').default(1000).argParser(integer(1)))
  .addOption(new Option('--metrics-auth', 'require an API key for /metrics too').env('VECSTORE_METRICS_AUTH').default(false))
  .addOption(new Option('--no-metrics', 'turn metrics collection off (/metrics answers 404)').env('VECSTORE_NO_METRICS'))
  .addOption(new Option('--bm25-k1 <k1>', 'BM25 term-frequency saturation').env('VECSTORE_BM25_K1').default(1.2).argParser(number))
  .addOption(new Option('--bm25-b <b>', 'BM25 length normalisation').env('VECSTORE_BM25_B').default(0.75).argParser(number))
  .addOption(new Option('--tracing', 'export OpenTelemetry traces over OTLP (also on when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set)').env('VECSTORE_TRACING').default(false))

  .addOption(new Option('--index <kind>', 'vector index: hnsw (graph, approximate) or flat (exact scans)').env('VECSTORE_INDEX').choices(['hnsw', 'flat']).default('hnsw'))
  .addOption(new Option('--hnsw-m <m>', 'graph neighbours per node (2m on the bottom level)').env('VECSTORE_HNSW_M').default(DEFAULT_HNSW.m).argParser(integer(2)))
  .addOption(new Option('--hnsw-ef-construction <ef>', 'search breadth while building the graph').env('VECSTORE_HNSW_EF_CONSTRUCTION').default(DEFAULT_HNSW.efConstruction).argParser(integer(1)))
  .addOption(new Option('--hnsw-ef <ef>', 'default search breadth of a query').env('VECSTORE_HNSW_EF').default(DEFAULT_HNSW.ef).argParser(integer(1)))
  .addOption(new Option('--target-recall <r>', 'recall of queries that ask for neither ef nor recall, in (0, 1]').env('VECSTORE_TARGET_RECALL').default(DEFAULT_TARGET_RECALL).argParser(fraction))
  .addOption(new Option('--recall-sample-rate <share>', 'share of graph answers re-run exactly to measure recall (0 turns audits off)').env('VECSTORE_RECALL_SAMPLE_RATE').default(0.01).argParser(share))
  .addOption(new Option('--recall-audits-per-second <n>', 'most recall audits started per second').env('VECSTORE_RECALL_AUDITS_PER_SECOND').default(5).argParser(number))
  .addOption(new Option('--index-threshold <vectors>', 'below this many active vectors, queries scan exactly').env('VECSTORE_INDEX_THRESHOLD').default(DEFAULT_INDEX_THRESHOLD).argParser(integer(0)));

for (const [key, flags, description] of limitOptions) {
  const env = 'VECSTORE_' + flags.slice(2).split(' ')[0].replace(/-/g, '_').toUpperCase();
  serveCommand.addOption(new Option(flags, description).env(env).default(DEFAULT_LIMITS[key]).argParser(integer(1)));
}

serveCommand.action(async (opts: Record<string, unknown>) => {
  const limits = { ...DEFAULT_LIMITS };
  for (const [key, flags] of limitOptions) {
    const name = flags.slice(2).split(' ')[0].replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    limits[key] = opts[name] as number;
  }
  await serve({
    host: opts.host as string,
    port: opts.port as number,
    dataDir: opts.dataDir as string,
    dimension: opts.dimension as number | undefined,
    metric: opts.metric as MetricName,
    workers: opts.workers as number,
    fsync: opts.fsync as string,
    cacheSize: opts.cacheSize as number,
    metrics: opts.metrics as boolean,
    metricsAuth: opts.metricsAuth as boolean,
    apiKeys: opts.apiKey as string[],
    readOnlyApiKeys: opts.readOnlyApiKey as string[],
    apiKeysFile: opts.apiKeysFile as string | undefined,
    maxCollections: opts.maxCollections as number,
    bm25: { k1: opts.bm25K1 as number, b: opts.bm25B as number },
    checkpointWalBytes: opts.checkpointWalBytes as number,
    parseThreads: opts.parseThreads as number,
    jsonReader: opts.jsonReader as JsonReader,
    autoCompactRatio: opts.autoCompactRatio as number,
    index: opts.index as IndexKind,
    hnsw: { m: opts.hnswM as number, efConstruction: opts.hnswEfConstruction as number, ef: opts.hnswEf as number },
    indexThreshold: opts.indexThreshold as number,
    targetRecall: opts.targetRecall as number,
    recallSampleRate: opts.recallSampleRate as number,
    recallAuditsPerSecond: opts.recallAuditsPerSecond as number,
    limits,
    tracing: opts.tracing as boolean,
    corsOrigins: opts.corsOrigin as string[],
  });
});

function columnList(value: string): string[] {
  const names = value.split(',').map((k) => k.trim()).filter((k) => k !== '');
  if (names.length === 0) throw new InvalidArgumentError('must name at least one column.');
  return names;
}

program
  .command('import')
  .description('load .parquet, .arrow/.arrows/.feather/.ipc, .jsonl/.ndjson, .npy or .fvecs/.bvecs files into a running server (Arrow batches)')
  .argument('<files...>', 'the files to load, in order (format by extension); a directory loads the files under it; - reads JSONL from standard input')
  .requiredOption('--url <url>', 'the server, e.g. http://localhost:8080')
  .option('--collection <name>', 'the collection to load into (default: the default collection)')
  .addOption(new Option('--api-key <key>', 'API key with write access').env('VECSTORE_API_KEY'))
  .option('--id-column <name>', 'column (or JSONL key) holding the id', 'id')
  .option('--vector-column <name>', 'column holding the vector', 'vector')
  .option('--text-column <name>', 'column holding the text for keyword search (default: "text" when the file has one)')
  .option('--metadata-columns <a,b,c>', 'columns gathered into each record\'s metadata (default: a "metadata" column, object or JSON text)', columnList)
  .option('--batch-size <rows>', 'rows per request (at most the server\'s --max-batch)', integer(1), 2000)
  .option('--concurrency <n>', 'requests in flight', integer(1), 2)
  .option('--resume', 'skip rows whose id the collection already holds (continue an interrupted import)')
  .option('--strict', 'stop at the first bad row instead of reporting it and going on')
  .action(async (files: string[], o: Record<string, unknown>) => {
    const { runImport, StrictImportError } = await import('./tools/import-command.js');
    try {
      const s = await runImport({
        files,
        url: o.url as string,
        collection: o.collection as string | undefined,
        apiKey: o.apiKey as string | undefined,
        names: { id: o.idColumn as string, vector: o.vectorColumn as string, text: o.textColumn as string, metadata: o.metadataColumns as string[] | undefined },
        batchSize: o.batchSize as number,
        concurrency: o.concurrency as number,
        resume: o.resume === true,
        strict: o.strict === true,
      });
      console.log(`imported ${s.rows} rows${s.files > 1 ? ` from ${s.files} files` : ''} in ${s.seconds.toFixed(1)} s (${Math.round(s.rows / s.seconds)} rows/s): ${s.inserted} inserted, ${s.updated} updated, ${s.skipped} skipped (--resume), ${s.bad} bad`);
    } catch (err) {
      console.error(`import: ${(err as Error).message}`);
      process.exitCode = err instanceof StrictImportError ? 1 : 2;
    }
  });

program
  .command('export')
  .description('write every record of a running server (id, vector, metadata, text) to a .parquet or .jsonl file')
  .requiredOption('--url <url>', 'the server, e.g. http://localhost:8080')
  .requiredOption('--out <file>', 'the file to write (.parquet or .jsonl)')
  .option('--collection <name>', 'the collection to export (default: the default collection)')
  .addOption(new Option('--api-key <key>', 'API key').env('VECSTORE_API_KEY'))
  .option('--page-size <records>', 'records per scroll request', integer(1), 1000)
  .option('--filter <expression>', 'only the records this filter matches, e.g. "lang = \'en\'"')
  .action(async (o: Record<string, unknown>) => {
    const { runExport } = await import('./tools/export-command.js');
    try {
      const s = await runExport({ url: o.url as string, collection: o.collection as string | undefined, apiKey: o.apiKey as string | undefined, out: o.out as string, pageSize: o.pageSize as number, filter: o.filter as string | undefined });
      console.log(`exported ${s.records} records to ${o.out as string} in ${s.seconds.toFixed(1)} s`);
    } catch (err) {
      console.error(`export: ${(err as Error).message}`);
      process.exitCode = 2;
    }
  });

const bench = program.command('bench').description('benchmarks: micro-benchmarks, load runs against a server, side-by-side comparisons');
bench
  .command('kernels')
  .description('tinybench micro-benchmarks: simsimd vs JavaScript, shard-scan GB/s, batched vs single queries, 1 vs 2 workers')
  .option('--quick', 'smaller data and shorter runs')
  .action(async (opts: { quick?: boolean }) => {
    // Benchmarks load their tools (tinybench, usearch, ...) only when asked for, so a production install can serve without them.
    const { runKernelBenchmarks } = await import('../bench/kernels.js');
    await runKernelBenchmarks({ quick: opts.quick === true });
  });
bench
  .command('server')
  .description('requests/s of /health against a bare uWebSockets.js hello-world, and /v1/query over HTTP and WebSocket (needs wrk)')
  .option('--seconds <s>', 'seconds per run', integer(1), 10)
  .option('--vectors <n>', 'vectors loaded for the query runs', integer(1), 100_000)
  .option('--dim <d>', 'dimension', integer(1), 128)
  .option('--connections <n>', 'concurrent connections (and WebSocket queries in flight)', integer(1), 32)
  .action(async (opts: { seconds: number; vectors: number; dim: number; connections: number }) => {
    const { runServerBenchmark } = await import('../bench/server-bench.js');
    await runServerBenchmark(opts);
  });
bench
  .command('durability')
  .description('ingest vectors/s under each --fsync policy (8 writers, batches of 1,000) and restart time at 1M × 128')
  .option('--vectors <n>', 'vectors ingested per policy', integer(1), 200_000)
  .option('--writers <n>', 'concurrent writers', integer(1), 8)
  .option('--restart-count <n>', 'vectors in the restart measurement', integer(1), 1_000_000)
  .action((opts: { vectors: number; writers: number; restartCount: number }) => {
    // The benchmark times a restart in a fresh child process, so it runs as its own script.
    const script = fileURLToPath(new URL('../bench/durability-bench.js', import.meta.url));
    const args = [script, '--vectors', String(opts.vectors), '--writers', String(opts.writers), '--restart-count', String(opts.restartCount)];
    process.exitCode = spawnSync(process.execPath, args, { stdio: 'inherit' }).status ?? 1;
  });
bench
  .command('metrics')
  .description('the cost of metrics and of tracing (off, 1 %, 100 % sampled): CPU per request and latency as mean differences with 95 % confidence intervals over interleaved rounds, memory, scrape bytes on the wire')
  .option('--blocks <n>', 'blocks, each with freshly started servers', integer(2), 5)
  .option('--rounds <n>', 'rounds per block (each runs every configuration once per workload)', integer(1), 4)
  .option('--seconds <s>', 'seconds per run', integer(1), 1)
  .option('--connections <n>', 'concurrent connections', integer(1), 1)
  .action(async (opts: { blocks: number; rounds: number; seconds: number; connections: number }) => {
    const { runMetricsBenchmark } = await import('../bench/metrics-bench.js');
    await runMetricsBenchmark(opts);
  });
bench
  .command('hybrid')
  .description('hybrid (BM25 + vector) QPS against vector-only QPS, and cache-hit against cache-miss latency')
  .option('--documents <n>', 'documents (Zipf-vocabulary text + 128-d vectors)', integer(1), 100_000)
  .option('--seconds <s>', 'seconds per run', integer(1), 10)
  .action(async (opts: { documents: number; seconds: number }) => {
    const { runHybridBenchmark } = await import('../bench/hybrid-bench.js');
    await runHybridBenchmark(opts);
  });
bench
  .command('collections')
  .description('1,000 empty collections (creation time, resident memory) and noisy neighbours (a small collection\'s p99 while clients query a big flat one)')
  .option('--collections <n>', 'empty collections to create', integer(1), 1000)
  .option('--big-vectors <n>', 'rows of the big collection (0 skips the noisy-neighbour part)', integer(0), 1_000_000)
  .option('--small-vectors <n>', 'rows of the small collection', integer(1), 10_000)
  .option('--dim <d>', 'dimension of both', integer(1), 128)
  .option('--clients <n>', 'clients querying the big collection', integer(1), 16)
  .option('--seconds <s>', 'seconds of the contended run', integer(1), 20)
  .action(async (opts: { collections: number; bigVectors: number; smallVectors: number; dim: number; clients: number; seconds: number }) => {
    const { runCollectionsBenchmark } = await import('../bench/collections-bench.js');
    await runCollectionsBenchmark(opts);
  });
bench
  .command('soak')
  .description('bounded mixed load (upserts, queries, deletes, WebSocket streams, a scrape a second): errors, p99 drift, RSS growth')
  .option('--seconds <s>', 'duration', integer(10), 180)
  .option('--url <url>', 'soak an already running server instead of starting one')
  .action(async (opts: { seconds: number; url?: string }) => {
    const { runSoak } = await import('../bench/soak.js');
    await runSoak(opts);
  });
bench
  .command('ingest')
  .description('Arrow and JSON batch-upsert vectors/s against the disk bound, query p99 during ingest, vecstore import of Parquet')
  .option('--rows <n>', 'vectors loaded', integer(2), 300_000)
  .option('--dim <d>', 'dimension', integer(1), 768)
  .option('--json-rows <n>', 'vectors of each JSON run', integer(1), 60_000)
  .option('--batch <n>', 'rows per Arrow request', integer(1), 2000)
  .option('--json-batch <n>', 'rows per JSON request', integer(1), 1000)
  .option('--concurrency <n>', 'requests in flight', integer(1), 2)
  .option('--idle-seconds <s>', 'seconds of each idle query measurement', integer(1), 5)
  .addOption(new Option('--index <kind>', 'the servers\' vector index (hnsw builds its graph while the ingest runs)').choices(['hnsw', 'flat']).default('hnsw'))
  .option('--baseline-cli <path>', 'the cli.js of another VecStore build (e.g. the first release): its JSON rate on the same bodies')
  .action(async (opts: { rows: number; dim: number; jsonRows: number; batch: number; jsonBatch: number; concurrency: number; idleSeconds: number; index: 'hnsw' | 'flat'; baselineCli?: string }) => {
    const { runIngestBenchmark } = await import('../bench/ingest-bench.js');
    await runIngestBenchmark(opts);
  });
bench
  .command('json-reader')
  .description('ms per JSON batch-upsert body of full-precision floats: JSON.parse (--json-reader builtin) against the fast reader')
  .option('--rows <n>', 'records in the body', integer(1), 1000)
  .option('--dim <d>', 'dimension', integer(1), 768)
  .option('--rounds <n>', 'timed rounds per reader', integer(1), 20)
  .action(async (opts: { rows: number; dim: number; rounds: number }) => {
    const { runJsonReaderBenchmark } = await import('../bench/json-reader-bench.js');
    runJsonReaderBenchmark(opts);
  });
if (process.argv[2] === 'bench') {
  const { registerBenchCommands } = await import('../bench/bench-commands.js');
  registerBenchCommands(bench);
}

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`error: ${(err as Error).message}`);
  process.exit(1);
});
