// The soak benchmark: minutes of mixed HTTP + WebSocket load on loopback, reporting errors, p99 drift and RSS growth.
import WebSocket from 'ws';
import { percentile, startVecStore, type ChildServer } from './bench-support.js';
import { mulberry32 } from './datasets.js';

/** Options of {@link runSoak}. */
export interface SoakOptions {
  /** Total run time, warm-up included. */
  seconds: number;
  /** An already running server to load; by default a fresh one is started and stopped. */
  url?: string;
}

const DIM = 32;
/**
 * Upserts cycle over this many ids, all loaded before the clock starts, so every timed upsert replaces a record and the
 * data set stays the same size: RSS growth then measures leaks, not data.
 */
const UPSERT_IDS = 10_000;
const OPS = ['upsert', 'query', 'hybrid', 'delete', 'ws', 'scrape'] as const;
type Op = (typeof OPS)[number];

interface MinuteStats {
  latencies: Record<Op, number[]>;
  errors: number;
  requests: number;
  rssBytes?: number;
  heapBytes?: number;
}

/**
 * Runs the soak and prints a markdown report: per minute the request count, errors and p99 latency of each operation,
 * then RSS after the warm-up (a minute, or a third of a shorter run) and at the end. Goals: 0 errors, growth under 10%.
 * Every loop stops at the deadline; a failed request is counted, never retried.
 */
export async function runSoak(options: SoakOptions): Promise<void> {
  const seconds = Math.max(3, options.seconds);
  let child: ChildServer | undefined;
  // Every write changes the store generation, so under this load each cached answer is dead at once; a small cache
  // fills within the warm-up, and what grows after it is not the cache filling up.
  const url = options.url ?? (child = await startVecStore(['--dimension', String(DIM), '--metric', 'cosine', '--cache-size', '1000'])).url;
  const wsUrl = url.replace(/^http/, 'ws') + '/ws/query-stream';
  const random = mulberry32(42);
  const vector = (): number[] => Array.from({ length: DIM }, () => random() * 2 - 1);
  const errorSamples: string[] = [];

  try {
    for (let i = 0; i < UPSERT_IDS; i += 500) {
      const records = Array.from({ length: 500 }, (_, j) => ({ id: `soak-${i + j}`, vector: vector(), metadata: { n: i + j, group: (i + j) % 7 }, text: `document ${i + j} group ${(i + j) % 7}` }));
      await call('POST', `${url}/v1/batch-upsert`, { records });
    }

    const started = performance.now();
    const deadline = started + seconds * 1000;
    const warmupMs = Math.min(60_000, (seconds * 1000) / 3);
    const minutes: MinuteStats[] = [];
    const minuteOf = (t: number): MinuteStats => {
      // A request that started in the last instant of the run belongs to the last minute, not to a minute of its own.
      const m = Math.min(Math.floor((t - started) / 60_000), Math.max(0, Math.ceil(seconds / 60) - 1));
      while (minutes.length <= m) minutes.push({ latencies: Object.fromEntries(OPS.map((op) => [op, []])) as unknown as Record<Op, number[]>, errors: 0, requests: 0 });
      return minutes[m];
    };
    const record = (op: Op, t0: number, ok: boolean, detail?: string): void => {
      const stats = minuteOf(t0);
      stats.requests++;
      stats.latencies[op].push(performance.now() - t0);
      if (!ok) {
        stats.errors++;
        if (errorSamples.length < 10 && detail) errorSamples.push(`${op}: ${detail}`);
      }
    };
    const timed = async (op: Op, method: string, target: string, body?: unknown): Promise<void> => {
      const t0 = performance.now();
      try {
        const res = await call(method, target, body);
        record(op, t0, res.ok, res.ok ? undefined : `${res.status} ${res.text.slice(0, 200)}`);
      } catch (err) {
        record(op, t0, false, (err as Error).message);
      }
    };

    let upserted = 0;
    const upsertLoop = async (): Promise<void> => {
      while (performance.now() < deadline) {
        const n = upserted++ % UPSERT_IDS;
        await timed('upsert', 'POST', `${url}/v1/upsert`, { id: `soak-${n}`, vector: vector(), metadata: { n, group: n % 7 }, text: `document ${n} group ${n % 7}` });
      }
    };
    let deletes = 0;
    // Creates then deletes its own ids, so every delete names a record that exists.
    const deleteLoop = async (): Promise<void> => {
      while (performance.now() < deadline) {
        const id = `del-${deletes++ % 1000}`;
        await timed('upsert', 'POST', `${url}/v1/upsert`, { id, vector: vector() });
        await timed('delete', 'DELETE', `${url}/v1/delete/${id}`);
      }
    };
    const queryLoop = async (): Promise<void> => {
      for (let i = 0; performance.now() < deadline; i++) {
        if (i % 4 === 3) await timed('hybrid', 'POST', `${url}/v1/hybrid-query`, { vector: vector(), text_query: `group ${i % 7}`, limit: 10 });
        else await timed('query', 'POST', `${url}/v1/query`, { vector: vector(), limit: 10, ...(i % 2 === 0 ? { filter: `group = ${i % 7}` } : {}) });
      }
    };
    const wsLoop = async (): Promise<void> => {
      while (performance.now() < deadline) {
        // A socket lives about ten seconds, so connects and closes are part of the load too.
        await wsSession(wsUrl, Math.min(deadline, performance.now() + 10_000), vector, record);
      }
    };
    let rss: number | undefined;
    let rssAfterWarmup: number | undefined;
    const scrapeLoop = async (): Promise<void> => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          const res = await call('GET', `${url}/metrics`);
          record('scrape', t0, res.ok, res.ok ? undefined : String(res.status));
          rss = metricValue(res.text, 'process_resident_memory_bytes') ?? rss;
          minuteOf(t0).rssBytes = rss;
          minuteOf(t0).heapBytes = metricValue(res.text, 'nodejs_heap_size_used_bytes');
          if (rssAfterWarmup === undefined && t0 - started >= warmupMs) rssAfterWarmup = rss;
        } catch (err) {
          record('scrape', t0, false, (err as Error).message);
        }
        await sleep(Math.max(0, 1000 - (performance.now() - t0)));
      }
    };

    await Promise.all([
      upsertLoop(), upsertLoop(), deleteLoop(),
      queryLoop(), queryLoop(), queryLoop(), queryLoop(),
      wsLoop(), wsLoop(),
      scrapeLoop(),
    ]);
    const end = metricValue((await call('GET', `${url}/metrics`)).text, 'process_resident_memory_bytes');
    console.log(formatSoakReport(minutes, seconds, rssAfterWarmup, end, errorSamples));
  } finally {
    await child?.stop();
  }
}

