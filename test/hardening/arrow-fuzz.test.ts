// Mutated Arrow streams against a real server: every answer is a 200 or a 4xx JSON error, never a 500, and it keeps serving.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ByteBuffer } from 'flatbuffers';
import { Message } from 'apache-arrow/fb/message';
import { Schema } from 'apache-arrow/fb/schema';
import { encodeArrowBatch } from '../../src/ingest/arrow-encode.js';
import { ARROW_STREAM_TYPE } from '../../src/ingest/arrow-records.js';
import { requestJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { postArrow } from '../helpers/arrow-post.js';

const DIM = 4;
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_129);
let server: ServerProcess;

before(async () => {
  server = await startServerProcess({ args: ['--dimension', String(DIM), '--metric', 'euclidean', '--fsync', 'interval:50', '--max-body', '1048576'] });
});
after(async () => {
  assert.equal(await server.stop(), 0);
});

const valid = encodeArrowBatch({
  ids: ['a', 'b', 'c', 'd'],
  dimension: DIM,
  vectors: Float32Array.from({ length: 4 * DIM }, (_, i) => i / 3),
  metadata: [{ i: 1 }, undefined, { s: 'x' }, { n: [1, 2] }],
  texts: ['one', undefined, 'three', 'four'],
});

test('byte flips, overwrites and cuts of a valid stream are answered with 200 or a 4xx error naming the body', async () => {
  const mutation = fc.record({
    flips: fc.array(fc.record({ at: fc.nat(valid.length - 9), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }),
    // Keep the end-of-stream marker most of the time, so that the reader gets past the truncation check.
    cut: fc.oneof(fc.constant(valid.length), fc.nat(valid.length)),
  });
  await fc.assert(
    fc.asyncProperty(mutation, async ({ flips, cut }) => {
      const bytes = Uint8Array.from(valid);
      for (const { at, value } of flips) bytes[at] = value;
      const body = bytes.subarray(0, cut);
      const res = await fetch(`${server.url}/v1/batch-upsert`, { method: 'POST', headers: { 'content-type': ARROW_STREAM_TYPE }, body: Buffer.from(body) as unknown as BodyInit }).catch((err: Error) => {
        throw new Error(`server gone (exit ${server.proc.exitCode}, signal ${server.proc.signalCode}): ${err.message}\n${server.logs.slice(-3).join('\n')}`);
      });
      const answer = (await res.json()) as { error?: string; code?: string; errors?: unknown[] };
      if (res.status === 200) {
        assert.ok(Array.isArray(answer.errors));
      } else {
        assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}: ${JSON.stringify(answer)}`);
        assert.equal(typeof answer.error, 'string');
        assert.equal(typeof answer.code, 'string');
      }
    }),
    { seed: SEED, numRuns: 300 },
  );
  assert.equal((await requestJson(`${server.url}/health`)).status, 200);
});

test('a schema whose field count runs past its message is a 400 naming it, not a runaway of the reader', async () => {
  // The stream opens with the schema message: continuation word, metadata length, then its flatbuffer.
  const bytes = Uint8Array.from(valid);
  const metadataLength = new DataView(bytes.buffer).getInt32(4, true);
  const bb = new ByteBuffer(bytes.subarray(8, 8 + metadataLength));
  const schema = Message.getRootAsMessage(bb).header(new Schema()) as Schema;
  assert.equal(schema.fieldsLength(), 4);
  // The fields vector's length word: where apache-arrow reads how many fields to decode.
  const slot = schema.bb_pos + bb.__offset(schema.bb_pos, 6);
  new DataView(bytes.buffer).setInt32(8 + slot + bb.readInt32(slot), 0x10000000, true);
  const res = await postArrow(`${server.url}/v1/batch-upsert`, bytes);
  assert.equal(res.status, 400);
  assert.equal(res.body.code, 'invalid_arrow');
  assert.match(res.body.error, /flatbuffer vector claims 268435456 entries past the end of its message/);
  assert.equal((await requestJson(`${server.url}/health`)).status, 200);
});

test('byte flips of LZ4 and ZSTD streams (compressed buffers, their frames, the headers) get 200 or a 4xx, never a 500', async () => {
  const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/arrow');
  for (const name of ['pyarrow-lz4.arrows', 'pyarrow-zstd.arrows']) {
    const stream = new Uint8Array(fs.readFileSync(path.join(fixtures, name)));
    const flips = fc.array(fc.record({ at: fc.nat(stream.length - 9), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(flips, async (changes) => {
        const bytes = Uint8Array.from(stream);
        for (const { at, value } of changes) bytes[at] = value;
        const res = await postArrow(`${server.url}/v1/batch-upsert`, bytes);
        assert.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `${name}: status ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
      }),
      { seed: SEED, numRuns: 150 },
    );
  }
  assert.equal((await requestJson(`${server.url}/health`)).status, 200);
});
