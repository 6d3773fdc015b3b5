// The client's entry object: `new VecStoreClient({url, apiKey?, timeoutMs?, retries?})`, the `default` collection's
// methods on itself, `collection(name)` for the others, `collections` to manage them.
import { CollectionClient, DEFAULT_COLLECTION } from './collection-client.js';
import { CollectionsClient } from './collections-client.js';
import { HttpTransport, type CallOptions, type TransportOptions } from './http-transport.js';
import type { HealthAnswer } from '../api/schemas.js';

export type VecStoreClientOptions = TransportOptions;

/**
 * A client of one VecStore server. Its own data methods (`upsert`, `query`, `scroll`, ...) act on `default` through
 * the unprefixed `/v1/...` routes, which create it on its first write; `collection(name)` returns the same methods
 * for a named collection. Every call throws VecStoreError on failure.
 */
export class VecStoreClient extends CollectionClient {
  readonly collections: CollectionsClient;

  constructor(options: VecStoreClientOptions) {
    const transport = new HttpTransport(options);
    super(transport, DEFAULT_COLLECTION, '/v1');
    this.collections = new CollectionsClient(transport);
  }

  /** `GET /health` (needs no key): `{status: "healthy"}` while the process serves requests. */
  health(call?: CallOptions): Promise<HealthAnswer> {
    return this.transport.json({ method: 'GET', path: '/health', idempotent: true, ...call });
  }

  /** The data methods of collection `name` (nothing is sent until one is called). */
  collection(name: string): CollectionClient {
    return new CollectionClient(this.transport, name);
  }
}
