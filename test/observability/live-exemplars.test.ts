// Live test: a real Prometheus with exemplar storage scrapes a traced VecStore the way it scrapes by default
// (OpenMetrics, gzip), and keeps the trace id of a sampled slow-bucket request as an exemplar Grafana can follow.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { CLI, Child, freePort, readYaml, requireServer, requireTool, waitUntilUp } from './support.js';

describe('live Prometheus with exemplar storage', () => {
  it('stores the trace_id exemplar of a traced request from the request-duration histogram', { timeout: 90_000 }, async (t) => {
    const prometheus = requireTool(t, 'prometheus', 'prometheus');
    if (!prometheus || !requireServer(t)) return;
    const dir = mkdtempSync(join(tmpdir(), 'vecstore-exemplars-'));
    const children: Child[] = [];
    try {
      const apiPort = await freePort();
      const vecstore = new Child('vecstore', process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', String(apiPort), '--data-dir', join(dir, 'data'), '--dimension', '4', '--tracing'], {
        ...process.env,
        // Spans go nowhere (nothing listens on port 9); exemplars need only the sampled trace ids.
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9/v1/traces',
      });
      children.push(vecstore);
      const api = `http://127.0.0.1:${apiPort}`;
      await waitUntilUp(`${api}/ready`, vecstore, 30_000);

      const shipped = readYaml('observability/prometheus.yml');
      const job = shipped.scrape_configs.find((s: { job_name: string }) => s.job_name === 'vecstore');
      const promPort = await freePort();
      writeFileSync(join(dir, 'prometheus.yml'), stringify({
        global: { scrape_interval: '1s', scrape_timeout: '900ms' },
        scrape_configs: [{ ...job, static_configs: [{ targets: [`127.0.0.1:${apiPort}`] }] }],
      }));
      const prom = new Child('prometheus', prometheus, [
        `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${promPort}`, '--enable-feature=exemplar-storage',
      ]);
      children.push(prom);
      const promBase = `http://127.0.0.1:${promPort}`;
      await waitUntilUp(`${promBase}/-/ready`, prom, 20_000);

      const traceId = randomBytes(16).toString('hex');
      const res = await fetch(`${api}/v1/upsert`, { method: 'POST', headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` }, body: JSON.stringify({ id: 'a', vector: [1, 2, 3, 4] }) });
      assert.equal(res.status, 200);

      const deadline = Date.now() + 30_000;
      let found: unknown;
      let last = '';
      while (!found && Date.now() < deadline) {
        const end = Date.now() / 1000;
        const q = new URLSearchParams({ query: 'vecstore_request_duration_seconds_bucket{endpoint="/v1/upsert"}', start: String(end - 600), end: String(end) });
        last = await (await fetch(`${promBase}/api/v1/query_exemplars?${q}`)).text();
        const body = JSON.parse(last) as { data?: Array<{ exemplars: Array<{ labels: Record<string, string> }> }> };
        found = body.data?.flatMap((s) => s.exemplars).find((e) => e.labels.trace_id === traceId);
        if (!found) await sleep(250);
      }
      assert.ok(found, `no exemplar with trace_id ${traceId}; last answer: ${last.slice(0, 500)}\n${prom.describe()}`);
      // The scrape that carried it was OpenMetrics, and it succeeded.
      const up = await (await fetch(`${promBase}/api/v1/query?${new URLSearchParams({ query: 'up{job="vecstore"}' })}`)).json() as { data: { result: Array<{ value: [number, string] }> } };
      assert.equal(up.data.result[0]?.value[1], '1');
    } finally {
      for (const c of children.reverse()) await c.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
