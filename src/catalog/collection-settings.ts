// A collection's name and settings: validation of the wire form, defaults, comparison for idempotent creates, and
// the `collection.json` file form.
import { VecStoreError } from '../errors.js';
import { METRIC_NAMES, type MetricName } from '../distance/metric.js';
import { isPlainObject } from '../engine/record-validation.js';
import type { IndexKind } from '../engine/engine.js';
import { DEFAULT_HNSW, type HnswSettings as IndexHnswSettings } from '../index/hnsw-index.js';

/** The index a collection searches with. Exact scan is `flat`; `hnsw` is the graph index. */
export type { IndexKind };
export const INDEX_KINDS: readonly IndexKind[] = ['hnsw', 'flat'];

/** HNSW parameters (wire names): graph degree, build-time and query-time candidate list sizes. */
export interface HnswSettings {
  m: number;
  ef_construction: number;
  ef: number;
}

/** What a collection is created with. `dimension` undefined: the first vector fixes it. */
export interface CollectionSettings {
  dimension: number | undefined;
  metric: MetricName;
  index: IndexKind;
  hnsw: HnswSettings;
}

/** The name of the collection the unprefixed `/v1/...` routes act on. */
export const DEFAULT_COLLECTION = 'default';

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Throws `invalid_collection_name` unless `name` is 1-64 letters, digits, `_`, `-`, starting with a letter or digit. */
export function validateCollectionName(name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw new VecStoreError(
      'invalid_collection_name',
      `name: a collection name is 1-64 letters, digits, '_' or '-', starting with a letter or digit (got ${JSON.stringify(name)})`,
    );
  }
  return name;
}

const HNSW_BOUNDS: Record<keyof HnswSettings, [number, number]> = { m: [2, 256], ef_construction: [1, 100_000], ef: [1, 100_000] };

/**
 * Parses the body of `PUT /v1/collections/:name`; omitted fields take the defaults (`metric` the server's `--metric`).
 * Errors name the field.
 */
export function parseCollectionSettings(body: Record<string, unknown>, defaults: Omit<CollectionSettings, 'dimension'>, maxDimension: number): CollectionSettings {
  for (const key of Object.keys(body)) {
    if (!['dimension', 'metric', 'index', 'hnsw'].includes(key)) {
      throw new VecStoreError('validation', `${key}: unknown setting (a collection takes dimension, metric, index and hnsw)`);
    }
  }
  let dimension: number | undefined;
  if (body.dimension !== undefined && body.dimension !== null) {
    if (!Number.isInteger(body.dimension) || (body.dimension as number) < 1) throw new VecStoreError('validation', 'dimension: must be a positive integer');
    dimension = body.dimension as number;
    if (dimension > maxDimension) throw new VecStoreError('dimension_too_large', `dimension: ${dimension} is over the limit of ${maxDimension}`);
  }
  const metric = body.metric ?? defaults.metric;
  if (typeof metric !== 'string' || !(METRIC_NAMES as string[]).includes(metric)) {
    throw new VecStoreError('validation', `metric: must be one of ${METRIC_NAMES.join(', ')}`);
  }
  const index = body.index ?? defaults.index;
  if (typeof index !== 'string' || !(INDEX_KINDS as string[]).includes(index)) throw new VecStoreError('validation', `index: must be one of ${INDEX_KINDS.join(', ')}`);
  const hnsw = { ...defaults.hnsw };
  if (body.hnsw !== undefined) {
    if (!isPlainObject(body.hnsw)) throw new VecStoreError('validation', 'hnsw: must be an object {m, ef_construction, ef}');
    for (const [key, value] of Object.entries(body.hnsw)) {
      const bounds = HNSW_BOUNDS[key as keyof HnswSettings];
      if (!Object.hasOwn(HNSW_BOUNDS, key)) throw new VecStoreError('validation', `hnsw.${key}: unknown setting (hnsw takes m, ef_construction and ef)`);
      if (!Number.isInteger(value) || (value as number) < bounds[0] || (value as number) > bounds[1]) {
        throw new VecStoreError('validation', `hnsw.${key}: must be an integer from ${bounds[0]} to ${bounds[1]}`);
      }
      hnsw[key as keyof HnswSettings] = value as number;
    }
  }
  return { dimension, metric: metric as MetricName, index: index as IndexKind, hnsw };
}

/**
 * Whether a repeated create asks for what the collection already is. A requested dimension must equal the
 * collection's current one (fixed at creation or by its first vector); an omitted one matches any.
 */
export function sameSettings(existing: CollectionSettings, currentDimension: number | undefined, requested: CollectionSettings): boolean {
  return (
    (requested.dimension === undefined || requested.dimension === currentDimension) &&
    requested.metric === existing.metric &&
    requested.index === existing.index &&
    requested.hnsw.m === existing.hnsw.m &&
    requested.hnsw.ef_construction === existing.hnsw.ef_construction &&
    requested.hnsw.ef === existing.hnsw.ef
  );
}

/** `collection.json`: written once when the collection is created, inside the directory that the create renames. */
export interface CollectionFile {
  format: 1;
  name: string;
  dimension: number | null;
  metric: MetricName;
  index: IndexKind;
  hnsw: HnswSettings;
  created_at: number;
}

export function toCollectionFile(name: string, settings: CollectionSettings): CollectionFile {
  return { format: 1, name, dimension: settings.dimension ?? null, metric: settings.metric, index: settings.index, hnsw: settings.hnsw, created_at: Math.floor(Date.now() / 1000) };
}

/** Reads a `collection.json` back; throws on anything a create could not have written. */
export function fromCollectionFile(text: string): { settings: CollectionSettings; createdAt: number } {
  const parsed: unknown = JSON.parse(text);
  if (!isPlainObject(parsed) || parsed.format !== 1) throw new Error('not a format-1 collection.json');
  // Every field is in the file: the defaults are never used, but a setting missing from it is an error.
  for (const field of ['metric', 'index', 'hnsw']) if (parsed[field] === undefined) throw new Error(`collection.json has no ${field}`);
  const fallback = { metric: 'cosine' as const, index: 'hnsw' as const, hnsw: hnswToWire(DEFAULT_HNSW) };
  const settings = parseCollectionSettings({ dimension: parsed.dimension, metric: parsed.metric, index: parsed.index, hnsw: parsed.hnsw }, fallback, Number.MAX_SAFE_INTEGER);
  return { settings, createdAt: typeof parsed.created_at === 'number' ? parsed.created_at : 0 };
}

/** The index's HNSW settings in their wire (and `collection.json`) form. */
export function hnswToWire(settings: IndexHnswSettings): HnswSettings {
  return { m: settings.m, ef_construction: settings.efConstruction, ef: settings.ef };
}

/** Wire-form HNSW settings as the index takes them. */
export function hnswFromWire(settings: HnswSettings): IndexHnswSettings {
  return { m: settings.m, efConstruction: settings.ef_construction, ef: settings.ef };
}
