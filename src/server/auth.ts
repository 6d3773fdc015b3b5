// API keys: who presents which key (constant-time), and whether that key's role and collections allow a request.
import { createHash, timingSafeEqual } from 'node:crypto';
import { VecStoreError } from '../errors.js';
import { inScope, roleAllows, type Access, type ApiKeyEntry, type Principal } from '../catalog/api-keys.js';

export type { Principal } from '../catalog/api-keys.js';

export interface AuthConfig {
  /** `--api-key`: admin keys for every collection. */
  apiKeys: string[];
  /** `--read-only-api-key`: read keys for every collection. */
  readOnlyApiKeys: string[];
  /** Keys from `--api-keys-file` (replaced on SIGHUP through `replaceFileKeys`). */
  fileKeys?: ApiKeyEntry[];
}

interface KnownKey {
  digest: Buffer;
  principal: Principal;
}

/** Checks presented keys against the configured ones. With no keys configured, everyone may do everything. */
export class Authenticator {
  private readonly flagKeys: KnownKey[];
  private keys: KnownKey[];

  constructor(config: AuthConfig) {
    const everywhere = ['*'];
    this.flagKeys = [
      ...config.apiKeys.filter((k) => k.length > 0).map((k) => ({ digest: digest(k), principal: { role: 'admin' as const, collections: everywhere } })),
      ...config.readOnlyApiKeys.filter((k) => k.length > 0).map((k) => ({ digest: digest(k), principal: { role: 'read' as const, collections: everywhere } })),
    ];
    this.keys = [...this.flagKeys, ...toKnown(config.fileKeys ?? [])];
  }

  /** Swaps in a new keys file's keys (the command-line keys stay). */
  replaceFileKeys(entries: ApiKeyEntry[]): void {
    this.keys = [...this.flagKeys, ...toKnown(entries)];
  }

  get enabled(): boolean {
    return this.keys.length > 0;
  }

  get keyCount(): number {
    return this.keys.length;
  }

  /**
   * The principal of the key in `api-key: <key>` or `Authorization: Bearer <key>`; undefined when auth is off.
   * Throws unauthorized (401) without a valid key.
   */
  authenticate(authorization: string, apiKeyHeader: string): Principal | undefined {
    if (!this.enabled) return undefined;
    const presented = apiKeyHeader !== '' ? apiKeyHeader : bearer(authorization);
    if (presented === undefined) throw new VecStoreError('unauthorized', 'authorization: an API key is required (Authorization: Bearer <key> or api-key: <key>)');
    return this.authenticateKey(presented);
  }

  /** The principal of one presented key (WebSocket subprotocol offers use this); undefined when auth is off. */
  authenticateKey(presented: string): Principal | undefined {
    if (!this.enabled) return undefined;
    const d = digest(presented);
    // Compare against every key so the time taken does not say which (or whether one) matched early.
    let found: Principal | undefined;
    for (const key of this.keys) if (timingSafeEqual(key.digest, d) && found === undefined) found = key.principal;
    if (!found) throw new VecStoreError('unauthorized', 'authorization: the API key is not valid');
    return found;
  }
}

/**
 * Throws forbidden (403) unless the principal's role includes `access` and, for a request on a collection, the key's
 * collections include it. No principal (auth off) may do anything.
 */
export function authorize(principal: Principal | undefined, access: Access, collection: string | undefined): void {
  if (!principal) return;
  if (!roleAllows(principal.role, access)) {
    throw new VecStoreError(
      'forbidden',
      principal.role === 'read' ? 'authorization: this API key is read-only and may not write' : 'authorization: this API key may not create or drop collections (that needs the admin role)',
    );
  }
  if (collection !== undefined && !inScope(principal.collections, collection)) {
    throw new VecStoreError('forbidden', `collection: this API key may not use collection ${JSON.stringify(collection)}`);
  }
}

/** Whether the principal may see a collection at all (lists show only those). */
export function canSee(principal: Principal | undefined, collection: string): boolean {
  return !principal || inScope(principal.collections, collection);
}

function toKnown(entries: ApiKeyEntry[]): KnownKey[] {
  return entries.map((e) => ({ digest: digest(e.key), principal: { role: e.role, collections: e.collections } }));
}

function bearer(header: string): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match ? match[1].trim() : undefined;
}

// Hashing first gives equal-length buffers, which timingSafeEqual requires, without revealing the key length.
function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}
