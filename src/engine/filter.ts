// The metadata filter language: parses a SQL-like filter once and compiles it to a closure tree evaluated per scanned row.

import { VecStoreError } from '../errors.js';

/**
 * A compiled filter: true when the record's metadata matches.
 *
 * Never throws for metadata made of JSON values (or `undefined`, which matches no comparison), and allocates nothing
 * per call, so it can run inside a scan over millions of rows.
 */
export type FilterPredicate = (metadata: Record<string, unknown> | undefined) => boolean;

/** Bounds on what a filter may cost to parse and evaluate. */
export interface FilterLimits {
  /** Longest accepted filter, in UTF-16 code units (the unit of `String.prototype.length`). */
  maxLength: number;
  /**
   * Deepest accepted nesting, counting each enclosing `(` and each `NOT`. Must be at most {@link MAX_SUPPORTED_DEPTH}
   * because parsing and evaluation recurse once per level.
   */
  maxDepth: number;
}

/** The limits used when {@link compileFilter} is given none: 4096 characters, 32 levels of nesting. */
export const DEFAULT_FILTER_LIMITS: FilterLimits = Object.freeze({ maxLength: 4096, maxDepth: 32 });

/** The largest `maxDepth` a caller may configure; a few frames per level stay far below Node's default stack. */
const MAX_SUPPORTED_DEPTH = 1000;

/**
 * Compiles a metadata filter into a predicate.
 *
 * Syntax (keywords are case-insensitive; offsets in error messages are 0-based UTF-16 code-unit indexes):
 * - comparison: `field OP value` with OP one of `=  !=  >  >=  <  <=  CONTAINS  STARTSWITH`, or
 *   `field IN [v, ...]` / `field NOT IN [v, ...]` (an empty list is allowed);
 * - combination: `NOT`, `AND`, `OR` (binding in that order, tightest first) and parentheses;
 * - values: strings in `'…'` or `"…"` with escapes `\\ \' \" \` \n \r \t \uXXXX`; numbers such as `-1.5e3`;
 *   `true`, `false`, `null`;
 * - fields: identifiers `[A-Za-z_$][A-Za-z0-9_$]*`, nested with dots (`author.name`, `tags.0`); any segment may be
 *   quoted with backticks for other keys (`` `content-type` ``, `` `a.b`.c ``, `` `and` ``). Bare keywords are
 *   not field names.
 *
 * Semantics:
 * - Fields are looked up by own properties only, so `__proto__`, `constructor` or `toString` are absent unless the
 *   metadata has them as own keys (as `JSON.parse` produces). Arrays are traversed by index (`tags.0`); `length` is
 *   an own property of arrays, so `tags.length > 2` works. A value of `undefined` counts as absent.
 * - Every comparison on an absent field is false, `!=` and `NOT IN` included: `x != 1` skips records without `x`,
 *   while `NOT x = 1` includes them.
 * - `=` and `!=` compare strictly (`===`): the number 1 is not the string '1', and arrays or objects never equal a
 *   literal. `!=` is true for any present value that is not equal, `null` included.
 * - `>`, `>=`, `<`, `<=` need a number or string literal (checked at compile time) and are true only for a field of
 *   the same type: numbers numerically, strings by UTF-16 code units. Any other type mix is false.
 * - `CONTAINS`: a string field containing the string value as a substring, or an array field with an element
 *   strictly equal to the value. `STARTSWITH` needs a string literal and matches string fields with that prefix.
 * - `IN [..]`: the field strictly equals one of the listed values; for an array field, true when ANY element is in
 *   the list (so `tags IN ['a', 'b']` means "tagged a or b"). `NOT IN` is the negation of `IN` for present fields:
 *   a scalar not in the list, or an array none of whose elements is in the list.
 *
 * @param source - The filter text.
 * @param limits - Length and nesting limits; {@link DEFAULT_FILTER_LIMITS} when omitted.
 * @returns A predicate over record metadata.
 * @throws {VecStoreError} `invalid_filter` when the filter is empty, too long, too deeply nested or malformed; the
 *   message says what was expected and at which character.
 * @throws {RangeError} when `limits` are not positive integers or `maxDepth` exceeds 1000 (a caller bug, not a
 *   client error).
 */
