// Tests for the Compose stacks (validated by docker-compose itself) and the Dockerfile they build.

import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { Child, ROOT, assertRuns, freePort, readYaml, repoPath, requireServer, requireTool, run, waitUntilUp } from './support.js';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string>;
  ports?: unknown[];
  volumes?: ({ type: string; source: string; target: string } | string)[];
  profiles?: string[];
}
interface ComposeConfig {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** The file as docker-compose resolves it (anchors merged, variables interpolated, paths absolute). */
function resolvedConfig(dockerCompose: string, file: string): ComposeConfig {
  const r = assertRuns(dockerCompose, ['-f', file, 'config']);
  return parse(r.stdout) as ComposeConfig;
}

/** A service's volumes in long form, whichever syntax docker-compose printed them in. */
function volumesOf(service: Service): { type: string; source: string; target: string }[] {
  return (service.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return v;
    const [source, target] = v.split(':');
    return { type: source.startsWith('/') || source.startsWith('.') ? 'bind' : 'volume', source, target };
  });
}

function bindMounts(service: Service): { source: string; target: string }[] {
  return volumesOf(service).filter((v) => v.type === 'bind');
}

function namedVolumeAt(service: Service, target: string): string | undefined {
  return volumesOf(service).find((v) => v.type === 'volume' && v.target === target)?.source;
}

function commandOf(service: Service): string[] {
  return Array.isArray(service.command) ? service.command : (service.command ?? '').split(/\s+/);
}

function checkCommon(config: ComposeConfig, prometheusServices: string[], grafanaPrometheusUrl: string): void {
  const { services } = config;
  assert.ok(services.vecstore?.build, 'vecstore is built from the Dockerfile');
  assert.ok(commandOf(services.vecstore).includes('/data'), 'vecstore keeps its data in /data');
  assert.ok(namedVolumeAt(services.vecstore, '/data'), 'named volume on /data');

  for (const name of prometheusServices) {
    const prom = services[name];
    assert.ok(prom, `service ${name}`);
    const args = commandOf(prom);
    assert.ok(args.some((a) => a.startsWith('--storage.tsdb.retention.time=')), `${name}: retention by time`);
    assert.ok(args.some((a) => a.startsWith('--storage.tsdb.retention.size=')), `${name}: retention by size`);
    const targets = bindMounts(prom).map((m) => m.target);
    for (const f of ['/etc/prometheus/prometheus.yml', '/etc/prometheus/alerts.yml', '/etc/prometheus/recording-rules.yml']) {
      assert.ok(targets.includes(f), `${name} mounts ${f}`);
    }
    assert.ok(namedVolumeAt(prom, '/prometheus'), `${name}: named volume for its TSDB`);
  }

  const grafana = services.grafana;
  assert.ok(grafana, 'grafana service');
  const env = grafana.environment ?? {};
  assert.equal(env.GF_USERS_ALLOW_SIGN_UP, 'false');
  assert.equal(env.GF_SECURITY_ADMIN_USER, 'admin');
  assert.equal(env.GF_SECURITY_ADMIN_PASSWORD, 'admin');
  assert.equal(env.PROMETHEUS_URL, grafanaPrometheusUrl);
  // The dashboard provider path and the home dashboard must be where Compose mounts the JSON.
  const mounts = bindMounts(grafana);
  const dashboardsMount = mounts.find((m) => m.source === repoPath('observability/grafana/dashboards'));
  assert.ok(dashboardsMount, 'grafana mounts observability/grafana/dashboards');
  assert.ok(mounts.some((m) => m.source === repoPath('observability/grafana/provisioning') && m.target === '/etc/grafana/provisioning'));
  const provider = readYaml<{ providers: { options: { path: string } }[] }>('observability/grafana/provisioning/dashboards/vecstore.yml').providers[0];
  assert.equal(provider.options.path, dashboardsMount.target);
  assert.equal(env.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH, `${dashboardsMount.target}/vecstore.json`);
  assert.ok(namedVolumeAt(grafana, '/var/lib/grafana'), 'named volume for Grafana');

  // Every file or directory Compose bind-mounts from the repository exists (Docker would create empty directories otherwise).
  for (const [name, service] of Object.entries(services)) {
    for (const m of bindMounts(service)) {
      if (m.source.startsWith(ROOT)) assert.ok(existsSync(m.source), `${name}: ${m.source} does not exist`);
    }
  }
}

