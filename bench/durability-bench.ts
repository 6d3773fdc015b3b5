// Durability benchmark: ingest rate under each fsync policy, and restart time at 1M × 128 against the disk's read rate.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { VecStoreEngine } from '../src/engine/engine.js';
import { Durability, type FsyncPolicy, type RecoveryReport } from '../src/engine/durability.js';

const DIM = 128;
const BATCH = 1000;
const quiet = { info: () => {}, warn: () => {}, error: (o: object, m?: string) => console.error(m, o) };

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** A batch of random records (xorshift: cheap enough not to dominate the measurement). */
function makeBatch(prefix: string, start: number, seed: { s: number }): Array<{ id: string; vector: Float32Array; metadata: Record<string, unknown> }> {
  const out = [];
  for (let i = 0; i < BATCH; i++) {
    const v = new Float32Array(DIM);
    for (let j = 0; j < DIM; j++) {
      let x = seed.s;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      seed.s = x >>> 0;
      v[j] = seed.s / 4294967296 - 0.5;
    }
    out.push({ id: `${prefix}${start + i}`, vector: v, metadata: { n: start + i } });
  }
  return out;
}

function policyName(p: FsyncPolicy): string {
  return p.mode === 'interval' ? `interval:${p.ms}` : p.mode;
}

/** Drops the page cache (root on Linux only); reports whether it worked so the table says which numbers are cold. */
function dropCaches(): boolean {
  try {
    fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

/** Sequential read rate of a file with plain 8 MiB reads, in MB/s. */
function readRate(file: string): number {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  const started = performance.now();
  let total = 0;
  for (;;) {
    const n = fs.readSync(fd, buf, 0, buf.length, total);
    if (n === 0) break;
    total += n;
  }
  fs.closeSync(fd);
  return total / 1e6 / ((performance.now() - started) / 1000);
}

async function ingest(policy: FsyncPolicy, vectors: number, writers: number): Promise<{ rate: number; seconds: number; walMB: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vecstore-bench-'));
  const engine = new VecStoreEngine({ metric: 'cosine', dimension: DIM, threads: 1, cacheSize: 0 });
  const durability = await Durability.open(engine, { dataDir: dir, fsync: policy, logger: quiet });
  const batches = Math.ceil(vectors / BATCH);
  // Batches are generated up front so that the measurement is the write path, not the random generator.
  const seed = { s: 12345 };
  const prepared = Array.from({ length: batches }, (_, b) => makeBatch('v', b * BATCH, seed));
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < batches) {
        const b = next++;
        const res = await engine.batchUpsert(prepared[b]);
        if (res.errors.length > 0) throw new Error(res.errors[0].error);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const walMB = fs.readdirSync(dir).filter((n) => n.startsWith('wal-')).reduce((s, n) => s + fs.statSync(path.join(dir, n)).size, 0) / 1e6;
  await durability.close();
  await engine.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { rate: (batches * BATCH) / seconds, seconds, walMB };
}

async function restart(count: number): Promise<Record<string, string | number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vecstore-bench-restart-'));
  {
    const engine = new VecStoreEngine({ metric: 'cosine', dimension: DIM, threads: 1, cacheSize: 0 });
    const durability = await Durability.open(engine, { dataDir: dir, fsync: { mode: 'off' }, checkpointWalBytes: Number.MAX_SAFE_INTEGER, logger: quiet });
    const seed = { s: 999 };
    for (let b = 0; b < count / BATCH; b++) await engine.batchUpsert(makeBatch('r', b * BATCH, seed));
    const started = performance.now();
    await durability.checkpoint();
    console.log(`  checkpoint of ${count} × ${DIM}: ${((performance.now() - started) / 1000).toFixed(2)} s`);
    await durability.close();
    await engine.close();
  }
  const checkpoint = fs.readdirSync(dir).find((n) => n.startsWith('checkpoint-'))!;
  const vectorsFile = path.join(dir, checkpoint, 'vectors.f32');
  const cold = dropCaches();
  const diskMBs = readRate(vectorsFile);
  dropCaches();
  // A restart is a fresh process: timing it in this one would also time the collection of the first engine's heap.
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--restart-child', dir], { encoding: 'utf8' });
  const { totalS, r, loaded } = JSON.parse(out.trim().split('\n').at(-1)!) as { totalS: number; r: RecoveryReport; loaded: number };
  const vectorMBs = r.checkpointVectorBytes / 1e6 / (r.checkpointVectorReadMs / 1000);
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    vectors: loaded,
    cache: cold ? 'cold (drop_caches)' : 'warm (could not drop caches)',
    'disk seq read MB/s': Math.round(diskMBs),
    'vector read MB/s': Math.round(vectorMBs),
    'read / disk': `${Math.round((vectorMBs / diskMBs) * 100)}%`,
    'vector reads s': +(r.checkpointVectorReadMs / 1000).toFixed(2),
    'id map s': +((r.checkpointVectorMs - r.checkpointVectorReadMs) / 1000).toFixed(2),
    'records s': +(r.checkpointRecordsMs / 1000).toFixed(2),
    'total restart s': +totalS.toFixed(2),
  };
}

/** The child side of the restart measurement: open the data directory, report timings as one JSON line. */
async function restartChild(dir: string): Promise<void> {
  const started = performance.now();
  const engine = new VecStoreEngine({ metric: 'cosine', dimension: DIM, threads: 1, cacheSize: 0 });
  const durability = await Durability.open(engine, { dataDir: dir, fsync: { mode: 'always' }, logger: quiet });
  const totalS = (performance.now() - started) / 1000;
  const loaded = engine.store.counts.total;
  const r = durability.recovery;
  await durability.close();
  await engine.close();
  console.log(JSON.stringify({ totalS, r, loaded }));
}

async function main(): Promise<void> {
  const child = process.argv.indexOf('--restart-child');
  if (child >= 0) {
    await restartChild(process.argv[child + 1]);
    return;
  }
  const vectors = arg('vectors', 200_000);
  const writers = arg('writers', 8);
  const restartCount = arg('restart-count', 1_000_000);
  console.log(`durability bench: ${DIM}-d, batches of ${BATCH}, ${writers} concurrent writers, ${vectors} vectors per policy; ${os.cpus().length} cores`);
  // Warm-up: the first run otherwise pays for JIT compilation and heap growth, which is not what is compared.
  await ingest({ mode: 'off' }, Math.min(vectors, 50_000), writers);
  const rows = [];
  for (const policy of [{ mode: 'always' }, { mode: 'interval', ms: 100 }, { mode: 'off' }] as FsyncPolicy[]) {
    const r = await ingest(policy, vectors, writers);
    rows.push({ fsync: policyName(policy), 'vectors/s': Math.round(r.rate), seconds: +r.seconds.toFixed(2), 'WAL MB': Math.round(r.walMB) });
  }
  console.table(rows);
  if (restartCount > 0) {
    console.log(`restart at ${restartCount} × ${DIM}:`);
    console.table([await restart(restartCount)]);
  }
}

await main();
