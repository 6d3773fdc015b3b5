// The memory request bodies may hold at once: each body takes its bytes as they are reserved (its declared length, or
// chunk by chunk) and gives them back when its answer is written, so many large uploads wait their turn (429 with
// Retry-After) instead of taking the server's memory.

export class BodyBudget {
  private used = 0;

  /** `limit` bytes in all; never less than `largestBody`, so that one largest body always fits. */
  constructor(limit: number, largestBody: number) {
    this.limit = Math.max(limit, largestBody);
  }

  readonly limit: number;

  /** Bytes held by bodies being received or handled. */
  get inUse(): number {
    return this.used;
  }

  /** Takes `bytes` if they fit; false (nothing taken) if they do not. */
  tryTake(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}
