// `vecstore bench metrics`: what metrics and tracing cost per request, as mean differences with 95 % confidence
// intervals over many short interleaved rounds, plus memory and the bytes a scrape puts on the wire.
import http from 'node:http';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { haveWrk, runWrk, startChild, startVecStore, type ChildServer, type WrkResult } from './bench-support.js';
import { rowOf, syntheticDataset } from './datasets.js';

/** Options of {@link runMetricsBenchmark}. */
export interface MetricsBenchOptions {
  /** Blocks: each starts a fresh server per configuration, so no one process's luck (memory layout, JIT) decides. */
  blocks: number;
  /** Rounds per block: each runs every configuration once per workload, in a fresh random order. */
  rounds: number;
  /** Seconds of load per run. The benchmark takes about blocks × (5 × 2 × rounds × seconds + ~25 s of setup). */
  seconds: number;
  /** Concurrent connections (1: every query scanned alone, so batching luck does not move the CPU per request). */
  connections: number;
}

const VECTORS = 20_000;
const DIM = 128;
/** In the mixed workload, one request in this many is an upsert (the rest are queries). */
const WRITE_EVERY = 5;

interface Config {
  name: string;
  args: string[];
  env: Record<string, string>;
}

type Workload = 'query' | 'mixed';

/** One run of one workload against one configuration. */
interface Sample {
  /** Server CPU (every thread: front, scan workers, GC, exporter) per request, in microseconds. */
  cpuUs: number;
  wrk: WrkResult;
}

/** A mean with its 95 % confidence interval (Student's t over per-round differences). */
interface Interval {
  mean: number;
  low: number;
  high: number;
  n: number;
}

/**
 * Runs five servers side by side — `--no-metrics`, metrics on, a second identical metrics-on server (tracing off: an
 * A/A pair that shows the method's own noise), and metrics with tracing at 1 % and 100 % sampling (exporting OTLP to a
 * sink process) — and, for a query workload and a mixed read/write workload, runs every server for `seconds` per round
 * in random order. Each round yields one paired difference per comparison (the CPU per request of both servers,
 * measured within seconds of each other), so slow drift from the rest of the machine falls on both sides. Servers are
 * started afresh for every block, and the confidence interval is taken over the block means: a difference between two
 * processes that has nothing to do with their configuration (seen in an A/A pair within one block) counts as noise.
 */
