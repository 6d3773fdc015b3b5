// Live test: a real Prometheus scrapes a real VecStore under a scripted workload, then every shipped PromQL expression must return data.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { parse, stringify } from 'yaml';
import {
  CLI,
  Child,
  dashboardExpressions,
  freePort,
  markdownPromqlQueries,
  measurementOf,
  readJson,
  readYaml,
  repoPath,
  requireServer,
  requireTool,
  rulesOf,
  substituteGrafanaVariables,
  waitUntilUp,
} from './support.js';
import { observabilitySection } from './support.js';

const DIMENSION = 8;
const ROUNDS = 6;

interface QueryResponse {
  status: string;
  error?: string;
  data?: { resultType: string; result: unknown[] | unknown };
}

/** Evaluates an instant query; `empty` is true for an empty vector/matrix result. */
async function promQuery(base: string, expr: string): Promise<{ empty: boolean; error?: string; sample?: string }> {
  const res = await fetch(`${base}/api/v1/query?${new URLSearchParams({ query: expr })}`);
  const body = (await res.json()) as QueryResponse;
  if (body.status !== 'success') return { empty: true, error: body.error ?? `HTTP ${res.status}` };
  const { resultType, result } = body.data!;
  if (resultType === 'vector' || resultType === 'matrix') {
    const list = result as unknown[];
    return { empty: list.length === 0, sample: JSON.stringify(list[0] ?? null).slice(0, 160) };
  }
  return { empty: false, sample: JSON.stringify(result) };
}

/** Every expression the project ships, labelled by where it comes from, as sent to Prometheus. */
function shippedExpressions(): { source: string; expr: string }[] {
  const out: { source: string; expr: string }[] = [];
  const dashboard = readJson<{ panels: never[]; templating?: { list: Array<{ name: string; allValue?: string }> } }>('observability/grafana/dashboards/vecstore.json');
  for (const { source, expr } of dashboardExpressions(dashboard)) {
    out.push({ source, expr: substituteGrafanaVariables(expr, dashboard.templating?.list) });
  }
  for (const rule of rulesOf('observability/alerts.yml')) {
    out.push({ source: `alerts.yml ${rule.alert} (measurement)`, expr: measurementOf(rule.expr) });
  }
  for (const rule of rulesOf('observability/recording-rules.yml')) {
    out.push({ source: `recording-rules.yml ${rule.record} (expr)`, expr: rule.expr });
    out.push({ source: `recording-rules.yml ${rule.record} (recorded series)`, expr: rule.record! });
  }
  markdownPromqlQueries(observabilitySection()).forEach((expr, i) => {
    out.push({ source: `README observability section example ${i + 1}`, expr });
  });
  return out;
}

function randomVector(): number[] {
  return Array.from({ length: DIMENSION }, () => Math.random() * 2 - 1);
}

/** The workload: every kind of request the dashboard and alerts describe, spread over several scrapes. */
async function runWorkload(api: string, ws: WebSocket, rounds: number): Promise<string[]> {
  const problems: string[] = [];
  const call = async (what: string, method: string, path: string, body: unknown, expect: (status: number) => boolean) => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    if (!expect(res.status)) problems.push(`${what}: ${method} ${path} → ${res.status} ${text.slice(0, 200)}`);
  };
  const ok = (s: number) => s >= 200 && s < 300;
  const clientError = (s: number) => s >= 400 && s < 500;
  const fixedQuery = randomVector();
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < 3; k++) {
      await call('single upsert', 'POST', '/v1/upsert', {
        id: `r${round}-s${k}`,
        vector: randomVector(),
        metadata: { group: k % 2 === 0 ? 'a' : 'b', round },
        text: `alpha beta gamma round ${round} item ${k}`,
      }, ok);
    }
    const records = Array.from({ length: 5 }, (_, k) => ({
      id: `r${round}-b${k}`,
      vector: randomVector(),
      metadata: { group: 'batch', round },
      text: `batch delta epsilon ${k}`,
    }));
    await call('batch upsert', 'POST', '/v1/batch-upsert', { records }, ok);
    await call('query', 'POST', '/v1/query', { vector: randomVector(), limit: 5 }, ok);
    await call('filtered query', 'POST', '/v1/query', { vector: randomVector(), limit: 5, filter: "group = 'a'" }, ok);
    // The same query twice: a miss then a hit in the query cache.
    await call('repeated query', 'POST', '/v1/query', { vector: fixedQuery, limit: 3 }, ok);
    await call('repeated query', 'POST', '/v1/query', { vector: fixedQuery, limit: 3 }, ok);
    await call('hybrid query', 'POST', '/v1/hybrid-query', { vector: randomVector(), text_query: 'alpha gamma', limit: 5 }, ok);
    await call('hard delete', 'DELETE', `/v1/delete/r${round}-b0`, undefined, ok);
    await call('soft delete', 'POST', `/v1/soft-delete/r${round}-b1`, undefined, ok);
    await call('soft delete', 'POST', `/v1/soft-delete/r${round}-b2`, undefined, ok);
    await call('restore', 'POST', `/v1/restore/r${round}-b2`, undefined, ok);
    await call('delete of an unknown id', 'DELETE', `/v1/delete/missing-${round}`, undefined, (s) => s === 404);
    await call('unknown route', 'GET', '/v1/no-such-route', undefined, (s) => s === 404);
    await call('malformed body', 'POST', '/v1/upsert', '{"id": "broken", "vector": [1, 2', clientError);
    await call('wrong dimension', 'POST', '/v1/upsert', { id: `bad-${round}`, vector: [1, 2, 3] }, clientError);
    for (let q = 0; q < 2; q++) ws.send(JSON.stringify({ vector: randomVector(), limit: 4, request_id: `ws-${round}-${q}` }));
    await sleep(700);
  }
  return problems;
}