export function compileFilter(source: string, limits: FilterLimits = DEFAULT_FILTER_LIMITS): FilterPredicate {
  checkLimits(limits);
  if (typeof source !== 'string') throw new VecStoreError('invalid_filter', 'filter: must be a string');
  // Checked before tokenizing so an oversized filter costs nothing.
  if (source.length > limits.maxLength) {
    throw new VecStoreError(
      'invalid_filter',
      `filter: longer than the limit of ${limits.maxLength} characters (got ${source.length})`,
    );
  }
  const tokens = tokenize(source);
  if (tokens.length === 1) {
    throw new VecStoreError('invalid_filter', "filter: the filter is empty; expected a comparison such as name = 'x'");
  }
  const predicate = new Parser(source, tokens, limits.maxDepth).parseFilter();
  // The internal tree takes `unknown` so that non-object metadata from careless callers is simply unmatched.
  return predicate as FilterPredicate;
}

function checkLimits(limits: FilterLimits): void {
  const { maxLength, maxDepth } = limits;
  if (!Number.isSafeInteger(maxLength) || maxLength < 1) {
    throw new RangeError(`filter limits: maxLength must be a positive integer, got ${String(maxLength)}`);
  }
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 1 || maxDepth > MAX_SUPPORTED_DEPTH) {
    throw new RangeError(`filter limits: maxDepth must be an integer from 1 to ${MAX_SUPPORTED_DEPTH}, got ${String(maxDepth)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Tokens

type Literal = string | number | boolean | null;
type Keyword = 'AND' | 'OR' | 'NOT' | 'IN' | 'CONTAINS' | 'STARTSWITH' | 'TRUE' | 'FALSE' | 'NULL';
type Operator = '=' | '!=' | '>' | '>=' | '<' | '<=';

type Token =
  | { kind: 'field'; start: number; end: number; path: string[] }
  | { kind: 'keyword'; start: number; end: number; keyword: Keyword }
  | { kind: 'string'; start: number; end: number; value: string }
  | { kind: 'number'; start: number; end: number; value: number }
  | { kind: 'op'; start: number; end: number; op: Operator }
  | { kind: '(' | ')' | '[' | ']' | ','; start: number; end: number }
  | { kind: 'end'; start: number; end: number };

const KEYWORDS: ReadonlySet<string> = new Set(['AND', 'OR', 'NOT', 'IN', 'CONTAINS', 'STARTSWITH', 'TRUE', 'FALSE', 'NULL']);

function fail(message: string, offset: number): never {
  throw new VecStoreError('invalid_filter', `filter: ${message} at character ${offset}`);
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}
function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36;
}
function isIdentPart(c: number): boolean {
  return isIdentStart(c) || isDigit(c);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

const NUMBER_PATTERN = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Splits the whole source into tokens in one loop (no recursion), ending with an `end` token. */
function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const n = src.length;
  let i = 0;
  while (i < n) {
    const c = src.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    const start = i;
    const ch = src[i]!;
    switch (ch) {
      case '(':
      case ')':
      case '[':
      case ']':
      case ',':
        tokens.push({ kind: ch, start, end: i + 1 });
        i++;
        continue;
      case '=':
        tokens.push({ kind: 'op', op: '=', start, end: i + 1 });
        i++;
        continue;
      case '!':
        if (src[i + 1] !== '=') fail("expected '=' after '!' (the operator is '!=')", i + 1);
        tokens.push({ kind: 'op', op: '!=', start, end: i + 2 });
        i += 2;
        continue;
      case '>':
      case '<': {
        const withEq = src[i + 1] === '=';
        tokens.push({ kind: 'op', op: (withEq ? `${ch}=` : ch) as Operator, start, end: i + (withEq ? 2 : 1) });
        i += withEq ? 2 : 1;
        continue;
      }
      case "'":
      case '"': {
        const [value, end] = readQuoted(src, i, 'string');
        tokens.push({ kind: 'string', value, start, end });
        i = end;
        continue;
      }
      default:
        break;
    }
    if (isDigit(c) || (c === 45 /* - */ && isDigit(src.charCodeAt(i + 1)))) {
      NUMBER_PATTERN.lastIndex = i;
      const match = NUMBER_PATTERN.exec(src)!;
      const end = i + match[0].length;
      const next = src.charCodeAt(end);
      // `1.`, `1.2.3`, `12abc` would otherwise split into confusing tokens.
      if (isIdentPart(next) || next === 46 /* . */) {
        let bad = end;
        while (isIdentPart(src.charCodeAt(bad)) || src.charCodeAt(bad) === 46) bad++;
        fail(`invalid number '${excerpt(src, start, bad)}'`, start);
      }
      const value = Number(match[0]);
      if (!Number.isFinite(value)) fail(`number '${excerpt(src, start, end)}' is out of range`, start);
      tokens.push({ kind: 'number', value, start, end });
      i = end;
      continue;
    }
    if (isIdentStart(c) || c === 96 /* ` */) {
      const token = readField(src, i);
      tokens.push(token);
      i = token.end;
      continue;
    }
    fail(`unexpected character ${describeChar(src, i)}`, i);
  }
  tokens.push({ kind: 'end', start: n, end: n });
  return tokens;
}