export async function runMetricsBenchmark(options: MetricsBenchOptions): Promise<void> {
  if (!haveWrk()) throw new Error('wrk is not installed (Debian: apt-get install wrk)');
  if (process.platform !== 'linux') throw new Error('the metrics benchmark reads /proc and runs on Linux only');
  const blocks = Math.max(2, options.blocks);
  const rounds = Math.max(1, options.rounds);
  const seconds = Math.max(1, options.seconds);
  const connections = Math.max(1, options.connections);
  const cores = os.cpus().length;
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`# vecstore bench metrics — ${cores} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), load average before: ${loadBefore}\n`);

  const data = syntheticDataset({ count: VECTORS, dim: DIM, seed: 7 });
  const queryVector = Array.from(rowOf(syntheticDataset({ count: 1, dim: DIM, seed: 99 }), 0));
  const queryBody = JSON.stringify({ vector: queryVector, limit: 10 });
  const scripts: Record<Workload, string> = { query: postScript(queryBody), mixed: mixedScript(queryBody, queryVector) };
  const baseArgs = ['--dimension', String(DIM), '--metric', 'cosine', '--cache-size', '0', '--fsync', 'off', '--workers', String(cores)];

  const sink = await startChild(['--input-type=module', '-e', SINK]);
  const tracing = (ratio: string): Record<string, string> => ({
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${sink.url}/v1/traces`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_TRACES_SAMPLER: 'traceidratio',
    OTEL_TRACES_SAMPLER_ARG: ratio,
  });
  const configs: Config[] = [
    { name: 'off', args: ['--no-metrics'], env: {} },
    { name: 'metrics', args: [], env: {} },
    { name: 'tracing-off', args: [], env: {} },
    { name: 'tracing-1%', args: ['--tracing'], env: tracing('0.01') },
    { name: 'tracing-100%', args: ['--tracing'], env: tracing('1') },
  ];
  const servers = new Map<string, ChildServer>();
  /** Per workload and configuration, per block, the samples of its rounds. */
  const samples = new Map<string, Sample[][]>();
  const rss = new Map<string, number[]>();
  let wire: WireSizes | undefined;
  try {
    for (let block = 0; block < blocks; block++) {
      for (const c of shuffled(configs)) {
        const server = await startVecStore([...baseArgs, ...c.args], c.env);
        servers.set(c.name, server);
        await ingest(server.url, data);
      }
      // Warm every server the same way (JIT, worker views, connections) before anything is counted.
      for (const w of ['query', 'mixed'] as const) for (const c of configs) runWrk(`${servers.get(c.name)!.url}/`, { seconds: 1, connections, script: scripts[w] });
      for (let round = 0; round < rounds; round++) {
        for (const w of ['query', 'mixed'] as const) {
          for (const c of shuffled(configs)) {
            const server = servers.get(c.name)!;
            const before = cpuNs(server.proc.pid!);
            const wrk = runWrk(`${server.url}/`, { seconds, connections, script: scripts[w] });
            const cpu = cpuNs(server.proc.pid!) - before;
            const key = `${w}/${c.name}`;
            if (!samples.has(key)) samples.set(key, []);
            const perBlock = samples.get(key)!;
            (perBlock[block] ??= []).push({ cpuUs: cpu / 1000 / wrk.requests, wrk });
          }
        }
      }
      for (const c of configs) rss.set(c.name, [...(rss.get(c.name) ?? []), await settledRss(servers.get(c.name)!.proc.pid!)]);
      if (block === blocks - 1) {
        await touchEveryRoute(servers.get('metrics')!.url);
        wire = await scrapeSizes(servers.get('metrics')!.url);
      }
      for (const server of servers.values()) await stopAndClean(server);
      servers.clear();
      process.stderr.write(`block ${block + 1}/${blocks} done\n`);
    }
    report({ cores, blocks, rounds, seconds, connections, samples, rss, wire: wire! });
  } finally {
    for (const server of servers.values()) await stopAndClean(server);
    await sink.stop();
  }
}

/** An OTLP sink: accepts every export and throws it away, in its own process (the benchmark blocks on wrk). */
const SINK = `
  import http from 'node:http';
  const server = http.createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, { 'content-type': 'application/x-protobuf' }); res.end(); }); });
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening', port: server.address().port })));
`;

function postScript(body: string): string {
  return `wrk.method = "POST"\nwrk.path = "/v1/query"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${JSON.stringify(body)}\n`;
}

/** Queries, and every WRITE_EVERY-th request an upsert that replaces one of the stored vectors. */
function mixedScript(queryBody: string, vector: number[]): string {
  return `
local n = 0
local headers = { ["Content-Type"] = "application/json" }
local query = [==[${queryBody}]==]
local upsert = [==[{"id":"%d","vector":${JSON.stringify(vector)}}]==]
request = function()
  n = n + 1
  if n % ${WRITE_EVERY} == 0 then
    return wrk.format("POST", "/v1/upsert", headers, string.format(upsert, math.random(0, ${VECTORS - 1})))
  end
  return wrk.format("POST", "/v1/query", headers, query)
