// Durability end to end with real engines and files: recovery, checkpoints, crashes mid-checkpoint, snapshots, locks, disk errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { VecStoreEngine } from '../../src/engine/engine.js';
import { Durability, parseFsyncPolicy, type FsyncPolicy } from '../../src/engine/durability.js';
import { VecStoreError } from '../../src/errors.js';
import { listWalFiles, setFdatasyncForTests } from '../../src/persistence/wal.js';
import { randomVectors } from '../helpers/random.js';
import { crashCopy, dumpState, memoryLogger, tempDir } from '../helpers/durable-state.js';

const DIM = 6;

async function openStore(dataDir: string, options: { fsync?: FsyncPolicy; checkpointWalBytes?: number; metric?: 'cosine' | 'dot' } = {}) {
  const engine = new VecStoreEngine({ metric: options.metric ?? 'cosine', dimension: DIM, threads: 1, cacheSize: 0, rowsPerSegment: 64 });
  const logger = memoryLogger();
  try {
    const durability = await Durability.open(engine, { dataDir, fsync: options.fsync ?? { mode: 'always' }, checkpointWalBytes: options.checkpointWalBytes, logger });
    return { engine, durability, logger };
  } catch (err) {
    await engine.close();
    throw err;
  }
}

async function shut(s: { engine: VecStoreEngine; durability: Durability }) {
  await s.durability.close();
  await s.engine.close();
}

/** A varied stream of writes: singles, batches, updates, hard and soft deletes, restores, a compaction. */
async function writeWorkload(engine: VecStoreEngine, seed: number, count: number): Promise<void> {
  const vectors = randomVectors(count, DIM, seed);
  for (let i = 0; i < count; i += 10) {
    await engine.batchUpsert(vectors.slice(i, i + 10).map((v, j) => ({ id: `s${seed}-${i + j}`, vector: Array.from(v), metadata: { seed, i: i + j }, ...((i + j) % 3 === 0 ? { text: `doc ${i + j} words` } : {}) })));
  }
  await engine.upsert({ id: `s${seed}-1`, vector: vectors[0], metadata: { updated: true } });
  for (let i = 0; i < count; i += 9) await engine.delete(`s${seed}-${i}`);
  for (let i = 2; i < count; i += 7) if (engine.get(`s${seed}-${i}`)) await engine.softDelete(`s${seed}-${i}`);
  if (engine.get(`s${seed}-2`)) await engine.restore(`s${seed}-2`);
}

test('parseFsyncPolicy accepts always, off and interval:<ms> and names the flag otherwise', () => {
  assert.deepEqual(parseFsyncPolicy('always'), { mode: 'always' });
  assert.deepEqual(parseFsyncPolicy('off'), { mode: 'off' });
  assert.deepEqual(parseFsyncPolicy('interval:250'), { mode: 'interval', ms: 250 });
  for (const bad of ['', 'sometimes', 'interval:', 'interval:0', 'interval:-5', 'interval:1.5', 'interval:99999999']) {
    assert.throws(() => parseFsyncPolicy(bad), (err: unknown) => err instanceof VecStoreError && err.code === 'validation' && err.message.startsWith('fsync:'));
  }
});

test('log-only recovery after a crash equals the state before it, text index included', async () => {
  const dir = tempDir('dur-wal');
  const live = await openStore(dir);
  try {
    await writeWorkload(live.engine, 1, 60);
    const before = dumpState(live.engine);
    const copy = crashCopy(dir);
    const recovered = await openStore(copy);
    try {
      assert.deepEqual(dumpState(recovered.engine), before);
      assert.equal(recovered.durability.recovery.walDroppedBytes, 0);
      assert.ok(recovered.durability.recovery.walRecords > 0);
      assert.equal(recovered.engine.textIndex.size, live.engine.textIndex.size);
      assert.deepEqual(recovered.engine.textIndex.search('words', 100).map((h) => h.id).sort(), live.engine.textIndex.search('words', 100).map((h) => h.id).sort());
    } finally {
      await shut(recovered);
    }
  } finally {
    await shut(live);
  }
});