/** Reads a field path (or a bare keyword) starting at `i`: segments joined by dots, each bare or backtick-quoted. */
function readField(src: string, i: number): Token {
  const start = i;
  const path: string[] = [];
  let quotedAny = false;
  for (;;) {
    const c = src.charCodeAt(i);
    if (c === 96) {
      const [key, end] = readQuoted(src, i, 'field name');
      path.push(key);
      quotedAny = true;
      i = end;
    } else if (path.length === 0 ? isIdentStart(c) : isIdentPart(c)) {
      // Later segments may start with a digit so that array indexes (`tags.0`) read naturally.
      const segStart = i;
      while (isIdentPart(src.charCodeAt(i))) i++;
      path.push(src.slice(segStart, i));
    } else {
      fail("expected a field name segment after '.'", i);
    }
    if (src.charCodeAt(i) !== 46) break;
    i++;
  }
  if (path.length === 1 && !quotedAny) {
    const upper = path[0]!.toUpperCase();
    if (KEYWORDS.has(upper)) return { kind: 'keyword', keyword: upper as Keyword, start, end: i };
  }
  return { kind: 'field', path, start, end: i };
}

/** Reads a quoted string or backtick field name starting at the quote; returns its value and the end offset. */
function readQuoted(src: string, start: number, what: 'string' | 'field name'): [string, number] {
  const quote = src.charCodeAt(start);
  let out = '';
  let i = start + 1;
  let chunk = i;
  for (;;) {
    if (i >= src.length) fail(`unterminated ${what} (missing closing ${src[start]})`, start);
    const c = src.charCodeAt(i);
    if (c === quote) break;
    if (c !== 92 /* \ */) {
      i++;
      continue;
    }
    out += src.slice(chunk, i);
    const e = src[i + 1];
    switch (e) {
      case '\\':
      case "'":
      case '"':
      case '`':
        out += e;
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        const hex = src.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('expected 4 hexadecimal digits after \\u', i);
        out += String.fromCharCode(parseInt(hex, 16));
        i += 4;
        break;
      }
      case undefined:
        fail(`unterminated ${what} (missing closing ${src[start]})`, start);
      default:
        fail(`unknown escape '\\${e}' in ${what} (known: \\\\ \\' \\" \\\` \\n \\r \\t \\uXXXX)`, i);
    }
    i += 2;
    chunk = i;
  }
  out += src.slice(chunk, i);
  return [out, i + 1];
}

