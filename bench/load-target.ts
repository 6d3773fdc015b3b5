// The server a load run talks to, through the public client (`vecstore/client`) as a user would: reachability, the
// collection for the dataset, and checks that the server can hold it as asked.
import { VecStoreClient, VecStoreError, type CollectionClient } from '../src/client/index.js';
import type { MetricName } from '../src/distance/metric.js';

/**
 * Where a run reads and writes: a server, one collection of it (none: the unprefixed routes, i.e. `default`), and the
 * API key to send.
 */
export interface ServerTarget {
  /** Server base URL, e.g. http://127.0.0.1:8080. */
  url: string;
  collection?: string;
  apiKey?: string;
}

/** A failure of the run itself (server unreachable, ingest rejected), as one line. */
export class LoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoadError';
  }
}

/**
 * Setup and ingest calls retry 429/503 as any client would. Measured queries do not (`retries: 0`): a refused query
 * is counted as an error instead of being hidden in a longer latency. No deadline short of a hang.
 */
const SETUP_TIMEOUT_MS = 120_000;

/** A client of the target and the handle of its collection. */
export function targetClient(target: ServerTarget, options: { measured?: boolean } = {}): { client: VecStoreClient; data: CollectionClient } {
  const client = new VecStoreClient({ url: target.url, apiKey: target.apiKey, timeoutMs: SETUP_TIMEOUT_MS, retries: options.measured ? 0 : undefined });
  return { client, data: target.collection === undefined ? client : client.collection(target.collection) };
}

/** One line for a failed call: `HTTP 409 dimension_mismatch: vector: ...`, or the network reason. */
export function failureText(err: unknown): string {
  if (err instanceof VecStoreError) return err.status === 0 ? `${err.code}: ${err.message}` : `HTTP ${err.status} ${err.code}: ${err.message}`;
  return (err as Error).message;
}

/** Fails fast with one clear line when nothing answers at the URL. */
export async function checkReachable(url: string): Promise<void> {
  try {
    await new VecStoreClient({ url, timeoutMs: 10_000, retries: 0 }).health();
  } catch (err) {
    throw new LoadError(`cannot reach the server at ${url}: ${failureText(err)}`);
  }
}

/**
 * Creates the target's collection for a dataset (the same settings again is fine). A key that may not create
 * collections may still load into one that exists.
 */
export async function ensureCollection(target: ServerTarget, dim: number, metric: MetricName): Promise<void> {
  if (target.collection === undefined) return;
  const { client } = targetClient(target);
  try {
    await client.collections.create(target.collection, { dimension: dim, metric });
  } catch (err) {
    if (err instanceof VecStoreError && err.status === 403 && (await client.collections.get(target.collection).then(() => true, () => false))) return;
    throw new LoadError(`cannot create collection ${target.collection} for ${dim}-dimensional ${metric} vectors: ${failureText(err)}`);
  }
}

/** The collection's stats, or undefined when they cannot be read (they are advisory). */
export async function targetStats(target: ServerTarget): Promise<Record<string, unknown> | undefined> {
  return targetClient(target).data.stats().catch(() => undefined);
}

/** Fails with one line when the server's fixed dimension or metric cannot take this dataset as asked. */
export async function checkCompatible(target: ServerTarget, dim: number, metric: MetricName): Promise<void> {
  const where = target.collection === undefined ? target.url : `${target.url} (collection ${target.collection})`;
  const s = await targetStats(target);
  if (!s) return;
  if (typeof s.dimension === 'number' && s.dimension > 0 && s.dimension !== dim) {
    throw new LoadError(`the server at ${where} stores ${s.dimension}-dimensional vectors, the dataset has ${dim}`);
  }
  if (typeof s.metric === 'string' && s.metric !== metric) {
    throw new LoadError(`the server at ${where} uses the ${s.metric} metric, but --metric is ${metric}`);
  }
}
