// The `vecstore bench load` and `vecstore bench compare` subcommands: option parsing, data loading, error reporting.
import os from 'node:os';
import { Command, InvalidArgumentError, Option, type CommanderError } from 'commander';
import { METRIC_NAMES, type MetricName } from '../src/distance/metric.js';
import { formatCompareReport, runCompare } from './compare.js';
import { DatasetError, mulberry32, readGroundTruthIds, readVectors, syntheticDataset, type Dataset } from './datasets.js';
import { groundTruthFromIds, type GroundTruth } from './ground-truth.js';
import { formatLoadReport, runLoad, type HttpClientKind, type Protocol } from './load-runner.js';
import { LoadError } from './load-target.js';

/** A bad combination of options, reported like a bad file: one line, exit code 2. */
class BenchArgumentError extends Error {}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer.');
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer.');
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number.');
  return n;
}

function efList(value: string): number[] {
  const list = value.split(',').map((v) => Number(v.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n <= 0)) throw new InvalidArgumentError('must be a comma-separated list of positive integers.');
  return list;
}

function recallList(value: string): number[] {
  const list = value.split(',').map((v) => Number(v.trim()));
  if (list.length === 0 || list.some((n) => !(n > 0 && n <= 1))) throw new InvalidArgumentError('must be a comma-separated list of numbers in (0, 1].');
  return list;
}

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('must be an integer.');
  return n;
}

/** Options common to both subcommands, as commander hands them over. */
interface DataFlags {
  base?: string;
  queries?: string;
  groundtruth?: string;
  synthetic?: boolean;
  vectors?: number;
  dim: number;
  seed: number;
  clusters: number;
  latentDim: number;
  distribution: 'gaussian' | 'uniform';
  queryCount: number;
  k: number;
  metric: MetricName;
}

interface BenchData {
  base: Dataset;
  queries: Dataset;
  groundTruth: GroundTruth | null;
  notes: string[];
  source: string;
}

/** Reads or generates base and queries (and the ground-truth file), checking that they fit together. */
function loadData(o: DataFlags, defaultVectors: number): BenchData {
  const notes: string[] = [];
  if (o.base && o.synthetic) throw new BenchArgumentError('give either --base FILE or --synthetic, not both');
  if (!o.base && (o.queries || o.groundtruth)) {
    throw new BenchArgumentError('--queries and --groundtruth need --base (synthetic queries come from the generator)');
  }
  let base: Dataset;
  let queries: Dataset;
  let source: string;
  if (o.base) {
    base = readVectors(o.base, { limit: o.vectors });
    if (base.count === 0) throw new DatasetError(o.base, 'holds no vectors');
    if (o.queries) {
      queries = readVectors(o.queries, { limit: o.queryCount });
      if (queries.count === 0) throw new DatasetError(o.queries, 'holds no vectors');
      if (queries.dim !== base.dim) {
        throw new DatasetError(o.queries, `dimension ${queries.dim} does not match the base's ${base.dim} (${o.base})`);
      }
    } else {
      if (o.groundtruth) throw new BenchArgumentError('--groundtruth needs the --queries file it was computed for');
      queries = sampleRows(base, Math.min(o.queryCount, base.count), o.seed);
      notes.push(`no --queries: using ${queries.count} rows sampled from the base as queries`);
    }
    source = o.base;
  } else {
    const count = o.vectors ?? defaultVectors;
    const common = { dim: o.dim, seed: o.seed, clusters: o.clusters, distribution: o.distribution, latentDim: o.latentDim };
    base = syntheticDataset({ ...common, count, stream: 0 });
    queries = syntheticDataset({ ...common, count: o.queryCount, stream: 1 });
    source =
      `synthetic ${o.distribution}` +
      (o.latentDim > 0 ? `, latent dimension ${o.latentDim}` : ', i.i.d. components') +
      (o.clusters > 0 ? `, ${o.clusters} clusters` : '') +
      `, seed ${o.seed}`;
  }
  if (o.k > base.count) throw new BenchArgumentError(`--k ${o.k} is larger than the ${base.count} base vectors`);
  let groundTruth: GroundTruth | null = null;
  if (o.groundtruth) {
    const ids = readGroundTruthIds(o.groundtruth, { limit: queries.count });
    if (ids.dim < o.k) throw new DatasetError(o.groundtruth, `has ${ids.dim} neighbours per query, fewer than --k ${o.k}`);
    if (ids.count < queries.count) {
      throw new DatasetError(o.groundtruth, `has ${ids.count} rows but there are ${queries.count} queries (${o.queries})`);
    }
    for (let i = 0; i < ids.count; i++) {
      for (let j = 0; j < o.k; j++) {
        const id = ids.data[i * ids.dim + j];
        if (id < 0 || id >= base.count) {
          throw new DatasetError(
            o.groundtruth,
            `row ${i} names neighbour ${id}, outside the base's ${base.count} vectors` + (o.vectors ? ' (--vectors truncated the base?)' : ''),
          );
        }
      }
    }
    groundTruth = groundTruthFromIds(ids, o.k);
  }
  return { base, queries, groundTruth, notes, source };
}

