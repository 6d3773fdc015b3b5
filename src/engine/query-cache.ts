// An LRU of query answers keyed by everything that shapes the answer plus the store generation, so writes invalidate it.
import { LRUCache } from 'lru-cache';

/** Caches answers of one shape; `size` 0 turns it off. */
export class QueryCache<T extends object> {
  private readonly lru: LRUCache<string, T> | undefined;

  constructor(size: number) {
    this.lru = size > 0 ? new LRUCache<string, T>({ max: size }) : undefined;
  }

  get enabled(): boolean {
    return this.lru !== undefined;
  }

  /**
   * The key: the query vector's bytes plus every other parameter and the store generation. An answer computed while a
   * write landed is stored under the old generation and can never be served afterwards.
   */
  static key(generation: number, vector: Float32Array, parts: unknown[]): string {
    const bytes = Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64');
    return `${generation}|${JSON.stringify(parts)}|${bytes}`;
  }

  get(key: string): T | undefined {
    return this.lru?.get(key);
  }

  set(key: string, value: T): void {
    this.lru?.set(key, value);
  }

  clear(): void {
    this.lru?.clear();
  }
}
