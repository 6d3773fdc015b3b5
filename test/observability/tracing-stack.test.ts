// Tests for the traces-and-logs stack: Tempo, Loki and Promtail in both Compose files, Grafana's links between
// exemplars, traces and logs (checked against a real VecStore log line), and the Kubernetes pieces.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { postJson, startServerProcess } from '../helpers/server-process.js';
import { assertRuns, readYaml, repoPath, requireServer, requireTool } from './support.js';

interface Service { image?: string; command?: string[] | string; environment?: Record<string, string>; volumes?: Array<{ type: string; source: string; target: string } | string>; depends_on?: unknown }

function resolved(dc: string, file: string): { services: Record<string, Service> } {
  return parse(assertRuns(dc, ['-f', file, 'config']).stdout);
}
const commandOf = (s: Service): string[] => (Array.isArray(s.command) ? s.command : (s.command ?? '').split(/\s+/));
const mountsOf = (s: Service) => (s.volumes ?? []).map((v) => (typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1] } : v));
const datasources = (file: string) => readYaml<{ datasources: any[] }>(`observability/grafana/provisioning/datasources/${file}`).datasources;

for (const [file, prometheuses] of [['docker-compose-monitoring.yml', ['prometheus']], ['docker-compose-monitoring-ha.yml', ['prometheus-1', 'prometheus-2']]] as const) {
  describe(`${file}: traces and logs`, () => {
    it('runs Tempo receiving VecStore\'s OTLP, Loki fed by Promtail, and Grafana pointed at both', (t) => {
      const dc = requireTool(t, 'docker-compose', 'docker-compose');
      if (!dc) return;
      const { services } = resolved(dc, file);
      for (const name of ['tempo', 'loki', 'promtail']) assert.ok(services[name]?.image, `service ${name}`);
      const tempo = readYaml<any>('observability/tempo.yml');
      const otlpHttp = tempo.distributor.receivers.otlp.protocols.http.endpoint as string;
      const env = services.vecstore.environment ?? {};
      assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, `http://tempo:${otlpHttp.split(':').pop()}`);
      assert.equal(env.OTEL_EXPORTER_OTLP_PROTOCOL, 'http/protobuf');
      assert.match(env.OTEL_TRACES_SAMPLER_ARG, /^0(\.\d+)?$|^1$/);
      assert.ok(mountsOf(services.tempo).some((m) => m.source === repoPath('observability/tempo.yml')));
      assert.ok(mountsOf(services.loki).some((m) => m.source === repoPath('observability/loki.yml')));
      const promtailMounts = mountsOf(services.promtail);
      assert.ok(promtailMounts.some((m) => m.source === repoPath('observability/promtail.yml')));
      assert.ok(promtailMounts.some((m) => m.target === '/var/run/docker.sock'), 'Promtail reads containers through the Docker socket');
      const grafanaEnv = services.grafana.environment ?? {};
      assert.equal(grafanaEnv.TEMPO_URL, `http://tempo:${tempo.server.http_listen_port}`);
      assert.equal(grafanaEnv.LOKI_URL, `http://loki:${readYaml<any>('observability/loki.yml').server.http_listen_port}`);
      for (const name of prometheuses) assert.ok(commandOf(services[name]).includes('--enable-feature=exemplar-storage'), `${name} stores exemplars`);
      // Alertmanager finds its secrets where alertmanager.yml reads them.
      const am = mountsOf(services.alertmanager).find((m) => m.target === '/etc/alertmanager/secrets');
      assert.equal(am?.source, repoPath('observability/secrets'));
    });
  });
}

describe('Promtail', () => {
  it('reads the Compose service "vecstore", pushes to the Loki service, and keeps trace ids out of labels', () => {
    const promtail = readYaml<any>('observability/promtail.yml');
    assert.equal(promtail.clients[0].url, `http://loki:${readYaml<any>('observability/loki.yml').server.http_listen_port}/loki/api/v1/push`);
    const job = promtail.scrape_configs[0];
    assert.deepEqual(job.docker_sd_configs[0].filters, [{ name: 'label', values: ['com.docker.compose.service=vecstore'] }]);
    const stages = job.pipeline_stages as Array<Record<string, any>>;
    assert.equal(stages.find((s) => s.json)?.json.expressions.trace_id, 'trace_id');
    assert.deepEqual(Object.keys(stages.find((s) => s.labels)!.labels), ['level']);
    assert.ok('trace_id' in stages.find((s) => s.structured_metadata)!.structured_metadata);
  });
});

