// Options the server's worker thread pools (scans, parsing) start their threads with.

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