/** One WebSocket: 4 queries kept in flight until `until`, each timed from send to its `complete` message. */
async function wsSession(wsUrl: string, until: number, vector: () => number[], record: (op: Op, t0: number, ok: boolean, detail?: string) => void): Promise<void> {
  const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
  const sentAt = new Map<number, number>();
  let next = 0;
  await new Promise<void>((resolve) => {
    const send = (): void => {
      if (performance.now() >= until || ws.readyState !== WebSocket.OPEN) {
        if (sentAt.size === 0) ws.close();
        return;
      }
      const id = next++;
      sentAt.set(id, performance.now());
      ws.send(JSON.stringify({ request_id: id, vector: vector(), limit: 10 }));
    };
    ws.on('open', () => { for (let i = 0; i < 4; i++) send(); });
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { request_id?: number; complete?: boolean; error?: string };
      if (!msg.complete && msg.error === undefined) return;
      const t0 = sentAt.get(msg.request_id ?? -1);
      if (t0 === undefined) return;
      sentAt.delete(msg.request_id!);
      record('ws', t0, msg.complete === true, msg.error);
      send();
    });
    ws.on('error', (err) => record('ws', performance.now(), false, err.message));
    ws.on('close', (code) => {
      for (const t0 of sentAt.values()) record('ws', t0, false, `socket closed with ${code} before the answer`);
      sentAt.clear();
      resolve();
    });
  });
}

/** The markdown report: a row per minute, then the RSS and error summary against the goals. */
function formatSoakReport(minutes: MinuteStats[], seconds: number, rssStart: number | undefined, rssEnd: number | undefined, errorSamples: string[]): string {
  const mb = (b: number | undefined): string => (b === undefined ? 'n/a' : (b / 1024 / 1024).toFixed(1));
  const p99 = (values: number[]): string => (values.length === 0 ? '–' : percentile(values, 99).toFixed(1));
  const lines = [
    `## Soak: ${seconds} s of mixed load (p99 latency in ms)`,
    '',
    '| minute | requests | errors | upsert p99 | delete p99 | query p99 | hybrid p99 | ws p99 | scrape p99 | RSS MB | heap used MB |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  minutes.forEach((m, i) => {
    const l = m.latencies;
    lines.push(`| ${i + 1} | ${m.requests} | ${m.errors} | ${p99(l.upsert)} | ${p99(l.delete)} | ${p99(l.query)} | ${p99(l.hybrid)} | ${p99(l.ws)} | ${p99(l.scrape)} | ${mb(m.rssBytes)} | ${mb(m.heapBytes)} |`);
  });
  const errors = minutes.reduce((a, m) => a + m.errors, 0);
  const growth = rssStart && rssEnd ? ((rssEnd - rssStart) / rssStart) * 100 : NaN;
  lines.push(
    '',
    `- errors: ${errors} (goal 0)${errorSamples.length > 0 ? `; first: ${errorSamples.join(' | ')}` : ''}`,
    `- RSS after warm-up: ${mb(rssStart)} MB, at the end: ${mb(rssEnd)} MB, growth ${Number.isNaN(growth) ? 'n/a' : growth.toFixed(1) + '%'} (goal < 10%)`,
  );
  return lines.join('\n');
}

async function call(method: string, target: string, body?: unknown): Promise<{ ok: boolean; status: number; text: string }> {
  const res = await fetch(target, {
    method,
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { ok: res.ok, status: res.status, text };
}

function metricValue(exposition: string, name: string): number | undefined {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(exposition);
  return match ? Number(match[1]) : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