end
`;
}

function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom (1.96 beyond). */
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** Mean and 95 % confidence interval of a list of paired differences. */
export function meanInterval(values: number[]): Interval {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n - 1);
  const half = (T95[n - 2] ?? 1.96) * Math.sqrt(variance / n);
  return { mean, low: mean - half, high: mean + half, n };
}

function report(r: { cores: number; blocks: number; rounds: number; seconds: number; connections: number; samples: Map<string, Sample[][]>; rss: Map<string, number[]>; wire: WireSizes }): void {
  const get = (w: Workload, name: string) => r.samples.get(`${w}/${name}`)!;
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  /** Per block, the mean over its rounds of a paired difference between configurations `a` and `b`. */
  const blockMeans = (w: Workload, a: string, b: string, diff: (x: Sample, y: Sample) => number) =>
    get(w, a).map((roundsA, block) => avg(roundsA.map((x, i) => diff(x, get(w, b)[block][i]))));
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)} %`;
  const ms = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(3)} ms`;
  const comparisons: Array<[string, string, string]> = [
    ['metrics on vs --no-metrics', 'metrics', 'off'],
    ['tracing off vs metrics only (A/A: the same build, another server)', 'tracing-off', 'metrics'],
    ['tracing 1 % sampled vs tracing off', 'tracing-1%', 'metrics'],
    ['tracing 100 % sampled vs tracing off', 'tracing-100%', 'metrics'],
  ];
  console.log('| workload | comparison | CPU per request (mean, 95 % CI) | p50 added (95 % CI) | p99 added (95 % CI) |');
  console.log('|---|---|---|---|---|');
  for (const w of ['query', 'mixed'] as const) {
    for (const [label, a, b] of comparisons) {
      const cpu = meanInterval(blockMeans(w, a, b, (x, y) => x.cpuUs / y.cpuUs - 1));
      const p50 = meanInterval(blockMeans(w, a, b, (x, y) => x.wrk.p50Ms - y.wrk.p50Ms));
      const p99 = meanInterval(blockMeans(w, a, b, (x, y) => x.wrk.p99Ms - y.wrk.p99Ms));
      console.log(`| ${w === 'query' ? 'queries' : `mixed (1 in ${WRITE_EVERY} an upsert)`} | ${label} | ${pct(cpu.mean)} [${pct(cpu.low)}, ${pct(cpu.high)}] | ${ms(p50.mean)} [${ms(p50.low)}, ${ms(p50.high)}] | ${ms(p99.mean)} [${ms(p99.low)}, ${ms(p99.high)}] |`);
    }
  }
  const mb = (b: number) => `${b >= 0 ? '+' : ''}${(b / 1048576).toFixed(1)} MB`;
  const rssDiff = (a: string, b: string) => {
    const d = meanInterval(r.rss.get(a)!.map((x, i) => x - r.rss.get(b)![i]));
    return `${mb(d.mean)} [${mb(d.low)}, ${mb(d.high)}]`;
  };
  console.log(`\nMemory (RSS after the same workload, mean over blocks with 95 % CI): metrics on vs off ${rssDiff('metrics', 'off')}; A/A ${rssDiff('tracing-off', 'metrics')}; tracing 1 % ${rssDiff('tracing-1%', 'metrics')}, 100 % ${rssDiff('tracing-100%', 'metrics')} vs tracing off.`);
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
  const wire = r.wire;
  console.log(`\nA scrape after a workload on every route: as Prometheus asks (OpenMetrics, gzip) ${kb(wire.openMetricsGzip)} on the wire, ${kb(wire.openMetrics)} uncompressed; Prometheus text format ${kb(wire.textGzip)} gzip, ${kb(wire.text)} uncompressed; ${wire.samples} samples.`);
  console.log(`\nPer configuration (mean over all runs): CPU µs per request, requests/s, p50 / p99 ms:\n`);
  console.log('| workload | configuration | CPU µs / request | requests/s | p50 ms | p99 ms |');
  console.log('|---|---|---|---|---|---|');
  for (const w of ['query', 'mixed'] as const) {
    for (const name of ['off', 'metrics', 'tracing-off', 'tracing-1%', 'tracing-100%']) {
      const s = get(w, name).flat();
      console.log(`| ${w} | ${name} | ${avg(s.map((x) => x.cpuUs)).toFixed(1)} | ${avg(s.map((x) => x.wrk.requestsPerSec)).toFixed(0)} | ${avg(s.map((x) => x.wrk.p50Ms)).toFixed(3)} | ${avg(s.map((x) => x.wrk.p99Ms)).toFixed(3)} |`);
    }
  }
  console.log(`\n${r.cores} cores; ${r.blocks} blocks (fresh servers each) × ${r.rounds} rounds × ${r.seconds} s per run, c=${r.connections}, ${VECTORS / 1000}k × ${DIM} vectors, --fsync off, cache off; load average after: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}.`);
}

interface WireSizes {
  openMetricsGzip: number;
  openMetrics: number;
  textGzip: number;
  text: number;
  samples: number;
}

/** What Prometheus sends by default (OpenMetrics preferred, gzip), and the plain text format, as raw bytes. */
async function scrapeSizes(base: string): Promise<WireSizes> {
  const om = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
  const get = (headers: Record<string, string>) => new Promise<Buffer>((resolve, reject) => {
    http.get(`${base}/metrics`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks)));
    }).on('error', reject);
  });
  const openMetrics = await get({ accept: om });
  return {
    openMetricsGzip: (await get({ accept: om, 'accept-encoding': 'gzip' })).length,
    openMetrics: openMetrics.length,
    textGzip: (await get({ 'accept-encoding': 'gzip' })).length,
    text: (await get({})).length,
    samples: openMetrics.toString('utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#')).length,
  };
}

/** One request to every route, so the scrape holds every endpoint's series. */
async function touchEveryRoute(base: string): Promise<void> {
  const post = (path: string, body?: unknown) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) }).then((r) => r.arrayBuffer());
  const get = (path: string, method = 'GET') => fetch(`${base}${path}`, { method }).then((r) => r.arrayBuffer());
  const vector = Array.from({ length: DIM }, (_, i) => Math.cos(i));
  await post('/v1/upsert', { id: 'touch', vector, text: 'touch' });
  await post('/v1/batch-upsert', { records: [{ id: 'touch2', vector }] });
  await post('/v1/hybrid-query', { vector, text_query: 'touch', limit: 3 });
  await get('/v1/vectors/touch');
  await post('/v1/soft-delete/touch2');
  await post('/v1/restore/touch2');
  await get('/v1/delete/touch2', 'DELETE');
  await post('/v1/compact');
  await get('/v1/stats');
  await post('/v1/snapshots', { name: 'bench' });
  await get('/v1/snapshots');
  await post('/v1/snapshots/bench/restore');
  await get('/health');
  await get('/ready');
  await get('/no-such-route');
  await get('/health', 'DELETE');
  await fetch(`${base}/v1/collections/touched`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dimension: DIM }) }).then((r) => r.arrayBuffer());
  await get('/v1/collections');
  await get('/v1/collections/touched');
  await post('/v1/collections/touched/upsert', { id: 'touch', vector });
  await post('/v1/collections/touched/query', { vector, limit: 1 });
  await get('/v1/collections/touched', 'DELETE');
}

/** Loads the dataset through /v1/batch-upsert in batches of 1000. */
async function ingest(base: string, data: ReturnType<typeof syntheticDataset>): Promise<void> {
  for (let i = 0; i < data.count; i += 1000) {
    const records = [];
    for (let j = i; j < Math.min(data.count, i + 1000); j++) records.push({ id: String(j), vector: Array.from(rowOf(data, j)) });
    const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ records }) };
    const res = await fetch(`${base}/v1/batch-upsert`, init).catch(() => fetch(`${base}/v1/batch-upsert`, init));
    if (res.status !== 200) throw new Error(`ingest failed: ${res.status} ${await res.text()}`);
  }
}

/** Stops a child server and removes the data directory startVecStore made for it. */
async function stopAndClean(server: ChildServer): Promise<void> {
  await server.stop();
  const args = server.proc.spawnargs;
  const dir = args[args.indexOf('--data-dir') + 1];
  if (dir && dir.includes('vecstore-bench-')) rmSync(dir, { recursive: true, force: true });
}

/**
 * Nanoseconds on CPU of every thread of a process, from the scheduler's own accounting (/proc/<pid>/task/<tid>/schedstat):
 * the process's CPU time at nanosecond resolution, where /proc/<pid>/stat counts 10 ms ticks.
 */
function cpuNs(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return total;
}

/** Resident set size: the median of three readings 200 ms apart, since V8 grows and trims the heap in steps. */
async function settledRss(pid: number): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 3; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 200));
    readings.push(Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024);
  }
  return readings.sort((a, b) => a - b)[1];
}
