// Tests for the Prometheus and Alertmanager configuration: promtool/amtool checks and the alert unit tests.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CONTRACT_METRICS, assertRuns, measurementOf, readYaml, repoPath, requireTool, rulesOf, vecstoreMetricsIn } from './support.js';

const PROMETHEUS_CONFIGS = ['observability/prometheus.yml', 'observability/prometheus-ha.yml'];
const RULE_FILES = ['observability/alerts.yml', 'observability/recording-rules.yml'];

interface AlertTestFile {
  rule_files: string[];
  tests: { name?: string; alert_rule_test?: { alertname: string; eval_time: string; exp_alerts?: unknown[] }[] }[];
}

describe('promtool', () => {
  it('accepts the Prometheus configurations (single and HA) with their rule files', (t) => {
    const promtool = requireTool(t, 'promtool', 'prometheus');
    if (!promtool) return;
    for (const config of PROMETHEUS_CONFIGS) assertRuns(promtool, ['check', 'config', config]);
  });

  it('accepts the alerting and recording rules', (t) => {
    const promtool = requireTool(t, 'promtool', 'prometheus');
    if (!promtool) return;
    assertRuns(promtool, ['check', 'rules', ...RULE_FILES]);
  });

  it('passes the alert unit tests', (t) => {
    const promtool = requireTool(t, 'promtool', 'prometheus');
    if (!promtool) return;
    const r = assertRuns(promtool, ['test', 'rules', 'observability/alerts.test.yml']);
    assert.match(r.stdout + r.stderr, /SUCCESS/);
  });
});

describe('alert unit tests', () => {
  const alerts = rulesOf('observability/alerts.yml').filter((r) => r.alert);
  const testFile = readYaml<AlertTestFile>('observability/alerts.test.yml');
  const cases = testFile.tests.flatMap((tc) => tc.alert_rule_test ?? []);

  it('load the shipped rule files', () => {
    assert.ok(testFile.rule_files.includes('alerts.yml'));
  });

  for (const alert of alerts) {
    it(`cover ${alert.alert} firing and not firing`, () => {
      const mine = cases.filter((c) => c.alertname === alert.alert);
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `alerts.test.yml has no case where ${alert.alert} fires`,
      );
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `alerts.test.yml has no case where ${alert.alert} stays silent`,
      );
    });
  }

  it('name no alert that alerts.yml does not define', () => {
    const names = new Set(alerts.map((a) => a.alert));
    const unknown = cases.map((c) => c.alertname).filter((n) => !names.has(n));
    assert.deepEqual(unknown, []);
  });
});

describe('alerts.yml', () => {
  const alerts = rulesOf('observability/alerts.yml').filter((r) => r.alert);

  it('defines the alerts the issue asks for', () => {
    const names = alerts.map((a) => a.alert);
    for (const required of ['HighErrorRate', 'HighLatency', 'VecStoreDown', 'RapidVectorGrowth', 'PrometheusDown', 'WebSocketConnectionsNearLimit']) {
      assert.ok(names.includes(required), `missing alert ${required}`);
    }
    assert.equal(new Set(names).size, names.length, 'alert names must be unique');
  });

  for (const alert of alerts) {
    it(`${alert.alert}: severity, summary, description, and a measurable expression`, () => {
      assert.match(alert.labels?.severity ?? '', /^(critical|warning|info)$/);
      assert.ok(alert.annotations?.summary, 'summary annotation');
      assert.ok(alert.annotations?.description, 'description annotation');
      // The live-scrape test evaluates the measurement part; it must differ from the whole condition.
      assert.notEqual(measurementOf(alert.expr), alert.expr.trim(), `cannot split ${alert.expr} into measurement and threshold`);
    });
  }

  it('reads only metrics of the public contract', () => {
    const exprs = [...rulesOf('observability/alerts.yml'), ...rulesOf('observability/recording-rules.yml')].map((r) => r.expr);
    const unknown = exprs.flatMap(vecstoreMetricsIn).filter((m) => !CONTRACT_METRICS.includes(m));
    assert.deepEqual([...new Set(unknown)], []);
  });
});

