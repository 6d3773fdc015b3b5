// Hybrid search through the engine: pure rankings at alpha 0 and 1, text-only finds, filters, index upkeep, the cache.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { VecStoreEngine } from '../../src/engine/engine.js';
import { TextIndex } from '../../src/engine/text-index.js';
import { randomVectors, seededRandom } from '../helpers/random.js';

const DIM = 16;
const WORDS = ['vector', 'search', 'database', 'fox', 'river', 'mountain', 'quantum', 'banana', 'engine', 'storage', 'cloud', 'index'];
let engine: VecStoreEngine;
const docs: Array<{ id: string; vector: Float32Array; text: string; metadata: Record<string, unknown> }> = [];

before(async () => {
  engine = new VecStoreEngine({ metric: 'cosine', threads: 2, cacheSize: 100 });
  const rand = seededRandom(5);
  const vectors = randomVectors(400, DIM, 11);
  for (let i = 0; i < 400; i++) {
    const words = Array.from({ length: 3 + Math.floor(rand() * 8) }, () => WORDS[Math.floor(Math.pow(rand(), 2) * WORDS.length)]);
    docs.push({ id: `d${i}`, vector: vectors[i], text: words.join(' '), metadata: { lang: i % 2 === 0 ? 'en' : 'de', i } });
  }
  // A document that only the words can find: its vector points away from every query used below.
  docs.push({ id: 'needle', vector: new Float32Array(DIM).fill(-1), text: 'zyzzyva zyzzyva', metadata: { lang: 'en', i: -1 } });
  await engine.batchUpsert(docs.map((d) => ({ ...d, vector: Array.from(d.vector) })));
});
after(() => engine.close());

function referenceBm25(query: string, accept: (id: string) => boolean = () => true): string[] {
  const index = new TextIndex();
  for (const d of docs) if (engine.get(d.id) && !engine.get(d.id)!.deleted) index.set(d.id, d.text);
  return index.search(query, 10, accept).map((h) => h.id);
}

test('alpha = 1 gives exactly the vector ranking; alpha = 0 exactly the BM25 ranking', async () => {
  const query = randomVectors(1, DIM, 99)[0];
  for (const fusion of ['linear', 'rrf'] as const) {
    const vectorOnly = await engine.query({ vector: query, k: 10 });
    const hybrid1 = await engine.hybridQuery({ vector: query, k: 10, textQuery: 'fox river', alpha: 1, fusion });
    assert.deepEqual(hybrid1.results.map((r) => r.id), vectorOnly.results.map((r) => r.id), `alpha 1 (${fusion})`);
    const hybrid0 = await engine.hybridQuery({ vector: query, k: 10, textQuery: 'fox river', alpha: 0, fusion });
    assert.deepEqual(hybrid0.results.map((r) => r.id), referenceBm25('fox river'), `alpha 0 (${fusion})`);
  }
});

test('a document strong in text but far in vector space is found', async () => {
  const query = new Float32Array(DIM).fill(1);
  const answer = await engine.hybridQuery({ vector: query, k: 5, textQuery: 'zyzzyva', alpha: 0.5, fusion: 'linear' });
  assert.ok(answer.results.some((r) => r.id === 'needle'));
  const vectorOnly = await engine.query({ vector: query, k: 5 });
  assert.ok(!vectorOnly.results.some((r) => r.id === 'needle'));
});

test('the filter applies to both sides', async () => {
  const query = randomVectors(1, DIM, 3)[0];
  const answer = await engine.hybridQuery({ vector: query, k: 20, textQuery: 'quantum banana zyzzyva', alpha: 0.3, fusion: 'linear', filter: "lang = 'de'" });
  assert.equal(answer.results.length, 20);
  for (const r of answer.results) assert.equal(r.metadata?.lang, 'de');
  const textSide = await engine.hybridQuery({ vector: query, k: 10, textQuery: 'quantum', alpha: 0, fusion: 'linear', filter: "lang = 'de'" });
  assert.deepEqual(textSide.results.map((r) => r.id), referenceBm25('quantum', (id) => engine.get(id)!.metadata!.lang === 'de'));
});

test('the text index follows delete, soft delete, restore and compact', async () => {
  const query = new Float32Array(DIM).fill(1);
  const find = async () => (await engine.hybridQuery({ vector: query, k: 3, textQuery: 'zyzzyva', alpha: 0, fusion: 'linear' })).results.map((r) => r.id);
  assert.equal((await find())[0], 'needle');
  await engine.softDelete('needle');
  assert.ok(!(await find()).includes('needle'));
  await engine.restore('needle');
  assert.equal((await find())[0], 'needle');
  await engine.compact();
  assert.equal((await find())[0], 'needle');
  await engine.upsert({ id: 'needle', vector: new Float32Array(DIM).fill(-1), text: 'no longer rare' });
  assert.ok(!(await find()).includes('needle'), 'an update replaces the indexed text');
  await engine.upsert({ id: 'needle', vector: new Float32Array(DIM).fill(-1), text: 'zyzzyva' });
  await engine.delete('needle');
  assert.ok(!(await find()).includes('needle'), 'a hard-deleted record leaves the index');
});

test('query cache: a repeat is a hit; any write invalidates; no stale answer after a racing upsert or delete', async () => {
  const query = randomVectors(1, DIM, 1234)[0];
  const first = await engine.query({ vector: query, k: 3 });
  assert.equal(first.cached, false);
  const second = await engine.query({ vector: query, k: 3 });
  assert.equal(second.cached, true);
  assert.deepEqual(second.results, first.results);
  assert.equal((await engine.query({ vector: query, k: 4 })).cached, false, 'k is part of the key');

  // An upsert of a record that becomes the best match, racing the same query.
  const racing = engine.query({ vector: query, k: 3 });
  await engine.upsert({ id: 'closest', vector: query });
  await racing;
  const afterUpsert = await engine.query({ vector: query, k: 3 });
  assert.equal(afterUpsert.cached, false);
  assert.equal(afterUpsert.results[0].id, 'closest');

  const racingDelete = engine.query({ vector: query, k: 3 });
  await engine.delete('closest');
  await racingDelete;
  const afterDelete = await engine.query({ vector: query, k: 3 });
  assert.ok(!afterDelete.results.some((r) => r.id === 'closest'), 'a deleted record is never served from the cache');
});
