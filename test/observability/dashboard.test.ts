// Lint of the Grafana dashboard and its provisioning: what Grafana needs to load it, and panels for every metric family.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CONTRACT_METRICS,
  GRAFANA_INTERVAL_VARIABLES,
  allPanels,
  dashboardExpressions,
  provisionedDatasources,
  readJson,
  readYaml,
  vecstoreMetricsIn,
  type Panel,
} from './support.js';

const DASHBOARD = 'observability/grafana/dashboards/vecstore.json';
const KNOWN_PANEL_TYPES = new Set(['stat', 'gauge', 'timeseries', 'bargauge', 'heatmap', 'table', 'row', 'text']);
const GRID_WIDTH = 24;

function overlaps(a: Panel['gridPos'], b: Panel['gridPos']): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

describe('Grafana provisioning', () => {
  it('provisions exactly one Prometheus datasource, the default, with a fixed uid (beside Tempo and Loki)', () => {
    const sources = provisionedDatasources();
    const prometheus = sources.filter((s) => s.type === 'prometheus');
    assert.equal(prometheus.length, 1, 'one Prometheus datasource, shared by the single and HA stacks');
    assert.ok(prometheus[0].uid, 'datasource uid');
    assert.equal(prometheus[0].isDefault, true);
    assert.deepEqual(sources.filter((s) => s.isDefault).length, 1, 'one default datasource');
    assert.deepEqual(sources.map((s) => s.type).sort(), ['loki', 'prometheus', 'tempo']);
  });

  it('loads dashboards from one file provider', () => {
    const doc = readYaml<{ apiVersion: number; providers: { type: string; options: { path: string } }[] }>(
      'observability/grafana/provisioning/dashboards/vecstore.yml',
    );
    assert.equal(doc.apiVersion, 1);
    assert.equal(doc.providers.length, 1);
    assert.equal(doc.providers[0].type, 'file');
    assert.ok(doc.providers[0].options.path.startsWith('/'));
  });
});

describe('dashboard JSON', () => {
  const dashboard = readJson<{ uid: string; title: string; schemaVersion: number; panels: Panel[]; templating?: { list: { name: string }[] } }>(DASHBOARD);
  const panels = allPanels(dashboard);
  const uid = provisionedDatasources().find((s) => s.type === 'prometheus')?.uid;

  it('has uid, title and schemaVersion', () => {
    assert.match(dashboard.uid, /^[a-zA-Z0-9_-]{1,40}$/);
    assert.ok(dashboard.title);
    assert.ok(Number.isInteger(dashboard.schemaVersion) && dashboard.schemaVersion >= 30, 'schemaVersion');
  });

  it('has unique integer panel ids', () => {
    const ids = panels.map((p) => p.id);
    assert.ok(ids.every((id) => Number.isInteger(id) && id > 0), 'positive integer ids');
    assert.equal(new Set(ids).size, ids.length, `duplicate panel ids in ${ids.join(',')}`);
  });

  it('uses only known panel types', () => {
    const unknown = panels.filter((p) => !KNOWN_PANEL_TYPES.has(p.type)).map((p) => `${p.title}: ${p.type}`);
    assert.deepEqual(unknown, []);
  });

  it('lays panels out on the 24-column grid without overlaps', () => {
    // Top-level panels share one grid; the children of a collapsed row share another.
    const layers: Panel[][] = [dashboard.panels, ...dashboard.panels.filter((p) => p.collapsed && p.panels?.length).map((p) => p.panels!)];
    for (const layer of layers) {
      for (const p of layer) {
        const g = p.gridPos;
        assert.ok(g && [g.h, g.w, g.x, g.y].every(Number.isInteger), `${p.title}: integer gridPos`);
        assert.ok(g.w > 0 && g.h > 0 && g.x >= 0 && g.y >= 0 && g.x + g.w <= GRID_WIDTH, `${p.title}: gridPos inside the grid`);
      }
      const clashes: string[] = [];
      for (let i = 0; i < layer.length; i++) {
        for (let j = i + 1; j < layer.length; j++) {
          if (overlaps(layer[i].gridPos, layer[j].gridPos)) clashes.push(`"${layer[i].title}" overlaps "${layer[j].title}"`);
        }
      }
      assert.deepEqual(clashes, []);
    }
  });

  it('points every panel and target at the provisioned datasource uid', () => {
    assert.ok(uid, 'a provisioned datasource');
    const wrong: string[] = [];
    for (const p of panels) {
      if (p.type === 'row' || p.type === 'text') continue;
      if (p.datasource?.uid !== uid) wrong.push(`panel "${p.title}": ${JSON.stringify(p.datasource)}`);
      if (!p.targets?.length) wrong.push(`panel "${p.title}": no targets`);
      const refIds = (p.targets ?? []).map((target) => target.refId);
      if (new Set(refIds).size !== refIds.length) wrong.push(`panel "${p.title}": duplicate refIds`);
      for (const target of p.targets ?? []) {
        if (target.datasource?.uid !== uid || target.datasource?.type !== 'prometheus') {
          wrong.push(`panel "${p.title}" [${target.refId}]: ${JSON.stringify(target.datasource)}`);
        }
        if (!target.expr?.trim()) wrong.push(`panel "${p.title}" [${target.refId}]: empty expr`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('uses no Grafana variable beyond the interval built-ins', () => {
    const defined = new Set((dashboard.templating?.list ?? []).map((v) => v.name));
    const bad = dashboardExpressions(dashboard).flatMap(({ source, expr }) =>
      [...expr.matchAll(/\$\{?(\w+)/g)].map((m) => m[1]).filter((v) => !GRAFANA_INTERVAL_VARIABLES.includes(v) && !defined.has(v)).map((v) => `${source}: $${v}`),
    );
    assert.deepEqual(bad, []);
  });

  it('reads only metrics of the public contract, and shows every one of them', () => {
    const used = new Set(dashboardExpressions(dashboard).flatMap(({ expr }) => vecstoreMetricsIn(expr)));
    assert.deepEqual([...used].filter((m) => !CONTRACT_METRICS.includes(m)), [], 'unknown metrics');
    // Recording rules stand in for the request counters and histograms they precompute.
    const viaRecordingRules = ['vecstore_requests_total', 'vecstore_request_duration_seconds', 'vecstore_errors_total', 'vecstore_queries_total'];
    const missing = CONTRACT_METRICS.filter((m) => !used.has(m) && !viaRecordingRules.includes(m));
    assert.deepEqual(missing, [], 'contract metrics without a panel');
  });

  it('has the panels the issue lists', () => {
    const titles = panels.map((p) => p.title.toLowerCase());
    for (const wanted of ['total vectors', 'active vectors', 'dimension', 'request rate by endpoint', 'p50', 'query rate by type', 'upsert', 'delete', 'results per query', 'error rate by type', 'cache hit', 'websocket', 'scan time', 'queue depth']) {
      assert.ok(titles.some((title) => title.includes(wanted)), `no panel titled like "${wanted}"`);
    }
  });
});
