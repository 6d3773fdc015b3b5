// Snappy decompression (the block format Parquet pages use) into a caller's buffer. Pages of float vectors barely
// compress, so they are almost all long literals: copied here with native `set`, where hyparquet's decoder copies byte
// by byte (~6 µs a 768-d row), and written straight to where the values go, without an intermediate page buffer.

/** Decompresses `input` into `output`, which must be exactly the uncompressed length; throws on a damaged stream. */
export function snappyUncompress(input: Uint8Array, output: Uint8Array): void {
  let pos = 0;
  let expected = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= input.length || shift > 28) throw new Error('snappy: bad length preamble');
    const byte = input[pos++];
    expected += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) break;
  }
  if (expected !== output.length) throw new Error(`snappy: stream holds ${expected} bytes, page header says ${output.length}`);
  let out = 0;
  while (pos < input.length) {
    const tag = input[pos++];
    let length: number;
    if ((tag & 3) === 0) {
      // A literal: its length - 1 in the tag, or in the 1–4 bytes after it.
      length = tag >>> 2;
      if (length >= 60) {
        const bytes = length - 59;
        if (pos + bytes > input.length) throw new Error('snappy: truncated literal length');
        length = 0;
        for (let i = 0; i < bytes; i++) length += input[pos + i] * 2 ** (8 * i);
        pos += bytes;
      }
      length += 1;
      if (pos + length > input.length || out + length > output.length) throw new Error('snappy: literal overruns');
      if (length <= 16) for (let i = 0; i < length; i++) output[out + i] = input[pos + i];
      else output.set(input.subarray(pos, pos + length), out);
      pos += length;
      out += length;
      continue;
    }
    // A copy of earlier output: `length` bytes from `offset` back.
    let offset: number;
    if ((tag & 3) === 1) {
      if (pos >= input.length) throw new Error('snappy: truncated copy');
      length = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | input[pos++];
    } else if ((tag & 3) === 2) {
      if (pos + 2 > input.length) throw new Error('snappy: truncated copy');
      length = 1 + (tag >>> 2);
      offset = input[pos] | (input[pos + 1] << 8);
      pos += 2;
    } else {
      if (pos + 4 > input.length) throw new Error('snappy: truncated copy');
      length = 1 + (tag >>> 2);
      offset = (input[pos] | (input[pos + 1] << 8) | (input[pos + 2] << 16)) + input[pos + 3] * 2 ** 24;
      pos += 4;
    }
    if (offset === 0 || offset > out || out + length > output.length) throw new Error('snappy: copy outside the output');
    // A copy may overlap what it writes (offset < length repeats a pattern): only then byte by byte.
    if (offset >= length && length > 16) output.copyWithin(out, out - offset, out - offset + length);
    else for (let i = 0; i < length; i++) output[out + i] = output[out - offset + i];
    out += length;
  }
  if (out !== output.length) throw new Error(`snappy: stream ends after ${out} of ${output.length} bytes`);
}
