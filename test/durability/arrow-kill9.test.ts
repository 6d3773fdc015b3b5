// An acknowledged Arrow batch survives kill -9: it was one WAL record, fsynced before the 200.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeArrowBatch } from '../../src/ingest/arrow-encode.js';
import { ARROW_STREAM_TYPE } from '../../src/ingest/arrow-records.js';
import { requestJson, startServerProcess } from '../helpers/server-process.js';
import { randomVectors } from '../helpers/random.js';

const DIM = 16;

test('an acknowledged Arrow batch survives kill -9; an unacknowledged one is all or nothing', { timeout: 60_000 }, async () => {
  const args = ['--dimension', String(DIM), '--metric', 'euclidean', '--fsync', 'always'];
  const server = await startServerProcess({ args });
  const batch = (prefix: string, n: number, seed: number) => {
    const vectors = randomVectors(n, DIM, seed);
    const flat = new Float32Array(n * DIM);
    vectors.forEach((v, i) => flat.set(v, i * DIM));
    return { ids: vectors.map((_, i) => `${prefix}${i}`), flat, bytes: encodeArrowBatch({ ids: vectors.map((_, i) => `${prefix}${i}`), dimension: DIM, vectors: flat, metadata: vectors.map((_, i) => ({ i })) }) };
  };
  const post = (bytes: Uint8Array) => fetch(`${server.url}/v1/batch-upsert`, { method: 'POST', headers: { 'content-type': ARROW_STREAM_TYPE }, body: Buffer.from(bytes) as unknown as BodyInit });
  const acked = batch('ack', 2000, 1);
  const res = await post(acked.bytes);
  assert.deepEqual(await res.json(), { inserted: 2000, updated: 0, errors: [] });
  // A second batch in flight when the process dies: afterwards it is either wholly there or wholly absent.
  const inFlight = batch('doubt', 2000, 2);
  const pending = post(inFlight.bytes).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 5));
  await server.kill();
  await pending;

  const again = await startServerProcess({ dataDir: server.dataDir, args });
  try {
    for (const i of [0, 999, 1999]) {
      const got = (await requestJson(`${again.url}/v1/vectors/ack${i}`)).body;
      assert.deepEqual(got.vector, Array.from(acked.flat.subarray(i * DIM, (i + 1) * DIM)));
      assert.deepEqual(got.metadata, { i });
    }
    const total = (await requestJson(`${again.url}/v1/stats`)).body.total_vectors;
    assert.ok(total === 2000 || total === 4000, `the in-flight batch is all or nothing (total ${total})`);
  } finally {
    await again.stop();
  }
});
