// Compressed Arrow IPC: apache-arrow reads LZ4_FRAME and ZSTD record batches once codecs are registered, which this
// module does on import (pyarrow's `write_feather` compresses with LZ4 by default; `IpcWriteOptions(compression=…)`
// gives either). Every decompression counts against a budget, so a small hostile body cannot make the server
// allocate gigabytes: `readWithinBudget` sets it around one synchronous read.
import { CompressionType, compressionRegistry } from 'apache-arrow';
import { decompress as zstdDecompress } from 'fzstd';
import { Lz4TooLargeError, decompressLz4Frames } from './lz4-frame.js';

/** A compressed stream that would decompress to more than its budget allows. */
export class DecompressionBudgetError extends Error {}

/** Bytes the current read may still decompress (unbounded outside `readWithinBudget`: files a user imports). */
let remaining = Number.POSITIVE_INFINITY;

/** Runs `read` (a synchronous Arrow read) with at most `budgetBytes` of decompressed buffers. */
export function readWithinBudget<T>(budgetBytes: number, read: () => T): T {
  const outer = remaining;
  remaining = budgetBytes;
  try {
    return read();
  } finally {
    remaining = outer;
  }
}

/** Takes `bytes` from the budget, or throws when it does not have them. */
function spend(bytes: number): void {
  if (bytes > remaining) throw new DecompressionBudgetError(`compressed buffers decompress to more than the ${remaining} bytes allowed`);
  remaining -= bytes;
}

/** The largest single buffer a codec may produce: JavaScript's typed array limit, or what is left of the budget. */
const capOfOneBuffer = () => Math.min(remaining, 2 ** 31 - 1);

function decodeLz4(input: Uint8Array): Uint8Array {
  let out: Uint8Array;
  try {
    out = decompressLz4Frames(input, capOfOneBuffer());
  } catch (err) {
    if (err instanceof Lz4TooLargeError) throw new DecompressionBudgetError(err.message);
    throw err;
  }
  spend(out.length);
  return out;
}

const ZSTD_MAGIC = 0xfd2fb528;

/**
 * fzstd sizes its output from each frame header, so the headers are walked first: every frame must declare its
 * content size (Arrow's writers do), and the sizes (and windows) must fit the budget before anything is allocated.
 */
function decodeZstd(input: Uint8Array): Uint8Array {
  const declared = zstdDeclaredBytes(input);
  spend(declared);
  const out = zstdDecompress(input);
  if (out.length !== declared) throw new Error(`zstd: frames declare ${declared} bytes but hold ${out.length}`);
  return out;
}

/** The content size the frames of `input` declare, checked against the budget; throws on frames without one. */
function zstdDeclaredBytes(input: Uint8Array): number {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const cap = capOfOneBuffer();
  let total = 0;
  let pos = 0;
  while (pos < input.length) {
    if (pos + 5 > input.length || view.getUint32(pos, true) !== ZSTD_MAGIC) throw new Error('zstd: not a Zstandard frame');
    const descriptor = input[pos + 4];
    const sizeFlag = descriptor >> 6;
    const singleSegment = (descriptor >> 5) & 1;
    const checksum = (descriptor >> 2) & 1;
    pos += 5;
    if (!singleSegment) {
      const w = input[pos++];
      const base = 2 ** (10 + (w >> 3));
      if (base + (base / 8) * (w & 7) > cap) throw new DecompressionBudgetError(`zstd: a window larger than the ${cap} bytes a body may decompress to`);
    }
    pos += [0, 1, 2, 4][descriptor & 3];
    const sizeBytes = sizeFlag === 0 ? singleSegment : 2 ** sizeFlag;
    if (sizeBytes === 0) throw new Error('zstd: a frame without its content size (write it with the size, as Arrow does)');
    if (pos + sizeBytes > input.length) throw new Error('zstd: truncated frame header');
    let size = 0;
    for (let i = sizeBytes - 1; i >= 0; i--) size = size * 256 + input[pos + i];
    if (sizeBytes === 2) size += 256;
    pos += sizeBytes;
    total += size;
    if (total > cap) throw new DecompressionBudgetError(`zstd: frames decompress to more than the ${cap} bytes allowed`);
    // Blocks: a 3-byte header (last flag, type, size); an RLE block stores one byte for its run.
    for (let last = 0; !last; ) {
      if (pos + 3 > input.length) throw new Error('zstd: truncated block');
      const header = input[pos] | (input[pos + 1] << 8) | (input[pos + 2] << 16);
      last = header & 1;
      const type = (header >> 1) & 3;
      pos += 3 + (type === 1 ? 1 : header >>> 3);
    }
    pos += checksum ? 4 : 0;
  }
  if (pos > input.length) throw new Error('zstd: truncated frame');
  return total;
}

compressionRegistry.set(CompressionType.LZ4_FRAME, { decode: decodeLz4 });
compressionRegistry.set(CompressionType.ZSTD, { decode: decodeZstd });
