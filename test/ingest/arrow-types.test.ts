// Arrow column types whose cells apache-arrow hands back as raw storage, read as their values: float16 vectors and a
// struct metadata column (decimals, timestamps, dates, binary, 64-bit integers) written by pyarrow, through
// batch-upsert and `vecstore import` against a real server; string views and large lists as Polars writes them; a
// vector column of another element type is refused.
// Fixtures: test/fixtures/arrow/make-fixtures.py.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Bool, Field, FixedSizeList, Table, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { VecStoreError } from '../../src/errors.js';
import { decodeArrowStream } from '../../src/ingest/arrow-records.js';
import { requestJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { postArrow } from '../helpers/arrow-post.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = path.join(HERE, '../../../test/fixtures/arrow');
const CLI = path.resolve(HERE, '../../src/cli.js');
const fixture = (name: string) => new Uint8Array(fs.readFileSync(path.join(FIXTURES, name)));

/** The rows make-fixtures.py wrote: float16 values (1e-7 rounds to the subnormal 2 × 2^-24; -0 reads back as 0 in JSON), metadata as JSON data. */
const METADATA = { price: -1234.5, big: -1.25, at: '2024-01-02T03:04:05.123Z', day: '2024-05-06T00:00:00.000Z', raw: 'AAH/', tags: ['x', 'y'], count: 2 ** 40 };
const EXPECTED = {
  h0: { id: 'h0', vector: [0.5, -1.25, 2, 65504], metadata: METADATA, deleted: false },
  h1: { id: 'h1', vector: [2 * 2 ** -24, 0, 0, 3.140625], metadata: METADATA, deleted: false },
};

describe('Arrow column types', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess({ args: ['--dimension', '4', '--metric', 'euclidean'] });
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
  });

  const record = async (id: string, collection?: string) => (await requestJson(`${server.url}/v1/${collection ? `collections/${collection}/` : ''}vectors/${id}`)).body;

  test('batch-upsert stores float16 vectors by value and struct metadata as JSON data', async () => {
    const res = await postArrow(`${server.url}/v1/batch-upsert`, fixture('pyarrow-types.arrows'));
    assert.deepEqual(res.body, { inserted: 2, updated: 0, errors: [] });
    assert.deepEqual(await record('h0'), EXPECTED.h0);
    assert.deepEqual(await record('h1'), EXPECTED.h1);
  });

  test('vecstore import of the same rows in a feather file gives the same records', async () => {
    assert.equal((await requestJson(`${server.url}/v1/collections/typed`, { method: 'PUT', body: JSON.stringify({ dimension: 4, metric: 'euclidean' }) })).status, 201);
    const r = spawnSync(process.execPath, [CLI, 'import', path.join(FIXTURES, 'pyarrow-types.feather'), '--url', server.url, '--collection', 'typed'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(await record('h0', 'typed'), EXPECTED.h0);
    assert.deepEqual(await record('h1', 'typed'), EXPECTED.h1);
  });

  test('string and binary views and large lists, as Polars writes by default, are read like their plain forms', async () => {
    assert.equal((await requestJson(`${server.url}/v1/collections/views`, { method: 'PUT', body: JSON.stringify({ dimension: 4, metric: 'euclidean' }) })).status, 201);
    const res = await postArrow(`${server.url}/v1/collections/views/batch-upsert`, fixture('pyarrow-views.arrows'));
    assert.deepEqual(res.body, { inserted: 2, updated: 0, errors: [] });
    assert.deepEqual(await record('v0', 'views'), { id: 'v0', vector: [0.5, 1.5, 2.5, 3.5], metadata: { tag: 'short', raw: 'AQI=' }, text: 'hi', deleted: false });
    assert.deepEqual(await record('a-longer-id-than-twelve-bytes', 'views'), {
      id: 'a-longer-id-than-twelve-bytes',
      vector: [4, 5, 6, 7],
      metadata: { tag: 'a string longer than twelve bytes', raw: Buffer.from('0123456789abcdef').toString('base64') },
      text: 'a text longer than the twelve inline bytes',
      deleted: false,
    });
  });

  test('a vector column of booleans or strings is a 400 naming the column and its type, and writes nothing', async () => {
    for (const type of [new Bool(), new Utf8()]) {
      const values = type instanceof Bool ? [[true, false, true, true]] : [['1', '2', '3', '4']];
      const table = new Table({
        id: vectorFromArray(['bad'], new Utf8()),
        vector: vectorFromArray(values, new FixedSizeList(4, new Field('item', type, false))),
      });
      const body = tableToIPC(table, 'stream');
      assert.throws(() => decodeArrowStream(body), (err: unknown) => err instanceof VecStoreError && err.code === 'invalid_arrow' && /^vector: the list's values must be floats or integers, got (Bool|Utf8)/.test(err.message));
      const res = await postArrow(`${server.url}/v1/batch-upsert`, body);
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'invalid_arrow');
      assert.match(res.body.error, /^vector: .*got (Bool|Utf8)/);
    }
    assert.equal((await requestJson(`${server.url}/v1/vectors/bad`)).status, 404);
  });
});