describe('measurementOf', () => {
  it('strips a top-level threshold only', () => {
    assert.equal(measurementOf('up{job="vecstore"} == 0'), 'up{job="vecstore"}');
    assert.equal(measurementOf('a / (b > 0) > 0.8'), 'a / (b > 0)');
    assert.equal(measurementOf('sum(rate(x{a=~"b|c"}[5m])) >= bool 1e6'), 'sum(rate(x{a=~"b|c"}[5m]))');
    assert.equal(measurementOf('absent(up{job="vecstore"})'), 'up{job="vecstore"}');
    assert.equal(measurementOf('a > b'), 'a > b');
    assert.equal(measurementOf('rate(x[5m])'), 'rate(x[5m])');
  });
});

describe('alertmanager.yml', () => {
  const CONFIG = 'observability/alertmanager.yml';

  it('is accepted by amtool as shipped, with a Slack, a PagerDuty and an email receiver', (t) => {
    const amtool = requireTool(t, 'amtool', 'prometheus-alertmanager');
    if (!amtool) return;
    const r = assertRuns(amtool, ['check-config', CONFIG]);
    assert.match(r.stdout, /3 receivers/);
    const config = readYaml<{ receivers: Array<Record<string, unknown>> }>(CONFIG);
    const kinds = config.receivers.flatMap((rc) => Object.keys(rc).filter((k) => k.endsWith('_configs')));
    assert.deepEqual(kinds.sort(), ['email_configs', 'pagerduty_configs', 'slack_configs']);
  });

  // amtool prints the receiver a set of labels is routed to.
  for (const [labels, receiver] of [
    [['severity=critical', 'alertname=VecStoreDown', 'job=vecstore'], 'pagerduty'],
    [['severity=warning', 'alertname=HighLatency', 'job=vecstore'], 'slack'],
    [['severity=info', 'alertname=SomethingToKnow', 'job=vecstore'], 'email'],
    [['alertname=NoSeverity', 'job=vecstore'], 'slack'],
  ] as const) {
    it(`routes ${labels.join(' ')} to ${receiver}`, (t) => {
      const amtool = requireTool(t, 'amtool', 'prometheus-alertmanager');
      if (!amtool) return;
      const r = assertRuns(amtool, ['config', 'routes', 'test', `--config.file=${CONFIG}`, `--verify.receivers=${receiver}`, ...labels]);
      assert.equal(r.stdout.trim(), receiver);
    });
  }

  it('routes every severity that alerts.yml uses to a receiver of its own', (t) => {
    const amtool = requireTool(t, 'amtool', 'prometheus-alertmanager');
    if (!amtool) return;
    const expected: Record<string, string> = { critical: 'pagerduty', warning: 'slack', info: 'email' };
    for (const alert of rulesOf('observability/alerts.yml').filter((r) => r.alert)) {
      const severity = alert.labels!.severity!;
      const r = assertRuns(amtool, ['config', 'routes', 'test', `--config.file=${CONFIG}`, `severity=${severity}`, `alertname=${alert.alert}`, 'job=vecstore']);
      assert.equal(r.stdout.trim(), expected[severity], `${alert.alert} (${severity})`);
    }
  });

  it('reads every secret from a file, never inline', () => {
    const text = readFileSync(repoPath(CONFIG), 'utf8');
    const config = readYaml<Record<string, any>>(CONFIG);
    assert.equal(config.global.smtp_auth_password, undefined);
    assert.match(config.global.smtp_auth_password_file, /^\/etc\/alertmanager\/secrets\//);
    assert.match(config.global.slack_api_url_file, /^\/etc\/alertmanager\/secrets\//);
    for (const receiver of config.receivers) {
      for (const pd of receiver.pagerduty_configs ?? []) {
        assert.equal(pd.routing_key, undefined);
        assert.equal(pd.service_key, undefined);
        assert.match(pd.routing_key_file, /^\/etc\/alertmanager\/secrets\//);
      }
      for (const slack of receiver.slack_configs ?? []) assert.equal(slack.api_url, undefined);
      for (const email of receiver.email_configs ?? []) assert.equal(email.auth_password, undefined);
    }
    assert.doesNotMatch(text, /hooks\.slack\.com\/services\/\w/, 'no webhook URL in the file');
  });

  it('groups by alert, job and severity, and lets VecStoreDown inhibit the alerts it causes', () => {
    const config = readYaml<Record<string, any>>(CONFIG);
    assert.deepEqual(config.route.group_by, ['alertname', 'job', 'severity']);
    const down = config.inhibit_rules.find((r: any) => r.source_matchers.some((m: string) => m.includes('VecStoreDown')));
    assert.ok(down, 'an inhibit rule whose source is VecStoreDown');
    assert.ok(down.equal.includes('job'));
  });
});
