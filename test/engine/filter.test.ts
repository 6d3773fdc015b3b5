// Tests for the metadata filter language: operators, missing-field semantics, syntax errors, limits and fuzzing.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VecStoreError } from '../../src/errors.js';
import { compileFilter, DEFAULT_FILTER_LIMITS, type FilterPredicate } from '../../src/engine/filter.js';

type Meta = Record<string, unknown> | undefined;

function matches(filter: string, metadata: Meta): boolean {
  return compileFilter(filter)(metadata);
}

/** Asserts `filter` is rejected with invalid_filter and a message naming `offset`, optionally containing `fragment`. */
function assertInvalid(filter: string, offset: number | null, fragment?: string | RegExp): void {
  assert.throws(
    () => compileFilter(filter),
    (err: unknown) => {
      assert.ok(err instanceof VecStoreError, `expected a VecStoreError for ${JSON.stringify(filter)}, got ${String(err)}`);
      assert.equal(err.code, 'invalid_filter');
      assert.match(err.message, /^filter: /);
      if (offset !== null) {
        assert.match(err.message, new RegExp(`at character ${offset}$`), `offset in: ${err.message}`);
      }
      if (typeof fragment === 'string') assert.ok(err.message.includes(fragment), `"${fragment}" in: ${err.message}`);
      else if (fragment) assert.match(err.message, fragment);
      return true;
    },
  );
}

const record = {
  name: 'alice',
  age: 30,
  score: 2.5,
  active: true,
  nothing: null,
  code: '1',
  tags: ['red', 'green', 3, true, null],
  empty: [],
  author: { name: 'Bob', address: { city: 'Oslo' } },
  'odd key': 'yes',
  'a.b': 'dotted',
};

describe('compileFilter: comparison operators', () => {
  const cases: Array<[string, boolean]> = [
    ["name = 'alice'", true],
    ["name = 'bob'", false],
    ['age = 30', true],
    ['age = 31', false],
    ['active = true', true],
    ['active = false', false],
    ['nothing = null', true],
    ['age = null', false],
    ["name != 'bob'", true],
    ["name != 'alice'", false],
    ['age != 31', true],
    ['age != 30', false],
    ['nothing != null', false],
    ['nothing != 1', true],
    ['age > 29', true],
    ['age > 30', false],
    ['age >= 30', true],
    ['age >= 31', false],
    ['age < 31', true],
    ['age < 30', false],
    ['age <= 30', true],
    ['age <= 29', false],
    ['score > 2.4', true],
    ['score < -1', false],
    ['score > -1e3', true],
    ['score = 25e-1', true],
    ["name > 'al'", true],
    ["name > 'b'", false],
    ["name >= 'alice'", true],
    ["name < 'alicf'", true],
    ["name <= 'alicd'", false],
    ["name CONTAINS 'lic'", true],
    ["name CONTAINS 'bob'", false],
    ["name CONTAINS ''", true],
    ["tags CONTAINS 'red'", true],
    ["tags CONTAINS 're'", false],
    ['tags CONTAINS 3', true],
    ['tags CONTAINS 4', false],
    ['tags CONTAINS true', true],
    ['tags CONTAINS null', true],
    ['age CONTAINS 3', false],
    ["name STARTSWITH 'ali'", true],
    ["name STARTSWITH 'lic'", false],
    ["tags STARTSWITH 'red'", false],
    ["name IN ['bob', 'alice']", true],
    ["name IN ['bob', 'carol']", false],
    ['age IN [1, 30]', true],
    ["age IN ['30']", false],
    ['name IN []', false],
    ["name NOT IN ['bob', 'carol']", true],
    ["name NOT IN ['bob', 'alice']", false],
    ['name NOT IN []', true],
    ['nothing IN [null]', true],
    ["tags IN ['blue', 'green']", true],
    ["tags IN ['blue', 'yellow']", false],
    ["tags NOT IN ['blue', 'yellow']", true],
    ["tags NOT IN ['blue', 'red']", false],
    ['empty IN [1]', false],
    ['empty NOT IN [1]', true],
  ];
  for (const [filter, expected] of cases) {
    it(`${filter} → ${expected}`, () => assert.equal(matches(filter, record), expected));
  }
});

