// Compressed Arrow IPC (LZ4_FRAME, ZSTD) as pyarrow writes it: the LZ4 frame decoder on its own, batch-upsert of
// compressed streams against a real server (decompression bombs refused, nothing written), and `vecstore import` of
// a feather file written with pyarrow's defaults. Fixtures: test/fixtures/arrow/make-fixtures.py.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Lz4Error, decompressLz4Frames } from '../../src/ingest/lz4-frame.js';
import { postJson, requestJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { postArrow } from '../helpers/arrow-post.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = path.join(HERE, '../../../test/fixtures/arrow');
const CLI = path.resolve(HERE, '../../src/cli.js');
const fixture = (name: string) => new Uint8Array(fs.readFileSync(path.join(FIXTURES, name)));

/** The inputs make-fixtures.py compressed into lz4-*.bin. */
function lz4Inputs(): Record<string, Uint8Array> {
  const overlap = new Uint8Array(100_000);
  for (let i = 0; i < overlap.length; i++) overlap[i] = i % 2 === 0 ? 0x61 : 0x62;
  const pattern = new Uint8Array(300_000);
  for (let i = 0; i < pattern.length; i++) pattern[i] = Number((BigInt(i) * BigInt(i)) / 7n) & 0xff;
  const noise = new Uint8Array(100_000);
  let x = 12345;
  for (let i = 0; i < noise.length; i++) {
    x = Number((BigInt(x) * 1103515245n + 12345n) & 0x7fffffffn);
    noise[i] = (x >> 16) & 0xff;
  }
  return { overlap, pattern, noise };
}

describe('LZ4 frames', () => {
  test('pyarrow\'s frames decode to their inputs: overlapping matches, linked blocks, stored blocks', () => {
    for (const [name, input] of Object.entries(lz4Inputs())) {
      const out = decompressLz4Frames(fixture(`lz4-${name}.bin`), 1 << 30);
      assert.equal(out.length, input.length, name);
      assert.ok(Buffer.from(out).equals(Buffer.from(input)), `${name}: bytes differ`);
    }
  });

  test('a cut or damaged frame, or one larger than allowed, is an Lz4Error', () => {
    const frame = fixture('lz4-pattern.bin');
    for (const cut of [3, 7, 12, Math.floor(frame.length / 2), frame.length - 5]) {
      assert.throws(() => decompressLz4Frames(frame.subarray(0, cut), 1 << 30), Lz4Error, `cut at ${cut}`);
    }
    const badMagic = Uint8Array.from(frame);
    badMagic[0] ^= 0xff;
    assert.throws(() => decompressLz4Frames(badMagic, 1 << 30), /not an LZ4 frame/);
    assert.throws(() => decompressLz4Frames(frame, 299_999), /more than 299999 bytes/);
    assert.equal(decompressLz4Frames(frame, 300_000).length, 300_000);
  });
});

describe('compressed Arrow streams', () => {
  const DIM = 8;
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess({ args: ['--dimension', String(DIM), '--metric', 'euclidean'] });
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
  });

  const post = (body: Uint8Array) => postArrow(`${server.url}/v1/batch-upsert`, body);
  const total = async () => (await requestJson(`${server.url}/v1/stats`)).body.total_vectors as number;

  /** Row i as make-fixtures.py wrote it. */
  const expected = (i: number) => ({
    id: `c${i}`,
    vector: Array.from({ length: DIM }, (_, j) => i + j / 8),
    metadata: { i, tag: i % 2 === 0 ? 'even' : 'odd' },
    text: `row number ${i}`,
    deleted: false,
  });

  test('ZSTD and LZ4 streams from pyarrow write every row with its values', async () => {
    assert.deepEqual((await post(fixture('pyarrow-zstd.arrows'))).body, { inserted: 300, updated: 0, errors: [] });
    for (const i of [0, 127, 128, 299]) assert.deepEqual((await requestJson(`${server.url}/v1/vectors/c${i}`)).body, expected(i));
    assert.deepEqual((await post(fixture('pyarrow-lz4.arrows'))).body, { inserted: 0, updated: 300, errors: [] });
    for (const i of [1, 200]) assert.deepEqual((await requestJson(`${server.url}/v1/vectors/c${i}`)).body, expected(i));
    assert.equal(await total(), 300);
  });

  test('decompression bombs are a 413 naming the body, and write nothing', async () => {
    const before = await total();
    for (const name of ['bomb-zstd.arrows', 'bomb-lz4.arrows']) {
      const res = await post(fixture(name));
      assert.equal(res.status, 413, `${name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, 'payload_too_large');
      assert.match(res.body.error, /^body: .*decompress/);
    }
    assert.equal(await total(), before);
    assert.equal((await requestJson(`${server.url}/v1/vectors/bomb`)).status, 404);
  });

  test('a damaged compressed buffer is a 400 invalid_arrow, and the server keeps serving', async () => {
    const stream = fixture('pyarrow-zstd.arrows');
    let refused = 0;
    for (const at of [400, 2000, 6000, 9000]) {
      const damaged = Uint8Array.from(stream);
      for (let k = 0; k < 16; k++) damaged[at + k] ^= 0x5a;
      const res = await post(damaged);
      assert.ok(res.status === 400 || res.status === 200, `damage at ${at}: ${res.status} ${JSON.stringify(res.body)}`);
      if (res.status === 400) {
        assert.equal(res.body.code, 'invalid_arrow');
        refused++;
      }
    }
    assert.ok(refused > 0, 'no damage was noticed');
    assert.equal((await postJson(`${server.url}/v1/query`, { vector: expected(5).vector, limit: 1 })).body.results[0].id, 'c5');
  });

  test('a feather file posted as is (the Arrow IPC file format) is read; cut short, it is a 400 that writes nothing', async () => {
    const file = fixture('pyarrow-default.feather');
    const cut = await post(file.subarray(0, file.length - 100));
    assert.equal(cut.status, 400);
    assert.equal(cut.body.code, 'invalid_arrow');
    for (const id of ['c0', 'c299']) assert.equal((await fetch(`${server.url}/v1/delete/${id}`, { method: 'DELETE' })).status, 200);
    const before = await total();
    assert.deepEqual((await post(file)).body, { inserted: 2, updated: 298, errors: [] });
    assert.equal(await total(), before + 2);
    assert.deepEqual((await requestJson(`${server.url}/v1/vectors/c299`)).body, expected(299));
  });

  test('vecstore import reads a feather file written with pyarrow\'s defaults (LZ4), and an .arrows stream', async () => {
    const target = await startServerProcess({ args: ['--dimension', String(DIM), '--metric', 'euclidean'] });
    try {
      const r = spawnSync(process.execPath, [CLI, 'import', path.join(FIXTURES, 'pyarrow-default.feather'), '--url', target.url], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /300 inserted/);
      for (const i of [0, 128, 299]) assert.deepEqual((await requestJson(`${target.url}/v1/vectors/c${i}`)).body, expected(i));
      // The same rows as a ZSTD stream under the stream's registered extension, `.arrows`.
      const again = spawnSync(process.execPath, [CLI, 'import', path.join(FIXTURES, 'pyarrow-zstd.arrows'), '--url', target.url], { encoding: 'utf8' });
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stdout, /^imported 300 rows .*0 inserted, 300 updated/m);
    } finally {
      await target.stop();
    }
  });
});
