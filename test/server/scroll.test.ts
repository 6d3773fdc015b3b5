// POST /v1/scroll over real sockets: id order, pages and cursors, filters, and exactly-once under concurrent writes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { postJson, requestJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess;
const DIM = 4;

before(async () => {
  server = await startServerProcess({ args: ['--dimension', String(DIM), '--metric', 'euclidean'] });
});
after(async () => {
  assert.equal(await server.stop(), 0);
});

async function scrollAll(body: Record<string, unknown>, onPage?: (page: number) => Promise<void>): Promise<Array<Record<string, any>>> {
  const out: Array<Record<string, any>> = [];
  let cursor: string | null = null;
  for (let page = 0; ; page++) {
    const res = await postJson(`${server.url}/v1/scroll`, { ...body, ...(cursor ? { cursor } : {}) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    out.push(...res.body.records);
    cursor = res.body.next_cursor;
    if (cursor === null) return out;
    await onPage?.(page);
  }
}

const idOf = (i: number) => `id-${String(i).padStart(4, '0')}`;

test('pages through every record once, in id order, with vectors and text on request', async () => {
  const records = Array.from({ length: 250 }, (_, i) => ({ id: idOf(249 - i), vector: [i, 0, 0, 1], metadata: { n: 249 - i, even: (249 - i) % 2 === 0 }, text: `t${249 - i}` }));
  assert.equal((await postJson(`${server.url}/v1/batch-upsert`, { records })).status, 200);
  const all = await scrollAll({ limit: 60 });
  assert.deepEqual(all.map((r) => r.id), Array.from({ length: 250 }, (_, i) => idOf(i)));
  assert.deepEqual(all[3], { id: idOf(3), metadata: { n: 3, even: false } });
  const full = (await postJson(`${server.url}/v1/scroll`, { limit: 1, include_vectors: true, include_text: true })).body;
  assert.deepEqual(full.records, [{ id: idOf(0), metadata: { n: 0, even: true }, vector: [249, 0, 0, 1], text: 't0' }]);
  // The last page says so: a page that ends exactly at the last record has no next cursor.
  const exact = (await postJson(`${server.url}/v1/scroll`, { limit: 250 })).body;
  assert.equal(exact.records.length, 250);
  assert.equal(exact.next_cursor, null);
  assert.deepEqual((await requestJson(`${server.url}/v1/scroll`, { method: 'POST' })).body.records.length, 100);
});

test('a filter selects records, soft-deleted ones are left out', async () => {
  assert.equal((await postJson(`${server.url}/v1/soft-delete/${idOf(10)}`, {})).status, 200);
  const even = await scrollAll({ limit: 7, filter: 'even = true AND n < 30' });
  assert.deepEqual(even.map((r) => r.metadata.n), [0, 2, 4, 6, 8, 12, 14, 16, 18, 20, 22, 24, 26, 28]);
  assert.equal((await postJson(`${server.url}/v1/restore/${idOf(10)}`, {})).status, 200);
});

test('records that exist for the whole scroll come exactly once while others are written and deleted', async () => {
  let extra = 0;
  const seen = await scrollAll({ limit: 20 }, async (page) => {
    // Between pages: new ids on both sides of the cursor, updates of existing ones, and a delete of a later one.
    const fresh = [`id-0000-${page}`, `zz-${page}`, `id-${String(100 + page).padStart(4, '0')}-x`].map((id) => ({ id, vector: [1, 1, 1, 1] }));
    extra += fresh.length;
    await postJson(`${server.url}/v1/batch-upsert`, { records: [...fresh, { id: idOf(200 + page), vector: [9, 9, 9, 9], metadata: { updated: page } }] });
    if (page === 0) await requestJson(`${server.url}/v1/delete/${idOf(240)}`, { method: 'DELETE' });
  });
  const ids = seen.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length, 'no record twice');
  for (let i = 0; i < 250; i++) if (i !== 240) assert.ok(ids.includes(idOf(i)), `${idOf(i)} returned`);
  assert.ok(!ids.includes(idOf(240)), 'a record deleted before its page is not returned');
  assert.ok(extra > 0);
  assert.deepEqual(ids, [...ids].sort(), 'id order');
});

test('bad requests name the field', async () => {
  const cases: Array<[unknown, number, string, string]> = [
    [{ limit: 0 }, 400, 'validation', 'limit'],
    [{ limit: 100_000 }, 400, 'k_too_large', 'limit'],
    [{ cursor: 5 }, 400, 'validation', 'cursor'],
    [{ cursor: 'not a cursor!' }, 400, 'validation', 'cursor'],
    [{ filter: 3 }, 400, 'validation', 'filter'],
    [{ filter: 'n >' }, 400, 'invalid_filter', 'filter'],
    [{ include_vectors: 'yes' }, 400, 'validation', 'include_vectors'],
    ['[1]', 400, 'validation', 'body'],
  ];
  for (const [body, status, code, field] of cases) {
    const res = await postJson(`${server.url}/v1/scroll`, typeof body === 'string' ? body : body);
    assert.deepEqual([res.status, res.body.code, res.body.error.split(':')[0]], [status, code, field], JSON.stringify(body));
  }
});