describe('compileFilter: strict types', () => {
  it('= and != never coerce between types', () => {
    assert.equal(matches("code = '1'", record), true);
    assert.equal(matches('code = 1', record), false);
    assert.equal(matches('code != 1', record), true);
    assert.equal(matches("age = '30'", record), false);
    assert.equal(matches('active = 1', record), false);
    assert.equal(matches("tags = 'red'", record), false, 'an array never equals a literal');
    assert.equal(matches("tags != 'red'", record), true);
    assert.equal(matches("author = 'Bob'", record), false);
  });
  it('ordering across types is false both ways', () => {
    for (const f of ["age > '1'", "age < 'z'", "code > 0", "code < 9", 'active > 0', 'nothing < 1', 'tags > 0', "author >= ''"]) {
      assert.equal(matches(f, record), false, f);
      assert.equal(matches(`NOT ${f}`, record), true, `NOT ${f}`);
    }
  });
  it('compares strings by UTF-16 code units', () => {
    assert.equal(matches("s < 'a'", { s: 'Z' }), true);
    assert.equal(matches("s > 'a'", { s: 'é' }), true);
  });
  it('a number field does not CONTAINS a number, a string field does not CONTAINS a number', () => {
    assert.equal(matches('n CONTAINS 1', { n: 1 }), false);
    assert.equal(matches('s CONTAINS 1', { s: '1' }), false);
  });
});

describe('compileFilter: missing fields', () => {
  const absentFilters = [
    'x = 1',
    'x != 1',
    'x != null',
    'x = null',
    'x > 0',
    'x <= 0',
    "x CONTAINS 'a'",
    "x STARTSWITH ''",
    'x IN [1]',
    'x NOT IN [1]',
    'x NOT IN []',
  ];
  for (const f of absentFilters) {
    it(`${f} is false when x is absent, and NOT (${f}) is true`, () => {
      assert.equal(matches(f, {}), false);
      assert.equal(matches(f, undefined), false);
      assert.equal(matches(`NOT (${f})`, {}), true);
    });
  }
  it('x != 1 skips records without x while NOT x = 1 includes them', () => {
    const rows: Meta[] = [{ x: 1 }, { x: 2 }, {}, undefined, { x: null }];
    assert.deepEqual(rows.map(compileFilter('x != 1')), [false, true, false, false, true]);
    assert.deepEqual(rows.map(compileFilter('NOT x = 1')), [false, true, true, true, true]);
  });
  it('an own property whose value is undefined counts as absent', () => {
    assert.equal(matches('x != 1', { x: undefined }), false);
  });
  it('tolerates non-object metadata from careless callers', () => {
    const p = compileFilter('x != 1 OR a.b != 1') as (m: unknown) => boolean;
    for (const m of [null, 3, 'str', true, [1, 2], () => 1]) assert.equal(p(m), false);
  });
});

describe('compileFilter: boolean logic and precedence', () => {
  const m = { a: 1, b: 2, c: 3 };
  const cases: Array<[string, boolean]> = [
    ['a = 1 AND b = 2', true],
    ['a = 1 AND b = 3', false],
    ['a = 0 OR b = 2', true],
    ['a = 0 OR b = 0', false],
    // AND binds tighter than OR: true OR (false AND false).
    ['a = 1 OR b = 0 AND c = 0', true],
    ['(a = 1 OR b = 0) AND c = 0', false],
    // NOT binds tighter than AND: (NOT false) AND true.
    ['NOT a = 0 AND b = 2', true],
    ['NOT (a = 1 AND b = 0)', true],
    ['NOT a = 1 AND b = 0', false],
    ['NOT a = 1 OR b = 2', true],
    ['NOT NOT a = 1', true],
    ['NOT NOT NOT a = 1', false],
    ['a = 1 AND b = 2 AND c = 3 AND NOT c = 4', true],
    ['a = 0 OR b = 0 OR c = 0 OR c = 3', true],
    ['a = 0 OR b = 0 OR c = 0 OR c = 4', false],
    ['((a = 1))', true],
    ['(a = 1) AND ((b = 2) OR (c = 0))', true],
    ['a = 1 and b = 2 Or c = 0', true],
    ['not a = 1', false],
    ['a nOt In [2] AND b iN [2]', true],
  ];
  for (const [filter, expected] of cases) {
    it(`${filter} → ${expected}`, () => assert.equal(matches(filter, m), expected));
  }
  it('needs no whitespace around punctuation', () => {
    assert.equal(matches("(a=1)AND(b>=2)AND c IN[3,4]AND b!=1", m), true);
  });
  it('keywords are case-insensitive', () => {
    assert.equal(matches("t contains 'x' AND t startswith 'x' AND t StartsWith 'x' AND v = TRUE AND w = Null", { t: 'xy', v: true, w: null }), true);
  });
});

