// Repeated compactions must not keep the memory of the segments they replace: shared segments are freed only when
// every thread collects its views, which idle threads do not do by themselves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExposition } from '../helpers/prom-text.js';
import { postJson, requestJson, startServerProcess } from '../helpers/server-process.js';

const DIM = 8;
const vec = (x: number): number[] => Array.from({ length: DIM }, (_, d) => x + d);

async function rss(url: string): Promise<number> {
  return parseExposition(await (await fetch(`${url}/metrics`)).text()).get('process_resident_memory_bytes') ?? NaN;
}

test('a hundred compactions (each a new layout and a new graph) leave resident memory about where it was', async (t) => {
  const server = await startServerProcess({ args: ['--dimension', String(DIM), '--metric', 'euclidean', '--fsync', 'interval:50'] });
  try {
    const records = Array.from({ length: 50 }, (_, i) => ({ id: `r${i}`, vector: vec(i) }));
    assert.equal((await postJson(`${server.url}/v1/batch-upsert`, { records })).body.inserted, 50);
    const compactRound = async (round: number): Promise<void> => {
      for (let i = 0; i < 50; i++) {
        // Each compaction has something to remove, so it builds a new layout (new vector and graph segments).
        assert.equal((await requestJson(`${server.url}/v1/delete/r${i}`, { method: 'DELETE' })).status, 200);
        assert.equal((await postJson(`${server.url}/v1/upsert`, { id: `r${i}`, vector: vec(i + round) })).status, 200);
        assert.equal((await postJson(`${server.url}/v1/compact`, {})).body.removed_count, 1);
      }
    };
    await compactRound(1);
    await new Promise((r) => setTimeout(r, 300));
    const warm = await rss(server.url);
    await compactRound(2);
    await compactRound(3);
    await new Promise((r) => setTimeout(r, 300));
    const after = await rss(server.url);
    t.diagnostic(`rss ${warm} after 50 compactions, ${after} after 100 more`);
    // Without freeing, each compaction of this store keeps ~10 MB (its graph segment alone is several MB).
    assert.ok(after < warm + 160 * 1024 * 1024, `rss ${warm} → ${after} over 100 compactions`);
    const answer = await postJson(`${server.url}/v1/query`, { vector: vec(7 + 3), limit: 1 });
    assert.equal(answer.body.results[0].id, 'r7', 'the store still answers from its latest layout');
  } finally {
    await server.stop();
  }
});
