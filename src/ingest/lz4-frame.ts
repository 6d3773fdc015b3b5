// LZ4 decompression: frames (the codec pyarrow's `write_feather` uses by default, and one of the two an Arrow IPC
// stream may be compressed with, LZ4_FRAME) and bare blocks (Parquet's LZ4_RAW pages). No LZ4 package is needed for
// a format this small; the output is capped so that a few hostile bytes cannot make the server allocate gigabytes.

const FRAME_MAGIC = 0x184d2204;
/** Skippable frames (magic 0x184D2A50–0x184D2A5F) carry user data that decoders pass over. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
/** A block size word with this bit set holds its bytes uncompressed. */
const UNCOMPRESSED_BLOCK = 0x80000000;
const MIN_MATCH = 4;

/** An LZ4 stream that is damaged, unsupported, or would decompress to more than the caller allows. */
export class Lz4Error extends Error {}
/** A stream that would decompress to more than the caller allows. */
export class Lz4TooLargeError extends Lz4Error {}

/**
 * Decompresses one or more concatenated LZ4 frames. Throws Lz4Error on a damaged frame, a frame that needs a
 * dictionary, or output beyond `maxBytes`. Checksums are not verified (Arrow buffers are checked by their reader's
 * structure, and a damaged block fails its own bounds checks here).
 */
export function decompressLz4Frames(input: Uint8Array, maxBytes: number): Uint8Array {
  // Arrow's frames do not declare their size; float data barely compresses, so start a little above the input.
  const out = new Output(Math.min(maxBytes, input.length + (input.length >>> 2) + 1024), maxBytes);
  let pos = 0;
  while (pos < input.length) {
    const magic = u32(input, pos);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      pos += 8 + u32(input, pos + 4);
      continue;
    }
    if (magic !== FRAME_MAGIC) throw new Lz4Error(`lz4: not an LZ4 frame (magic 0x${magic.toString(16)})`);
    pos = readFrame(input, pos + 4, out);
  }
  if (pos > input.length) throw new Lz4Error('lz4: truncated frame');
  return out.result();
}

/** Decompresses one bare LZ4 block (no frame) that holds exactly `length` bytes; throws Lz4Error otherwise. */
export function decompressLz4Block(input: Uint8Array, length: number): Uint8Array {
  const out = new Output(length, length);
  decodeBlock(input, 0, input.length, out);
  const bytes = out.result();
  if (bytes.length !== length) throw new Lz4Error(`lz4: block holds ${bytes.length} bytes, ${length} expected`);
  return bytes;
}

/** Reads the frame whose descriptor starts at `pos`; returns the position after it. */
function readFrame(input: Uint8Array, pos: number, out: Output): number {
  need(input, pos, 2);
  const flags = input[pos];
  if (flags >> 6 !== 1) throw new Lz4Error(`lz4: unsupported frame version ${flags >> 6}`);
  const blockChecksum = (flags & 0x10) !== 0;
  const contentSize = (flags & 0x08) !== 0;
  const contentChecksum = (flags & 0x04) !== 0;
  if (flags & 0x01) throw new Lz4Error('lz4: frames compressed with a dictionary are not supported');
  // FLG, BD, the optional content size, then the header checksum byte.
  pos += 2 + (contentSize ? 8 : 0) + 1;
  for (;;) {
    need(input, pos, 4);
    const word = u32(input, pos);
    pos += 4;
    if (word === 0) break;
    const size = (word & ~UNCOMPRESSED_BLOCK) >>> 0;
    need(input, pos, size);
    if (word & UNCOMPRESSED_BLOCK) out.append(input.subarray(pos, pos + size));
    else decodeBlock(input, pos, pos + size, out);
    pos += size + (blockChecksum ? 4 : 0);
  }
  return pos + (contentChecksum ? 4 : 0);
}

/**
 * One LZ4 block: sequences of literals then a match (an offset back into the output and a length). Matches may
 * reach into earlier blocks of the frame (linked blocks, the LZ4 default), which the one contiguous output allows.
 */
function decodeBlock(input: Uint8Array, pos: number, end: number, out: Output): void {
  const block = { input, pos, end };
  while (block.pos < end) {
    const token = input[block.pos++];
    const literals = nibbleLength(block, token >>> 4, 'literal');
    if (block.pos + literals > end) throw new Lz4Error('lz4: literals overrun the block');
    out.append(input.subarray(block.pos, block.pos + literals));
    block.pos += literals;
    // The last sequence of a block is literals alone.
    if (block.pos === end) return;
    if (block.pos + 2 > end) throw new Lz4Error('lz4: truncated match offset');
    const offset = input[block.pos] | (input[block.pos + 1] << 8);
    block.pos += 2;
    out.copyMatch(offset, nibbleLength(block, token & 15, 'match') + MIN_MATCH);
  }
}

/** A token's 4-bit length; 15 means more follows, in bytes of 255 and a last byte below it. */
function nibbleLength(block: { input: Uint8Array; pos: number; end: number }, nibble: number, what: string): number {
  let length = nibble;
  if (nibble !== 15) return length;
  let byte: number;
  do {
    if (block.pos >= block.end) throw new Lz4Error(`lz4: truncated ${what} length`);
    byte = block.input[block.pos++];
    length += byte;
  } while (byte === 255);
  return length;
}

/** The growing output, never beyond its cap. */
class Output {
  private bytes: Uint8Array;
  private used = 0;

  constructor(initial: number, private readonly maxBytes: number) {
    this.bytes = new Uint8Array(initial);
  }

  append(chunk: Uint8Array): void {
    this.reserve(chunk.length);
    if (chunk.length <= 16) for (let i = 0; i < chunk.length; i++) this.bytes[this.used + i] = chunk[i];
    else this.bytes.set(chunk, this.used);
    this.used += chunk.length;
  }

  /** Copies `length` bytes from `offset` back; an offset shorter than the length repeats the bytes it covers. */
  copyMatch(offset: number, length: number): void {
    if (offset === 0 || offset > this.used) throw new Lz4Error(`lz4: match offset ${offset} outside the output`);
    this.reserve(length);
    const b = this.bytes;
    let at = this.used;
    const from = at - offset;
    if (offset >= length) b.copyWithin(at, from, from + length);
    else for (let i = 0; i < length; i++) b[at + i] = b[from + i];
    at += length;
    this.used = at;
  }

  result(): Uint8Array {
    return this.bytes.subarray(0, this.used);
  }

  private reserve(extra: number): void {
    const needed = this.used + extra;
    if (needed <= this.bytes.length) return;
    if (needed > this.maxBytes) throw new Lz4TooLargeError(`lz4: decompresses to more than ${this.maxBytes} bytes`);
    const grown = new Uint8Array(Math.min(this.maxBytes, Math.max(needed, this.bytes.length * 2)));
    grown.set(this.bytes.subarray(0, this.used));
    this.bytes = grown;
  }
}

function u32(bytes: Uint8Array, pos: number): number {
  need(bytes, pos, 4);
  return (bytes[pos] | (bytes[pos + 1] << 8) | (bytes[pos + 2] << 16) | (bytes[pos + 3] << 24)) >>> 0;
}

function need(bytes: Uint8Array, pos: number, count: number): void {
  if (pos + count > bytes.length) throw new Lz4Error('lz4: truncated frame');
}
