// The HNSW graph in a checkpoint or snapshot (`graph.bin`): lists renumbered to the checkpoint's slots, read back on start.
import fs from 'node:fs';
import { graphOffsets } from '../index/graph-layout.js';
import type { GraphCapture, LoadedGraph } from '../index/hnsw-index.js';

/** File name of the graph inside a checkpoint or snapshot directory (optional: without it the graph is rebuilt). */
export const GRAPH_FILE = 'graph.bin';

const MAGIC = 0x31475356; // "VSG1"
const HEADER_WORDS = 5;
const CHUNK_WORDS = 1 << 20;

/**
 * Writes the captured graph for the records a checkpoint holds, in its order (record i of the checkpoint is slot i when
 * loaded): [magic, m, count, indexedEnd, entry], then per record its level (-1: not in the graph) and, per level from 0
 * up, [count, neighbours...]. Neighbours that are not among the records (deleted since) are left out.
 * `oldSlots[i]` is record i's slot in the captured layout. Yields to the event loop between chunks.
 */
export async function writeGraphFile(file: string, graph: GraphCapture, oldSlots: Int32Array): Promise<number> {
  const { rowsPerSegment: rps, m } = graph;
  const o = graphOffsets(rps, m);
  const renumber = new Int32Array(graph.segments.length * rps).fill(-1);
  let indexedEnd = 0;
  for (let i = 0; i < oldSlots.length; i++) {
    renumber[oldSlots[i]] = i;
    if (oldSlots[i] < graph.indexedEnd) indexedEnd = i + 1;
  }
  const handle = await fs.promises.open(file, 'w', 0o644);
  let bytes = 0;
  try {
    let out = new Int32Array(CHUNK_WORDS);
    let at = 0;
    const flush = async (): Promise<void> => {
      await handle.write(new Uint8Array(out.buffer, 0, at * 4));
      bytes += at * 4;
      at = 0;
    };
    const entry = graph.entry >= 0 ? renumber[graph.entry] : -1;
    out.set([MAGIC, m, oldSlots.length, indexedEnd, entry]);
    at = HEADER_WORDS;
    for (let i = 0; i < oldSlots.length; i++) {
      // Room for the largest node: a level word, level 0 and every upper level.
      if (at + 1 + (1 + 2 * m) + 12 * (1 + m) > out.length) await flush();
      const slot = oldSlots[i];
      const words = graph.segments[Math.floor(slot / rps)];
      const row = slot % rps;
      const level = i < indexedEnd ? words[o.levels + row] - 1 : -1;
      out[at++] = level;
      for (let l = 0; l <= level; l++) {
        const base = l === 0 ? row * o.stride0 : o.pool + (words[o.upper + row] - 1 + l - 1) * o.blockWords;
        const countAt = at++;
        let kept = 0;
        const count = Math.min(words[base], l === 0 ? 2 * m : m);
        for (let j = 1; j <= count; j++) {
          const target = renumber[words[base + j]];
          if (target >= 0 && target < indexedEnd) {
            out[at++] = target;
            kept++;
          }
        }
        out[countAt] = kept;
      }
    }
    await flush();
    out = new Int32Array(0);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return bytes;
}

/** Reads a graph file, or undefined when there is none or it does not fit (the graph is then rebuilt from the rows). */
export function readGraphFile(file: string, count: number): LoadedGraph | undefined {
  let buffer: Buffer;
  try {
    buffer = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (buffer.length % 4 !== 0 || buffer.length < HEADER_WORDS * 4) return undefined;
  const words = new Int32Array(buffer.length / 4);
  new Uint8Array(words.buffer).set(buffer);
  if (words[0] !== MAGIC || words[2] !== count) return undefined;
  return { m: words[1], count, indexedEnd: words[3], entry: words[4], words, offset: HEADER_WORDS };
}
