// Frees the memory of dropped shared segments promptly. A SharedArrayBuffer's memory is released once every thread
// that saw it has collected its views, and V8 does not count shared buffers as memory pressure: a thread that
// allocates little (an idle worker, a quiet front thread) may not run a full collection for hours, so every compaction
// or restore would leave its old segments resident (measured: +1 GB after 100 compactions of a small store). Each
// thread that drops segments asks for one full collection after the burst.
import v8 from 'node:v8';
import vm from 'node:vm';

let fullCollection: (() => void) | undefined;
let scheduled = false;

/** Runs one full garbage collection shortly (once for a burst of drops), on the calling thread. */
export function collectDroppedSoon(): void {
  if (scheduled) return;
  scheduled = true;
  setTimeout(() => {
    scheduled = false;
    // Made callable at run time: a worker's execArgv cannot carry V8 flags, and the server should not need one.
    if (!fullCollection) {
      v8.setFlagsFromString('--expose-gc');
      fullCollection = vm.runInNewContext('gc') as () => void;
    }
    fullCollection();
  }, 50).unref();
}
