// An LRU of query answers for one store generation: any write starts a new generation and empties the cache.
import { LRUCache } from 'lru-cache';

/** Caches answers of one shape; `size` 0 turns it off. */
export class QueryCache<T extends object> {
  private readonly size: number;
  /**
   * Made on the first answer cached: lru-cache allocates its arrays for `max` entries up front, and a server with
   * a thousand collections must not pay that for the ones nobody queries.
   */
  private lru: LRUCache<string, T> | undefined;
  /** The store generation the cached answers belong to. */
  private generation = -1;

  constructor(size: number) {
    this.size = size;
  }

  get enabled(): boolean {
    return this.size > 0;
  }

  /** The key: the query vector's bytes plus every other parameter that shapes the answer. */
  static key(vector: Float32Array, parts: unknown[]): string {
    const bytes = Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64');
    return `${JSON.stringify(parts)}|${bytes}`;
  }

  /** The answer cached for `key` at `generation`, if any. */
  get(generation: number, key: string): T | undefined {
    if (!this.lru || !this.sync(generation)) return undefined;
    return this.lru.get(key);
  }

  /**
   * Caches an answer computed at `generation`. An answer computed while a write landed (an older generation) is
   * dropped, so no stale answer is ever served.
   */
  set(generation: number, key: string, value: T): void {
    if (this.size === 0 || !this.sync(generation)) return;
    this.lru ??= new LRUCache<string, T>({ max: this.size });
    this.lru.set(key, value);
  }

  /**
   * Moves to a newer generation by emptying the cache (under steady writes every entry would be dead anyway, and
   * dead entries would only hold memory); false for an older generation.
   */
  private sync(generation: number): boolean {
    if (generation < this.generation) return false;
    if (generation > this.generation) {
      this.lru?.clear();
      this.generation = generation;
    }
    return true;
  }
}