describe('docker-compose-monitoring.yml', () => {
  it('passes docker-compose config -q', (t) => {
    const dc = requireTool(t, 'docker-compose', 'docker-compose');
    if (!dc) return;
    assertRuns(dc, ['-f', 'docker-compose-monitoring.yml', 'config', '-q']);
  });

  it('runs VecStore on 8080, Prometheus on 9090 and Grafana on 3000 with provisioning, retention and named volumes', (t) => {
    const dc = requireTool(t, 'docker-compose', 'docker-compose');
    if (!dc) return;
    const config = resolvedConfig(dc, 'docker-compose-monitoring.yml');
    checkCommon(config, ['prometheus'], 'http://prometheus:9090');
    const published = (name: string) => JSON.stringify(config.services[name].ports);
    assert.match(published('vecstore'), /"published":"?8080"?/);
    assert.match(published('prometheus'), /"published":"?9090"?/);
    assert.match(published('grafana'), /"published":"?3000"?/);
    assert.deepEqual(config.services['node-exporter']?.profiles, ['node-exporter'], 'node-exporter is optional');
    assert.ok(config.services.alertmanager, 'alertmanager service');
    const scrape = readYaml<{ global: { scrape_interval: string } }>('observability/prometheus.yml');
    assert.equal(scrape.global.scrape_interval, '10s');
  });
});

