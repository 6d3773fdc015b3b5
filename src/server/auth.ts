// API keys: full keys may do anything, read-only keys may only read; compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import { VecStoreError } from '../errors.js';

export interface AuthConfig {
  apiKeys: string[];
  readOnlyApiKeys: string[];
}

/** Checks presented keys against the configured ones. With no keys configured, everyone may do everything. */
export class Authenticator {
  private readonly full: Buffer[];
  private readonly readOnly: Buffer[];

  constructor(config: AuthConfig) {
    this.full = config.apiKeys.filter((k) => k.length > 0).map(digest);
    this.readOnly = config.readOnlyApiKeys.filter((k) => k.length > 0).map(digest);
  }

  get enabled(): boolean {
    return this.full.length + this.readOnly.length > 0;
  }

  /**
   * Throws unauthorized (401) without a valid key, forbidden (403) for a read-only key on a write.
   * Keys come from `Authorization: Bearer <key>` or `api-key: <key>`.
   */
  check(authorization: string, apiKeyHeader: string, writes: boolean): void {
    if (!this.enabled) return;
    const presented = apiKeyHeader !== '' ? apiKeyHeader : bearer(authorization);
    if (presented === undefined) throw new VecStoreError('unauthorized', 'authorization: an API key is required (Authorization: Bearer <key> or api-key: <key>)');
    this.checkKey(presented, writes);
  }

  /** Checks one presented key (WebSocket subprotocol offers use this). */
  checkKey(presented: string, writes: boolean): void {
    if (!this.enabled) return;
    const d = digest(presented);
    // Compare against every key so the time taken does not say which (or whether one) matched early.
    let isFull = false;
    let isReadOnly = false;
    for (const key of this.full) isFull = timingSafeEqual(key, d) || isFull;
    for (const key of this.readOnly) isReadOnly = timingSafeEqual(key, d) || isReadOnly;
    if (isFull) return;
    if (!isReadOnly) throw new VecStoreError('unauthorized', 'authorization: the API key is not valid');
    if (writes) throw new VecStoreError('forbidden', 'authorization: this API key is read-only and may not write');
  }
}

function bearer(header: string): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match ? match[1].trim() : undefined;
}

// Hashing first gives equal-length buffers, which timingSafeEqual requires, without revealing the key length.
function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}
