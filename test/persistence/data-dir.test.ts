// The data-directory lock: one owner at a time, stale locks of dead processes taken over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { DataDirLock, writeFileAtomic } from '../../src/persistence/data-dir.js';
import { VecStoreError } from '../../src/errors.js';
import { tempDir } from '../helpers/durable-state.js';

test('a second lock on the same directory is a conflict naming the owner pid', () => {
  const dir = tempDir('lock');
  const lock = DataDirLock.acquire(dir);
  assert.equal(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8').trim(), String(process.pid));
  assert.throws(() => DataDirLock.acquire(dir), (err: unknown) => err instanceof VecStoreError && err.code === 'conflict' && err.message.includes(`process ${process.pid}`));
  lock.release();
  assert.equal(fs.existsSync(path.join(dir, 'LOCK')), false);
  DataDirLock.acquire(dir).release();
});

test('a lock held by a live process elsewhere is refused; one left by a dead process is taken over', () => {
  const dir = tempDir('lock-stale');
  // A pid that has certainly exited.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  fs.writeFileSync(path.join(dir, 'LOCK'), `${dead}\n`);
  const lock = DataDirLock.acquire(dir);
  assert.equal(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8').trim(), String(process.pid));
  lock.release();

  // The test runner's parent is a live node process.
  fs.writeFileSync(path.join(dir, 'LOCK'), `${process.ppid}\n`);
  assert.throws(() => DataDirLock.acquire(dir), (err: unknown) => err instanceof VecStoreError && err.code === 'conflict' && err.message.includes(String(process.ppid)));
});

test('writeFileAtomic replaces the content and leaves no temporary file', () => {
  const dir = tempDir('atomic');
  const file = path.join(dir, 'CURRENT');
  writeFileAtomic(file, 'one');
  writeFileAtomic(file, 'two');
  assert.equal(fs.readFileSync(file, 'utf8'), 'two');
  assert.deepEqual(fs.readdirSync(dir), ['CURRENT']);
});

test('stale-lock takeover never moves aside a lock another process created after the stale one was read', async () => {
  const dir = tempDir('lock-race');
  const lockPath = path.join(dir, 'LOCK');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  fs.writeFileSync(lockPath, `${dead}\n`);
  // A live node process that "starts" right after this one read the stale lock, taking the directory over itself.
  const rival = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  await new Promise((r) => rival.once('spawn', r));
  const realRead = fs.readFileSync;
  let raced = false;
  (fs as { readFileSync: unknown }).readFileSync = ((file: fs.PathOrFileDescriptor, options?: unknown) => {
    const content = realRead(file, options as BufferEncoding);
    if (!raced && String(file).endsWith('LOCK') && String(content).trim() === dead) {
      raced = true;
      fs.rmSync(lockPath);
      fs.writeFileSync(lockPath, `${rival.pid}\n`);
    }
    return content;
  }) as typeof fs.readFileSync;
  try {
    assert.throws(() => DataDirLock.acquire(dir), (err: unknown) => err instanceof VecStoreError && err.code === 'conflict' && err.message.includes(`process ${rival.pid}`));
    assert.ok(raced);
    assert.equal(realRead(lockPath, 'utf8').trim(), String(rival.pid), "the rival's lock is still in place");
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f !== 'LOCK'), [], 'no claim or temporary file left behind');
  } finally {
    (fs as { readFileSync: unknown }).readFileSync = realRead;
    rival.kill();
  }
});