/** `n` distinct base rows chosen with the seed, copied out as a query set. */
function sampleRows(base: Dataset, n: number, seed: number): Dataset {
  const rand = mulberry32(seed ^ 0x2545f491);
  const picked = new Set<number>();
  while (picked.size < n) picked.add(Math.floor(rand() * base.count));
  const data = new Float32Array(n * base.dim);
  let i = 0;
  for (const r of picked) data.set(base.data.subarray(r * base.dim, (r + 1) * base.dim), base.dim * i++);
  return { dim: base.dim, count: n, data };
}

/** Adds the data-selection options shared by `load` and `compare`. */
function addDataOptions(cmd: Command, defaults: { vectors: number; dim: number }): Command {
  return cmd
    .option('--base <file>', 'base vectors: .fvecs, .bvecs or .npy (<f4, <f8, |u1, <i4)')
    .option('--queries <file>', 'query vectors in the same formats (default: rows sampled from --base)')
    .option('--groundtruth <file>', 'true neighbour ids per query: .ivecs or integer .npy (default: exact, computed here)')
    .option('--synthetic', 'generate the data from --seed (the default when no --base is given)')
    .option('--vectors <n>', `synthetic base size (default ${defaults.vectors}), or the first n rows of --base`, positiveInt)
    .option('--dim <d>', 'synthetic dimension', positiveInt, defaults.dim)
    .option('--seed <n>', 'seed of the synthetic data and of query sampling', integer, 42)
    .option(
      '--latent-dim <n>',
      'synthetic data near a random n-dimensional subspace, like real embeddings (0 = i.i.d. components: all neighbours nearly equidistant)',
      nonNegativeInt,
      32,
    )
    .option('--clusters <n>', 'synthetic data around n centres (in the latent space when --latent-dim > 0)', nonNegativeInt, 0)
    .addOption(
      new Option('--distribution <name>', 'synthetic component distribution').choices(['gaussian', 'uniform']).default('gaussian'),
    )
    .option('--query-count <n>', 'number of queries (synthetic, sampled or the first n of --queries)', positiveInt, 200)
    .option('--k <n>', 'neighbours per query', positiveInt, 10)
    .addOption(new Option('--metric <name>', 'distance metric (must match the server)').choices([...METRIC_NAMES]).default('cosine'))
    .option('--json', 'print the report as JSON on stdout')
    .option('--no-progress', 'no progress bars on stderr');
}

/** Prints an error as one line and sets the exit code: 2 for bad input, 1 for a failed run. */
function reportFailure(err: unknown): void {
  const e = err as Error;
  const usage = err instanceof DatasetError || err instanceof BenchArgumentError;
  const message = e instanceof Error ? e.message : String(err);
  process.stderr.write(`error: ${message}\n`);
  process.exitCode = usage ? 2 : 1;
  if (!(err instanceof LoadError) && !usage && process.env.VECSTORE_DEBUG) process.stderr.write(`${e.stack}\n`);
}

// Commander exits with 1 on a bad option; bad arguments are usage errors here (2), like bad files, and get one line
// (showHelpAfterError is turned off for these subcommands even if the program turns it on).
function usageExit(err: CommanderError): never {
  process.exit(err.exitCode === 0 ? 0 : 2);
}