describe('compileFilter: values and escapes', () => {
  it('reads single- and double-quoted strings with escapes', () => {
    assert.equal(matches(String.raw`s = 'it\'s'`, { s: "it's" }), true);
    assert.equal(matches(`s = "it's"`, { s: "it's" }), true);
    assert.equal(matches(`s = 'say "hi"'`, { s: 'say "hi"' }), true);
    assert.equal(matches(String.raw`s = "say \"hi\""`, { s: 'say "hi"' }), true);
    assert.equal(matches(String.raw`s = 'a\\b'`, { s: 'a\\b' }), true);
    assert.equal(matches(String.raw`s = 'a\nb\tc\rd'`, { s: 'a\nb\tc\rd' }), true);
    assert.equal(matches(String.raw`s = '\u00e9\u4E2D'`, { s: 'é中' }), true);
    assert.equal(matches(String.raw`s = '\ud83d\ude00'`, { s: '😀' }), true);
    assert.equal(matches(String.raw`s = '\`'`, { s: '`' }), true);
    assert.equal(matches("s = ''", { s: '' }), true);
    assert.equal(matches("s = 'multi\nline'", { s: 'multi\nline' }), true);
    assert.equal(matches("s = 'AND OR ) ( ['", { s: 'AND OR ) ( [' }), true);
  });
  it('reads numbers: negative, decimal, exponent', () => {
    assert.equal(matches('n = -5', { n: -5 }), true);
    assert.equal(matches('n = 0.125', { n: 0.125 }), true);
    assert.equal(matches('n = -1.5e-3', { n: -0.0015 }), true);
    assert.equal(matches('n = 2E+2', { n: 200 }), true);
    assert.equal(matches('n = 0', { n: -0 }), true);
    assert.equal(matches('n > -1', { n: -0.5 }), true);
  });
});

describe('compileFilter: field paths', () => {
  it('follows dot paths into nested objects', () => {
    assert.equal(matches("author.name = 'Bob'", record), true);
    assert.equal(matches("author.address.city = 'Oslo'", record), true);
    assert.equal(matches("author.address.city != 'Oslo'", record), false);
    assert.equal(matches("author.address.zip != 'x'", record), false, 'absent nested field');
    assert.equal(matches("name.first != 'x'", record), false, 'cannot step into a string');
    assert.equal(matches("nothing.x != 'x'", record), false, 'cannot step into null');
    assert.equal(matches("a.b.c.d.e = 1", { a: { b: { c: { d: { e: 1 } } } } }), true);
  });
  it('indexes arrays by position', () => {
    assert.equal(matches("tags.0 = 'red'", record), true);
    assert.equal(matches('tags.2 = 3', record), true);
    assert.equal(matches('tags.9 != 3', record), false);
    assert.equal(matches('tags.length = 5', record), true);
    assert.equal(matches('items.1.id = 7', { items: [{ id: 6 }, { id: 7 }] }), true);
  });
  it('quotes odd keys with backticks', () => {
    assert.equal(matches("`odd key` = 'yes'", record), true);
    assert.equal(matches("`a.b` = 'dotted'", record), true);
    assert.equal(matches("a.b = 'dotted'", record), false, 'an unquoted dot is a path step');
    assert.equal(matches("`and` = 1 AND `in`.`not` = 2", { and: 1, in: { not: 2 } }), true);
    assert.equal(matches('x.`content-type` = 1', { x: { 'content-type': 1 } }), true);
    assert.equal(matches('`` = 1', { '': 1 }), true);
    assert.equal(matches('`back\\`tick` = 1', { 'back`tick': 1 }), true);
    assert.equal(matches('`日本` = 1', { 日本: 1 }), true);
    assert.equal(matches('$x = 1 AND _y = 2', { $x: 1, _y: 2 }), true);
  });
});

