// The fast reader of JSON batch-upsert bodies: `JSON.parse`'s answer, except that record vectors come back as float32.
//
// JSON.parse spends ~130 µs on a 768-d row of 17-digit floats (it builds a correctly rounded double per element); the
// vectors then become float32 anyway. This reader walks the body bytes once, converts each vector element straight
// to its float32 (bit-identical to Math.fround(JSON.parse value), see readVector) and hands everything else (ids,
// metadata, text, unknown fields) to JSON.parse as a slice, so those values are exactly JSON.parse's.
//
// It never decides anything on its own: whenever the body is not plainly a well-formed `{"records": [...]}` it answers
// undefined and the caller parses the body the ordinary way, which produces today's errors. Where only one record or
// one vector is unusual (a `__proto__` key, a string among the numbers, a float32 overflow), that one value is
// re-read with JSON.parse instead, so the validation that follows sees exactly what it always saw.

/** Which reader the JSON branch of batch-upsert uses: this one (`fast`) or plain JSON.parse (`builtin`). */
export type JsonReader = 'fast' | 'builtin';

export const JSON_READERS: readonly JsonReader[] = ['fast', 'builtin'];

/** A well-formed body that this reader could not handle: the caller falls back to JSON.parse. */
class Unusual extends Error {}
const UNUSUAL = new Unusual();

// Byte values (JSON's structural characters are ASCII, so slicing the UTF-8 bytes at them is safe).
const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c, COLON = 0x3a;
const OPEN_BRACE = 0x7b, CLOSE_BRACE = 0x7d, OPEN_BRACKET = 0x5b, CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d, PLUS = 0x2b, DOT = 0x2e, ZERO = 0x30, NINE = 0x39, LOWER_E = 0x65, SPACE = 0x20;

/** Powers of ten: exact up to 1e22 (5^22 < 2^53), correctly rounded beyond. */
const POW10 = Array.from({ length: 81 }, (_, k) => Number(`1e${k}`));
/** 10^-k correctly rounded: a multiplication is cheaper than a division and adds one rounding, which the check covers. */
const NEG_POW10 = Array.from({ length: 81 }, (_, k) => Number(`1e-${k}`));
/** Relative margin of the float32 check: far above the ~2^-50 error of the double estimate, far below float32's 2^-24 steps. */
const UP = 1 + 2 ** -40;
const DOWN = 1 - 2 ** -40;

/**
 * Vectors are written back to back into a chunk and handed out as views of it: one allocation per ~85 rows of 768
 * rather than one per row (allocating a typed array's memory costs more than reading its numbers). A vector that
 * does not fit moves to a new chunk; the old one lives as long as views of it do.
 */
const CHUNK_FLOATS = 64 * 1024;
let chunk = new Float32Array(CHUNK_FLOATS);
let chunkUsed = 0;

/**
 * Reads a batch-upsert body: the top-level object with `records` record objects whose vectors of plain numbers are
 * Float32Arrays; undefined when the body is malformed or unusual (then JSON.parse must read it, and report errors).
 */
export function readJsonBatch(bytes: Uint8Array): Record<string, unknown> | undefined {
  return readTopObject(bytes, 'records');
}

/**
 * Reads a JSON object whose `vector` member, when an array of plain numbers, becomes a Float32Array (a query or a
 * single upsert); every other member is exactly what JSON.parse gives. Undefined when the body is malformed or
 * unusual (then JSON.parse must read it, and report errors).
 */
export function readJsonWithVector(bytes: Uint8Array): Record<string, unknown> | undefined {
  return readTopObject(bytes, 'vector');
}

function readTopObject(bytes: Uint8Array, key: 'records' | 'vector'): Record<string, unknown> | undefined {
  const reader = new BatchReader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  try {
    return reader.body(key);
  } catch {
    // A SyntaxError from a slice, a RangeError of a hostile value, or Unusual: the ordinary path decides.
    return undefined;
  }
}

class BatchReader {
  private pos = 0;
  private readonly view: DataView;

