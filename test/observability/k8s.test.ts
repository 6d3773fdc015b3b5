// Tests for the Kubernetes manifests: generated PrometheusRule up to date and valid, kustomize wiring, probes and selectors.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { assertRuns, readYaml, repoPath, requireTool, run } from './support.js';

interface Kustomization {
  namespace?: string;
  resources: string[];
  configMapGenerator: { name: string; files: string[]; options?: { labels?: Record<string, string>; disableNameSuffixHash?: boolean } }[];
}

describe('k8s/prometheus-rule.yaml', () => {
  it('is up to date with observability/alerts.yml and recording-rules.yml', () => {
    const r = run(process.execPath, ['k8s/build-prometheus-rule.mjs', '--check']);
    assert.equal(r.status, 0, `${r.stderr}${r.stdout}`);
  });

  it('holds every rule of the source files, unchanged', () => {
    const rule = readYaml('k8s/prometheus-rule.yaml');
    assert.equal(rule.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(rule.kind, 'PrometheusRule');
    const sources = ['observability/recording-rules.yml', 'observability/alerts.yml'].flatMap((f) => readYaml(f).groups);
    assert.deepEqual(rule.spec.groups, sources);
  });

  it('is accepted by promtool check rules', (t) => {
    const promtool = requireTool(t, 'promtool', 'prometheus');
    if (!promtool) return;
    const dir = mkdtempSync(join(tmpdir(), 'vecstore-k8s-'));
    try {
      const file = join(dir, 'rules.yml');
      writeFileSync(file, stringify({ groups: readYaml('k8s/prometheus-rule.yaml').spec.groups }));
      assertRuns(promtool, ['check', 'rules', file]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('k8s/kustomization.yaml', () => {
  const k = readYaml<Kustomization>('k8s/kustomization.yaml');
  const docs = k.resources.map((r) => ({ file: r, doc: readYaml(`k8s/${r}`) }));
  const byKind = (kind: string) => docs.find((d) => d.doc.kind === kind)?.doc;

  it('lists resources that exist, including the generated PrometheusRule', () => {
    for (const r of k.resources) assert.ok(existsSync(repoPath(`k8s/${r}`)), `k8s/${r}`);
    for (const kind of ['Service', 'ServiceMonitor', 'PrometheusRule']) assert.ok(byKind(kind), `a ${kind}`);
    assert.ok(byKind('StatefulSet') ?? byKind('Deployment'), 'a StatefulSet or Deployment');
  });

  it('generates the dashboard ConfigMap from the one dashboard JSON, labelled for the Grafana sidecar', () => {
    const gen = k.configMapGenerator.find((g) => g.files.some((f) => f.endsWith('vecstore.json')));
    assert.ok(gen, 'a configMapGenerator for the dashboard');
    assert.equal(gen.options?.labels?.grafana_dashboard, '1');
    const file = gen.files.find((f) => f.endsWith('vecstore.json'))!;
    const source = file.includes('=') ? file.slice(file.indexOf('=') + 1) : file;
    assert.equal(resolve(repoPath('k8s'), source), repoPath('observability/grafana/dashboards/vecstore.json'));
    // One source of truth: no copy of the dashboard JSON under k8s/.
    assert.ok(!existsSync(repoPath('k8s/vecstore.json')));
    assert.ok(!readFileSync(repoPath('k8s/kustomization.yaml'), 'utf8').includes('"panels"'));
  });

  it('scrapes /metrics every 15 s through the Service port the workload exposes', () => {
    const sm = byKind('ServiceMonitor');
    const svc = byKind('Service');
    const workload = byKind('StatefulSet') ?? byKind('Deployment');
    assert.equal(sm.spec.endpoints[0].path, '/metrics');
    assert.equal(sm.spec.endpoints[0].interval, '15s');
    const portName = sm.spec.endpoints[0].port;
    assert.ok(svc.spec.ports.some((p: { name: string }) => p.name === portName), 'ServiceMonitor port names a Service port');
    for (const [key, value] of Object.entries(sm.spec.selector.matchLabels)) assert.equal(svc.metadata.labels[key], value, 'ServiceMonitor selects the Service');
    const podLabels = workload.spec.template.metadata.labels;
    for (const [key, value] of Object.entries(svc.spec.selector)) assert.equal(podLabels[key], value, 'Service selects the pods');
    // Alerts select job="vecstore": the job label is the Service name.
    assert.equal(svc.metadata.name, 'vecstore');
  });

  it('runs VecStore non-root with its data on a volume and probes on /ready and /health', () => {
    const workload = byKind('StatefulSet') ?? byKind('Deployment');
    const pod = workload.spec.template.spec;
    const c = pod.containers[0];
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(c.readinessProbe.httpGet.path, '/ready');
    assert.equal(c.livenessProbe.httpGet.path, '/health');
    assert.ok(c.volumeMounts.some((m: { mountPath: string }) => m.mountPath === '/data'));
    assert.ok(c.args.includes('/data'));
  });
});

describe('k8s/build-prometheus-rule.mjs', () => {
  it('reports a stale PrometheusRule', () => {
    // Run a copy of the script against a copy of the sources with an edited alert.
    const dir = mkdtempSync(join(tmpdir(), 'vecstore-k8s-build-'));
    try {
      for (const f of ['k8s/build-prometheus-rule.mjs', 'k8s/prometheus-rule.yaml', 'observability/recording-rules.yml', 'observability/alerts.yml', 'package.json']) {
        const target = join(dir, f);
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, readFileSync(repoPath(f)));
      }
      // The copy resolves `yaml` from the repository's node_modules.
      symlinkSync(repoPath('node_modules'), join(dir, 'node_modules'), 'dir');
      const alerts = parse(readFileSync(join(dir, 'observability/alerts.yml'), 'utf8'));
      alerts.groups[0].rules[0].for = '42m';
      writeFileSync(join(dir, 'observability/alerts.yml'), stringify(alerts));
      const stale = run(process.execPath, ['k8s/build-prometheus-rule.mjs', '--check'], { cwd: dir });
      assert.equal(stale.status, 1, stale.stdout + stale.stderr);
      assertRuns(process.execPath, ['k8s/build-prometheus-rule.mjs'], { cwd: dir });
      assertRuns(process.execPath, ['k8s/build-prometheus-rule.mjs', '--check'], { cwd: dir });
      assert.match(readFileSync(join(dir, 'k8s/prometheus-rule.yaml'), 'utf8'), /for: 42m/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