test('checkpoint + log replay equals the pre-crash state; the checkpoint replaces the log it folded in', async () => {
  const dir = tempDir('dur-ckpt');
  const live = await openStore(dir);
  try {
    await writeWorkload(live.engine, 2, 80);
    await live.durability.checkpoint();
    const current = JSON.parse(fs.readFileSync(path.join(dir, 'CURRENT'), 'utf8')) as { checkpoint: string; walSeq: number };
    assert.ok(listWalFiles(dir).every((f) => f.seq > current.walSeq));
    await writeWorkload(live.engine, 3, 40);
    await live.engine.compact();
    await live.engine.upsert({ id: 'after-compact', vector: Float32Array.from([1, 2, 3, 4, 5, 6]), metadata: { x: 1 } });
    const before = dumpState(live.engine);
    const recovered = await openStore(crashCopy(dir));
    try {
      assert.deepEqual(dumpState(recovered.engine), before);
      assert.equal(recovered.durability.recovery.checkpoint, current.checkpoint);
      assert.ok(recovered.durability.recovery.checkpointRecords > 0);
      const q = await recovered.engine.query({ vector: Float32Array.from([1, 2, 3, 4, 5, 6]), k: 1 });
      assert.equal(q.results[0].id, 'after-compact');
    } finally {
      await shut(recovered);
    }
  } finally {
    await shut(live);
  }
});

test('a crash mid-checkpoint (temp dir, unreferenced checkpoint, half-written manifest) recovers the previous state', async () => {
  const dir = tempDir('dur-midckpt');
  const live = await openStore(dir);
  try {
    await writeWorkload(live.engine, 4, 50);
    await live.durability.checkpoint();
    await writeWorkload(live.engine, 5, 30);
    const before = dumpState(live.engine);
    const copy = crashCopy(dir);
    // What each crash point of a checkpoint leaves behind.
    fs.mkdirSync(path.join(copy, 'tmp-checkpoint-000000000099-1234'));
    fs.writeFileSync(path.join(copy, 'tmp-checkpoint-000000000099-1234', 'vectors.f32'), Buffer.alloc(13));
    fs.mkdirSync(path.join(copy, 'checkpoint-000000000098'));
    fs.writeFileSync(path.join(copy, 'checkpoint-000000000098', 'records.jsonl'), '["half');
    fs.writeFileSync(path.join(copy, 'CURRENT.tmp-1234'), '{"format":1,"checkpoint":"checkpoint-0000000');
    const recovered = await openStore(copy);
    try {
      assert.deepEqual(dumpState(recovered.engine), before);
      const left = fs.readdirSync(copy);
      assert.ok(!left.some((n) => n.startsWith('tmp-') || n === 'checkpoint-000000000098' || n.startsWith('CURRENT.tmp')), left.join(','));
    } finally {
      await shut(recovered);
    }
  } finally {
    await shut(live);
  }
});

test('a torn tail in the log is truncated and logged; everything before it survives', async () => {
  const dir = tempDir('dur-torn');
  const live = await openStore(dir);
  try {
    await writeWorkload(live.engine, 6, 30);
    const before = dumpState(live.engine);
    await live.engine.upsert({ id: 'torn', vector: Float32Array.from([1, 1, 1, 1, 1, 1]) });
    const copy = crashCopy(dir);
    const wal = listWalFiles(copy).at(-1)!;
    fs.truncateSync(wal.path, fs.statSync(wal.path).size - 5);
    const recovered = await openStore(copy);
    try {
      assert.deepEqual(dumpState(recovered.engine), before);
      assert.ok(recovered.durability.recovery.walDroppedBytes > 0);
      assert.ok(recovered.logger.lines.some((l) => l.level === 'warn' && (l.obj as { dropped_bytes?: number }).dropped_bytes! > 0));
      await recovered.engine.upsert({ id: 'next', vector: Float32Array.from([1, 0, 0, 0, 0, 0]) });
    } finally {
      await shut(recovered);
    }
  } finally {
    await shut(live);
  }
});

test('the log is checkpointed automatically once it passes checkpointWalBytes', async () => {
  const dir = tempDir('dur-auto');
  const live = await openStore(dir, { checkpointWalBytes: 4096 });
  try {
    await writeWorkload(live.engine, 7, 100);
    await new Promise((r) => setTimeout(r, 50));
    await live.durability.checkpoint();
    assert.ok(fs.existsSync(path.join(dir, 'CURRENT')));
    assert.ok(live.logger.lines.filter((l) => l.msg === 'checkpoint written').length >= 2);
    const before = dumpState(live.engine);
    const recovered = await openStore(crashCopy(dir));
    try {
      assert.deepEqual(dumpState(recovered.engine), before);
    } finally {
      await shut(recovered);
    }
  } finally {
    await shut(live);
  }
});

