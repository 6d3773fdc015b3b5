// Tests for README observability section: the sections the README needs, every metric and alert documented, example queries present.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTRACT_METRICS, markdownPromqlQueries, observabilitySection, rulesOf } from './support.js';

describe('README observability section', () => {
  const doc = observabilitySection();
  const headings = [...doc.matchAll(/^#{2,4} (.+)$/gm)].map((m) => m[1].toLowerCase());

  it('has the sections of the README observability section', () => {
    for (const section of ['quick start', 'metrics', 'example queries', 'alerting', 'production setup', 'troubleshooting']) {
      assert.ok(headings.some((h) => h.includes(section)), `no "${section}" heading`);
    }
    for (const topic of ['**Volumes.**', '**Retention.**', '**Remote write.**', '**High availability.**', '**Kubernetes.**']) {
      assert.ok(doc.includes(topic), `production setup covers ${topic}`);
    }
  });

  it('documents every metric of the contract in the metrics table', () => {
    const missing = CONTRACT_METRICS.filter((m) => !doc.includes(`| \`${m}\` |`));
    assert.deepEqual(missing, []);
  });

  it('documents every alert and every recording rule', () => {
    const alerts = rulesOf('observability/alerts.yml').filter((r) => r.alert).map((r) => r.alert!);
    assert.deepEqual(alerts.filter((a) => !doc.includes(`\`${a}\``)), [], 'alerts');
    const records = rulesOf('observability/recording-rules.yml').map((r) => r.record!);
    // The latency quantiles share one table row: p50_1m, p95_1m, p99_1m.
    assert.deepEqual(records.filter((r) => !doc.includes(r) && !doc.includes(r.slice(r.lastIndexOf(':') + 1))), [], 'recording rules');
  });

  it('has example PromQL queries in a promql block', () => {
    const queries = markdownPromqlQueries(doc);
    assert.ok(queries.length >= 10, `found ${queries.length} example queries`);
    for (const q of queries) assert.doesNotMatch(q, /\$/, `example query uses a Grafana variable: ${q}`);
  });
});
