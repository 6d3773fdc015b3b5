// Shared helpers for the observability tests: repository paths, external tools, rule/dashboard/doc parsing.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';

/** The repository root: the nearest ancestor of this file holding VecStore's package.json. */
export const ROOT: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'vecstore') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the VecStore repository root');
    dir = up;
  }
})();

/** Absolute path of a repository file. */
export function repoPath(rel: string): string {
  return join(ROOT, rel);
}

/** Parsed YAML of a repository file. */
export function readYaml<T = any>(rel: string): T {
  return parse(readFileSync(repoPath(rel), 'utf8')) as T;
}

/** Parsed JSON of a repository file. */
export function readJson<T = any>(rel: string): T {
  return JSON.parse(readFileSync(repoPath(rel), 'utf8')) as T;
}

/** The metric names of the public contract (issue 4) plus the WebSocket limit gauge the alerts use. */
export const CONTRACT_METRICS: readonly string[] = [
  'vecstore_vectors_total',
  'vecstore_vectors_active',
  'vecstore_vectors_deleted',
  'vecstore_dimension',
  'vecstore_requests_total',
  'vecstore_request_duration_seconds',
  'vecstore_queries_total',
  'vecstore_query_results',
  'vecstore_upserts_total',
  'vecstore_deletes_total',
  'vecstore_errors_total',
  'vecstore_cache_hits_total',
  'vecstore_cache_misses_total',
  'vecstore_websocket_connections',
  'vecstore_websocket_connections_limit',
  'vecstore_worker_scan_duration_seconds',
  'vecstore_worker_vectors_scanned_total',
  'vecstore_worker_tasks_total',
  'vecstore_pool_queue_depth',
  'vecstore_pool_utilization',
  'vecstore_index_vectors',
  'vecstore_index_pending_vectors',
  'vecstore_index_bytes',
  'vecstore_index_inserts_total',
  'vecstore_index_build_seconds_total',
  'vecstore_query_paths_total',
  'vecstore_index_recall',
  'vecstore_index_recall_audits_total',
  'vecstore_index_recall_target',
];

/** The base metric names (histogram suffixes removed) of every `vecstore_*` series an expression reads. */
export function vecstoreMetricsIn(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/\bvecstore_[a-z0-9_]+/g)) {
    const name = m[0];
    // Recording-rule names contain "vecstore_" after a colon; they are not raw metrics.
    if (m.index !== undefined && m.index > 0 && expr[m.index - 1] === ':') continue;
    names.add(name.replace(/_(bucket|sum|count)$/, ''));
  }
  return [...names];
}

/** Path of an executable on PATH, or undefined. */
export function findTool(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The path of a required external tool. When it is missing the test fails under CI (CI installs
 * it) and is skipped locally with a message saying which Debian package provides it.
 */
export function requireTool(t: TestContext, name: string, debianPackage: string): string | undefined {
  const path = findTool(name);
  if (path) return path;
  const message = `${name} not found on PATH (Debian package "${debianPackage}": apt-get install -y ${debianPackage})`;
  if (process.env.CI) assert.fail(`${message}; CI must install it`);
  t.skip(message);
  return undefined;
}

/** Result of a finished child process. */
export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion in the repository root and captures its output. */
export function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): RunResult {
  const r = spawnSync(cmd, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Asserts a command exited 0, showing its output otherwise. */
export function assertRuns(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): RunResult {
  const r = run(cmd, args, options);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} exited ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no port'));
      server.close(() => resolve(address.port));
    });
  });
}

/** One rule of a Prometheus rule file. */
export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** All rules of a Prometheus rule file, in order. */
export function rulesOf(rel: string): Rule[] {
  const doc = readYaml<{ groups: { name: string; rules: Rule[] }[] }>(rel);
  return doc.groups.flatMap((g) => g.rules);
}

const COMPARISONS = ['==', '!=', '>=', '<=', '>', '<'];

/**
 * The measurement part of an alert expression: `<lhs> <cmp> [bool] <number>` gives `<lhs>`;
 * `absent(<selector>)` gives `<selector>` (absent() is empty exactly when the selector is not).
 * Only a comparison at the top level (outside parentheses, brackets, braces and strings) against a
 * number literal counts as the threshold. Returns the expression unchanged when it has neither form.
 */
export function measurementOf(expr: string): string {
  const e = expr.trim();
  const absent = /^absent(?:_over_time)?\(([\s\S]*)\)$/.exec(e);
  if (absent && balanced(absent[1])) return absent[1].trim();
  let depth = 0;
  let quote: string | null = null;
  let last = -1;
  let lastLen = 0;
  for (let i = 0; i < e.length; i++) {
    const c = e[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (depth === 0) {
      const op = COMPARISONS.find((o) => e.startsWith(o, i));
      if (op) {
        last = i;
        lastLen = op.length;
        i += op.length - 1;
      }
    }
  }
  if (last < 0) return e;
  const rhs = e.slice(last + lastLen).trim().replace(/^bool\s+/, '');
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(rhs)) return e;
  return e.slice(0, last).trim();
}

