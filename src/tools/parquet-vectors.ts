// Reads a Parquet list<float|double> vector column of one row group as one flat array, skipping per-row list assembly.
// It drives hyparquet's page-level modules (exported as `hyparquet/src/*.js`, version pinned by the lock file); the
// general path (parquetRead) stays the reference, and the unit test compares the two.
import type { FileMetaData } from 'hyparquet';
import { parquetSchema } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { DEFAULT_PARSERS, convertWithDictionary } from 'hyparquet/src/convert.js';
import { decompressPage, readDataPage, readDataPageV2 } from 'hyparquet/src/datapage.js';
import { getMaxDefinitionLevel, getTreePath } from 'hyparquet/src/schema.js';

/** A file's bytes by range (hyparquet's AsyncBuffer). */
interface ByteSource {
  slice(start: number, end?: number): ArrayBuffer | Promise<ArrayBuffer>;
}

/**
 * hyparquet assembles a list column into one JavaScript array per row, which at 768 floats a row costs more than
 * everything else an import does. When every row of the group holds a list of the same length with no null list and
 * no null element, the page values already are the vectors back to back: this returns them (`rows × dimension`), or
 * undefined when the column is anything else, so the caller takes hyparquet's general path.
 */
export async function readFlatVectors(
  file: ByteSource,
  metadata: FileMetaData,
  column: string,
  groupIndex: number,
): Promise<{ values: Float32Array | Float64Array; dimension: number } | undefined> {
  const group = metadata.row_groups[groupIndex];
  const rows = Number(group.num_rows);
  const chunks = group.columns.filter((c) => c.meta_data?.path_in_schema[0] === column);
  // One leaf (list → element): a struct or map inside the list has several.
  if (chunks.length !== 1 || rows === 0) return undefined;
  const meta = chunks[0].meta_data!;
  if ((meta.type !== 'FLOAT' && meta.type !== 'DOUBLE') || meta.path_in_schema.length < 2) return undefined;
  const schemaPath = getTreePath(parquetSchema(metadata), meta.path_in_schema);
  const maxDefinition = getMaxDefinitionLevel(schemaPath);
  const decoder = {
    pathInSchema: meta.path_in_schema,
    element: schemaPath[schemaPath.length - 1].element,
    schemaPath,
    ...meta,
    parsers: DEFAULT_PARSERS,
  };
  const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
  const bytes = await file.slice(start, start + Number(meta.total_compressed_size));
  const reader = { view: new DataView(bytes), offset: 0 };
  const pages: Array<ArrayLike<number>> = [];
  let total = 0;
  let dimension = -1;
  let repeated = 0;
  while (reader.offset < bytes.byteLength - 1) {
    let header;
    try {
      header = parquetHeader(reader);
    } catch {
      return undefined;
    }
    const compressed = new Uint8Array(bytes, reader.offset, header.compressed_page_size);
    reader.offset += header.compressed_page_size;
    let levels: { definitionLevels: ArrayLike<number>; repetitionLevels: ArrayLike<number>; dataPage: unknown };
    let encoding: string;
    if (header.type === 'DICTIONARY_PAGE') return undefined; // float dictionaries are rare; the general path reads them
    try {
      if (header.type === 'DATA_PAGE' && header.data_page_header) {
        const page = decompressPage(compressed, Number(header.uncompressed_page_size), meta.codec, undefined);
        levels = readDataPage(page, header.data_page_header, decoder as never) as never;
        encoding = header.data_page_header.encoding;
      } else if (header.type === 'DATA_PAGE_V2' && header.data_page_header_v2) {
        levels = readDataPageV2(compressed, header, decoder as never) as never;
        encoding = header.data_page_header_v2.encoding;
      } else {
        return undefined;
      }
    } catch {
      // An unsupported codec or encoding: the general path reports it properly.
      return undefined;
    }
    const { definitionLevels: def, repetitionLevels: rep } = levels;
    for (let i = 0; i < def.length; i++) if (def[i] !== maxDefinition) return undefined;
    // Every row starts (repetition level 0) exactly `dimension` values after the previous one.
    for (let i = 0; i < rep.length; i++, repeated++) {
      if (rep[i] !== 0) continue;
      if (repeated > 0 && dimension < 0) dimension = repeated;
      else if (repeated > 0 && repeated !== dimension) return undefined;
      repeated = 0;
    }
    const values = convertWithDictionary(levels.dataPage as never, undefined, encoding as never, decoder as never) as unknown as ArrayLike<number>;
    if (!(values instanceof Float32Array || values instanceof Float64Array)) return undefined;
    pages.push(values);
    total += values.length;
  }
  if (dimension < 0) dimension = repeated;
  if (repeated !== dimension || dimension === 0 || total !== rows * dimension) return undefined;
  const out = pages[0] instanceof Float64Array ? new Float64Array(total) : new Float32Array(total);
  let offset = 0;
  for (const page of pages) {
    out.set(page, offset);
    offset += page.length;
  }
  return { values: out, dimension };
}
