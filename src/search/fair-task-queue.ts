// The scan pool's queue of waiting tasks: one FIFO per source (a store's batcher), served round-robin, so that on a
// shared pool a small collection's scan waits for at most one task of each busy neighbour, not for its whole backlog.
import { queueOptionsSymbol, type TaskQueue } from 'piscina';

type QueuedTask = Parameters<TaskQueue['push']>[0];

/** What a scan task carries for the queue (front thread only: symbol keys are not cloned to the worker). */
export interface SourceTag {
  source: number;
}

/** Round-robin over sources, FIFO within one. */
export class FairTaskQueue implements TaskQueue {
  private readonly queues = new Map<number, QueuedTask[]>();
  /** Sources with waiting tasks, in serving order: the head is served next and then moves to the back. */
  private readonly order: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(task: QueuedTask): void {
    const source = sourceOf(task);
    const queue = this.queues.get(source);
    if (queue) queue.push(task);
    else {
      this.queues.set(source, [task]);
      this.order.push(source);
    }
    this.count++;
  }

  /** Piscina puts a task back at the front when it could not start it: it goes first again. */
  unshift(task: QueuedTask): void {
    const source = sourceOf(task);
    const queue = this.queues.get(source);
    if (queue) {
      queue.unshift(task);
      this.order.splice(this.order.indexOf(source), 1);
    } else {
      this.queues.set(source, [task]);
    }
    this.order.unshift(source);
    this.count++;
  }

  shift(): QueuedTask | null {
    const source = this.order.shift();
    if (source === undefined) return null;
    const queue = this.queues.get(source)!;
    const task = queue.shift()!;
    if (queue.length > 0) this.order.push(source);
    else this.queues.delete(source);
    this.count--;
    return task;
  }

  remove(task: QueuedTask): void {
    const source = sourceOf(task);
    const queue = this.queues.get(source);
    const index = queue ? queue.indexOf(task) : -1;
    if (index < 0) return;
    queue!.splice(index, 1);
    this.count--;
    if (queue!.length === 0) {
      this.queues.delete(source);
      this.order.splice(this.order.indexOf(source), 1);
    }
  }
}

function sourceOf(task: QueuedTask): number {
  const options = task[queueOptionsSymbol] as Partial<SourceTag> | null;
  return options?.source ?? 0;
}
