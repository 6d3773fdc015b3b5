// Live test: a real Alertmanager runs the shipped alertmanager.yml (secrets in files, only its delivery URLs and timers
// pointed at loopback); VecStoreDown pages PagerDuty, a warning of another job reaches Slack, and the warnings that
// VecStoreDown explains are inhibited.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { Child, findTool, freePort, repoPath, requireTool, waitUntilUp } from './support.js';

interface Delivery { path: string; body: any }

async function fakeWebhook(): Promise<{ url: string; deliveries: Delivery[]; server: Server }> {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      deliveries.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') });
      res.writeHead(req.url?.startsWith('/pagerduty') ? 202 : 200, { 'content-type': 'application/json' });
      res.end(req.url?.startsWith('/pagerduty') ? '{"status":"success","message":"Event processed"}' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, deliveries, server };
}

describe('Alertmanager with the shipped configuration', () => {
  it('pages PagerDuty for VecStoreDown, posts warnings to Slack, and inhibits what VecStoreDown explains', async (t) => {
    const alertmanager = findTool('prometheus-alertmanager') ?? findTool('alertmanager');
    if (!alertmanager) {
      requireTool(t, 'prometheus-alertmanager', 'prometheus-alertmanager');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'vecstore-am-live-'));
    const hook = await fakeWebhook();
    let child: Child | undefined;
    try {
      // The shipped file, with its secret paths moved into the temp dir, its PagerDuty URL at the fake, and short timers.
      const config = parse(readFileSync(repoPath('observability/alertmanager.yml'), 'utf8').replaceAll('/etc/alertmanager/secrets/', `${dir}/`));
      writeFileSync(join(dir, 'slack-webhook-url'), `${hook.url}/slack\n`);
      writeFileSync(join(dir, 'pagerduty-routing-key'), 'test-routing-key\n');
      writeFileSync(join(dir, 'smtp-password'), 'unused\n');
      for (const receiver of config.receivers) for (const pd of receiver.pagerduty_configs ?? []) pd.url = `${hook.url}/pagerduty`;
      const shorten = (route: any) => {
        if (route.group_wait) route.group_wait = '1s';
        for (const r of route.routes ?? []) shorten(r);
      };
      config.route.group_wait = '1s';
      shorten(config.route);
      writeFileSync(join(dir, 'alertmanager.yml'), stringify(config));

      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      child = new Child('alertmanager', alertmanager, [
        `--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=',
      ]);
      await waitUntilUp(`${base}/-/ready`, child, 20_000);

      const alert = (labels: Record<string, string>) => ({ labels, annotations: { summary: `${labels.alertname} summary`, description: 'test' }, startsAt: new Date().toISOString() });
      // The page must be there before the warnings it explains, as with real rules (VecStoreDown fires first).
      const post = (alerts: unknown[]) => fetch(`${base}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });
      assert.equal((await post([alert({ alertname: 'VecStoreDown', severity: 'critical', job: 'vecstore', instance: 'a:8080' })])).status, 200);
      await sleep(200);
      assert.equal((await post([
        alert({ alertname: 'HighLatency', severity: 'warning', job: 'vecstore', endpoint: '/v1/query' }),
        alert({ alertname: 'HighErrorRate', severity: 'warning', job: 'vecstore' }),
        alert({ alertname: 'HighErrorRate', severity: 'warning', job: 'vecstore-staging' }),
      ])).status, 200);

      const deadline = Date.now() + 20_000;
      const seen = () => ({ pd: hook.deliveries.filter((d) => d.path.startsWith('/pagerduty')), slack: hook.deliveries.filter((d) => d.path.startsWith('/slack')) });
      while ((seen().pd.length === 0 || seen().slack.length === 0) && Date.now() < deadline) await sleep(100);
      // Give any wrongly routed or uninhibited notification time to arrive too.
      await sleep(2500);
      const { pd, slack } = seen();
      assert.equal(pd.length, 1, `one page: ${JSON.stringify(pd)}`);
      assert.equal(pd[0].body.routing_key, 'test-routing-key', 'the routing key comes from its file');
      assert.match(pd[0].body.payload.summary, /VecStoreDown/);
      assert.equal(slack.length, 1, `one Slack message: ${JSON.stringify(slack.map((d) => d.body.attachments?.[0]?.title))}`);
      assert.match(slack[0].body.attachments[0].title, /HighErrorRate/);
      assert.equal(slack[0].body.channel, '#vecstore-alerts');

      const alerts = (await (await fetch(`${base}/api/v2/alerts`)).json()) as Array<{ labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } }>;
      const state = (name: string, job: string) => alerts.find((a) => a.labels.alertname === name && a.labels.job === job)?.status;
      assert.equal(state('HighLatency', 'vecstore')?.state, 'suppressed');
      assert.equal(state('HighLatency', 'vecstore')?.inhibitedBy.length, 1);
      assert.equal(state('HighErrorRate', 'vecstore')?.state, 'suppressed');
      assert.equal(state('HighErrorRate', 'vecstore-staging')?.state, 'active', 'another job is not inhibited');
      assert.equal(state('VecStoreDown', 'vecstore')?.state, 'active');
    } finally {
      await child?.stop();
      hook.server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