function excerpt(src: string, start: number, end: number): string {
  const text = src.slice(start, Math.min(end, src.length));
  return text.length > 24 ? `${text.slice(0, 24)}…` : text;
}

function describeChar(src: string, i: number): string {
  const c = src.charCodeAt(i);
  // Control and invisible characters are shown by code so the message stays printable.
  if (c < 32 || c === 127 || c > 126) return `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  return `'${src[i]}'`;
}

// ---------------------------------------------------------------------------------------------------------------
// Parser and compiler: each rule returns the compiled closure directly, so there is no separate AST pass.

/** Internal predicate: takes `unknown` so that lookups guard non-object metadata too. */
type Node = (metadata: unknown) => boolean;
type Getter = (metadata: unknown) => unknown;

const hasOwn = Object.prototype.hasOwnProperty;

class Parser {
  private pos = 0;

  constructor(
    private readonly src: string,
    private readonly tokens: Token[],
    private readonly maxDepth: number,
  ) {}

  parseFilter(): Node {
    const node = this.parseOr(0);
    const t = this.peek();
    if (t.kind !== 'end') {
      const hint = t.kind === ')' ? ' (unbalanced parenthesis)' : '';
      this.expected(`AND, OR or the end of the filter${hint}`, t);
    }
    return node;
  }

  // Grammar, loosest first:  or := and (OR and)* ;  and := unary (AND unary)* ;  unary := NOT* primary ;
  // primary := '(' or ')' | comparison.  Recursion happens only through '(' and is bounded by maxDepth.

  private parseOr(depth: number): Node {
    const first = this.parseAnd(depth);
    if (!this.isKeyword(this.peek(), 'OR')) return first;
    const parts = [first];
    while (this.isKeyword(this.peek(), 'OR')) {
      this.pos++;
      parts.push(this.parseAnd(depth));
    }
    return anyOf(parts);
  }

  private parseAnd(depth: number): Node {
    const first = this.parseUnary(depth);
    if (!this.isKeyword(this.peek(), 'AND')) return first;
    const parts = [first];
    while (this.isKeyword(this.peek(), 'AND')) {
      this.pos++;
      parts.push(this.parseUnary(depth));
    }
    return allOf(parts);
  }

  private parseUnary(depth: number): Node {
    // NOT chains are consumed in a loop, not by recursion, yet still count toward the nesting limit.
    let nots = 0;
    for (let t = this.peek(); this.isKeyword(t, 'NOT'); t = this.peek()) {
      if (depth + 1 > this.maxDepth) this.tooDeep(t);
      depth++;
      nots++;
      this.pos++;
    }
    const operand = this.parsePrimary(depth);
    // Two-valued logic (absent fields make comparisons false, never "unknown"), so NOT NOT x is exactly x.
    return nots % 2 === 1 ? negate(operand) : operand;
  }

  private parsePrimary(depth: number): Node {
    const t = this.peek();
    if (t.kind === '(') {
      if (depth + 1 > this.maxDepth) this.tooDeep(t);
      this.pos++;
      const inner = this.parseOr(depth + 1);
      const close = this.peek();
      if (close.kind !== ')') this.expected(`')' to close the '(' at character ${t.start}`, close);
      this.pos++;
      return inner;
    }
    if (t.kind === 'field') return this.parseComparison(t);
    const hint = t.kind === 'keyword' ? ' (quote field names that are keywords with backticks)' : '';
    return this.expected(`a field name, '(' or NOT${hint}`, t);
  }

  private parseComparison(field: Extract<Token, { kind: 'field' }>): Node {
    this.pos++;
    const get = makeGetter(field.path);
    const t = this.peek();
    this.pos++;
    if (t.kind === 'op') {
      const valueToken = this.peek();
      const value = this.parseValue(`'${t.op}'`);
      switch (t.op) {
        case '=':
          return (m) => get(m) === value;
        case '!=':
          return (m) => {
            const x = get(m);
            return x !== undefined && x !== value;
          };
        default:
          return this.ordering(t.op, get, value, valueToken);
      }
    }
    if (t.kind === 'keyword') {
      switch (t.keyword) {
        case 'CONTAINS':
          return contains(get, this.parseValue('CONTAINS'));
        case 'STARTSWITH': {
          const start = this.peek();
          const prefix = this.parseValue('STARTSWITH');
          if (typeof prefix !== 'string') fail('STARTSWITH needs a string value', start.start);
          return (m) => {
            const x = get(m);
            return typeof x === 'string' && x.startsWith(prefix);
          };
        }
        case 'IN':
          return isIn(get, this.parseList('IN'), false);
        case 'NOT': {
          const inTok = this.peek();
          if (!this.isKeyword(inTok, 'IN')) this.expected("IN after NOT (the operator is 'NOT IN')", inTok);
          this.pos++;
          return isIn(get, this.parseList('NOT IN'), true);
        }
        default:
          break;
      }
    }
    return this.expected(
      `an operator (=, !=, >, >=, <, <=, CONTAINS, STARTSWITH, IN, NOT IN) after '${excerpt(this.src, field.start, field.end)}'`,
      t,
    );
  }

  private ordering(op: Operator, get: Getter, value: Literal, valueToken: Token): Node {
    if (typeof value === 'number') {
      switch (op) {
        case '>':
          return (m) => {
            const x = get(m);
            return typeof x === 'number' && x > value;
          };
        case '>=':
          return (m) => {
            const x = get(m);
            return typeof x === 'number' && x >= value;
          };
        case '<':
          return (m) => {
            const x = get(m);
            return typeof x === 'number' && x < value;
          };
        default:
          return (m) => {
            const x = get(m);
            return typeof x === 'number' && x <= value;
          };
      }
    }
    if (typeof value === 'string') {
      switch (op) {
        case '>':
          return (m) => {
            const x = get(m);
            return typeof x === 'string' && x > value;
          };
        case '>=':
          return (m) => {
            const x = get(m);
            return typeof x === 'string' && x >= value;
          };
        case '<':
          return (m) => {
            const x = get(m);
            return typeof x === 'string' && x < value;
          };
        default:
          return (m) => {
            const x = get(m);
            return typeof x === 'string' && x <= value;
          };
      }
    }
    // Would always be false: rejecting it points the client at the mistake instead of returning nothing.
    return fail(`'${op}' needs a number or string value`, valueToken.start);
  }

  private parseValue(after: string): Literal {
    const t = this.peek();
    switch (t.kind) {
      case 'string':
      case 'number':
        this.pos++;
        return t.value;
      case 'keyword':
        if (t.keyword === 'TRUE' || t.keyword === 'FALSE' || t.keyword === 'NULL') {
          this.pos++;
          return t.keyword === 'TRUE' ? true : t.keyword === 'FALSE' ? false : null;
        }
        break;
      default:
        break;
    }
    const hint = t.kind === 'field' ? ` (quote strings with ' or ")` : '';
    return this.expected(`a value after ${after}${hint}`, t);
  }

  private parseList(after: string): Literal[] {
    const open = this.peek();
    if (open.kind !== '[') this.expected(`'[' after ${after}`, open);
    this.pos++;
    const values: Literal[] = [];
    if (this.peek().kind === ']') {
      this.pos++;
      return values;
    }
    for (;;) {
      values.push(this.parseValue(values.length === 0 ? "'['" : "','"));
      const t = this.peek();
      this.pos++;
      if (t.kind === ']') return values;
      if (t.kind !== ',') this.expected(`',' or ']' in the list opened at character ${open.start}`, t);
    }
  }

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private isKeyword(t: Token, keyword: Keyword): boolean {
    return t.kind === 'keyword' && t.keyword === keyword;
  }

  private tooDeep(t: Token): never {
    return fail(`nested deeper than the limit of ${this.maxDepth} levels (each '(' and NOT is a level)`, t.start);
  }

  private expected(what: string, found: Token): never {
    return fail(`expected ${what}, found ${this.describe(found)}`, found.start);
  }

  private describe(t: Token): string {
    switch (t.kind) {
      case 'end':
        return 'the end of the filter';
      case 'string':
        return `the string ${excerpt(this.src, t.start, t.end)}`;
      case 'number':
        return `the number ${excerpt(this.src, t.start, t.end)}`;
      case 'field':
        return `the field '${excerpt(this.src, t.start, t.end)}'`;
      default:
        return `'${excerpt(this.src, t.start, t.end)}'`;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Closure builders. Paths are split once here; every closure below runs per row without allocating.

function makeGetter(path: readonly string[]): Getter {
  if (path.length === 1) {
    const key = path[0]!;
    return (m) =>
      typeof m === 'object' && m !== null && hasOwn.call(m, key) ? (m as Record<string, unknown>)[key] : undefined;
  }
  if (path.length === 2) {
    const k0 = path[0]!;
    const k1 = path[1]!;
    return (m) => {
      if (typeof m !== 'object' || m === null || !hasOwn.call(m, k0)) return undefined;
      const v = (m as Record<string, unknown>)[k0];
      return typeof v === 'object' && v !== null && hasOwn.call(v, k1) ? (v as Record<string, unknown>)[k1] : undefined;
    };
  }
  const keys = path.slice();
  const n = keys.length;
  return (m) => {
    let cur: unknown = m;
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      if (typeof cur !== 'object' || cur === null || !hasOwn.call(cur, key)) return undefined;
      cur = (cur as Record<string, unknown>)[key];
    }
    return cur;
  };
}

function contains(get: Getter, value: Literal): Node {
  if (typeof value === 'string') {
    return (m) => {
      const x = get(m);
      if (typeof x === 'string') return x.includes(value);
      return Array.isArray(x) && arrayHas(x, value);
    };
  }
  return (m) => {
    const x = get(m);
    return Array.isArray(x) && arrayHas(x, value);
  };
}

function arrayHas(items: readonly unknown[], value: Literal): boolean {
  for (let i = 0; i < items.length; i++) if (items[i] === value) return true;
  return false;
}

function isIn(get: Getter, values: Literal[], negated: boolean): Node {
  // Set#has uses SameValueZero, which matches === for literals (NaN cannot be written and -0 equals 0 in both).
  const set: ReadonlySet<unknown> = new Set<unknown>(values);
  const matches = (x: unknown): boolean => {
    if (!Array.isArray(x)) return set.has(x);
    for (let i = 0; i < x.length; i++) if (set.has(x[i])) return true;
    return false;
  };
  return negated
    ? (m) => {
        const x = get(m);
        return x !== undefined && !matches(x);
      }
    : (m) => {
        const x = get(m);
        return x !== undefined && matches(x);
      };
}

function negate(node: Node): Node {
  return (m) => !node(m);
}

function allOf(parts: Node[]): Node {
  if (parts.length === 2) {
    const [a, b] = parts as [Node, Node];
    return (m) => a(m) && b(m);
  }
  const n = parts.length;
  return (m) => {
    for (let i = 0; i < n; i++) if (!parts[i]!(m)) return false;
    return true;
  };
}

function anyOf(parts: Node[]): Node {
  if (parts.length === 2) {
    const [a, b] = parts as [Node, Node];
    return (m) => a(m) || b(m);
  }
  const n = parts.length;
  return (m) => {
    for (let i = 0; i < n; i++) if (parts[i]!(m)) return true;
    return false;
  };
}
