// The fast JSON batch reader against JSON.parse: vectors bit-identical to Math.fround of JSON.parse's numbers (random,
// extreme and float32-midpoint values), the same validated batches, and the same errors for every body it falls back on.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readJsonBatch, readJsonWithVector, type JsonReader } from '../../src/ingest/json-batch-reader.js';
import { validateBatchBody } from '../../src/ingest/batch-body.js';
import { DEFAULT_LIMITS } from '../../src/engine/limits.js';
import { VecStoreError } from '../../src/errors.js';
import { seededRandom } from '../helpers/random.js';

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);
const f64 = new Float64Array(1);
const f64Bits = new BigUint64Array(f64.buffer);

/** The bits of a number as float32 (so -0 and 0 differ). */
function bits32(x: number): number {
  f32[0] = x;
  return f32Bits[0];
}

/** The next double above a positive double (below for `-1`). */
function nextDouble(x: number, direction: 1 | -1): number {
  f64[0] = x;
  f64Bits[0] += BigInt(direction);
  return f64[0];
}

/** The next float32 above a non-negative float32. */
function nextFloat32(x: number): number {
  f32[0] = x;
  f32Bits[0] += 1;
  return f32[0];
}

/** The exact decimal expansion of a positive finite double (its binary fraction always ends). */
function exactDecimal(x: number): string {
  f64[0] = x;
  const raw = f64Bits[0];
  const exponent = Number((raw >> 52n) & 0x7ffn);
  let mantissa = raw & ((1n << 52n) - 1n);
  let power = exponent - 1075; // x = mantissa · 2^power
  if (exponent === 0) power = -1074;
  else mantissa |= 1n << 52n;
  if (power >= 0) return (mantissa << BigInt(power)).toString();
  const digits = (mantissa * 5n ** BigInt(-power)).toString().padStart(-power + 1, '0');
  return `${digits.slice(0, digits.length + power)}.${digits.slice(digits.length + power)}`;
}

/** Reads one record whose vector is `texts` and checks every element against Math.fround(JSON.parse(text)), bit for bit. */
function checkNumbers(texts: string[]): void {
  const body = `{"records":[{"id":"n","vector":[${texts.join(',')}]}]}`;
  const read = readJsonBatch(Buffer.from(body));
  assert.ok(read, 'the reader reads a body of numbers');
  const vector = (read.records as Array<{ vector: unknown }>)[0].vector;
  const expected = texts.map((t) => JSON.parse(t) as number);
  if (expected.some((x) => !Number.isFinite(Math.fround(x)))) {
    // Something float32 cannot hold: the vector is JSON.parse's array, for validation to name.
    assert.deepEqual(vector, expected);
    return;
  }
  assert.ok(vector instanceof Float32Array);
  assert.equal(vector.length, texts.length);
  for (let j = 0; j < texts.length; j++) {
    if (bits32(vector[j]) !== bits32(Math.fround(expected[j]))) assert.fail(`${texts[j]}: read ${vector[j]}, JSON.parse gives ${Math.fround(expected[j])}`);
  }
}

/** Checks `texts` in vectors of up to 1,000 numbers. */
function checkAll(texts: string[]): void {
  for (let i = 0; i < texts.length; i += 1000) checkNumbers(texts.slice(i, i + 1000));
}