test('after a checkpoint larger than checkpointWalBytes, the log grows to that size before the next one', async () => {
  const dir = tempDir('dur-proportional');
  const live = await openStore(dir, { checkpointWalBytes: 4096 });
  const written = () => live.logger.lines.filter((l) => l.msg === 'checkpoint written').length;
  const load = async (prefix: string, n: number) => {
    const vectors = randomVectors(n, DIM, n);
    for (let i = 0; i < n; i += 100) await live.engine.batchUpsert(vectors.slice(i, i + 100).map((v, j) => ({ id: `${prefix}${i + j}`, vector: v, metadata: { i: i + j } })));
  };
  try {
    await load('a', 3000);
    await live.durability.checkpoint();
    const [name] = fs.readdirSync(dir).filter((n) => n.startsWith('checkpoint'));
    const checkpointBytes = fs.readdirSync(path.join(dir, name)).reduce((t, f) => t + fs.statSync(path.join(dir, name, f)).size, 0);
    assert.ok(checkpointBytes > 20 * 4096, `the checkpoint holds ${checkpointBytes} bytes`);
    const before = written();
    // Several times checkpointWalBytes of log, but less than the checkpoint holds: no automatic checkpoint.
    await load('b', 300);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(written(), before);
    assert.ok(fs.statSync(listWalFiles(dir).at(-1)!.path).size > 3 * 4096);
    // More log than the checkpoint holds: folded again, in the background.
    await load('c', 3000);
    for (let waited = 0; written() === before && waited < 10_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    assert.ok(written() > before);
  } finally {
    await shut(live);
  }
});

test('snapshots: create while writes continue captures the instant of the call; list; restore replaces state atomically', async () => {
  const dir = tempDir('dur-snap');
  const live = await openStore(dir);
  try {
    await writeWorkload(live.engine, 8, 50);
    const atSnapshot = dumpState(live.engine);
    const activeAtSnapshot = live.engine.store.counts.active;
    const created = live.durability.createSnapshot('nightly-1');
    // Writes racing the snapshot's background write must not appear in it.
    const racing = writeWorkload(live.engine, 9, 50);
    const [info] = await Promise.all([created, racing]);
    assert.equal(info.name, 'nightly-1');
    // Relative to the data directory: the answer does not disclose the server's file system layout.
    assert.equal(info.path, path.join('snapshots', 'nightly-1'));
    assert.ok(fs.existsSync(path.join(dir, info.path)));
    const listed = await live.durability.listSnapshots();
    assert.equal(listed.length, 1);
    assert.equal(listed[0].name, 'nightly-1');
    assert.ok(listed[0].size_bytes > 50 * DIM * 4 / 2);
    assert.ok(Math.abs(listed[0].created_at - Date.now() / 1000) < 60);

    await assert.rejects(live.durability.createSnapshot('nightly-1'), (err: unknown) => err instanceof VecStoreError && err.code === 'conflict');
    await assert.rejects(async () => live.durability.createSnapshot('../escape'), (err: unknown) => err instanceof VecStoreError && err.code === 'validation' && err.message.startsWith('name:'));
    await assert.rejects(async () => live.durability.restoreSnapshot('../../etc'), (err: unknown) => err instanceof VecStoreError && err.code === 'validation');
    await assert.rejects(async () => live.durability.restoreSnapshot('missing'), (err: unknown) => err instanceof VecStoreError && err.code === 'not_found');
    assert.ok(!fs.existsSync(path.join(dir, 'escape')));

    // Restore while writes keep arriving: each write lands wholly before or wholly after the restore.
    const writer = (async () => {
      for (let i = 0; i < 30; i++) await live.engine.upsert({ id: `during-${i}`, vector: Float32Array.from([i + 1, 1, 1, 1, 1, 1]) });
    })();
    const restored = await live.durability.restoreSnapshot('nightly-1');
    assert.equal(restored.vectors_restored, activeAtSnapshot);
    await writer;
    const after = dumpState(live.engine);
    const during = after.filter((r) => r.id.startsWith('during-'));
    assert.deepEqual(after.filter((r) => !r.id.startsWith('during-')), atSnapshot);
    // The ones kept are exactly a suffix of the stream (those written after the restore).
    const kept = during.map((r) => Number(r.id.slice(7))).sort((a, b) => a - b);
    if (kept.length > 0) assert.equal(kept.at(-1)! - kept[0] + 1, kept.length);
    await live.engine.upsert({ id: 'post-restore', vector: Float32Array.from([0, 0, 0, 0, 0, 1]), metadata: { p: 1 } });
    const expected = dumpState(live.engine);

    const recovered = await openStore(crashCopy(dir));
    try {
      assert.deepEqual(dumpState(recovered.engine), expected);
      assert.equal((await recovered.durability.listSnapshots())[0].name, 'nightly-1');
    } finally {
      await shut(recovered);
    }
  } finally {
    await shut(live);
  }
});

test('a crash during restore before the manifest switch leaves the old state', async () => {
  const dir = tempDir('dur-restore-crash');
  const live = await openStore(dir);
  try {
    await writeWorkload(live.engine, 10, 20);
    await live.durability.createSnapshot('s');
    await writeWorkload(live.engine, 11, 20);
    const before = dumpState(live.engine);
    const copy = crashCopy(dir);
    // The restore had linked the snapshot in as a checkpoint but not yet switched CURRENT.
    fs.cpSync(path.join(copy, 'snapshots', 's'), path.join(copy, 'checkpoint-000000000050'), { recursive: true });
    fs.cpSync(path.join(copy, 'snapshots', 's'), path.join(copy, 'tmp-restore-checkpoint-000000000051-1'), { recursive: true });
    const recovered = await openStore(copy);
    try {
      assert.deepEqual(dumpState(recovered.engine), before);
    } finally {
      await shut(recovered);
    }
  } finally {
    await shut(live);
  }
});

test('two Durability instances on one data directory: the second is a conflict naming the owner', async () => {
  const dir = tempDir('dur-lock');
  const first = await openStore(dir);
  try {
    await assert.rejects(openStore(dir), (err: unknown) => err instanceof VecStoreError && err.code === 'conflict' && err.message.includes(`process ${process.pid}`));
  } finally {
    await shut(first);
  }
  const again = await openStore(dir);
  await shut(again);
});

test('every fsync policy acknowledges writes that survive a clean close', async () => {
  for (const fsync of [{ mode: 'always' }, { mode: 'interval', ms: 10 }, { mode: 'off' }] as FsyncPolicy[]) {
    const dir = tempDir('dur-policy');
    const live = await openStore(dir, { fsync });
    await Promise.all(randomVectors(100, DIM, 12).map((v, i) => live.engine.upsert({ id: `p${i}`, vector: v, metadata: { i } })));
    const before = dumpState(live.engine);
    await shut(live);
    const reopened = await openStore(dir, { fsync });
    try {
      assert.deepEqual(dumpState(reopened.engine), before);
    } finally {
      await shut(reopened);
    }
  }
});

/** A tiny tmpfs, so that "disk full" is real (needs root; skipped otherwise). */
function mountTinyTmpfs(): string | undefined {
  const dir = tempDir('tmpfs');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    return undefined;
  }
}

