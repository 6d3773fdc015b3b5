// batch-upsert with Arrow IPC streams and large JSON bodies (parsed in the parse pool), against a real server process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Dictionary, Field, FixedSizeList, Float32, Float64, Int32, List, Struct, Table, Utf8, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { Builder } from 'flatbuffers';
import { Field as FbField } from 'apache-arrow/fb/field';
import { Message as FbMessage } from 'apache-arrow/fb/message';
import { MessageHeader } from 'apache-arrow/fb/message-header';
import { MetadataVersion } from 'apache-arrow/fb/metadata-version';
import { Schema as FbSchema } from 'apache-arrow/fb/schema';
import { Struct_ as FbStruct } from 'apache-arrow/fb/struct-';
import { Type as FbType } from 'apache-arrow/fb/type';
import { encodeArrowBatch } from '../../src/ingest/arrow-encode.js';
import { INLINE_JSON_BYTES } from '../../src/ingest/parse-pool.js';
import { postJson, requestJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { postArrow } from '../helpers/arrow-post.js';
import { randomVectors } from '../helpers/random.js';

const DIM = 8;
let server: ServerProcess;

before(async () => {
  server = await startServerProcess({ args: ['--dimension', String(DIM), '--metric', 'euclidean'] });
});
after(async () => {
  assert.equal(await server.stop(), 0);
});

async function total(): Promise<number> {
  return (await requestJson(`${server.url}/v1/stats`)).body.total_vectors;
}

/** Vectors, metadata and text of `n` records with ids `${prefix}i`. */
function records(prefix: string, n: number, seed: number) {
  const vectors = randomVectors(n, DIM, seed);
  return vectors.map((v, i) => ({ id: `${prefix}${i}`, vector: v, metadata: { i, tag: i % 2 ? 'odd' : 'even', nested: { deep: [i] } }, text: `row ${i}` }));
}

/** An IPC stream of one schema message whose `width` fields each have `width` children, `depth` levels down, all shared. */
function schemaBomb(width: number, depth: number): Uint8Array {
  const b = new Builder(1024);
  const structField = (children?: number): number => {
    FbStruct.startStruct_(b);
    const type = FbStruct.endStruct_(b);
    FbField.startField(b);
    FbField.addTypeType(b, FbType.Struct_);
    FbField.addType(b, type);
    if (children !== undefined) FbField.addChildren(b, children);
    return FbField.endField(b);
  };
  let level = structField();
  for (let d = 0; d < depth; d++) level = structField(FbField.createChildrenVector(b, new Array(width).fill(level)));
  const fields = FbSchema.createFieldsVector(b, new Array(width).fill(level));
  FbSchema.startSchema(b);
  FbSchema.addFields(b, fields);
  const schema = FbSchema.endSchema(b);
  FbMessage.startMessage(b);
  FbMessage.addVersion(b, MetadataVersion.V5);
  FbMessage.addHeaderType(b, MessageHeader.Schema);
  FbMessage.addHeader(b, schema);
  FbMessage.addBodyLength(b, BigInt(0));
  b.finish(FbMessage.endMessage(b));
  const header = b.asUint8Array();
  const padded = Math.ceil(header.length / 8) * 8;
  const stream = new Uint8Array(8 + padded + 8);
  const view = new DataView(stream.buffer);
  view.setUint32(0, 0xffffffff, true);
  view.setInt32(4, padded, true);
  stream.set(header, 8);
  view.setUint32(8 + padded, 0xffffffff, true);
  return stream;
}

function toArrow(rs: ReturnType<typeof records>): Uint8Array {
  const flat = new Float32Array(rs.length * DIM);
  rs.forEach((r, i) => flat.set(r.vector, i * DIM));
  return encodeArrowBatch({ ids: rs.map((r) => r.id), dimension: DIM, vectors: flat, metadata: rs.map((r) => r.metadata), texts: rs.map((r) => r.text) });
}

/** The same rows as an Arrow IPC file (what a `.feather` file holds). */
const asFile = (stream: Uint8Array) => tableToIPC(tableFromIPC(stream), 'file');

describe('Arrow IPC batch-upsert', () => {
  test('writes every record with its vector, metadata and text, and answers like the JSON form', async () => {
    const rs = records('a', 50, 1);
    const res = await postArrow(`${server.url}/v1/batch-upsert`, toArrow(rs));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { inserted: 50, updated: 0, errors: [] });
    for (const r of [rs[0], rs[17], rs[49]]) {
      const got = (await requestJson(`${server.url}/v1/vectors/${r.id}`)).body;
      assert.deepEqual(got, { id: r.id, vector: Array.from(r.vector), metadata: r.metadata, text: r.text, deleted: false });
    }
    const again = await postArrow(`${server.url}/v1/batch-upsert`, toArrow(rs.slice(0, 5)));
    assert.deepEqual(again.body, { inserted: 0, updated: 5, errors: [] });
  });

  test('bad rows get the same per-record errors as in JSON, and the good rows of the batch are written', async () => {
    // Variable-length lists so that rows can have the wrong dimension; nulls where JSON would have null.
    const good = Array.from({ length: DIM }, (_, j) => j / 10);
    const rows = [
      { id: 'e-good', vector: good, text: 'ok' },
      { id: null, vector: good, text: null },
      { id: 'e-short', vector: [1, 2, 3], text: null },
      { id: 'e-null-vector', vector: null, text: null },
      { id: 'x'.repeat(600), vector: good, text: null },
      { id: 'e-empty', vector: [], text: null },
      { id: 'e-good2', vector: good, text: null },
    ];
    const table = new Table({
      id: vectorFromArray(rows.map((r) => r.id), new Utf8()),
      vector: vectorFromArray(rows.map((r) => r.vector), new List(new Field('item', new Float32(), true))),
      text: vectorFromArray(rows.map((r) => r.text), new Utf8()),
    });
    const arrow = await postArrow(`${server.url}/v1/batch-upsert`, tableToIPC(table, 'stream'));
    assert.equal(arrow.status, 200);
    const json = await postJson(`${server.url}/v1/batch-upsert`, { records: rows.map((r) => ({ id: r.id, vector: r.vector, ...(r.text ? { text: r.text } : {}) })) });
    assert.equal(json.status, 200);
    assert.deepEqual(arrow.body.errors, json.body.errors);
    assert.deepEqual(arrow.body.errors.map((e: { index: number; code: string }) => [e.index, e.code]), [
      [1, 'validation'], [2, 'dimension_mismatch'], [3, 'validation'], [4, 'id_too_long'], [5, 'validation'],
    ]);
    assert.match(arrow.body.errors[0].error, /^records\[1\]\.id: must be a string/);
    assert.equal(arrow.body.inserted, 2);
    assert.equal((await requestJson(`${server.url}/v1/vectors/e-good`)).body.text, 'ok');
  });

  test('float64 vectors are converted, struct metadata is stored as an object, integer ids become strings', async () => {
    const structType = new Struct([new Field('lang', new Utf8(), true), new Field('year', new Int32(), true)]);
    const table = new Table({
      id: vectorFromArray([7, 8], new Int32()),
      vector: vectorFromArray([Array.from({ length: DIM }, () => 0.1), Array.from({ length: DIM }, () => 1e300)], new FixedSizeList(DIM, new Field('item', new Float64(), false))),
      metadata: vectorFromArray([{ lang: 'en', year: 2020 }, { lang: null, year: 1999 }], structType),
    });
    const res = await postArrow(`${server.url}/v1/batch-upsert`, tableToIPC(table, 'stream'));
    assert.equal(res.status, 200);
    assert.equal(res.body.inserted, 1);
    assert.deepEqual(res.body.errors.map((e: { index: number; id: string; error: string }) => [e.index, e.id, /overflows float32/.test(e.error)]), [[1, '8', true]]);
    const got = (await requestJson(`${server.url}/v1/vectors/7`)).body;
    assert.deepEqual(got.metadata, { lang: 'en', year: 2020 });
    assert.equal(got.vector[0], Math.fround(0.1));
    const filtered = await postJson(`${server.url}/v1/query`, { vector: Array(DIM).fill(0.1), limit: 5, filter: "lang = 'en' AND year >= 2000" });
    assert.deepEqual(filtered.body.results.map((r: { id: string }) => r.id), ['7']);
  });

  test('a dictionary-encoded id column (Polars categoricals, pyarrow dictionary_encode) reads as its values', async () => {
    const table = new Table({
      id: vectorFromArray(['cat-a', 'cat-b', 'cat-a'], new Dictionary(new Utf8(), new Int32())),
      vector: vectorFromArray([[1, 0, 0, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0, 0, 0]], new FixedSizeList(DIM, new Field('item', new Float32(), false))),
    });
    const res = await postArrow(`${server.url}/v1/batch-upsert`, tableToIPC(table, 'stream'));
    assert.deepEqual(res.body, { inserted: 2, updated: 1, errors: [] });
    assert.deepEqual((await requestJson(`${server.url}/v1/vectors/cat-a`)).body.vector, [0, 0, 1, 0, 0, 0, 0, 0]);
  });

  test('a truncated, malformed or incomplete stream is a 400 that writes nothing', async () => {
    const stream = toArrow(records('t', 20, 2));
    const before = await total();
    // Cut inside a message body, right before the end-of-stream marker (a whole-message boundary), and at the schema.
    for (const cut of [stream.length - 100, stream.length - 8, 40, 3]) {
      const res = await postArrow(`${server.url}/v1/batch-upsert`, stream.subarray(0, cut));
      assert.equal(res.status, 400, `cut at ${cut}`);
      assert.equal(res.body.code, 'invalid_arrow');
      assert.match(res.body.error, /^body: /);
    }
    const garbage = new Uint8Array(256).map((_, i) => (i * 37) & 0xff);
    garbage.set([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0], 248);
    const bad = await postArrow(`${server.url}/v1/batch-upsert`, garbage);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'invalid_arrow');
    const noVector = tableToIPC(new Table({ id: vectorFromArray(['z'], new Utf8()) }), 'stream');
    const missing = await postArrow(`${server.url}/v1/batch-upsert`, noVector);
    assert.deepEqual([missing.status, missing.body.code, missing.body.error.split(':')[0]], [400, 'invalid_arrow', 'vector']);
    // Column names are case-sensitive: the error lists the columns the stream has, so `ID` is seen for what it is.
    const misnamed = tableToIPC(new Table({ ID: vectorFromArray(['z'], new Utf8()), vector: vectorFromArray([[1, 2, 3]], new FixedSizeList(3, new Field('item', new Float32()))) }), 'stream');
    const wrongCase = await postArrow(`${server.url}/v1/batch-upsert`, misnamed);
    assert.deepEqual([wrongCase.status, wrongCase.body.code, wrongCase.body.error], [400, 'invalid_arrow', 'id: the Arrow stream has no "id" column (its columns: "ID", "vector")']);
    assert.equal(await total(), before);
  });

  test('a stream that sends the Arrow reader into runaway allocation costs a parse thread, not the server', { timeout: 120_000 }, async () => {
    // A schema whose every vector is in bounds, but whose fields share their children: 1,000 fields of 1,000 children
    // of 1,000 children each, all the same table. apache-arrow decodes the tree, not the graph, and allocates until
    // the parse thread's heap limit stops it.
    const before = await total();
    const res = await postArrow(`${server.url}/v1/batch-upsert`, schemaBomb(1000, 3));
    assert.deepEqual([res.status, res.body.code], [400, 'invalid_arrow']);
    assert.match(res.body.error, /memory and time limits/);
    assert.equal(await total(), before);
    const next = await postArrow(`${server.url}/v1/batch-upsert`, toArrow(records('after-oom', 3, 9)));
    assert.deepEqual(next.body, { inserted: 3, updated: 0, errors: [] });
  });

  test('media types are matched without case or parameters; the Arrow file type is taken; Arrow sent as JSON is named', async () => {
    const rs = records('m', 3, 5);
    const send = async (contentType: string | undefined, body: Uint8Array) => {
      const res = await fetch(`${server.url}/v1/batch-upsert`, { method: 'POST', headers: contentType ? { 'content-type': contentType } : {}, body: Buffer.from(body) as unknown as BodyInit });
      return { status: res.status, body: await res.json() };
    };
    assert.deepEqual((await send('Application/VND.Apache.Arrow.Stream; charset=binary', toArrow(rs))).body, { inserted: 3, updated: 0, errors: [] });
    assert.deepEqual((await send('application/vnd.apache.arrow.file', asFile(toArrow(rs)))).body, { inserted: 0, updated: 3, errors: [] });
    for (const [type, body] of [['application/octet-stream', toArrow(rs)], [undefined, asFile(toArrow(rs))]] as const) {
      const res = await send(type, body);
      assert.equal(res.status, 400);
      assert.deepEqual(res.body, { error: 'body: an Arrow IPC stream or file sent as JSON; send it with Content-Type: application/vnd.apache.arrow.stream', code: 'invalid_json' });
    }
  });

  test('a body with a Content-Encoding is a 415 that writes nothing (it would be read as if it were plain)', async () => {
    const before = await total();
    for (const [encoding, contentType, body] of [['gzip', 'application/vnd.apache.arrow.stream', toArrow(records('z', 2, 6))], ['br', 'application/json', Buffer.from(JSON.stringify({ records: [{ id: 'z-json', vector: Array(DIM).fill(1) }] }))]] as const) {
      const res = await fetch(`${server.url}/v1/batch-upsert`, { method: 'POST', headers: { 'content-type': contentType, 'content-encoding': encoding }, body: Buffer.from(body) as unknown as BodyInit });
      assert.equal(res.status, 415);
      assert.equal(((await res.json()) as { code: string }).code, 'unsupported_media_type');
    }
    assert.equal(await total(), before);
    const identity = await fetch(`${server.url}/v1/upsert`, { method: 'POST', headers: { 'content-encoding': 'identity' }, body: JSON.stringify({ id: 'z-identity', vector: Array(DIM).fill(1) }) });
    assert.equal(identity.status, 200);
  });

  test('more rows than --max-batch is 413 batch_too_large, as in JSON', async () => {
    const rs = Array.from({ length: 10_001 }, (_, i) => ({ id: `big${i}`, vector: new Float32Array(DIM), metadata: { i, tag: '', nested: { deep: [] as number[] } }, text: '' }));
    const res = await postArrow(`${server.url}/v1/batch-upsert`, toArrow(rs));
    assert.deepEqual([res.status, res.body.code], [413, 'batch_too_large']);
  });
});