describe('compileFilter: prototype keys are ordinary, own-only keys', () => {
  const protoFilters = [
    '__proto__ != 1',
    'constructor != 1',
    'toString != 1',
    'hasOwnProperty != 1',
    'valueOf != null',
    'x.__proto__ != 1',
    'x.constructor.name != 1',
    "constructor.name = 'Object'",
    'tags.push != 1',
  ];
  for (const f of protoFilters) {
    it(`${f} does not see inherited properties`, () => {
      assert.equal(matches(f, { x: {}, tags: [] }), false);
      assert.equal(matches(f, Object.create(null) as Record<string, unknown>), false);
    });
  }
  it('sees __proto__ when JSON.parse made it an own key', () => {
    const m = JSON.parse('{"__proto__": {"admin": true}, "constructor": "c", "toString": 5}') as Record<string, unknown>;
    assert.equal(matches('__proto__.admin = true', m), true);
    assert.equal(matches("constructor = 'c'", m), true);
    assert.equal(matches('toString = 5', m), true);
    assert.equal(matches('__proto__.toString != 1', m), false);
    // A literal __proto__ sets the prototype instead of an own key, so it stays invisible.
    assert.equal(matches('admin = true', { __proto__: { admin: true } } as Record<string, unknown>), false);
  });
  it('works on metadata whose own hasOwnProperty is shadowed or with a null prototype', () => {
    assert.equal(matches('a = 1', { a: 1, hasOwnProperty: () => false }), true);
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: { b: 2 } });
    assert.equal(matches('a.b = 2', bare), true);
  });
});

describe('compileFilter: syntax errors name what was expected and where', () => {
  const cases: Array<[string, number, string?]> = [
    ["name = 'x' AND age =", 20, "expected a value after '='"],
    ['a = 1 AND', 9, "expected a field name, '(' or NOT"],
    ['a = 1 AND AND b = 2', 10, "found 'AND'"],
    ['OR a = 1', 0, 'expected a field name'],
    ['(a = 1', 6, "expected ')' to close the '(' at character 0"],
    ['a = 1)', 5, 'unbalanced parenthesis'],
    ['()', 1, 'expected a field name'],
    ['a = 1 b = 2', 6, 'expected AND, OR or the end of the filter'],
    ['a', 1, 'expected an operator'],
    ["a 'x'", 2, 'expected an operator'],
    ['a == 1', 3, "expected a value after '='"],
    ['a = b', 4, 'quote strings'],
    ['a >', 3, "expected a value after '>'"],
    ['a > true', 4, "'>' needs a number or string value"],
    ['a <= null', 5, "'<=' needs a number or string value"],
    ['a STARTSWITH 1', 13, 'STARTSWITH needs a string value'],
    ['a CONTAINS', 10, 'expected a value after CONTAINS'],
    ['a IN 1', 5, "expected '[' after IN"],
    ['a IN [1,', 8, "expected a value after ','"],
    ['a IN [1,]', 8, "expected a value after ','"],
    ['a IN [1 2]', 8, "expected ',' or ']' in the list opened at character 5"],
    ['a IN [', 6, "expected a value after '['"],
    ['a NOT = 1', 6, 'expected IN after NOT'],
    ['a NOT', 5, 'expected IN after NOT'],
    ['and = 1', 0, 'backticks'],
    ['true = 1', 0, 'expected a field name'],
    ["'a' = 1", 0, 'found the string'],
    ['1 = 1', 0, 'found the number 1'],
    ['a = 1 NOT b = 2', 6, 'expected AND, OR'],
    ['a ! 1', 3, "expected '=' after '!'"],
    ['a = #', 4, "unexpected character '#'"],
    ['a = 1 && b = 2', 6, "unexpected character '&'"],
    ['a = 1;', 5, "unexpected character ';'"],
    ['a = - 1', 4, "unexpected character '-'"],
    ['a = .5', 4, "unexpected character '.'"],
    ['a .b = 1', 2, "unexpected character '.'"],
    ['a. = 1', 2, "expected a field name segment after '.'"],
    ['a..b = 1', 2, "expected a field name segment after '.'"],
    ['a = 1.', 4, "invalid number '1.'"],
    ['a = 1.2.3', 4, "invalid number '1.2.3'"],
    ['a = 12abc', 4, 'invalid number'],
    ['a = 1e', 4, 'invalid number'],
    ['a = 1e999', 4, 'out of range'],
    ["a = 'abc", 4, 'unterminated string'],
    ['a = "abc\'', 4, 'unterminated string'],
    ["a = 'abc\\", 4, 'unterminated string'],
    ["a = 'a\\qb'", 6, "unknown escape '\\q'"],
    ["a = '\\u12'", 5, 'expected 4 hexadecimal digits after \\u'],
    ["a = '\\uzzzz'", 5, 'expected 4 hexadecimal digits'],
    ['`abc = 1', 0, 'unterminated field name'],
    ['a = 1 AND `x\\z` = 2', 12, 'unknown escape'],
    ['a = \u00a0 1', 4, 'U+00A0'],
    ['a\u0000 = 1', 1, 'U+0000'],
    ['é = 1', 0, 'unexpected character U+00E9'],
    ['a = 1AND b = 2', 4, "invalid number '1AND'"],
  ];
  for (const [filter, offset, fragment] of cases) {
    it(`${JSON.stringify(filter)} → error at character ${offset}`, () => assertInvalid(filter, offset, fragment));
  }
  it('reports the expected example message', () => {
    assert.throws(() => compileFilter("status = 'x' AND n ="), {
      name: 'VecStoreError',
      message: "filter: expected a value after '=', found the end of the filter at character 20",
    });
  });
  it('rejects empty and whitespace-only filters', () => {
    for (const f of ['', ' ', '\n\t  \r']) assertInvalid(f, null, 'the filter is empty');
  });
  it('rejects a non-string filter from untyped callers', () => {
    assert.throws(() => compileFilter(42 as unknown as string), { code: 'invalid_filter' });
  });
});

