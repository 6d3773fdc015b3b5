// Bounded top-k heaps over parallel typed arrays (distance, slot), shared by the exact scan and the graph search.

/**
 * A max-heap by (distance, slot) stored in parallel typed arrays at offset `base`, so the worst kept row is at the top
 * and a better row replaces it in O(log k). Ties order by slot: an equal distance never displaces the older (lower) slot.
 */
export function worse(dist: Float64Array, slots: Int32Array, a: number, b: number): boolean {
  return dist[a] > dist[b] || (dist[a] === dist[b] && slots[a] > slots[b]);
}

function swap(dist: Float64Array, slots: Int32Array, a: number, b: number): void {
  const d = dist[a];
  dist[a] = dist[b];
  dist[b] = d;
  const s = slots[a];
  slots[a] = slots[b];
  slots[b] = s;
}

/** Adds (d, slot) to a heap holding `size` entries (the caller checked there is room). */
export function heapPush(dist: Float64Array, slots: Int32Array, base: number, size: number, d: number, slot: number): void {
  let i = size;
  dist[base + i] = d;
  slots[base + i] = slot;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!worse(dist, slots, base + i, base + parent)) break;
    swap(dist, slots, base + i, base + parent);
    i = parent;
  }
}

function siftDown(dist: Float64Array, slots: Int32Array, base: number, size: number, start: number): void {
  let i = start;
  for (;;) {
    const left = 2 * i + 1;
    const right = left + 1;
    let largest = i;
    if (left < size && worse(dist, slots, base + left, base + largest)) largest = left;
    if (right < size && worse(dist, slots, base + right, base + largest)) largest = right;
    if (largest === i) return;
    swap(dist, slots, base + i, base + largest);
    i = largest;
  }
}

/** Replaces the worst entry of a full heap with (d, slot). */
export function heapReplaceTop(dist: Float64Array, slots: Int32Array, base: number, size: number, d: number, slot: number): void {
  dist[base] = d;
  slots[base] = slot;
  siftDown(dist, slots, base, size, 0);
}

/** Removes the worst entry; returns the new size. */
export function heapPopTop(dist: Float64Array, slots: Int32Array, base: number, size: number): number {
  const last = size - 1;
  if (last > 0) {
    dist[base] = dist[base + last];
    slots[base] = slots[base + last];
    siftDown(dist, slots, base, last, 0);
  }
  return last;
}

/** Offers (d, slot) to a heap of capacity `k` holding `size` entries; returns the new size. */
export function heapOffer(dist: Float64Array, slots: Int32Array, base: number, size: number, k: number, d: number, slot: number): number {
  if (size < k) {
    heapPush(dist, slots, base, size, d, slot);
    return size + 1;
  }
  if (d < dist[base] || (d === dist[base] && slot < slots[base])) heapReplaceTop(dist, slots, base, size, d, slot);
  return size;
}

/** Heap-sorts in place so the kept rows read best first. */
export function heapSortAscending(dist: Float64Array, slots: Int32Array, base: number, size: number): void {
  for (let end = size - 1; end > 0; end--) {
    swap(dist, slots, base, base + end);
    siftDown(dist, slots, base, end, 0);
  }
}

/**
 * A min-heap of (distance, slot) pairs that grows as needed: the candidate queue of a graph search, always expanding
 * the closest unexpanded node first.
 */
export class MinQueue {
  dist = new Float64Array(64);
  slots = new Int32Array(64);
  size = 0;

  clear(): void {
    this.size = 0;
  }

  push(d: number, slot: number): void {
    if (this.size === this.dist.length) {
      const dist = new Float64Array(this.size * 2);
      dist.set(this.dist);
      this.dist = dist;
      const slots = new Int32Array(this.size * 2);
      slots.set(this.slots);
      this.slots = slots;
    }
    const { dist, slots } = this;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (dist[parent] <= d) break;
      dist[i] = dist[parent];
      slots[i] = slots[parent];
      i = parent;
    }
    dist[i] = d;
    slots[i] = slot;
  }

  /** Distance of the closest entry (the queue must not be empty). */
  topDistance(): number {
    return this.dist[0];
  }

  /** Removes the closest entry and returns its slot. */
  pop(): number {
    const { dist, slots } = this;
    const top = slots[0];
    const last = --this.size;
    if (last > 0) {
      const d = dist[last];
      const s = slots[last];
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= last) break;
        const right = left + 1;
        const child = right < last && dist[right] < dist[left] ? right : left;
        if (dist[child] >= d) break;
        dist[i] = dist[child];
        slots[i] = slots[child];
        i = child;
      }
      dist[i] = d;
      slots[i] = s;
    }
    return top;
  }
}