function writeReport(json: boolean | undefined, report: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${human()}\n`);
}

interface LoadFlags extends DataFlags {
  url: string;
  collection: string;
  apiKey?: string;
  httpClient: HttpClientKind;
  concurrency: number;
  protocol: Protocol;
  pipeline: number;
  duration?: number;
  count?: number;
  warmup: number;
  filter?: string;
  skipIngest?: boolean;
  batchSize: number;
  ingestConcurrency: number;
  binary?: boolean;
  json?: boolean;
  progress: boolean;
}

interface CompareFlags extends DataFlags {
  url?: string;
  concurrency: number;
  protocol: 'http' | 'ws' | 'both';
  binary?: boolean;
  httpClient: HttpClientKind;
  duration?: number;
  count?: number;
  warmup: number;
  threads: number;
  repeat: number;
  usearch: boolean;
  hnsw: boolean;
  hnswM: number;
  hnswEfConstruction: number;
  usearchHnsw: boolean;
  efSweep: number[];
  svg?: string;
  restart: boolean;
  recall: number[];
  json?: boolean;
  progress: boolean;
}

/** `--http-client`: what sends HTTP queries (load and compare). */
const HTTP_CLIENT_OPTION = (): Option =>
  new Option('--http-client <name>', 'what sends HTTP queries: the TypeScript client (sdk), or a lean HTTP/1.1 load generator sending the same requests, as wrk would (raw)')
    .choices(['sdk', 'raw'])
    .default('sdk');

/**
 * Adds `load` and `compare` to the `vecstore bench` command. The CLI must run commander with `parseAsync`, since
 * both actions are asynchronous.
 */
export function registerBenchCommands(bench: Command): void {
  const load = bench
    .command('load')
    .description('load a dataset into a running VecStore server, then measure queries: QPS, latency, errors, recall@k');
  load.option('--url <url>', 'server base URL', 'http://127.0.0.1:8080');
  // A collection of its own (created for the dataset if missing), so a benchmark never writes into a user's data.
  load.option('--collection <name>', 'collection to load into and query (created if missing; "default" is the unprefixed routes\' one)', 'bench');
  load.addOption(new Option('--api-key <key>', 'API key sent with every request').env('VECSTORE_API_KEY'));
  addDataOptions(load, { vectors: 10_000, dim: 128 })
    .option('--concurrency <n>', 'concurrent clients, one request in flight each', positiveInt, 32)
    .addOption(new Option('--protocol <name>', 'query transport').choices(['http', 'ws']).default('http'))
    .option('--pipeline <n>', 'WebSocket only: queries in flight per socket', positiveInt, 1)
    .option('--duration <seconds>', 'measure for this long (default 10 s)', positiveNumber)
    .option('--count <n>', 'measure this many queries instead of a duration', positiveInt)
    .option('--warmup <n>', 'unmeasured queries first', nonNegativeInt, 0)
    .option('--filter <expr>', "filter sent with every query; records carry {i, bucket: i % 10}, e.g. 'bucket = 3'")
    .option('--skip-ingest', 'the server already holds this dataset as ids "0".."N-1"')
    .option('--batch-size <n>', 'records per batch-upsert request', positiveInt, 1000)
    .option('--ingest-concurrency <n>', 'batch-upsert requests in flight', positiveInt, 4)
    .option('--binary', 'send query vectors as raw float32 (HTTP bodies; WebSocket binary frames on "default" without --filter) instead of JSON arrays')
    .addOption(HTTP_CLIENT_OPTION())
    .showHelpAfterError(false)
    .exitOverride(usageExit)
    .action(async (o: LoadFlags) => {
      try {
        if (o.duration !== undefined && o.count !== undefined) throw new BenchArgumentError('give --duration or --count, not both');
        let url: URL;
        try {
          url = new URL(o.url);
        } catch {
          throw new BenchArgumentError(`--url ${o.url} is not a URL`);
        }
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BenchArgumentError(`--url must be http(s), got ${o.url}`);
        const data = loadData(o, 10_000);
        if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(o.collection)) throw new BenchArgumentError(`--collection ${JSON.stringify(o.collection)} is not a collection name`);
        const report = await runLoad({
          url: o.url,
          collection: o.collection,
          // VECSTORE_API_KEY may list several keys for the server; a client sends the first.
          apiKey: o.apiKey?.split(',')[0].trim() || undefined,
          base: data.base,
          queries: data.queries,
          k: o.k,
          metric: o.metric,
          protocol: o.protocol,
          concurrency: o.concurrency,
          pipeline: o.pipeline,
          durationSec: o.duration,
          count: o.count,
          warmup: o.warmup,
          filter: o.filter,
          groundTruth: data.groundTruth,
          skipIngest: o.skipIngest,
          batchSize: o.batchSize,
          ingestConcurrency: o.ingestConcurrency,
          binary: o.binary,
          httpClient: o.httpClient,
          progress: o.progress,
        });
        report.notes.unshift(`data: ${data.source}`, ...data.notes);
        writeReport(o.json, report, () => formatLoadReport(report));
      } catch (err) {
        reportFailure(err);
      }
    });

  const compare = bench
    .command('compare')
    .description('the same data and queries through a VecStore server it starts, usearch exact search and hnswlib-node');
  addDataOptions(compare, { vectors: 60_000, dim: 784 })
    .option('--url <url>', 'use this running server instead of starting one (it must not hold other vectors)')
    .option('--concurrency <n>', 'concurrent VecStore clients', positiveInt, 32)
    .addOption(new Option('--protocol <name>', 'VecStore transports to measure').choices(['http', 'ws', 'both']).default('both'))
    .option('--binary', 'send VecStore query vectors as raw float32 (HTTP bodies; WebSocket binary frames), as the TypeScript client sends a Float32Array, instead of JSON arrays')
    .addOption(HTTP_CLIENT_OPTION())
    .option('--duration <seconds>', 'VecStore measurement per protocol (default 10 s)', positiveNumber)
    .option('--count <n>', 'VecStore queries per protocol instead of a duration', positiveInt)
    .option('--warmup <n>', 'unmeasured VecStore queries before each protocol', nonNegativeInt, 64)
    .option('--threads <n>', 'server workers and usearch threads', positiveInt, os.availableParallelism())
    .option('--repeat <n>', 'timed runs of each library baseline (median reported)', positiveInt, 3)
    .option('--no-usearch', 'skip usearch')
    .option('--no-hnsw', 'skip hnswlib-node')
    .option('--no-usearch-hnsw', "skip usearch's HNSW")
    .option('--hnsw-m <n>', 'hnswlib and usearch M', positiveInt, 16)
    .option('--hnsw-ef-construction <n>', 'hnswlib and usearch efConstruction', positiveInt, 200)
    .option('--ef-sweep <list>', 'search breadths swept for every approximate engine', efList, [10, 16, 24, 32, 48, 64, 96, 128, 192, 256])
    .option('--svg <file>', 'write the recall/QPS curves as an SVG picture')
    .option('--no-restart', 'skip the VecStore restart measurement')
    .option('--recall <targets>', 'recall targets to query VecStore with, e.g. 0.9,0.95,0.99', recallList, [])
    .showHelpAfterError(false)
    .exitOverride(usageExit)
    .action(async (o: CompareFlags) => {
      try {
        if (o.duration !== undefined && o.count !== undefined) throw new BenchArgumentError('give --duration or --count, not both');
        const data = loadData(o, 60_000);
        const report = await runCompare({
          base: data.base,
          queries: data.queries,
          groundTruth: data.groundTruth,
          k: o.k,
          metric: o.metric,
          concurrency: o.concurrency,
          durationSec: o.duration,
          count: o.count,
          warmup: o.warmup,
          threads: o.threads,
          protocols: o.protocol === 'both' ? ['http', 'ws'] : [o.protocol],
          binary: o.binary,
          httpClient: o.httpClient,
          url: o.url,
          repeat: o.repeat,
          usearch: o.usearch,
          hnsw: o.hnsw ? { m: o.hnswM, efConstruction: o.hnswEfConstruction, ef: o.efSweep[0] } : null,
          usearchHnsw: o.usearchHnsw,
          efSweep: o.efSweep,
          svg: o.svg,
          restart: o.restart,
          recallTargets: o.recall,
          seed: o.seed,
          progress: o.progress,
        });
        report.notes.unshift(`data: ${data.source}`, ...data.notes);
        writeReport(o.json, report, () => formatCompareReport(report));
      } catch (err) {
        reportFailure(err);
      }
    });
}