describe('vector numbers are Math.fround of JSON.parse, bit for bit', () => {
  const rand = seededRandom(16);

  test('random doubles as JSON.stringify and Python print them (17 digits), float32 values, integers', () => {
    const texts: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const x = rand() * 2 - 1;
      texts.push(JSON.stringify(x), JSON.stringify(Math.fround(x)), Math.fround(x).toPrecision(9));
    }
    for (let i = 0; i < 5000; i++) texts.push(String(Math.floor((rand() - 0.5) * 2 ** (1 + Math.floor(rand() * 70)))));
    texts.push('0', '-0', '3', '-1', '16777216', '16777217', '16777219', '9007199254740993', '123456789012345678901234567890');
    checkAll(texts);
  });

  test('every exponent: random bit patterns, tiny, subnormal and huge values, exponent spellings', () => {
    const texts: string[] = [];
    const view = new DataView(new ArrayBuffer(8));
    for (let i = 0; i < 50_000; i++) {
      view.setUint32(0, Math.floor(rand() * 2 ** 32));
      view.setUint32(4, Math.floor(rand() * 2 ** 32));
      const x = view.getFloat64(0);
      // Within float32's range (overflow is its own test); underflow to zero is in.
      if (Number.isFinite(x) && Math.abs(x) < 3.4e38) texts.push(JSON.stringify(x));
    }
    for (let i = 0; i < 20_000; i++) {
      const x = (rand() * 2 - 1) * 10 ** Math.floor(rand() * 90 - 60);
      texts.push(JSON.stringify(x), x.toExponential(Math.floor(rand() * 20)), x.toPrecision(1 + Math.floor(rand() * 30)));
      // Float32 subnormals and values near float32's smallest and largest.
      const sub = rand() * 2 ** -126;
      texts.push(JSON.stringify(sub), JSON.stringify(Math.fround(sub)), JSON.stringify(Math.fround(rand() * 3.4e38)));
    }
    texts.push(
      '1.5e-05', '1.5E-05', '1e5', '1E+5', '-2.5e-3', '0e0', '-0.0', '-0.0e-7', '0.000', '5e-324', '-5e-324', '1e-400', '-1e-400',
      '2.2250738585072014e-308', '1.401298464324817e-45', '7.006492321624085e-46', '7.006492321624086e-46', '1.1754943508222875e-38',
      '3.4028234663852886e+38', '3.4028235677973362e+38', '0.1', '0.30000000000000004', '1e22', '1e23', '4.35e-22', '12345678901234567e-40',
      '0.00000000000000000000000000000000000000000000000001', `1${'0'.repeat(30)}e-30`, `0.${'0'.repeat(300)}1e300`, '1e000000000000000000001',
    );
    checkAll(texts);
  });

  test('values at, next to and a hair off float32 rounding midpoints, printed with 17 to 60 digits', () => {
    const texts: string[] = [];
    for (let i = 0; i < 4000; i++) {
      // A float32 of any magnitude (normal or subnormal) and the one above it; their midpoint is a double.
      const scale = 2 ** Math.floor(rand() * 250 - 149);
      const a = Math.fround(rand() * scale);
      const mid = (a + nextFloat32(a)) / 2;
      if (mid === 0 || !Number.isFinite(nextFloat32(a))) continue;
      const exact = exactDecimal(mid);
      for (const x of [mid, nextDouble(mid, 1), nextDouble(mid, -1)]) {
        texts.push(JSON.stringify(x), x.toPrecision(17), x.toPrecision(18), x.toPrecision(19), x.toPrecision(21), `-${x.toPrecision(17)}`);
      }
      // The midpoint's exact decimal, cut short (just below it) and with a digit added (just above it).
      const above = exact.includes('.') ? `${exact}1` : `${exact}.0000000000000000000001`;
      texts.push(exact, above, `-${above}`, exact.slice(0, Math.min(exact.length, 25)), exact.slice(0, Math.min(exact.length, 60)));
    }
    checkAll(texts);
  });

  test('fast-check: any finite double or float32 in any spelling', () => {
    const spelled = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true, min: -3.4e38, max: 3.4e38 }).map((x) => JSON.stringify(x)),
      fc.float({ noNaN: true, noDefaultInfinity: true }).map((x) => JSON.stringify(x)),
      fc.tuple(fc.double({ noNaN: true, noDefaultInfinity: true, min: -10, max: 10 }), fc.integer({ min: 0, max: 20 }), fc.integer({ min: -60, max: 38 }), fc.constantFrom('e', 'E', 'e+', 'E-', 'e-'))
        .map(([x, digits, e, mark]) => `${x.toFixed(digits)}${mark}${mark.length === 2 ? Math.abs(e) : e}`),
    );
    fc.assert(fc.property(fc.array(spelled, { minLength: 1, maxLength: 64 }), (texts) => checkNumbers(texts)), { numRuns: 500 });
  });

  test('a value float32 cannot hold leaves the vector to JSON.parse (validation names it)', () => {
    checkNumbers(['1', '3.5e38', '2']);
    checkNumbers(['1e39']);
    checkNumbers(['-1e400']);
    checkNumbers(['3.4028235677973366e+38']); // rounds up to float32 infinity
  });
});

const LIMITS = DEFAULT_LIMITS;

/** validateBatchBody's answer (records with their vectors' bits) or its whole-body error, for one reader. */
function outcome(body: string | Buffer, reader: JsonReader, dimension?: number): unknown {
  try {
    const batch = validateBatchBody('json', typeof body === 'string' ? Buffer.from(body) : body, LIMITS, dimension, reader);
    const records = batch.records.map((r) => ({ ...r, vector: Array.from(new Uint32Array(r.vector.buffer, r.vector.byteOffset, r.vector.length)) }));
    return { records, keys: batch.records.map((r) => Object.keys(r)), indexes: batch.indexes, errors: batch.errors };
  } catch (err) {
    if (!(err instanceof VecStoreError)) throw err;
    return { code: err.code, message: err.message, details: err.details };
  }
}