describe('large JSON batch bodies (parsed in the parse pool)', () => {
  test('answer exactly as a small body does, bad records included', async () => {
    const bad = [
      { id: 'j-bad-1', vector: [1, 'x', 3, 4, 5, 6, 7, 8] },
      { id: 'j-bad-2', vector: [1, 2, 3] },
      { id: 'j-bad-3', vector: Array(DIM).fill(1), metadata: 'not an object' },
    ];
    const small = await postJson(`${server.url}/v1/batch-upsert`, { records: bad });
    const filler = records('j', 1500, 3).map((r) => ({ ...r, vector: Array.from(r.vector, (x) => x + 1e-9) }));
    const body = JSON.stringify({ records: [...bad, ...filler] });
    assert.ok(Buffer.byteLength(body) > INLINE_JSON_BYTES, 'the body is over the inline threshold');
    const large = await postJson(`${server.url}/v1/batch-upsert`, body);
    assert.equal(large.status, 200);
    assert.deepEqual(large.body.errors, small.body.errors);
    assert.equal(large.body.inserted + large.body.updated, 1500);
    const got = (await requestJson(`${server.url}/v1/vectors/j1499`)).body;
    assert.deepEqual(got.vector, filler[1499].vector.map((x) => Math.fround(x)));
    assert.deepEqual(got.metadata, filler[1499].metadata);
  });

  test('a large malformed body is invalid_json; a large body with an unknown field or without records is refused naming it', async () => {
    const text = JSON.stringify({ records: records('m', 300, 4).map((r) => ({ ...r, vector: Array.from(r.vector) })) });
    const cut = await postJson(`${server.url}/v1/batch-upsert`, text.slice(0, text.length - 10));
    assert.deepEqual([cut.status, cut.body.code], [400, 'invalid_json']);
    // Refused in a parse worker, with the same body as on the front thread (field and hint included).
    const unknown = await postJson(`${server.url}/v1/batch-upsert`, JSON.stringify({ rows: 'x'.repeat(INLINE_JSON_BYTES + 10) }));
    assert.deepEqual([unknown.status, unknown.body.code, unknown.body.error.split(':')[0], unknown.body.field], [400, 'unknown_field', 'rows', 'rows']);
    const noRecords = await postJson(`${server.url}/v1/batch-upsert`, JSON.stringify({ records: 'x'.repeat(INLINE_JSON_BYTES + 10) }));
    assert.deepEqual([noRecords.status, noRecords.body.code, noRecords.body.error.split(':')[0]], [400, 'validation', 'records']);
  });
});
