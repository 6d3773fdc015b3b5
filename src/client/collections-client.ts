// `client.collections`: create, list, describe and drop collections (the admin routes under /v1/collections).
import type { HttpTransport } from './http-transport.js';
import type { CollectionInfo, CollectionListAnswer, CollectionSummary, CreateCollectionRequest, DropCollectionAnswer } from '../api/schemas.js';

export class CollectionsClient {
  constructor(private readonly transport: HttpTransport) {}

  /**
   * Creates a collection, or confirms one that exists with the same settings (409 `conflict` with others). Retried on
   * 429/503: a repeated create with the same settings answers as the first did (200 instead of 201).
   */
  create(name: string, settings: CreateCollectionRequest = {}): Promise<CollectionInfo> {
    return this.transport.json({ method: 'PUT', path: collectionPath(name), json: settings, idempotent: true });
  }

  /** The collections the key may see. */
  async list(): Promise<CollectionSummary[]> {
    const answer = await this.transport.json<CollectionListAnswer>({ method: 'GET', path: '/v1/collections', idempotent: true });
    return answer.collections;
  }

  /** Settings and stats; an unknown name throws 404 `collection_not_found`. */
  get(name: string): Promise<CollectionInfo> {
    return this.transport.json({ method: 'GET', path: collectionPath(name), idempotent: true });
  }

  /** Drops a collection: its memory and files go. Not retried (a repeat after a lost answer would be a 404). */
  drop(name: string): Promise<DropCollectionAnswer> {
    return this.transport.json({ method: 'DELETE', path: collectionPath(name), idempotent: false });
  }
}

function collectionPath(name: string): string {
  return `/v1/collections/${encodeURIComponent(name)}`;
}
