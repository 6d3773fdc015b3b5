// The memory request bodies may hold at once: each body takes its bytes as they are reserved (its declared length, or
// chunk by chunk) and gives them back when its answer is written, so many large uploads wait their turn (429 with
// Retry-After) instead of taking the server's memory.
import type { Limits } from '../engine/limits.js';

/** The budget's size: --max-body-memory, never less than --max-body, so that one largest body always fits. */
export function bodyMemoryLimit(limits: Pick<Limits, 'maxBodyMemoryBytes' | 'maxBodyBytes'>): number {
  return Math.max(limits.maxBodyMemoryBytes, limits.maxBodyBytes);
}

export class BodyBudget {
  private used = 0;

  /** `onChange` hears the bytes in use after every change (the metrics gauge). */
  constructor(
    readonly limit: number,
    private readonly onChange?: (inUse: number) => void,
  ) {}

  /** Bytes held by bodies being received or handled. */
  get inUse(): number {
    return this.used;
  }

  /** Takes `bytes` if they fit; false (nothing taken) if they do not. */
  tryTake(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    this.onChange?.(this.used);
    return true;
  }

  give(bytes: number): void {
    if (bytes === 0) return;
    this.used = Math.max(0, this.used - bytes);
    this.onChange?.(this.used);
  }
}