  constructor(private readonly b: Buffer) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  /**
   * The whole body: one object whose member `key`, when an array, is read as records or as a vector; every other
   * member is what JSON.parse gives.
   */
  body(key: 'records' | 'vector'): Record<string, unknown> {
    this.space();
    if (this.b[this.pos] !== OPEN_BRACE) throw UNUSUAL;
    const out: Record<string, unknown> = {};
    this.members((name) => {
      // Assigning `__proto__` would set the prototype, where JSON.parse makes an own property (refused as unknown).
      if (name === '__proto__') throw UNUSUAL;
      if (name !== key || this.b[this.pos] !== OPEN_BRACKET) out[name] = this.value();
      else out[name] = key === 'records' ? this.records() : this.vector();
    });
    this.space();
    if (this.pos !== this.b.length) throw UNUSUAL;
    return out;
  }

  /** `[record, ...]`: objects are read as records, anything else as a plain value. */
  private records(): unknown[] {
    const b = this.b;
    const out: unknown[] = [];
    this.pos++;
    this.space();
    if (b[this.pos] === CLOSE_BRACKET) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(b[this.pos] === OPEN_BRACE ? this.record() : this.value());
      this.space();
      const c = b[this.pos++];
      if (c === CLOSE_BRACKET) return out;
      if (c !== COMMA) throw UNUSUAL;
      this.space();
    }
  }

  /** One record object; `vector` arrays are read as float32; a record this reader cannot build is re-read by JSON.parse. */
  private record(): unknown {
    const start = this.pos;
    const out: Record<string, unknown> = {};
    let plain = true;
    this.members((key) => {
      // Assigning `__proto__` would set the prototype, where JSON.parse makes an own property.
      if (key === '__proto__') plain = false;
      if (!plain) this.skip();
      else out[key] = key === 'vector' && this.b[this.pos] === OPEN_BRACKET ? this.vector() : this.value();
    });
    if (plain) return out;
    const end = this.pos;
    return parseSlice(this.b, start, end);
  }

  /**
   * `{"key": value, ...}` from its opening brace to past its closing one; `member` reads each value (the position is
   * at the value's first byte).
   */
  private members(member: (key: string) => void): void {
    const b = this.b;
    this.pos++;
    this.space();
    if (b[this.pos] === CLOSE_BRACE) {
      this.pos++;
      return;
    }
    for (;;) {
      if (b[this.pos] !== QUOTE) throw UNUSUAL;
      const key = this.string();
      this.space();
      if (b[this.pos++] !== COLON) throw UNUSUAL;
      this.space();
      member(key);
      this.space();
      const c = b[this.pos++];
      if (c === CLOSE_BRACE) return;
      if (c !== COMMA) throw UNUSUAL;
      this.space();
    }
  }

  /** A string from its opening quote: plain ASCII is taken as it is, anything with escapes or other bytes by JSON.parse. */
  private string(): string {
    const b = this.b;
    const start = this.pos;
    let p = start + 1;
    let plain = true;
    for (;;) {
      const c = b[p];
      if (c === QUOTE) break;
      if (c === undefined) throw UNUSUAL;
      if (c === BACKSLASH) {
        plain = false;
        p += 2;
        continue;
      }
      if (c < 0x20 || c >= 0x80) plain = false;
      p++;
    }
    this.pos = p + 1;
    return plain ? b.toString('latin1', start + 1, p) : (parseSlice(b, start, p + 1) as string);
  }

  /** Any JSON value, exactly as JSON.parse gives it. */
  private value(): unknown {
    const start = this.pos;
    this.skip();
    return parseSlice(this.b, start, this.pos);
  }

  /**
   * Moves past one value without building it: strings by their closing quote (escapes skipped), objects and arrays
   * by balancing brackets outside strings, anything else up to the next delimiter. JSON.parse of the slice then
   * checks it; the reader checks everything around it.
   */
  private skip(): void {
    const b = this.b;
    const n = b.length;
    let p = this.pos;
    let depth = 0;
    do {
      const c = b[p];
      if (c === QUOTE) {
        p++;
        for (;;) {
          if (p >= n) throw UNUSUAL;
          const s = b[p++];
          if (s === QUOTE) break;
          if (s === BACKSLASH) p++;
        }
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        depth++;
        p++;
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (depth === 0) throw UNUSUAL;
        depth--;
        p++;
      } else if (depth === 0) {
        // A number, true, false or null: up to a delimiter.
        while (p < n && !isDelimiter(b[p])) p++;
      } else {
        if (p >= n) throw UNUSUAL;
        p++;
      }
    } while (depth > 0);
    if (p === this.pos) throw UNUSUAL;
    this.pos = p;
  }

  /** JSON whitespace (space, tab, line feed, carriage return) and nothing else. */
  private space(): void {
    const b = this.b;
    let p = this.pos;
    for (;;) {
      const c = b[p];
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      p++;
    }
    this.pos = p;
  }

  /**
   * A `vector` array from its opening bracket. Plain JSON numbers become one Float32Array; an array with anything else
   * (or a value float32 cannot hold) is read by JSON.parse, so validation reports on it as it always did.
   */
  private vector(): unknown {
    const v = readVector(this.b, this.view, this.pos + 1);
    if (v === undefined) return this.value();
    this.pos = vectorEnd;
    return v;
  }
}

