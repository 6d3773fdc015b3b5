// Options the server's worker thread pools (scans, parsing) start their threads with, and their scheduling priority.
import fs from 'node:fs';
import os from 'node:os';

/**
 * Piscina loads a worker's module with `require()` before trying `import()`, and Node 20.19+ `require()`s ES modules
 * synchronously. A thread terminated in the middle of that load (a pool destroyed by a SIGTERM that arrives while a
 * thread is still starting) aborted the whole process with a V8 fatal error ("Module::IsGraphAsync must be used on
 * an instantiated module") instead of letting it shut down. Without require(esm) in the threads, Piscina falls back
 * to `import()`, which a termination interrupts cleanly. (Setting execArgv replaces the parent's for the thread;
 * the server is started without Node options of its own.)
 */
export const WORKER_EXEC_ARGV: string[] | undefined = process.allowedNodeEnvironmentFlags.has('--no-experimental-require-module')
  ? ['--no-experimental-require-module']
  : // Node before 20.17 has no require(esm) and would refuse the flag (the engines field allows any Node 20):
    // threads then inherit the parent's options, as they did before.
    undefined;

/**
 * How far the threads of background work — parsing batch bodies, building graphs — sit below the process's priority
 * (in nice steps): when a bulk load and queries want the same cores, the threads answering queries get about three
 * times a background thread's share, so queries stay quick and the load slows instead. Background threads share
 * among themselves as equals, and a load without queries loses nothing (no one else wants the cores). Measured in
 * docs/ingest.md.
 */
export const BACKGROUND_THREAD_NICENESS = 5;

/**
 * Lowers the calling thread's scheduling priority by `steps` nice steps (Linux keeps a nice value per thread, and
 * setpriority takes a thread id). Answers whether it could: elsewhere there is no /proc/thread-self and the thread
 * keeps the process's priority.
 */
export function lowerThreadPriority(steps: number): boolean {
  try {
    const threadId = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(threadId) || threadId <= 0) return false;
    os.setPriority(threadId, Math.min(19, os.getPriority(threadId) + steps));
    return true;
  } catch {
    return false;
  }
}
