// Long front-thread loops (filter evaluation) cut into slices of a few milliseconds, with a budget on their total.

/**
 * Longest a slice may hold the front thread. Between slices the loop yields with setImmediate, so I/O (other requests,
 * `/health`) runs; one item is the smallest step, so a slice may run over by one item (one record's metadata).
 */
export const SLICE_MS = 5;

/**
 * Runs `step(count)` — which handles up to `count` more items and returns true once there are none left — until it is
 * done, in slices of about {@link SLICE_MS}. Returns false if `stillValid` says no after a yield (the caller starts
 * over). Throws `overBudget()` once the slices together took more than `budgetMs`: time spent waiting between slices is
 * not counted, so concurrent loops do not eat each other's budgets.
 */
export async function inSlices(
  step: (count: number) => boolean,
  budgetMs: number,
  overBudget: () => Error,
  stillValid: () => boolean = () => true,
): Promise<boolean> {
  let spent = 0;
  // Items between clock reads: doubled while items are cheap (reading the clock per item would cost more than a small
  // filter does), back to 1 as soon as they are not (a record with large metadata can take a millisecond).
  let stride = 1;
  for (;;) {
    const started = performance.now();
    let last = started;
    let done = false;
    while (!done && last - started < SLICE_MS) {
      done = step(stride);
      const now = performance.now();
      stride = now - last < 0.05 ? Math.min(stride * 2, 64) : 1;
      last = now;
    }
    spent += last - started;
    if (done) return true;
    if (spent > budgetMs) throw overBudget();
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (!stillValid()) return false;
  }
}