/** The fast reader's value with float32 vectors as numbers: the same text as JSON.parse's value with fround vectors. */
function sameValue(body: string): void {
  const fast = readJsonBatch(Buffer.from(body));
  assert.ok(fast, 'the fast reader reads it');
  const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (_, v: unknown) => (v instanceof Float32Array ? Array.from(v) : v)));
  const reference = JSON.parse(body) as { records?: unknown };
  if (Array.isArray(reference.records)) {
    for (const r of reference.records as Array<{ vector?: unknown }>) {
      if (r && Array.isArray(r.vector) && r.vector.every((x) => typeof x === 'number' && Number.isFinite(Math.fround(x)))) r.vector = r.vector.map((x: number) => Math.fround(x));
    }
  }
  // Key order matters (checkFields names the first unknown field): JSON.stringify keeps it.
  assert.equal(JSON.stringify(plain(fast)), JSON.stringify(plain(reference)));
  assert.deepEqual(plain(fast), plain(reference));
}

describe('bodies: the same value and validated batch as JSON.parse', () => {
  const vector = [0.12345678901234568, -1.5e-5, 3, -0];
  const bodies = [
    JSON.stringify({ records: [{ id: 'a', vector, metadata: { k: 'v', n: [1, { x: null }] }, text: 'hello' }] }),
    JSON.stringify({ records: [{ id: 'a', vector }, { id: 'b', vector, metadata: { nested: { deep: [1, 2, 3] } } }] }, null, 2),
    `\r\n\t { "records" :\n [ { "vector" : [ 1 ,\n 2.5e0 , -0.0 , 4 ] , "id" : "spaced" } ] }  \n`,
    JSON.stringify({ records: [{ id: 'ünïcödé ✓ 𝄞 日本', vector, metadata: { 'ключ': 'значение', emoji: '🎉', esc: 'a"b\\c\n\u0001\u2028' }, text: 'tab\there' }] }),
    '{"records":[{"id":"\\u0061\\n\\"q\\"","vector":[1,2,3,4],"metadata":{"\\u006b":"\\ud83c\\udf89"},"text":"\\/"}]}',
    // Escaped key names mean the same keys.
    '{"r\\u0065cords":[{"\\u0069d":"esc","v\\u0065ctor":[1,2,3,4]}]}',
    // Unknown fields, at the top (refused) and in a record (that record's error).
    JSON.stringify({ records: [{ id: 'a', vector }], upsert: true }),
    JSON.stringify({ records: [{ id: 'a', vector, payload: { a: 1 } }, { id: 'b', vector }] }),
    // Duplicate keys: the last value wins, in the first one's place.
    '{"records":[{"id":"first","vector":[9,9,9,9],"id":"second","vector":[1,2,3,4]}]}',
    '{"records":[{"id":"x","vector":[1,2,3,4]}],"records":[{"id":"y","vector":[5,6,7,8]}]}',
    // __proto__ as a key: JSON.parse makes it an own property (read by JSON.parse here too).
    '{"records":[{"id":"p","vector":[1,2,3,4],"__proto__":{"polluted":true}}]}',
    '{"records":[{"id":"p","vector":[1,2,3,4],"metadata":{"__proto__":{"x":1}}}]}',
    // Records and vectors that are not what they should be: validation's per-record errors.
    '{"records":[null,1,"s",[1,2],{"id":"ok","vector":[1,2,3,4]},{"id":"v","vector":[1,"2",3,4]},{"id":"w","vector":[1,null,3,4]}]}',
    '{"records":[{"id":"e","vector":[]},{"id":"n","vector":[[1],2,3,4]},{"id":"o","vector":{"0":1}},{"id":"big","vector":[1e39,1,1,1]},{"id":"t","vector":[true,1,1,1]}]}',
    '{"records":[{"id":"short","vector":[1,2,3]},{"id":"nometa","vector":[1,2,3,4],"metadata":null,"text":null},{"id":"bad-meta","vector":[1,2,3,4],"metadata":[1]}]}',
    '{"records":[{"id":"","vector":[1,2,3,4]},{"id":7,"vector":[1,2,3,4]},{"vector":[1,2,3,4]},{"id":"lone","vector":[1,2,3,4],"text":"\\ud800"}]}',
    // The shortest bodies: the reader's four-byte reads end exactly at the last byte.
    '{"records":[{"vector":[0.5]}]}',
    '{"records":[{"vector":[0.1234]}]}',
    '{"records":[{"vector":[-0.12345678]}]}',
    '{"records":[]}',
    '{"records":{}}',
    '{"records":"no"}',
    '{}',
    '{"records":[{}]}',
  ];

  test('every body gives JSON.parse\'s value (vectors in float32) and the same validation outcome', () => {
    for (const body of bodies) {
      sameValue(body);
      for (const dimension of [undefined, 4]) assert.deepEqual(outcome(body, 'fast', dimension), outcome(body, 'builtin', dimension), body);
    }
  });

  test('fast-check: random records with any ids, metadata, text and extra fields', () => {
    const record = fc.record({
      id: fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: 'grapheme-ascii', maxLength: 12 }), fc.integer()),
      vector: fc.array(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 8 }),
      metadata: fc.option(fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 })),
      text: fc.option(fc.string({ unit: 'binary', maxLength: 20 })),
    }, { requiredKeys: ['id', 'vector'] });
    const body = fc.record({ records: fc.array(fc.oneof(record, fc.jsonValue({ maxDepth: 2 })), { maxLength: 6 }), extra: fc.option(fc.jsonValue({ maxDepth: 2 })) }, { requiredKeys: ['records'] })
      .chain((b) => fc.constantFrom(JSON.stringify(b), JSON.stringify(b, null, 1), JSON.stringify(b, null, '\t')));
    fc.assert(fc.property(body, (text) => {
      sameValue(text);
      assert.deepEqual(outcome(text, 'fast'), outcome(text, 'builtin'));
    }), { numRuns: 1000 });
  });

  test('vectors stay apart: many rows across the reader\'s chunks, a vector longer than a chunk, earlier bodies untouched', () => {
    const rand = seededRandom(7);
    const rows = Array.from({ length: 400 }, (_, i) => ({ id: `r${i}`, vector: Array.from({ length: 768 }, () => rand() * 2 - 1) }));
    const first = readJsonBatch(Buffer.from(JSON.stringify({ records: rows })))!;
    const copies = (first.records as Array<{ vector: Float32Array }>).map((r) => Float32Array.from(r.vector));
    const long = Array.from({ length: 200_000 }, () => rand());
    const second = readJsonBatch(Buffer.from(JSON.stringify({ records: [{ id: 'long', vector: long }, ...rows] })))!;
    assert.deepEqual((second.records as Array<{ vector: Float32Array }>)[0].vector, Float32Array.from(long));
    (first.records as Array<{ vector: Float32Array }>).forEach((r, i) => {
      assert.deepEqual(r.vector, copies[i]);
      assert.deepEqual(r.vector, Float32Array.from(rows[i].vector));
    });
  });
});