test('disk full: the write is refused with a storage error, reads keep working, writes succeed once space is back', async (t) => {
  const mount = mountTinyTmpfs();
  if (!mount) {
    t.skip('cannot mount a tmpfs here (needs root)');
    return;
  }
  try {
    const dir = path.join(mount, 'data');
    const live = await openStore(dir, { fsync: { mode: 'always' } });
    try {
      await live.engine.upsert({ id: 'keep', vector: Float32Array.from([1, 2, 3, 4, 5, 6]), metadata: { ok: true } });
      // Fill the filesystem.
      const filler = path.join(mount, 'filler');
      const fd = fs.openSync(filler, 'w');
      try {
        const block = Buffer.alloc(64 * 1024, 1);
        for (;;) fs.writeSync(fd, block);
      } catch (err) {
        assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
      }
      // Tiny tail writes may still fit; keep filling byte-wise.
      try {
        for (;;) fs.writeSync(fd, Buffer.alloc(1));
      } catch {
        // full
      }
      fs.closeSync(fd);
      const big = randomVectors(200, DIM, 13).map((v, i) => ({ id: `big-${i}`, vector: Array.from(v), metadata: { pad: 'x'.repeat(200) } }));
      await assert.rejects(live.engine.batchUpsert(big), (err: unknown) => err instanceof VecStoreError && err.code === 'storage' && err.status === 507);
      // Refused means not applied.
      assert.equal(live.engine.get('big-0'), undefined);
      // Reads keep working.
      assert.equal(live.engine.get('keep')?.metadata?.ok, true);
      const q = await live.engine.query({ vector: Float32Array.from([1, 2, 3, 4, 5, 6]), k: 1 });
      assert.equal(q.results[0].id, 'keep');
      assert.ok(live.logger.lines.some((l) => l.level === 'error'));

      fs.rmSync(filler);
      const res = await live.engine.batchUpsert(big);
      assert.equal(res.inserted, 200);
      const before = dumpState(live.engine);
      const recovered = await openStore(crashCopy(dir));
      try {
        // No torn record was left behind by the refused write.
        assert.deepEqual(dumpState(recovered.engine), before);
        assert.equal(recovered.durability.recovery.walDroppedBytes, 0);
      } finally {
        await shut(recovered);
      }
    } finally {
      await shut(live);
    }
  } finally {
    execFileSync('umount', [mount]);
  }
});

