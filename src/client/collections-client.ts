// `client.collections`: create, list, describe and drop collections (the admin routes under /v1/collections).
import type { CallOptions, HttpTransport } from './http-transport.js';
import type { CollectionInfo, CollectionListAnswer, CollectionSummary, CreateCollectionRequest, DropCollectionAnswer } from '../api/schemas.js';

export class CollectionsClient {
  constructor(private readonly transport: HttpTransport) {}

  /**
   * Creates a collection, or confirms one that exists with the same settings (409 `conflict` with others). Retried on
   * 429/503: a repeated create with the same settings answers as the first did (200 instead of 201).
   */
  create(name: string, settings: CreateCollectionRequest = {}, call?: CallOptions): Promise<CollectionInfo> {
    return this.transport.json({ method: 'PUT', path: collectionPath(name), json: settings, idempotent: true, ...call });
  }

  /** The collections the key may see. */
  async list(call?: CallOptions): Promise<CollectionSummary[]> {
    const answer = await this.transport.json<CollectionListAnswer>({ method: 'GET', path: '/v1/collections', idempotent: true, ...call });
    return answer.collections;
  }

  /** Settings and stats; an unknown name throws 404 `collection_not_found`. */
  get(name: string, call?: CallOptions): Promise<CollectionInfo> {
    return this.transport.json({ method: 'GET', path: collectionPath(name), idempotent: true, ...call });
  }

  /** Drops a collection: its memory and files go. Not retried (a repeat after a lost answer would be a 404). */
  drop(name: string, call?: CallOptions): Promise<DropCollectionAnswer> {
    return this.transport.json({ method: 'DELETE', path: collectionPath(name), idempotent: false, ...call });
  }
}

function collectionPath(name: string): string {
  return `/v1/collections/${encodeURIComponent(name)}`;
}
