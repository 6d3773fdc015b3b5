// One query path for HTTP routes and WebSocket messages: validate the body against its schema, parse it into the
// engine's typed query, run it on the collection, count it; and the wire shapes of its answer for either transport.
import type { Collection } from '../catalog/collection.js';
import type { QueryAnswer as EngineAnswer, QueryHit } from '../engine/engine.js';
import type { Limits } from '../engine/limits.js';
import type { VecStoreMetrics } from '../metrics/metrics.js';
import { parseHybridQuery, parseVectorQuery } from './query-request.js';
import type { RequestBody } from './request-fields.js';
import type { QueryAnswer, WsCompleteMessage } from './schemas.js';
import { validated } from './validate.js';

export type QueryBody = Extract<RequestBody, 'query' | 'hybridQuery' | 'wsQuery'>;

/**
 * Runs a query body of schema `kind` (a WebSocket message is hybrid when it has `text_query`). `collection` is
 * resolved after the field check, before the values are parsed; `vector` is the vector of a raw float32 body.
 */
export async function runQuery(
  kind: QueryBody,
  body: Record<string, unknown>,
  collection: () => Collection,
  limits: Limits,
  metrics: VecStoreMetrics | undefined,
  vector?: Float32Array,
): Promise<EngineAnswer & { cached: boolean }> {
  const hybrid = kind === 'hybridQuery' || (kind === 'wsQuery' && body.text_query !== undefined);
  const { target, query } = validated(kind, body, (b) => ({
    target: collection(),
    query: hybrid ? { hybrid: parseHybridQuery(b, limits, vector) } : { vector: parseVectorQuery(b, limits, vector) },
  }), { rawVector: vector !== undefined });
  const answer = query.hybrid ? await target.engine.hybridQuery(query.hybrid) : await target.engine.query(query.vector!);
  metrics?.observeQuery(hybrid ? 'hybrid' : 'vector', answer.results.length, answer.cached, answer.stats.index);
  return answer;
}

/** The HTTP answer of a query. */
export function queryAnswer(answer: EngineAnswer): QueryAnswer {
  return { results: answer.results, stats: answer.stats };
}

/** One hit as its own WebSocket message. */
export function wsHitMessage(hit: QueryHit, requestId: { request_id?: unknown }): string {
  return JSON.stringify({ id: hit.id, score: hit.score, metadata: hit.metadata, ...(hit.vector ? { vector: hit.vector } : {}), ...(hit.text !== undefined ? { text: hit.text } : {}), ...requestId });
}

/** The last WebSocket message of an answer. */
export function wsCompleteMessage(answer: EngineAnswer, requestId: { request_id?: unknown }, traced: { traceresponse?: string }): string {
  const message: WsCompleteMessage = { complete: true, ...requestId, ...traced, stats: { ...answer.stats, total_results: answer.results.length } };
  return JSON.stringify(message);
}
