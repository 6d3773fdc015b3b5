// Shared pieces of the server-level benchmarks: child servers on loopback, wrk runs, latency summaries.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const CLI = path.resolve(HERE, '../src/cli.js');

export interface ChildServer {
  url: string;
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts a node script that logs `{"msg":"listening","port":N}` on stdout, and waits for that line. */
export async function startChild(args: string[], env: Record<string, string> = {}): Promise<ChildServer> {
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n')) {
        try {
          const event = JSON.parse(line) as { msg?: string; port?: number };
          if (event.msg === 'listening' && event.port) resolve(event.port);
        } catch {
          // partial line
        }
      }
    });
    proc.once('exit', (code) => reject(new Error(`server exited with ${code} before listening`)));
  });
  proc.stdout!.resume();
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    const res = await fetch(`${url}/ready`).catch(() => undefined);
    if (res === undefined || res.status === 200 || res.status === 404) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port,
    proc,
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    }),
  };
}

/** Starts `vecstore serve` on a free port with a fresh data directory. */
export function startVecStore(extraArgs: string[], env: Record<string, string> = {}): Promise<ChildServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vecstore-bench-'));
  return startChild([CLI, 'serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, ...extraArgs], env);
}

export interface WrkResult {
  /** Requests completed in the run. */
  requests: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/** Whether wrk (Debian package `wrk`) is installed. */
export function haveWrk(): boolean {
  return !spawnSync('wrk', ['--version']).error;
}

/** Runs wrk with `--latency`; `body` makes it a POST of that JSON body, `script` runs a wrk Lua script instead. */
export function runWrk(url: string, options: { seconds: number; connections: number; threads?: number; body?: string; script?: string }): WrkResult {
  const args = ['-t', String(options.threads ?? 1), '-c', String(options.connections), '-d', `${options.seconds}s`, '--latency'];
  const lua = options.script ?? (options.body !== undefined ? `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${JSON.stringify(options.body)}\n` : undefined);
  if (lua !== undefined) {
    const script = path.join(mkdtempSync(path.join(os.tmpdir(), 'wrk-')), 'script.lua');
    writeFileSync(script, lua);
    args.push('-s', script);
  }
  const out = spawnSync('wrk', [...args, url], { encoding: 'utf8' }).stdout;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p = (q: string) => toMs(new RegExp(`^\\s+${q}%\\s+([\\d.]+\\w+)`, 'm').exec(out)?.[1] ?? 'NaN');
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  return { requests, requestsPerSec: rps, p50Ms: p('50'), p99Ms: p('99'), errors };
}

function toMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

/** p-th percentile (0..100) of a list of numbers. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