describe('Grafana links: exemplars → traces → logs → traces', () => {
  const uids = new Set(['prometheus.yml', 'tempo.yml', 'loki.yml'].flatMap((f) => datasources(f).map((d) => d.uid)));

  it('provisions Prometheus, Tempo and Loki with links to one another by uid', () => {
    const [prometheus] = datasources('prometheus.yml');
    const [tempo] = datasources('tempo.yml');
    const [loki] = datasources('loki.yml');
    assert.deepEqual(prometheus.jsonData.exemplarTraceIdDestinations, [{ name: 'trace_id', datasourceUid: tempo.uid }]);
    assert.equal(tempo.type, 'tempo');
    assert.equal(tempo.jsonData.tracesToLogsV2.datasourceUid, loki.uid);
    assert.equal(tempo.jsonData.tracesToLogsV2.filterByTraceID, true);
    assert.match(tempo.jsonData.tracesToLogsV2.query, /\$\$\{__trace\.traceId\}/, 'escaped from provisioning interpolation');
    assert.equal(loki.type, 'loki');
    assert.equal(loki.jsonData.derivedFields[0].datasourceUid, tempo.uid);
    assert.equal(loki.jsonData.derivedFields[0].url, '$${__value.raw}');
    for (const d of [prometheus, tempo, loki]) {
      for (const uid of JSON.stringify(d.jsonData).match(/"datasourceUid":"([^"]+)"/g) ?? []) assert.ok(uids.has(uid.split('"')[3]), `${d.name} links to ${uid}`);
    }
  });

  it('the Loki derived field finds the trace id in a real VecStore log line, and the exemplar label is trace_id', { timeout: 60_000 }, async (t) => {
    if (!requireServer(t)) return;
    const server = await startServerProcess({ args: ['--dimension', '2', '--tracing'], env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9/v1/traces' } });
    try {
      const traceId = randomBytes(16).toString('hex');
      assert.equal((await postJson(`${server.url}/v1/snapshots`, { name: 'x' })).status, 200);
      const res = await fetch(`${server.url}/v1/snapshots/x/restore`, { method: 'POST', headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } });
      assert.equal(res.status, 200);
      // The line reaches this process through a pipe, possibly just after the answer.
      for (let i = 0; i < 100 && !server.logs.some((l) => l.includes('snapshot restored')); i++) await new Promise((r) => setTimeout(r, 50));
      const line = server.logs.find((l) => l.includes('snapshot restored'))!;
      const [loki] = datasources('loki.yml');
      assert.equal(new RegExp(loki.jsonData.derivedFields[0].matcherRegex).exec(line)?.[1], traceId);
      const om = await (await fetch(`${server.url}/metrics`, { headers: { accept: 'application/openmetrics-text' } })).text();
      const [prometheus] = datasources('prometheus.yml');
      assert.ok(om.includes(`{${prometheus.jsonData.exemplarTraceIdDestinations[0].name}="${traceId}"}`), 'the exemplar label Grafana follows');
    } finally {
      await server.stop();
    }
  });
});

describe('Kubernetes', () => {
  it('the StatefulSet exports traces over OTLP; the ServiceMonitor note says how to keep exemplars', () => {
    const docs = readFileSync(repoPath('k8s/statefulset.yaml'), 'utf8');
    const set = parse(docs);
    const env = set.spec.template.spec.containers[0].env as Array<{ name: string; value: string }>;
    assert.match(env.find((e) => e.name === 'OTEL_EXPORTER_OTLP_ENDPOINT')?.value ?? '', /^http:\/\/.+:4318$/);
    assert.equal(env.find((e) => e.name === 'OTEL_EXPORTER_OTLP_PROTOCOL')?.value, 'http/protobuf');
    assert.match(readFileSync(repoPath('k8s/servicemonitor.yaml'), 'utf8'), /enableFeatures.*exemplar-storage/);
  });
});