describe('query bodies: the vector is read to float32 wherever it stands', () => {
  test('a body that ends with its vector is read by the fast reader, not left to JSON.parse', () => {
    // The last number's digits end one to four bytes before the body's end: the reader must not read past it.
    for (const last of ['5', '0.5', '0.12', '0.123', '0.1234', '-0.12345678', '1e-7', '0.30000001192092896']) {
      for (const body of [`{"limit":3,"vector":[0.25,${last}]}`, `{"limit":3,"vector":[${last}]}`, `{"vector":[${last}]}`, `{"limit":3,"vector":[${last}] }`]) {
        const read = readJsonWithVector(Buffer.from(body));
        assert.ok(read !== undefined, `declined: ${body}`);
        assert.ok(read.vector instanceof Float32Array, body);
        assert.deepEqual(Array.from(read.vector as Float32Array), (JSON.parse(body).vector as number[]).map(Math.fround), body);
      }
    }
  });
});

describe('malformed and unusual bodies fall back to JSON.parse, with today\'s errors', () => {
  const good = '{"records":[{"id":"a","vector":[0.5,-1.25e-3,3,4],"metadata":{"k":"v"},"text":"t"}]}';

  test('malformed bodies: the reader declines, and the answer is JSON.parse\'s (or validation\'s) error', () => {
    const bad = [
      '', ' ', '\ufeff' + good, good + 'x', good + ',', good + '}', good.slice(0, -1), good.slice(0, 30), '[' + good + ']', 'null', '"s"', '{"records":[1,2,]}',
      "{'records':[]}", '{"records":[{"id":"a","vector":[NaN,1,2,3]}]}', '{"records":[{"id":"a","vector":[Infinity]}]}',
      '{"records":[{"id":"a","vector":[01,2]}]}', '{"records":[{"id":"a","vector":[1.,2]}]}', '{"records":[{"id":"a","vector":[.5,2]}]}',
      '{"records":[{"id":"a","vector":[+1,2]}]}', '{"records":[{"id":"a","vector":[-,2]}]}', '{"records":[{"id":"a","vector":[1e,2]}]}',
      '{"records":[{"id":"a","vector":[1e+,2]}]}', '{"records":[{"id":"a","vector":[0x10]}]}', '{"records":[{"id":"a","vector":[1 2]}]}',
      '{"records":[{"id":"a","vector":[1,,2]}]}', '{"records":[{"id":"a","vector":[1,2}]}', '{"records":[{"id":"a" "vector":[1]}]}',
      '{"records":[{"id":"a\u0001","vector":[1]}]}', '{"records":[{"id":"\\x41","vector":[1]}]}', '{"records":[{"id":"a","vector":[1]}] /* c */}',
      '{"records":[{"id":"a","vector":[1],}]}', '{records:[]}', '{"records":[{"id":"a","vector":[1]}]}\u00a0', '{"records" [1]}',
      '{"records":[{"id":"a","vector":[1],"metadata":{"a":tru}}]}', '{"records":[{"id":"a","vector":[1],"metadata":{"a":[1}}]}',
      '{"records":[{"id":"a","vector":[1]}]', '{"records":[{"id":"a","vector":[1]}', '{"records":[{"id":"a","vector":[1', '{"records":[{"id":"a","vector":[1e5',
      '{"records":[{"id":"a","vector":[0.5', '{"records":[{"id":"a","vector":[0.5]', '{"records":[{"id":"a","vector":[0.12345', '{"records":[{"id":"a","vector":[0.5]}',
      '{"records":[{"id":"a","vector":[\u00a01]}]}', '{"records":[{"id":"a","vector":[1]}]}\u0000',
      // Not malformed, but a top-level __proto__ is JSON.parse's to read (assignment would set the prototype).
      '{"__proto__":{"records":1},"records":[{"id":"p","vector":[1,2,3,4]}]}',
    ];
    for (const body of bad) {
      assert.equal(readJsonBatch(Buffer.from(body)), undefined, body);
      assert.deepEqual(outcome(body, 'fast'), outcome(body, 'builtin'), body);
    }
    // Invalid UTF-8 (in a string and between values).
    for (const bytes of [Buffer.concat([Buffer.from('{"records":[{"id":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","vector":[1]}]}')]), Buffer.concat([Buffer.from('{"records":'), Buffer.from([0xff]), Buffer.from('[]}')])]) {
      assert.deepEqual(outcome(bytes, 'fast'), outcome(bytes, 'builtin'));
    }
  });

  test('random byte edits of a good body: the same answer from both readers, every time', () => {
    const rand = seededRandom(3);
    const base = JSON.stringify({ records: [{ id: 'a-ü', vector: [0.12345678901234568, -1.5e-5, 3, -0.0001], metadata: { k: ['v', { n: 1e-7 }], 'é': '\\"' }, text: 'x\ny' }, { id: 'b', vector: [1, 2, 3, 4], extra: 1 }], more: [1, { a: 2 }] });
    const alphabet = '{}[],:"\\-+.eE0123456789 \n\tnulltruefalse_protox\u00e9';
    let declined = 0;
    for (let i = 0; i < 4000; i++) {
      const chars = [...base];
      for (let edits = 1 + Math.floor(rand() * 3); edits > 0; edits--) {
        const at = Math.floor(rand() * chars.length);
        const op = rand();
        if (op < 0.4) chars[at] = alphabet[Math.floor(rand() * alphabet.length)];
        else if (op < 0.7) chars.splice(at, 1);
        else chars.splice(at, 0, alphabet[Math.floor(rand() * alphabet.length)]);
      }
      const body = chars.join('');
      if (readJsonBatch(Buffer.from(body)) === undefined) declined++;
      assert.deepEqual(outcome(body, 'fast', 4), outcome(body, 'builtin', 4), body);
    }
    // Most edits break the JSON (the reader declines those); the rest are read and must agree all the same.
    assert.ok(declined > 1000 && declined < 4000, `declined ${declined}`);
  });
});