/** JSON.parse of a byte slice (whole values only, cut at ASCII bytes, so the UTF-8 decoding is the whole body's). */
function parseSlice(b: Buffer, start: number, end: number): unknown {
  return JSON.parse(b.toString('utf8', start, end));
}

function isDelimiter(c: number): boolean {
  return c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * The numbers of a vector from just after its `[` to its `]` as float32, each bit-identical to Math.fround of the
 * double JSON.parse would give; undefined for anything else (the caller re-reads the array). Sets `vectorEnd`.
 *
 * Exactness: the significant digits (at most 19, else the slow path) make a double m (exact up to 15 digits, a few
 * roundings of 2^-53 beyond), scaled by 10^e with one multiplication or division by a power of ten (exact up to
 * 1e22, correctly rounded beyond): the estimate d is within ~2^-50 of the decimal value x, and the double JSON.parse
 * gives is within 2^-53 of x. Math.fround is monotonic, so when d·(1 − 2^-40) and d·(1 + 2^-40) round to the same
 * float32 so does everything between them, both of those included: then fround(d) is the answer. Only a value within
 * 2^-40 of a float32 rounding midpoint (or outside the table's range) costs a Number() of its text. With 15 digits
 * or fewer and |e| ≤ 22, m and 10^e are exact and d is JSON.parse's double itself (Clinger's fast path).
 */
function readVector(b: Buffer, view: DataView, from: number): Float32Array | undefined {
  for (;;) {
    const start = chunkUsed;
    const n = fillVector(b, view, from, chunk, start);
    if (n === UNREADABLE) return undefined;
    if (n !== OUT_OF_ROOM) {
      const vector = chunk.subarray(start, start + n);
      chunkUsed = start + n;
      // A chunk grown for a huge array is not kept for the vectors after it (it lives as long as this one does).
      if (chunk.length > CHUNK_FLOATS) {
        chunk = new Float32Array(CHUNK_FLOATS);
        chunkUsed = 0;
      }
      return vector;
    }
    // Read the vector again into a new chunk (at most once per chunk, doubling for a vector longer than a chunk).
    chunk = new Float32Array(start === 0 ? 2 * chunk.length : CHUNK_FLOATS);
    chunkUsed = 0;
  }
}

/** fillVector's answers besides a count. */
const UNREADABLE = -1;
const OUT_OF_ROOM = -2;

/**
 * Reads the numbers of a vector into `out` from `start` (readVector's work; `out` stays one array for the whole loop,
 * which keeps the loop tight): their count, UNREADABLE, or OUT_OF_ROOM when `out` is full.
 */
function fillVector(b: Buffer, view: DataView, from: number, out: Float32Array, start: number): number {
  const room = out.length - start;
  let p = from;
  let c = b[p];
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p];
  if (c === CLOSE_BRACKET) return UNREADABLE; // An empty vector: the ordinary path names the error.
  let n = 0;
  for (;;) {
    // One number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, as m·10^exp with `digits` significant digits.
    const numStart = p;
    // The sign without a branch (random signs would mispredict half the time).
    const negative = c === MINUS ? 1 : 0;
    p += negative;
    c = b[p];
    let m = 0;
    let digits = 0;
    let exp = 0;
    if (c === ZERO) {
      c = b[++p];
    } else if (c > ZERO && c <= NINE) {
      const intStart = p;
      do {
        m = m * 10 + (c - ZERO);
        c = b[++p];
      } while (c >= ZERO && c <= NINE);
      digits = p - intStart;
    } else {
      return UNREADABLE;
    }
    if (c === DOT) {
      const fracStart = ++p;
      // Zeros before the first significant digit only move the decimal point.
      if (digits === 0) while (b[p] === ZERO) p++;
      const sigStart = p;
      // Four digits at a time, the last word's 0-3 digits without a branch on their count: random floats' digit
      // counts vary, and a mispredicted branch per number costs more than its arithmetic. The last few bytes of the
      // body are read padded (a query body may end `0.123]}` with fewer than four bytes after a digit).
      for (;;) {
        const x = p + 4 <= b.length ? view.getInt32(p, true) : paddedWord(b, p);
        // A high bit in each byte that is not a digit: after xor with '0' a digit byte is 0-9, and 0x76 added to a
        // byte under 0x80 carries into its high bit exactly from 10 up.
        const a = x ^ 0x30303030;
        const notDigit = (((a & 0x7f7f7f7f) + 0x76767676) | a) & 0x80808080;
        if (notDigit === 0) {
          m = m * 10000 + fourDigits(x);
          p += 4;
          continue;
        }
        // k digits before the first other byte (the word is little-endian: the first byte is the low one); shifted to
        // the top of the word, below them come zero digits.
        const k = (31 - Math.clz32(notDigit & -notDigit)) >> 3;
        m = m * POW10[k] + fourDigits((x << (24 - 8 * k)) << 8);
        p += k;
        break;
      }
      c = b[p];
      if (p === fracStart) return UNREADABLE;
      digits += p - sigStart;
      exp = fracStart - p;
    }
    if ((c | 0x20) === LOWER_E) {
      c = b[++p];
      const expNegative = c === MINUS;
      if (expNegative || c === PLUS) c = b[++p];
      if (!(c >= ZERO && c <= NINE)) return UNREADABLE;
      let e = 0;
      do {
        if (e < 100_000) e = e * 10 + (c - ZERO);
        c = b[++p];
      } while (c >= ZERO && c <= NINE);
      exp += expNegative ? -e : e;
    }
    let f = 0; // when every digit was zero
    if (m !== 0) {
      if (digits <= 15 && exp >= -22 && exp <= 22) {
        f = Math.fround(exp >= 0 ? m * POW10[exp] : m / POW10[-exp]);
      } else {
        let slow = digits > 19 || exp > 60 || exp < -80;
        if (!slow) {
          const d = exp >= 0 ? m * POW10[exp] : m * NEG_POW10[-exp];
          f = Math.fround(d);
          slow = Math.fround(d * UP) !== Math.fround(d * DOWN);
        }
        if (slow) f = Math.fround(Math.abs(Number(b.toString('latin1', numStart, p))));
      }
      // An element float32 cannot hold: the ordinary path names it.
      if (f === Infinity) return UNREADABLE;
    }
    if (n === room) return OUT_OF_ROOM;
    out[start + n++] = f * (1 - 2 * negative); // -0 for -0
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p];
    if (c === COMMA) {
      c = b[++p];
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p];
      continue;
    }
    if (c === CLOSE_BRACKET) {
      vectorEnd = p + 1;
      return n;
    }
    return UNREADABLE;
  }
}

/** The little-endian word at `p` of the last bytes of `b`, padded past the end with spaces (never digits). */
function paddedWord(b: Buffer, p: number): number {
  let x = 0;
  for (let i = 3; i >= 0; i--) x = (x << 8) | (p + i < b.length ? b[p + i] : SPACE);
  return x;
}

/** The value of four ASCII digits read as a little-endian 32-bit word (first digit in the low byte; zero bytes count as 0). */
function fourDigits(x: number): number {
  // Pairs of digits, then the two pairs.
  let v = x & 0x0f0f0f0f;
  v = (v * 10 + (v >>> 8)) & 0x00ff00ff;
  return (v * 100 + (v >>> 16)) & 0xffff;
}

/** Where the last vector readVector accepted ended (past its `]`). */
let vectorEnd = 0;
