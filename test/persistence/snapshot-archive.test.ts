// The snapshot file format on its own: a written archive reads back into the same files; any flipped byte, any
// truncation and any extension is refused (fuzzed), and a refused archive never yields a usable directory.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { ArchiveError, openArchive, receiveArchive } from '../../src/persistence/snapshot-archive.js';

/** Every directory of this file's tests lives under one root, removed at the end (the fuzz makes hundreds). */
const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'vecstore-archive-'));
after(() => fs.rmSync(ROOT, { recursive: true, force: true }));
const tempDir = () => fs.mkdtempSync(path.join(ROOT, 'd-'));

function snapshotDir(): string {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ format: 1, metric: 'cosine', dimension: 2, count: 2, active: 2, createdAt: 1 }));
  fs.writeFileSync(path.join(dir, 'vectors.f32'), Buffer.from(new Float32Array([1, 0, 0, 1]).buffer));
  fs.writeFileSync(path.join(dir, 'records.jsonl'), '["a",null,null,0]\n["b",{"k":1},"text",0]\n');
  return dir;
}

async function archiveBytes(dir: string): Promise<Buffer> {
  const { size, chunks } = await openArchive(dir);
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(c);
  const all = Buffer.concat(parts);
  assert.equal(all.length, size, 'the announced size is exact');
  return all;
}

/** Feeds `bytes` in chunks of `step` bytes. */
function chunked(bytes: Buffer, step: number): AsyncIterator<Buffer> {
  let at = 0;
  return { next: async () => (at >= bytes.length ? { done: true, value: undefined } : { done: false, value: bytes.subarray(at, (at += step)) }) };
}

test('an archive reads back into the same files, whatever the chunking', async () => {
  const src = snapshotDir();
  const bytes = await archiveBytes(src);
  for (const step of [1, 7, 64, bytes.length]) {
    const out = path.join(tempDir(), 'snap');
    const got = await receiveArchive(chunked(bytes, step), out, 1 << 20);
    assert.equal(got.bytes, bytes.length);
    for (const name of ['meta.json', 'vectors.f32', 'records.jsonl']) assert.ok(fs.readFileSync(path.join(out, name)).equals(fs.readFileSync(path.join(src, name))), name);
  }
});

test('any flipped byte, truncation or extension is refused', async () => {
  const bytes = await archiveBytes(snapshotDir());
  const refuse = async (damaged: Buffer) => {
    const out = path.join(tempDir(), 'snap');
    await assert.rejects(receiveArchive(chunked(damaged, 13), out, 1 << 20), ArchiveError);
  };
  await fc.assert(fc.asyncProperty(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
    const damaged = Buffer.from(bytes);
    damaged[at] ^= xor;
    await refuse(damaged);
  }), { numRuns: 200 });
  await fc.assert(fc.asyncProperty(fc.nat(bytes.length - 1), async (keep) => refuse(bytes.subarray(0, keep))), { numRuns: 100 });
  await refuse(Buffer.concat([bytes, Buffer.from([0])]));
});

test('the upload limit is enforced while reading', async () => {
  const bytes = await archiveBytes(snapshotDir());
  const out = path.join(tempDir(), 'snap');
  await assert.rejects(receiveArchive(chunked(bytes, 16), out, bytes.length - 1), /over|more than the upload limit/);
});