test('a log that no longer applies (different --dimension) refuses to start instead of dropping data', async () => {
  const dir = tempDir('dur-dim');
  const live = await openStore(dir);
  await live.engine.upsert({ id: 'a', vector: Float32Array.from([1, 2, 3, 4, 5, 6]) });
  await shut(live);
  const engine = new VecStoreEngine({ metric: 'cosine', dimension: 8, threads: 1 });
  try {
    await assert.rejects(
      Durability.open(engine, { dataDir: dir, fsync: { mode: 'always' }, logger: memoryLogger() }),
      (err: unknown) => err instanceof VecStoreError && err.code === 'conflict' && /different --dimension/.test(err.message),
    );
  } finally {
    await engine.close();
  }
  // The refused start released the lock and left the log intact.
  const again = await openStore(dir);
  try {
    assert.equal(again.engine.get('a')?.vector.length, 6);
  } finally {
    await shut(again);
  }
});

test('a failed fsync refuses writes (storage) until a checkpoint supersedes the damaged log, then writes resume', async () => {
  const dir = tempDir('dur-eio');
  const live = await openStore(dir);
  try {
    live.durability.repairDelayMs = 20;
    await live.engine.upsert({ id: 'before', vector: Float32Array.from([1, 0, 0, 0, 0, 0]), metadata: { n: 1 } });
    let failing = true;
    setFdatasyncForTests((fd, cb) => {
      if (failing) setImmediate(() => cb(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })));
      else fs.fdatasync(fd, cb);
    });
    await assert.rejects(live.engine.upsert({ id: 'unsure', vector: Float32Array.from([0, 1, 0, 0, 0, 0]) }), (err: unknown) => err instanceof VecStoreError && err.code === 'storage');
    await assert.rejects(live.engine.upsert({ id: 'refused', vector: Float32Array.from([0, 0, 1, 0, 0, 0]) }), (err: unknown) => err instanceof VecStoreError && err.code === 'storage' && /refused until a checkpoint/.test(err.message));
    assert.equal(live.engine.get('refused'), undefined);
    assert.equal(live.engine.get('before')?.metadata?.n, 1);
    failing = false;
    let accepted = false;
    for (let i = 0; i < 200 && !accepted; i++) {
      await new Promise((r) => setTimeout(r, 10));
      accepted = await live.engine.upsert({ id: 'after', vector: Float32Array.from([0, 0, 0, 1, 0, 0]) }).then(() => true, () => false);
    }
    assert.ok(accepted, 'writes resumed after the repairing checkpoint');
    assert.ok(live.logger.lines.some((l) => l.msg?.includes('repaired')));
    const before = dumpState(live.engine);
    const recovered = await openStore(crashCopy(dir));
    try {
      assert.deepEqual(dumpState(recovered.engine), before);
    } finally {
      await shut(recovered);
    }
  } finally {
    setFdatasyncForTests(undefined);
    await shut(live);
  }
});