describe('docker-compose-monitoring-ha.yml', () => {
  it('passes docker-compose config -q', (t) => {
    const dc = requireTool(t, 'docker-compose', 'docker-compose');
    if (!dc) return;
    assertRuns(dc, ['-f', 'docker-compose-monitoring-ha.yml', 'config', '-q']);
  });

  it('runs two Prometheus replicas with Thanos sidecars, a deduplicating Thanos Query, and Grafana on it', (t) => {
    const dc = requireTool(t, 'docker-compose', 'docker-compose');
    if (!dc) return;
    const config = resolvedConfig(dc, 'docker-compose-monitoring-ha.yml');
    checkCommon(config, ['prometheus-1', 'prometheus-2'], 'http://thanos-query:10902');
    const { services } = config;
    const replicas = ['1', '2'].map((n) => services[`prometheus-${n}`].environment?.PROMETHEUS_REPLICA);
    assert.deepEqual(replicas, ['1', '2']);
    for (const n of ['1', '2']) {
      const args = commandOf(services[`prometheus-${n}`]);
      assert.ok(args.includes('--enable-feature=expand-external-labels'), 'replica label from the environment');
      const sidecar = commandOf(services[`thanos-sidecar-${n}`]);
      assert.equal(sidecar[0], 'sidecar');
      assert.ok(sidecar.includes(`--prometheus.url=http://prometheus-${n}:9090`));
      const tsdb = namedVolumeAt(services[`thanos-sidecar-${n}`], '/prometheus');
      assert.ok(tsdb && tsdb === namedVolumeAt(services[`prometheus-${n}`], '/prometheus'), 'sidecar shares its replica\'s TSDB volume');
    }
    const query = commandOf(services['thanos-query']);
    assert.equal(query[0], 'query');
    assert.ok(query.includes('--query.replica-label=replica'));
    assert.ok(query.includes('--endpoint=thanos-sidecar-1:10901') && query.includes('--endpoint=thanos-sidecar-2:10901'));
    const ha = readYaml<{ global: { external_labels: Record<string, string> }; alerting: { alert_relabel_configs: { action: string; regex: string }[] } }>('observability/prometheus-ha.yml');
    assert.equal(ha.global.external_labels.replica, '${PROMETHEUS_REPLICA}');
    assert.ok(ha.alerting.alert_relabel_configs.some((r) => r.action === 'labeldrop' && r.regex === 'replica'), 'alerts from both replicas merge');
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(repoPath('Dockerfile'), 'utf8');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const froms = instructions.filter((l) => /^FROM /i.test(l));
  const finalStage = instructions.slice(instructions.lastIndexOf(froms[froms.length - 1]));

  it('is multi-stage on Node 20 with glibc (Debian bookworm), never Alpine', () => {
    assert.ok(froms.length >= 2, 'multi-stage');
    for (const from of froms) assert.match(from, /^FROM node:20-bookworm(-slim)?\b/i);
    assert.doesNotMatch(instructions.join('\n'), /alpine/i);
  });

  it('installs with npm ci, builds, and ships dist with production node_modules', () => {
    assert.ok(instructions.some((l) => /^RUN .*npm ci\b/.test(l)));
    assert.ok(instructions.some((l) => /^RUN .*npm run build\b/.test(l)));
    assert.ok(instructions.some((l) => /npm prune --omit=dev|npm ci --omit=dev/.test(l)));
    assert.doesNotMatch(dockerfile, /--omit=optional/, 'optional deps carry native binaries');
    assert.ok(finalStage.some((l) => /^COPY --from=\S+ \S*dist\b/.test(l)));
    assert.ok(finalStage.some((l) => /^COPY --from=\S+ \S*node_modules\b/.test(l)));
  });

  it('runs as a non-root user with a /data volume and a HEALTHCHECK on /health without curl', () => {
    const user = finalStage.filter((l) => /^USER /i.test(l)).pop();
    assert.ok(user && !/^USER (root|0)(:|$)/i.test(user), 'non-root USER in the runtime stage');
    assert.ok(finalStage.some((l) => /^VOLUME .*\/data/.test(l)));
    const health = finalStage.find((l) => /^HEALTHCHECK /.test(l));
    assert.ok(health && health.includes('/health') && health.includes('fetch('), 'HEALTHCHECK with node fetch on /health');
    assert.doesNotMatch(instructions.join('\n'), /\bcurl\b|\bwget\b/, 'the slim image has no curl or wget');
    const start = finalStage.filter((l) => /^(ENTRYPOINT|CMD) /.test(l)).join(' ');
    assert.match(start, /dist\/src\/cli\.js/);
    assert.match(start, /"serve"/);
    assert.match(start, /"--data-dir", "\/data"/);
  });

  it('has a .dockerignore that keeps host node_modules and dist out of the context', () => {
    const ignored = readFileSync(repoPath('.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', '.git']) assert.ok(ignored.includes(entry), `.dockerignore lists ${entry}`);
    for (const needed of ['src', 'workers', 'package.json', 'package-lock.json', 'tsconfig.json']) {
      assert.ok(!ignored.includes(needed), `.dockerignore must not exclude ${needed}`);
    }
  });

  it('has a runtime stage that starts: dist with production node_modules serves /health, and the HEALTHCHECK passes', { timeout: 60_000 }, async (t) => {
    if (!requireServer(t)) return;
    const npm = requireTool(t, 'npm', 'npm');
    if (!npm) return;
    // What the runtime stage holds: package.json, dist and node_modules after `npm prune --omit=dev`.
    const dir = mkdtempSync(join(tmpdir(), 'vecstore-image-'));
    let server: Child | undefined;
    try {
      for (const f of ['package.json', 'package-lock.json', 'dist', 'node_modules']) {
        cpSync(repoPath(f), join(dir, f), { recursive: true, verbatimSymlinks: true });
      }
      const prune = run(npm, ['prune', '--omit=dev', '--offline', '--no-audit', '--no-fund'], { cwd: dir });
      assert.equal(prune.status, 0, prune.stderr);
      const port = await freePort();
      server = new Child('vecstore (runtime stage)', process.execPath, ['dist/src/cli.js', 'serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', join(dir, 'data')], process.env, dir);
      await waitUntilUp(`http://127.0.0.1:${port}/health`, server, 20_000);
      // The HEALTHCHECK command exactly as written, with the port of this run.
      const health = finalStage.find((l) => /^HEALTHCHECK /.test(l))!;
      const argv = JSON.parse(health.slice(health.indexOf('CMD') + 3).trim()) as string[];
      const check = run(argv[0] === 'node' ? process.execPath : argv[0], argv.slice(1).map((a) => a.replace('127.0.0.1:8080', `127.0.0.1:${port}`)), { cwd: dir });
      assert.equal(check.status, 0, `HEALTHCHECK failed: ${check.stderr}`);
    } finally {
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