describe('live Prometheus', () => {
  it('scrapes VecStore under load, and every dashboard, rule and documented expression returns data', { timeout: 120_000 }, async (t) => {
    const prometheus = requireTool(t, 'prometheus', 'prometheus');
    if (!prometheus || !requireServer(t)) return;

    const dir = mkdtempSync(join(tmpdir(), 'vecstore-prom-'));
    const children: Child[] = [];
    let ws: WebSocket | undefined;
    try {
      const apiPort = await freePort();
      const vecstore = new Child('vecstore', process.execPath, [
        CLI, 'serve', '--host', '127.0.0.1', '--port', String(apiPort), '--data-dir', join(dir, 'data'), '--dimension', String(DIMENSION),
        // The small workload takes the graph path and is audited, so the index and recall series carry data.
        '--index-threshold', '0', '--recall-sample-rate', '1', '--recall-audits-per-second', '1000',
      ]);
      children.push(vecstore);
      const api = `http://127.0.0.1:${apiPort}`;
      await waitUntilUp(`${api}/ready`, vecstore, 30_000);

      // The shipped scrape config with loopback targets, 1 s intervals and the shipped rule files.
      const shipped = readYaml('observability/prometheus.yml');
      const promPort = await freePort();
      const job = (name: string, target: string) => {
        const original = shipped.scrape_configs.find((s: { job_name: string }) => s.job_name === name);
        assert.ok(original, `observability/prometheus.yml has a "${name}" job`);
        return { ...original, static_configs: [{ targets: [target] }] };
      };
      const config = {
        global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s', external_labels: shipped.global.external_labels },
        rule_files: [repoPath('observability/recording-rules.yml'), repoPath('observability/alerts.yml')],
        scrape_configs: [job('vecstore', `127.0.0.1:${apiPort}`), job('prometheus', `127.0.0.1:${promPort}`)],
      };
      writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
      const prom = new Child('prometheus', prometheus, [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--storage.tsdb.retention.time=1h',
      ]);
      children.push(prom);
      const promBase = `http://127.0.0.1:${promPort}`;
      await waitUntilUp(`${promBase}/-/ready`, prom, 20_000);

      // Wait for a first successful scrape, so the counters have a sample from before the workload.
      for (let i = 0; ; i++) {
        const r = await promQuery(promBase, 'up{job="vecstore"} == 1');
        if (!r.empty) break;
        if (i > 100) assert.fail(`Prometheus never scraped VecStore successfully\n${prom.describe()}`);
        await sleep(100);
      }

      ws = new WebSocket(`ws://127.0.0.1:${apiPort}/ws/query-stream`);
      let wsMessages = 0;
      ws.on('message', () => wsMessages++);
      await once(ws, 'open');
      const problems = await runWorkload(api, ws, ROUNDS);
      // Two more scrapes and rule evaluations see the end of the workload; the stream stays open.
      await sleep(2500);
      assert.ok(wsMessages > 0, 'the WebSocket query stream answered');
      assert.equal(ws.readyState, WebSocket.OPEN, 'the WebSocket stays open while Prometheus scrapes');

      const expressions = shippedExpressions();
      let pending = expressions.map((e) => ({ ...e, result: undefined as Awaited<ReturnType<typeof promQuery>> | undefined }));
      // Recording rules run on their own schedule: retry the empty ones for a few seconds.
      for (let attempt = 0; attempt < 8 && pending.length > 0; attempt++) {
        if (attempt > 0) await sleep(1000);
        for (const e of pending) e.result = await promQuery(promBase, e.expr);
        pending = pending.filter((e) => e.result!.empty);
      }
      t.diagnostic(`${expressions.length} expressions evaluated, ${pending.length} empty`);

      // Prometheus saw the workload itself, not only series the server creates at zero.
      const rounds = ROUNDS;
      const seen: string[] = [];
      for (const expr of [
        'vecstore_websocket_connections >= 1',
        `vecstore_upserts_total{batch="single"} >= ${3 * rounds}`,
        `vecstore_upserts_total{batch="batch"} >= ${rounds}`,
        `vecstore_queries_total{type="hybrid"} >= ${rounds}`,
        `vecstore_deletes_total{type="hard"} >= ${rounds}`,
        `vecstore_deletes_total{type="soft"} >= ${2 * rounds}`,
        `vecstore_errors_total{error_type="not_found"} >= ${rounds}`,
        `vecstore_errors_total{error_type="route_not_found"} >= ${rounds}`,
        `vecstore_errors_total{error_type="invalid_json"} >= ${rounds}`,
        'vecstore_vectors_deleted >= 1',
        'sum(vecstore_worker_tasks_total) >= 1',
      ]) {
        if ((await promQuery(promBase, expr)).empty) seen.push(`workload not visible in Prometheus: ${expr}`);
      }
      // Every rule evaluated without error.
      const rules = (await (await fetch(`${promBase}/api/v1/rules`)).json()) as {
        data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
      };
      const unhealthy = rules.data.groups.flatMap((g) => g.rules).filter((r) => r.health !== 'ok').map((r) => `rule ${r.name}: ${r.health} ${r.lastError ?? ''}`);

      const report = [
        ...problems.map((p) => `workload: ${p}`),
        ...seen,
        ...unhealthy,
        ...pending.map((e) => `EMPTY ${e.source}: ${e.expr}${e.result?.error ? ` (error: ${e.result.error})` : ''}`),
      ];
      assert.deepEqual(report, [], `\n${report.join('\n')}\n${vecstore.describe().slice(-2000)}`);
    } finally {
      ws?.terminate();
      for (const c of children.reverse()) await c.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const [config, replica] of [['observability/prometheus.yml', undefined], ['observability/prometheus-ha.yml', '2']] as const) {
    it(`loads ${config} with its rules in a real Prometheus`, { timeout: 30_000 }, async (t) => {
      const prometheus = requireTool(t, 'prometheus', 'prometheus');
      if (!prometheus) return;
      // Laid out as in the Compose file: config and rule files side by side.
      const dir = mkdtempSync(join(tmpdir(), 'vecstore-promcfg-'));
      let prom: Child | undefined;
      try {
        mkdirSync(join(dir, 'etc'));
        copyFileSync(repoPath(config), join(dir, 'etc/prometheus.yml'));
        for (const f of ['alerts.yml', 'recording-rules.yml']) copyFileSync(repoPath(`observability/${f}`), join(dir, 'etc', f));
        const port = await freePort();
        prom = new Child('prometheus', prometheus, [
          `--config.file=${join(dir, 'etc/prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'tsdb')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          ...(replica ? ['--enable-feature=expand-external-labels'] : []),
        ], { ...process.env, PROMETHEUS_REPLICA: replica ?? '' });
        const base = `http://127.0.0.1:${port}`;
        await waitUntilUp(`${base}/-/ready`, prom, 20_000);
        const rules = (await (await fetch(`${base}/api/v1/rules`)).json()) as { data: { groups: { rules: unknown[] }[] } };
        const loaded = rules.data.groups.reduce((n, g) => n + g.rules.length, 0);
        const expected = rulesOf('observability/alerts.yml').length + rulesOf('observability/recording-rules.yml').length;
        assert.equal(loaded, expected, 'every rule loaded');
        const status = (await (await fetch(`${base}/api/v1/status/config`)).json()) as { data: { yaml: string } };
        const labels = parse(status.data.yaml).global.external_labels;
        assert.equal(labels.cluster, 'vecstore');
        if (replica) assert.equal(labels.replica, replica, 'replica label expanded from PROMETHEUS_REPLICA');
      } finally {
        await prom?.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