function balanced(s: string): boolean {
  let depth = 0;
  for (const c of s) {
    if (c === '(') depth++;
    else if (c === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

/** A Grafana panel as far as these tests read it. */
export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: { expr?: string; refId?: string; datasource?: { type?: string; uid?: string } }[];
  collapsed?: boolean;
  panels?: Panel[];
}

/** Every panel of a dashboard, including those nested in rows. */
export function allPanels(dashboard: { panels: Panel[] }): Panel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Grafana's built-in interval variables, replaced by a fixed window when sent to Prometheus. */
export const GRAFANA_INTERVAL_VARIABLES = ['__rate_interval', '__interval', '__range'];

/**
 * A dashboard expression with Grafana's interval variables replaced by `1m` and the dashboard's own variables by
 * their "All" value (`allValue`), as Grafana sends them by default.
 */
export function substituteGrafanaVariables(expr: string, variables: Array<{ name: string; allValue?: string }> = []): string {
  let out = expr;
  for (const v of GRAFANA_INTERVAL_VARIABLES) {
    out = out.replaceAll(`\${${v}}`, '1m').replaceAll(`$${v}`, '1m');
  }
  for (const v of variables) {
    if (v.allValue !== undefined) out = out.replaceAll(`\${${v.name}}`, v.allValue).replaceAll(`$${v.name}`, v.allValue);
  }
  return out;
}

/** Every PromQL target of the dashboard, labelled by panel title and refId. */
export function dashboardExpressions(dashboard: { panels: Panel[] }): { source: string; expr: string }[] {
  const out: { source: string; expr: string }[] = [];
  for (const p of allPanels(dashboard)) {
    for (const target of p.targets ?? []) {
      if (target.expr) out.push({ source: `dashboard "${p.title}" [${target.refId}]`, expr: target.expr });
    }
  }
  return out;
}

/**
 * The example queries of a Markdown document: every ```promql fenced block, one query per
 * paragraph (blank-line separated; lines starting with # are comments).
 */
export function markdownPromqlQueries(markdown: string): string[] {
  const queries: string[] = [];
  for (const block of markdown.matchAll(/^```promql[^\n]*\n([\s\S]*?)^```/gm)) {
    for (const paragraph of block[1].split(/\n\s*\n/)) {
      const query = paragraph
        .split('\n')
        .filter((line) => !line.trim().startsWith('#'))
        .join(' ')
        .trim();
      if (query) queries.push(query);
    }
  }
  return queries;
}

/** The uids of the Grafana datasources provisioned from observability/grafana/provisioning/datasources. */
export function provisionedDatasources(): { uid: string; type: string; isDefault?: boolean }[] {
  const dir = 'observability/grafana/provisioning/datasources';
  return readdirSync(repoPath(dir))
    .filter((f) => /\.ya?ml$/.test(f))
    .flatMap((f) => readYaml<{ datasources?: { uid: string; type: string; isDefault?: boolean }[] }>(`${dir}/${f}`).datasources ?? []);
}

/** The compiled server CLI. */
export const CLI: string = join(ROOT, 'dist/src/cli.js');

/** A child process whose recent output is kept for failure messages. */
export class Child {
  readonly proc: ChildProcess;
  private output = '';
  exited = false;

  constructor(readonly name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, cwd: string = ROOT) {
    this.proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd });
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-8000);
    };
    this.proc.stdout!.on('data', keep);
    this.proc.stderr!.on('data', keep);
    this.proc.on('exit', () => {
      this.exited = true;
    });
  }

  describe(): string {
    return `--- last output of ${this.name}${this.exited ? ` (exited ${this.proc.exitCode ?? this.proc.signalCode})` : ''}:\n${this.output}`;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = once(this.proc, 'exit');
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** Polls `url` until it answers 2xx; fails with the child's output if it exits or time runs out. */
export async function waitUntilUp(url: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exited) assert.fail(`${child.name} exited before ${url} answered\n${child.describe()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  assert.fail(`${url} did not answer within ${timeoutMs} ms\n${child.describe()}`);
}

/** Skips locally, fails under CI, when the server has not been built. */
export function requireServer(t: TestContext): boolean {
  if (existsSync(CLI)) return true;
  const message = `${CLI} not built (run npm run build)`;
  if (process.env.CI) assert.fail(message);
  t.skip(message);
  return false;
}


/** The README's `## Observability` section, up to the next `## ` heading: the documentation these tests hold to account. */
export function observabilitySection(): string {
  const readme = readFileSync(repoPath('README.md'), 'utf8');
  const start = readme.indexOf('\n## Observability');
  if (start < 0) throw new Error('README.md has no "## Observability" section');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}