describe('compileFilter: limits', () => {
  it('has the documented defaults', () => {
    assert.deepEqual({ ...DEFAULT_FILTER_LIMITS }, { maxLength: 4096, maxDepth: 32 });
    assert.ok(Object.isFrozen(DEFAULT_FILTER_LIMITS));
  });
  it('accepts exactly maxLength characters and names the limit beyond it', () => {
    const base = "s = ''";
    const atLimit = `s = '${'x'.repeat(4096 - base.length)}'`;
    assert.equal(atLimit.length, 4096);
    assert.equal(compileFilter(atLimit)({ s: 'x'.repeat(4090) }), true);
    assert.throws(() => compileFilter(`${atLimit} `), {
      code: 'invalid_filter',
      message: 'filter: longer than the limit of 4096 characters (got 4097)',
    });
    assert.throws(() => compileFilter('a = 1 AND b = 2', { maxLength: 10, maxDepth: 32 }), /limit of 10 characters/);
  });
  it('accepts maxDepth levels of parentheses and rejects one more at the offending parenthesis', () => {
    const nest = (n: number): string => `${'('.repeat(n)}a = 1${')'.repeat(n)}`;
    assert.equal(compileFilter(nest(32))({ a: 1 }), true);
    assertInvalid(nest(33), 32, 'nested deeper than the limit of 32 levels');
    assert.equal(compileFilter(nest(3), { maxLength: 100, maxDepth: 3 })({ a: 1 }), true);
    assert.throws(() => compileFilter(nest(4), { maxLength: 100, maxDepth: 3 }), /limit of 3 levels .* at character 3$/);
  });
  it('counts NOT chains and mixed nesting toward the depth', () => {
    const nots = (n: number): string => `${'NOT '.repeat(n)}a = 1`;
    assert.equal(compileFilter(nots(32))({ a: 1 }), true);
    assert.equal(compileFilter(nots(31))({ a: 1 }), false);
    assertInvalid(nots(33), 32 * 4, 'nested deeper');
    const mixed = `${'NOT ('.repeat(16)}a = 1${')'.repeat(16)}`;
    assert.equal(compileFilter(mixed)({ a: 1 }), true);
    assertInvalid(`NOT ${mixed}`, null, 'nested deeper');
    // Depth is nesting, not length: long flat chains are fine.
    assert.equal(compileFilter(Array.from({ length: 300 }, (_, i) => `a = ${i}`).join(' OR '))({ a: 299 }), true);
  });
  it('rejects 100,000-deep nesting cleanly instead of overflowing the stack', () => {
    const big = { maxLength: 1_000_000, maxDepth: 32 };
    for (const deep of [
      `${'('.repeat(100_000)}a = 1${')'.repeat(100_000)}`,
      '('.repeat(100_000),
      `${'NOT '.repeat(100_000)}a = 1`,
      `${'NOT ('.repeat(100_000)}a = 1`,
    ]) {
      assert.throws(() => compileFilter(deep, big), (err: unknown) => {
        assert.ok(err instanceof VecStoreError && err.code === 'invalid_filter', String(err));
        assert.match(err.message, /nested deeper than the limit of 32 levels/);
        return true;
      });
      // With the default limits the length check stops it first.
      assert.throws(() => compileFilter(deep), /longer than the limit of 4096 characters/);
    }
  });
  it('supports the largest configurable depth without overflowing', () => {
    const limits = { maxLength: 100_000, maxDepth: 1000 };
    const nest = (n: number): string => `${'NOT ('.repeat(n / 2)}a = 1${')'.repeat(n / 2)}`;
    assert.equal(compileFilter(nest(1000), limits)({ a: 1 }), true);
    assert.throws(() => compileFilter(nest(1002), limits), /nested deeper/);
  });
  it('rejects nonsensical limits as a caller bug', () => {
    for (const limits of [
      { maxLength: 0, maxDepth: 32 },
      { maxLength: 1.5, maxDepth: 32 },
      { maxLength: 100, maxDepth: 0 },
      { maxLength: 100, maxDepth: 1001 },
      { maxLength: 100, maxDepth: Number.NaN },
    ]) {
      assert.throws(() => compileFilter('a = 1', limits), RangeError);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Fuzzing

/** True when `fn` returns a predicate or throws an invalid_filter VecStoreError; anything else fails the property. */
function compilesOrRejectsCleanly(source: string): FilterPredicate | null {
  try {
    const p = compileFilter(source);
    assert.equal(typeof p, 'function');
    return p;
  } catch (err) {
    if (!(err instanceof VecStoreError) || err.code !== 'invalid_filter') throw err;
    assert.match(err.message, /^filter: (.* at character \d+|the filter is empty.*|longer than the limit .*)$/s);
    return null;
  }
}

// A small model of the language: the generator renders it, the reference evaluator restates the semantics.
type Literal = string | number | boolean | null;
type Expr =
  | { kind: 'cmp'; path: string[]; op: string; value: Literal | Literal[] }
  | { kind: 'not'; x: Expr }
  | { kind: 'and' | 'or'; xs: Expr[] };

const KEYS = ['a', 'b', 'tags', 'odd key', '__proto__', 'constructor'];
const pathArb = fc.array(fc.constantFrom(...KEYS), { minLength: 1, maxLength: 3 });
const literalArb: fc.Arbitrary<Literal> = fc.oneof(
  fc.constantFrom('x', 'xy', '', "q'\"\\", 'é\n', 0, 1, -2.5, 1e21, true, false, null),
  fc.string({ maxLength: 4 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const cmpArb: fc.Arbitrary<Expr> = fc.oneof(
  fc.record({ kind: fc.constant('cmp' as const), path: pathArb, op: fc.constantFrom('=', '!=', 'CONTAINS'), value: literalArb }),
  fc.record({
    kind: fc.constant('cmp' as const),
    path: pathArb,
    op: fc.constantFrom('>', '>=', '<', '<='),
    value: fc.oneof(fc.string({ maxLength: 3 }), fc.integer({ min: -3, max: 3 })),
  }),
  fc.record({ kind: fc.constant('cmp' as const), path: pathArb, op: fc.constant('STARTSWITH'), value: fc.string({ maxLength: 3 }) }),
  fc.record({
    kind: fc.constant('cmp' as const),
    path: pathArb,
    op: fc.constantFrom('IN', 'NOT IN'),
    value: fc.array(literalArb, { maxLength: 4 }),
  }),
);
const exprArb: fc.Arbitrary<Expr> = fc.letrec<{ expr: Expr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    cmpArb,
    fc.record({ kind: fc.constant('not' as const), x: tie('expr') }),
    fc.record({ kind: fc.constantFrom('and' as const, 'or' as const), xs: fc.array(tie('expr'), { minLength: 2, maxLength: 4 }) }),
  ),
})).expr;

const renderArb = fc.record({ seed: fc.infiniteStream(fc.nat(1000)) });

/** Renders an expression with minimal parentheses plus random extra ones, random keyword case and spacing. */
function render(e: Expr, rnd: () => number): string {
  const kw = (k: string): string => (rnd() % 3 === 0 ? k.toLowerCase() : rnd() % 5 === 0 ? k[0] + k.slice(1).toLowerCase() : k);
  const sp = (): string => [' ', ' ', '  ', '\n', '\t'][rnd() % 5]!;
  const wrap = (s: string, needed: boolean): string => (needed || rnd() % 6 === 0 ? `(${sp()}${s}${sp()})` : s);
  const field = (path: string[]): string =>
    path.map((k) => (/^[A-Za-z_$][\w$]*$/.test(k) && !['and', 'or', 'not', 'in', 'true', 'false', 'null'].includes(k.toLowerCase()) && rnd() % 4 !== 0 ? k : `\`${k.replace(/[\\`]/g, '\\$&')}\``)).join('.');
  const lit = (v: Literal): string => {
    if (v === null) return kw('NULL');
    if (typeof v === 'boolean') return kw(v ? 'TRUE' : 'FALSE');
    if (typeof v === 'number') return String(v);
    const q = rnd() % 2 === 0 ? "'" : '"';
    let out = '';
    for (const ch of v) {
      const code = ch.charCodeAt(0);
      if (ch === q || ch === '\\') out += `\\${ch}`;
      else if (ch === '\n') out += '\\n';
      else if (code < 32 || rnd() % 10 === 0) out += [...ch].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
      else out += ch;
    }
    return `${q}${out}${q}`;
  };
  switch (e.kind) {
    case 'cmp': {
      const value = Array.isArray(e.value) ? `[${e.value.map(lit).join(`,${sp()}`)}]` : lit(e.value);
      const op = e.op === 'NOT IN' ? `${kw('NOT')} ${kw('IN')}` : /^[A-Z]/.test(e.op) ? kw(e.op) : e.op;
      return `${field(e.path)}${sp()}${op}${sp()}${value}`;
    }
    case 'not':
      return `${kw('NOT')}${sp()}${wrap(render(e.x, rnd), e.x.kind === 'and' || e.x.kind === 'or')}`;
    case 'and':
      return e.xs.map((x) => wrap(render(x, rnd), x.kind === 'or')).join(`${sp()}${kw('AND')}${sp()}`);
    case 'or':
      return e.xs.map((x) => wrap(render(x, rnd), false)).join(`${sp()}${kw('OR')}${sp()}`);
  }
}

const MISSING = Symbol('missing');
function lookup(m: unknown, path: string[]): unknown {
  let cur = m;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key)) return MISSING;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur === undefined ? MISSING : cur;
}
function evaluate(e: Expr, m: unknown): boolean {
  switch (e.kind) {
    case 'not':
      return !evaluate(e.x, m);
    case 'and':
      return e.xs.every((x) => evaluate(x, m));
    case 'or':
      return e.xs.some((x) => evaluate(x, m));
    case 'cmp': {
      const x = lookup(m, e.path);
      if (x === MISSING) return false;
      const v = e.value;
      const sameKind = (typeof x === 'number' || typeof x === 'string') && typeof x === typeof v;
      switch (e.op) {
        case '=':
          return x === v;
        case '!=':
          return x !== v;
        case '>':
          return sameKind && (x as number) > (v as number);
        case '>=':
          return sameKind && (x as number) >= (v as number);
        case '<':
          return sameKind && (x as number) < (v as number);
        case '<=':
          return sameKind && (x as number) <= (v as number);
        case 'CONTAINS':
          return typeof x === 'string' && typeof v === 'string' ? x.includes(v) : Array.isArray(x) && x.includes(v);
        case 'STARTSWITH':
          return typeof x === 'string' && x.startsWith(v as string);
        default: {
          const list = v as Literal[];
          const isIn = Array.isArray(x) ? x.some((el) => list.includes(el as Literal)) : list.includes(x as Literal);
          return e.op === 'IN' ? isIn : !isIn;
        }
      }
    }
  }
}

/** JSON metadata biased toward the keys and values the generated filters mention, so matches actually happen. */
const valueArb: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    literalArb,
    fc.array(literalArb, { maxLength: 4 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('v'), { maxKeys: 4 }),
  ),
})).v;
const metadataArb: fc.Arbitrary<Meta> = fc.oneof(
  fc.constant(undefined),
  fc.dictionary(fc.constantFrom(...KEYS), valueArb, { maxKeys: 5 }),
  // JSON.parse makes __proto__ an own key, unlike an object literal.
  fc.jsonValue().map((j) => JSON.parse(JSON.stringify({ __proto__x: j }).replace('__proto__x', '__proto__')) as Meta),
  fc.object().map((o) => o as Meta),
);

function mutate(source: string, edits: Array<{ at: number; kind: number; text: string }>): string {
  let s = source;
  for (const { at, kind, text } of edits) {
    const i = s.length === 0 ? 0 : at % (s.length + 1);
    if (kind === 0) s = s.slice(0, i) + s.slice(i + 1);
    else if (kind === 1) s = s.slice(0, i) + text + s.slice(i);
    else s = s.slice(0, i) + text + s.slice(i + text.length);
  }
  return s;
}

describe('compileFilter: fuzz', () => {
  it('random strings either compile or throw invalid_filter', () => {
    const alphabet = fc.constantFrom(...'abc.`\'"\\()[],=!<>- 0123456789eEnotaNdOrINu\n'.split(''), 'AND', 'OR', 'NOT', 'IN', 'CONTAINS', 'STARTSWITH', 'true', 'null', '\\u00e9');
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.array(alphabet, { maxLength: 40 }).map((a) => a.join(''))), (s) => {
        const p = compilesOrRejectsCleanly(s);
        if (p) assert.equal(typeof p({ a: 1, b: 'x', c: [1] }), 'boolean');
      }),
      { numRuns: 3000 },
    );
  });

  it('generated filters compile and agree with a reference evaluator', () => {
    const outcomes = [0, 0];
    fc.assert(
      fc.property(exprArb, renderArb, fc.array(metadataArb, { minLength: 1, maxLength: 6 }), (expr, { seed }, rows) => {
        const rnd = ((it) => () => it.next().value as number)(seed[Symbol.iterator]());
        const source = render(expr, rnd);
        let predicate: FilterPredicate;
        try {
          predicate = compileFilter(source, { maxLength: 100_000, maxDepth: 1000 });
        } catch (err) {
          throw new Error(`valid filter rejected: ${source}\n${String(err)}`);
        }
        for (const m of rows) {
          const expected = evaluate(expr, m);
          assert.equal(predicate(m), expected, `${source} on ${JSON.stringify(m)}`);
          outcomes[expected ? 1 : 0]++;
        }
      }),
      { numRuns: 1500 },
    );
    // Guards the generators: a property where every filter is trivially false (or true) would prove little.
    assert.ok(outcomes[0] > 500 && outcomes[1] > 500, `true/false outcomes: ${outcomes[1]}/${outcomes[0]}`);
  });

  it('mutations of valid filters either compile or throw invalid_filter, and compiled predicates never throw', () => {
    const editArb = fc.record({
      at: fc.nat(),
      kind: fc.integer({ min: 0, max: 2 }),
      text: fc.constantFrom('(', ')', "'", '"', '`', '\\', '.', ',', '[', ']', '!', '=', ' NOT ', ' AND ', 'OR', '-', 'e', '1', '\\u', ' IN '),
    });
    fc.assert(
      fc.property(exprArb, renderArb, fc.array(editArb, { minLength: 1, maxLength: 4 }), fc.array(metadataArb, { maxLength: 4 }), (expr, { seed }, edits, rows) => {
        const rnd = ((it) => () => it.next().value as number)(seed[Symbol.iterator]());
        const p = compilesOrRejectsCleanly(mutate(render(expr, rnd), edits));
        if (p) for (const m of rows) assert.equal(typeof p(m), 'boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('compiled predicates never throw on random JSON metadata', () => {
    const filters = [
      "a = 1 OR b != 'x' OR c.d.e > 2 OR tags CONTAINS 'x' OR s STARTSWITH 'p'",
      'a IN [1, true, null] AND NOT b NOT IN [1] OR __proto__.a.b <= 3',
      'constructor.prototype != 1 OR toString = 1 OR a.0.1 CONTAINS 1 OR a.length >= 0',
    ].map((f) => compileFilter(f));
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), metadataArb as fc.Arbitrary<unknown>), (m) => {
        for (const p of filters) assert.equal(typeof (p as (x: unknown) => boolean)(m), 'boolean');
      }),
      { numRuns: 2000 },
    );
  });
});
